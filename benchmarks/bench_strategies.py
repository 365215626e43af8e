"""Native query strategies: time per query and peak memory at pool sizes 1,000, 10,000 and 100,000.

Each strategy runs on a synthetic pool (20 features, 4 classes) with 40
labelled points and a logistic regression fitted on them, with one BLAS
thread as in the executors. ``prepare`` (pool-only work, once per run) and
``query`` (a batch of 10) are timed separately; the query time is the median
over a few successive cycles, each with the previous batches labelled (the
model is not refitted between them: only the strategy is timed). Peak memory is the largest traced allocation during prepare +
query, measured by ``tracemalloc`` in a second, untimed pass (it sees numpy
arrays and Python objects, not buffers that compiled code allocates with
``malloc`` directly); the process's peak resident size is reported as well.

A dense N x N float64 matrix at N = 100,000 takes N^2 * 8 bytes = 80 GB (74.5
GiB), more than this 24 GiB machine has: that the 100,000 runs finish at all
shows no strategy builds one, and their traced peaks are orders of magnitude
below it.

``make_pool`` and ``time_query`` (and ``peak_memory_mb``) time any registered strategy (a modAL or
scikit-activeml adapter too) on the same pools.

    python benchmarks/bench_strategies.py [--quick]
"""

from __future__ import annotations

import json
import resource
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.datasets import make_classification
from threadpoolctl import threadpool_limits

from albench.learners import AlignedClassifier, make_learner
from albench.strategy import QueryState, create_strategy
from benchmarks import figure

COMMAND = "python -m benchmarks --only strategies"
BATCH = 10
N_LABELLED = 40
N_CLASSES = 4
DENSE_BYTES_AT_100K = 100_000**2 * 8  # 80 GB

# every native strategy, with its defaults
NATIVE = {name: {} for name in (
    "random", "least_confident", "margin", "entropy", "vote_entropy", "kl_divergence", "consensus_entropy",
    "information_density", "coreset", "kmeans", "cluster_margin", "badge", "bald", "expected_error_reduction",
    "typiclust")}
# the pool-scan strategies whose per-query time should grow no faster than N log N
SCANS = ("least_confident", "margin", "entropy", "vote_entropy", "kl_divergence", "consensus_entropy")


@dataclass
class BenchPool:
    """A synthetic pool, its true labels, a start set and the learner fitted on it."""

    X: np.ndarray
    y_true: np.ndarray
    labelled: np.ndarray
    model: AlignedClassifier
    make_learner: Callable[[], object]

    def state(self, labelled: np.ndarray | None = None) -> QueryState:
        """A fresh QueryState (no cached predictions) for ``labelled`` (default: the start set)."""
        labelled = self.labelled if labelled is None else labelled
        return QueryState(model=self.model, X=self.X, labelled=labelled, y=np.where(labelled, self.y_true, -1),
                          classes=np.arange(N_CLASSES), make_learner=self.make_learner)


def make_pool(n_pool: int, learner: str = "logreg", seed: int = 0) -> BenchPool:
    """A pool of ``n_pool`` points (20 features, 4 classes), ``N_LABELLED`` labelled, the learner fitted on them."""
    X, y = make_classification(n_samples=n_pool, n_features=20, n_informative=10, n_classes=N_CLASSES,
                               random_state=seed)
    labelled = np.zeros(n_pool, dtype=bool)
    labelled[np.random.default_rng(seed).choice(n_pool, N_LABELLED, replace=False)] = True

    def fresh():
        return make_learner(learner, random_state=seed)

    model = AlignedClassifier(fresh(), N_CLASSES).fit(X[labelled], y[labelled])
    return BenchPool(X=X, y_true=y, labelled=labelled, model=model, make_learner=fresh)


def time_query(name: str, pool: BenchPool, params: dict | None = None, batch_size: int = BATCH,
               repeats: int = 3, seed: int = 0) -> dict:
    """Seconds for ``prepare`` (once) and the median ``query`` over ``repeats`` successive cycles.

    As in a run, each cycle's labelled set holds the previous batches (the model
    is not refitted: only the strategy is timed), so caches kept between cycles
    are updated, not merely reused.
    """
    strategy = create_strategy(name, params)
    rng = np.random.default_rng(seed)
    labelled = pool.labelled.copy()
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        strategy.prepare(pool.X, rng)
        prepare_s = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            cycle = pool.state(labelled.copy())
            t0 = time.perf_counter()
            picks = strategy.query(cycle, batch_size, rng)
            times.append(time.perf_counter() - t0)
            labelled[picks] = True
    return {"prepare_s": prepare_s, "query_s": float(np.median(times))}


def peak_memory_mb(name: str, pool: BenchPool, params: dict | None = None, batch_size: int = BATCH,
                   seed: int = 0) -> float:
    """Largest traced allocation (MiB) during prepare + one query, above what existed before."""
    strategy = create_strategy(name, params)
    rng = np.random.default_rng(seed)
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            strategy.prepare(pool.X, rng)
            strategy.query(pool.state(), batch_size, rng)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return (peak - base) / 2**20


