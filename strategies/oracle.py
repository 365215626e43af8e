"""ORACLE baseline: the greedy optimal choice, made with the test labels (never a real strategy).

In the spirit of the greedy optimal strategies of the hyperparameter study
behind albench: at each cycle, draw a random subset of ``n_candidates``
unlabelled points (at least the batch size), then build the batch greedily:
each pick is the candidate whose addition, with its true label, to the
labelled set and the picks so far gives the refitted learner the best test
``metric``. Ties on the metric go to the higher mean probability of the true
test class, then at random. A batch of k from c candidates costs about k x c
fits of the learner.

It reads what no strategy may read: the pool's true labels and the held-out
test split. The AL loop hands them over (``QueryState.y_true`` and
``QueryState.test``) only to a class that declares ``needs_test_labels =
True``. It is marked as an oracle everywhere: ``oracle = True`` on the class,
a description that starts with "ORACLE:", and the name ``oracle``; it frames
the curves (the upper end of the normalised AUC,
``albench.analysis.normalized``) and is not ranked with the real strategies.
"""

from __future__ import annotations

import numpy as np

from albench.al_loop import evaluate
from albench.strategy import Strategy, register
from albench.strategies._common import check_choice, check_positive_int, fresh_model

METRICS = ("accuracy", "macro_f1")


def true_class_probability(model, X_test: np.ndarray, y_test: np.ndarray) -> float:
    """Mean probability the model gives to the true class of each test point (the tie breaker)."""
    proba = np.asarray(model.predict_proba(X_test))
    return float(proba[np.arange(len(y_test)), y_test].mean())


@register("oracle", "ORACLE: greedy best test metric among a random candidate subset (reads test labels; "
                    "a baseline, not ranked)")
class GreedyOracle(Strategy):
    """ORACLE: see the module docstring. Params: ``n_candidates`` (20), ``metric`` (accuracy | macro_f1)."""

    oracle = True
    needs_test_labels = True
    family = "oracle"

    def __init__(self, n_candidates: int = 20, metric: str = "accuracy"):
        super().__init__(n_candidates=n_candidates, metric=metric)
        self.n_candidates = check_positive_int("oracle", "n_candidates", n_candidates)
        check_choice("oracle", "metric", metric, METRICS)
        self.metric = metric

    def query(self, state, batch_size, rng):
        if state.test is None or state.y_true is None:
            raise ValueError("oracle: needs the pool's true labels and the test split (QueryState.y_true, "
                             "QueryState.test); the AL loop passes them to classes with needs_test_labels = True")
        unlabelled = state.unlabelled
        k = min(int(batch_size), len(unlabelled))
        if k <= 0:
            return np.empty(0, dtype=np.intp)
        size = min(len(unlabelled), max(self.n_candidates, k))
        candidates = list(rng.choice(unlabelled, size=size, replace=False))
        X_test, y_test = state.test
        chosen: list[int] = []
        base = list(np.flatnonzero(state.labelled))
        for _ in range(k):
            gains = np.array([self._score(state, base + chosen + [c], X_test, y_test) for c in candidates])
            # lexicographic (metric, tie breaker), then a random order among exact ties
            order = rng.permutation(len(candidates))
            best = order[np.lexsort((gains[order, 1], gains[order, 0]))[-1]]
            chosen.append(candidates.pop(int(best)))
        return np.asarray(chosen, dtype=np.intp)

    def _score(self, state, rows: list[int], X_test, y_test) -> tuple[float, float]:
        rows = np.asarray(rows, dtype=np.intp)
        model = fresh_model(state).fit(state.X[rows], state.y_true[rows])
        return evaluate(y_test, model.predict(X_test))[self.metric], true_class_probability(model, X_test, y_test)
