"""One pool-based active-learning run: a pure function of its RunSpec.

Cycle 0 fits on the start set; every later cycle queries a batch from the
strategy, adds it to the labelled set and refits. Each cycle evaluates on the
held-out test split. The run stops after ``budget`` queries or when the pool
is exhausted, whichever comes first.

Random streams: the split depends on (dataset, split, test_fraction); the start
set also on (start_point, initial_size); learner and strategy on the data keys
and ``seed``. Strategies and learners are compared on common random numbers.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.model_selection import StratifiedShuffleSplit

from albench import datasets, deadline
from albench.kinds import RunResult
from albench.learners import AlignedClassifier, make_learner
from albench.seeding import int_seed, rng
from albench.spec import RunSpec
from albench.strategy import QueryState, create_strategy

METRICS = ("accuracy", "macro_f1", "weighted_f1")


def split_indices(y: np.ndarray, dataset: dict, split: int, test_fraction: float):
    """Pool and test row indices of one stratified split (sorted)."""
    sss = StratifiedShuffleSplit(n_splits=1, test_size=test_fraction,
                                 random_state=int_seed("split", dataset, split, test_fraction))
    pool, test = next(sss.split(np.zeros(len(y)), y))
    return np.sort(pool), np.sort(test)


def initial_indices(y_pool: np.ndarray, initial_size, gen: np.random.Generator) -> np.ndarray:
    """The start set: ``initial_size`` random pool points, or one per class."""
    if initial_size == "per_class":
        return np.array([gen.choice(np.flatnonzero(y_pool == c)) for c in np.unique(y_pool)])
    if initial_size >= len(y_pool):
        raise ValueError(f"initial_size {initial_size} leaves nothing to query in a pool of {len(y_pool)}")
    return gen.choice(len(y_pool), size=initial_size, replace=False)


def evaluate(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Accuracy, macro and weighted F1, equal to scikit-learn's to the last bit.

    Computed from one pass of counts over the labels present in either array
    (scikit-learn's ``labels``; ``zero_division`` cannot arise for them) with
    scikit-learn's own arithmetic: its ``f1_score`` costs about 4 ms a call
    on small test sets, which made evaluation most of a fast run's time.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels, codes = np.unique(np.concatenate([y_true, y_pred]), return_inverse=True)
    t, p = codes[: len(y_true)], codes[len(y_true):]
    true_sum, pred_sum = np.bincount(t, minlength=len(labels)), np.bincount(p, minlength=len(labels))
    hit = t == p
    f1 = 2.0 * np.bincount(t[hit], minlength=len(labels)) / (true_sum + pred_sum)
    return {
        "accuracy": float(np.mean(hit)),
        "macro_f1": float(np.mean(f1)),
        "weighted_f1": float(np.average(f1, weights=true_sum)),
    }


def area_under_curve(values) -> float:
    """Trapezoidal area under a learning curve, with the x axis scaled to [0, 1]."""
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return float(values[0])
    return float(np.trapezoid(values, dx=1.0) / (len(values) - 1))


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


def check_batch(idx, labelled: np.ndarray, expected: int, strategy: str) -> np.ndarray:
    """The strategy contract, enforced on every query."""
    idx = np.asarray(idx, dtype=np.int64).ravel()
    problem = None
    if len(idx) != expected:
        problem = f"returned {len(idx)} indices, expected {expected}"
    elif len(np.unique(idx)) != len(idx):
        problem = "returned the same index twice"
    elif idx.size and (idx.min() < 0 or idx.max() >= len(labelled)):
        problem = "returned an index outside the pool"
    elif labelled[idx].any():
        problem = "returned an already labelled index"
    if problem:
        raise RuntimeError(f"strategy '{strategy}' broke the contract: {problem}")
    return idx


def run(spec: RunSpec) -> RunResult:
    p = spec.params
    data = datasets.load(p["dataset"]["name"], p["dataset"]["params"])
    pool_idx, test_idx = split_indices(data.y, p["dataset"], p["split"], p["test_fraction"])
    X_pool, y_pool = _read_only(data.X[pool_idx]), data.y[pool_idx]
    X_test, y_test = data.X[test_idx], data.y[test_idx]
    data_keys = (p["dataset"], p["split"], p["test_fraction"])
    start = initial_indices(y_pool, p["initial_size"], rng("start", *data_keys, p["start_point"], p["initial_size"]))
    stream_keys = (*data_keys, p["start_point"], p["seed"])
    learner_seed = int_seed("learner", *stream_keys)
    strategy_rng = rng("strategy", *stream_keys)

    def fresh_learner():
        return make_learner(p["learner"]["name"], p["learner"]["params"], random_state=learner_seed)

    model = AlignedClassifier(fresh_learner(), data.n_classes)
    strategy = create_strategy(p["strategy"]["name"], p["strategy"]["params"])
    classes = np.arange(data.n_classes)
    labelled = np.zeros(len(pool_idx), dtype=bool)
    labelled[start] = True

    t = time.perf_counter()
    strategy.prepare(X_pool, strategy_rng)
    prepare_s = time.perf_counter() - t

    curves = []
    for cycle in range(p["budget"] + 1):
        deadline.check()  # the executor's per-run time limit, if any
        t0 = time.perf_counter()
        model.fit(X_pool[labelled], y_pool[labelled])
        t1 = time.perf_counter()
        row = {"cycle": cycle, "n_labelled": int(labelled.sum()), **evaluate(y_test, model.predict(X_test))}
        t2 = time.perf_counter()
        row.update(fit_s=t1 - t0, eval_s=t2 - t1, query_s=0.0, queried=[])
        n_left = int((~labelled).sum())
        if cycle < p["budget"] and n_left > 0:
            k = min(p["batch_size"], n_left)
            state = QueryState(model=model, X=X_pool, labelled=_read_only(labelled),
                               y=_read_only(np.where(labelled, y_pool, -1)), classes=classes,
                               make_learner=fresh_learner, cycle=cycle)
            idx = strategy.query(state, k, strategy_rng)
            row["query_s"] = time.perf_counter() - t2
            idx = check_batch(idx, labelled, k, p["strategy"]["name"])
            labelled[idx] = True
            row["queried"] = pool_idx[idx].tolist()
            curves.append(row)
        else:
            curves.append(row)
            break

    summary = {
        **{f"auc_{m}": area_under_curve([r[m] for r in curves]) for m in METRICS},
        **{f"final_{m}": curves[-1][m] for m in METRICS},
        "n_queries": len(curves) - 1,
        "n_labelled_start": int(len(start)),
        "n_labelled_final": curves[-1]["n_labelled"],
        "n_pool": int(len(pool_idx)),
        "n_test": int(len(test_idx)),
        "n_classes": int(data.n_classes),
        "n_features": int(data.X.shape[1]),
        "prepare_s": prepare_s,
        **{f"{phase}_s": float(sum(r[f"{phase}_s"] for r in curves)) for phase in ("fit", "query", "eval")},
    }
    return RunResult(summary, curves)