def _table(rows: list[dict], sizes: list[int]) -> str:
    head = f"{'strategy':<26}" + "".join(f"{'query s @' + format(n, ','):>18}{'MiB':>8}" for n in sizes) \
        + f"{'prepare s @' + format(sizes[-1], ','):>20}"
    lines = [head, "-" * len(head)]
    for name in NATIVE:
        cells = {r["n_pool"]: r for r in rows if r["strategy"] == name}
        line = f"{name:<26}" + "".join(f"{cells[n]['query_s']:>18.4f}{cells[n]['peak_mb']:>8.1f}" for n in sizes)
        lines.append(line + f"{cells[sizes[-1]]['prepare_s']:>20.3f}")
    return "\n".join(lines)


def _exponent(y_lo: float, y_hi: float, lo: int, hi: int) -> float:
    """e in y ~ N^e between pool sizes lo and hi."""
    return float(np.log(y_hi / y_lo) / np.log(hi / lo))


def run(quick: bool) -> dict:
    sizes = [1_000, 10_000] if quick else [1_000, 10_000, 100_000]
    rows = []
    for n in sizes:
        pool = make_pool(n)
        repeats = 3 if quick else (7 if n <= 10_000 else 3)  # a median of more cycles where they are cheap
        for name, params in NATIVE.items():
            row = {"strategy": name, "n_pool": n, **time_query(name, pool, params, repeats=repeats)}
            row["peak_mb"] = peak_memory_mb(name, pool, params)
            rows.append(row)
            print(f"  {name:<26} N={n:>7,}  query {row['query_s']:.4f} s  prepare {row['prepare_s']:.3f} s  "
                  f"peak {row['peak_mb']:.1f} MiB", file=sys.stderr, flush=True)
    print(_table(rows, sizes), file=sys.stderr)

    largest, (lo, hi) = sizes[-1], sizes[-2:]
    query_s = {(r["strategy"], r["n_pool"]): r["query_s"] for r in rows}
    peak_mb = {(r["strategy"], r["n_pool"]): r["peak_mb"] for r in rows}
    worst = max(NATIVE, key=lambda name: peak_mb[name, largest])
    dense_mb = DENSE_BYTES_AT_100K / 2**20
    time_growth = {name: _exponent(query_s[name, lo], query_s[name, hi], lo, hi) for name in SCANS}
    memory_growth = {name: _exponent(max(peak_mb[name, lo], 0.01), max(peak_mb[name, hi], 0.01), lo, hi)
                     for name in NATIVE}
    nlogn = _exponent(lo * np.log(lo), hi * np.log(hi), lo, hi)
    by_size = lambda table, digits: {name: {str(n): round(table[name, n], digits) for n in sizes} for name in NATIVE}
    return {
        "strategy_query_s": figure(by_size(query_s, 5), COMMAND,
                                   definition=f"median seconds per query of a batch of {BATCH}, by pool size"),
        "strategy_prepare_s": figure({r["strategy"]: round(r["prepare_s"], 4) for r in rows if r["n_pool"] == largest},
                                     COMMAND, definition=f"seconds of pool-only work, once per run, at N = {largest:,}"),
        "strategy_peak_mb": figure(by_size(peak_mb, 2), COMMAND,
                                   definition="tracemalloc peak (MiB) of prepare + one query, by pool size"),
        f"strategy_max_peak_mb_at_{largest}": figure(
            round(peak_mb[worst, largest], 1), COMMAND, goal=f"<= {dense_mb / 100:.0f}",
            definition=f"largest traced peak (MiB) over the native strategies at N = {largest:,} ({worst}); "
                       f"one dense float64 matrix of 100,000 x 100,000 is {dense_mb:,.0f} MiB (80 GB), "
                       "the goal is 1% of that"),
        "strategy_memory_growth_exponent": figure(
            round(max(memory_growth.values()), 3), COMMAND, goal="< 1.5",
            definition=f"largest exponent e in peak memory ~ N^e between N = {lo:,} and {hi:,} over the native "
                       "strategies: about 1 for linear memory (less while constants dominate), 2 for N x N",
            by_strategy={k: round(v, 3) for k, v in memory_growth.items()}),
        "strategy_scan_growth_exponent": figure(
            round(max(time_growth.values()), 3), COMMAND, goal=f"<= {nlogn:.3f}",
            definition=f"largest exponent e in query time ~ N^e between N = {lo:,} and {hi:,} over "
                       f"{', '.join(SCANS)}; N log N is {nlogn:.3f} over that range",
            by_strategy={k: round(v, 3) for k, v in time_growth.items()}),
        "strategy_process_peak_rss_mb": figure(round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                                               COMMAND, definition="peak resident size of the benchmark process (MiB)"),
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
