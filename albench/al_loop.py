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
from albench.strategy import QueryState, create_strategy, validate_batch

METRICS = ("accuracy", "macro_f1", "weighted_f1", "macro_precision", "macro_recall")
EDGE_CYCLES = 5  # first5_/last5_: mean of the first / last five cycles after the start set


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


def _label_counts(y_true: np.ndarray, y_pred: np.ndarray):
    """Per label present in either array (scikit-learn's ``labels``): true, predicted and hit counts."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels, codes = np.unique(np.concatenate([y_true, y_pred]), return_inverse=True)
    t, p = codes[: len(y_true)], codes[len(y_true):]
    true_sum, pred_sum = np.bincount(t, minlength=len(labels)), np.bincount(p, minlength=len(labels))
    hit = t == p
    return true_sum, pred_sum, np.bincount(t[hit], minlength=len(labels)), hit


def evaluate(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Accuracy, macro and weighted F1, equal to scikit-learn's to the last bit.

    Computed from one pass of counts over the labels present in either array
    (scikit-learn's ``labels``; ``zero_division`` cannot arise for them) with
    scikit-learn's own arithmetic: its ``f1_score`` costs about 4 ms a call
    on small test sets, which made evaluation most of a fast run's time.
    """
    true_sum, pred_sum, tp, hit = _label_counts(y_true, y_pred)
    f1 = 2.0 * tp / (true_sum + pred_sum)
    return {
        "accuracy": float(np.mean(hit)),
        "macro_f1": float(np.mean(f1)),
        "weighted_f1": float(np.average(f1, weights=true_sum)),
    }


def precision_recall(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Macro precision and recall, equal to scikit-learn's with ``zero_division=0`` (a label never
    predicted has precision 0, a label absent from ``y_true`` recall 0)."""
    true_sum, pred_sum, tp, _ = _label_counts(y_true, y_pred)
    precision = np.divide(tp, pred_sum, out=np.zeros(len(tp)), where=pred_sum > 0)
    recall = np.divide(tp, true_sum, out=np.zeros(len(tp)), where=true_sum > 0)
    return {"macro_precision": float(np.mean(precision)), "macro_recall": float(np.mean(recall))}


def area_under_curve(values) -> float:
    """Trapezoidal area under a learning curve, with the x axis scaled to [0, 1]."""
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return float(values[0])
    return float(np.trapezoid(values, dx=1.0) / (len(values) - 1))


def learning_curve_summary(curves: list[dict]) -> dict[str, float | None]:
    """Summaries of the learning curve after the start set (after the AL hyperparameter study of
    Gonsior et al., 2025): ``auc_no_start_<m>``, the area under cycles 1.. (the start set's own score
    left out, x scaled to [0, 1]); ``first5_<m>`` and ``last5_<m>``, the mean over the first and the
    last ``EDGE_CYCLES`` of those cycles. None when the run made no query."""
    after = curves[1:]
    out: dict[str, float | None] = {}
    for m in METRICS:
        values = [r[m] for r in after]
        out[f"auc_no_start_{m}"] = area_under_curve(values) if values else None
        out[f"first5_{m}"] = float(np.mean(values[:EDGE_CYCLES])) if values else None
        out[f"last5_{m}"] = float(np.mean(values[-EDGE_CYCLES:])) if values else None
    return out


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


def check_batch(idx, labelled: np.ndarray, expected: int, strategy: str) -> np.ndarray:
    """The strategy contract, enforced on every query (``albench.strategy.validate_batch``)."""
    return validate_batch(idx, labelled, expected, strategy)


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
        t0, c0 = time.perf_counter(), time.process_time()  # wall and CPU: a loaded machine inflates only wall
        model.fit(X_pool[labelled], y_pool[labelled])
        t1, c1 = time.perf_counter(), time.process_time()
        y_hat = model.predict(X_test)
        row = {"cycle": cycle, "n_labelled": int(labelled.sum()), **evaluate(y_test, y_hat),
               **precision_recall(y_test, y_hat)}
        t2, c2 = time.perf_counter(), time.process_time()
        row.update(fit_s=t1 - t0, eval_s=t2 - t1, query_s=0.0, fit_cpu_s=c1 - c0, eval_cpu_s=c2 - c1,
                   query_cpu_s=0.0, queried=[])
        n_left = int((~labelled).sum())
        if cycle < p["budget"] and n_left > 0:
            k = min(p["batch_size"], n_left)
            state = QueryState(model=model, X=X_pool, labelled=_read_only(labelled.copy()),  # observe sees it unchanged
                               y=_read_only(np.where(labelled, y_pool, -1)), classes=classes,
                               make_learner=fresh_learner, cycle=cycle, budget=p["budget"])
            if getattr(strategy, "needs_test_labels", False):  # an oracle baseline, never a real strategy
                state.y_true, state.test = _read_only(y_pool), (_read_only(X_test), _read_only(y_test))
            idx = strategy.query(state, k, strategy_rng)
            row["query_s"], row["query_cpu_s"] = time.perf_counter() - t2, time.process_time() - c2
            row["n_tied"] = getattr(strategy, "last_n_tied", None)  # score strategies: did a tie decide?
            idx = check_batch(idx, labelled, k, p["strategy"]["name"])
            labelled[idx] = True
            t3, c3 = time.perf_counter(), time.process_time()
            strategy.observe(idx, y_pool[idx], state)  # the labels just bought (bandits learn from them)
            row["query_s"] += time.perf_counter() - t3
            row["query_cpu_s"] += time.process_time() - c3
            row["queried"] = pool_idx[idx].tolist()
            curves.append(row)
        else:
            curves.append(row)
            break

    summary = {
        **{f"auc_{m}": area_under_curve([r[m] for r in curves]) for m in METRICS},
        **{f"final_{m}": curves[-1][m] for m in METRICS},
        **learning_curve_summary(curves),
        "n_queries": len(curves) - 1,
        "n_labelled_start": int(len(start)),
        "n_labelled_final": curves[-1]["n_labelled"],
        "n_pool": int(len(pool_idx)),
        "n_test": int(len(test_idx)),
        "n_classes": int(data.n_classes),
        "n_features": int(data.X.shape[1]),
        "prepare_s": prepare_s,
        **{f"{phase}_s": float(sum(r[f"{phase}_s"] for r in curves)) for phase in ("fit", "query", "eval")},
        **{f"{phase}_cpu_s": float(sum(r[f"{phase}_cpu_s"] for r in curves)) for phase in ("fit", "query", "eval")},
    }
    return RunResult(summary, curves)
