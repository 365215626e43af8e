"""Native strategies against their modAL twins: query time and peak memory on the same model and pool.

For each twin pair the native strategy and the ``modal.*`` adapter run on the
same synthetic pool (``bench_strategies.make_pool``: 20 features, 4 classes,
40 labelled points, logistic regression) at 1,000, 10,000 and 100,000 points
(``--quick``: up to 10,000), with one BLAS thread. The figures are the ratio
native / modAL of the median query time (below 1: native is faster), both
times, and both peak memories (``bench_strategies.peak_memory_mb``: traced
allocations during prepare + one query). The
committee pairs fit the same five bootstrapped members in both (the fits are
part of each query). Pool-only work is timed apart (``prepare_s``): it is
where the information-density pair differs most, and modAL's dense N x N
matrix rules that pair out at 100,000 points (80 GB).

Pairs whose definitions differ on purpose: ``kl_divergence`` (mean KL of the
members to the consensus) against ``modal.max_disagreement`` (the maximum);
``information_density`` is run with modAL's definition (least confidence,
1 / (1 + euclidean distance) averaged over the whole pool).

    python -m benchmarks.bench_modal [--quick]
"""

from __future__ import annotations

import json
import sys

from benchmarks import figure
from benchmarks.bench_strategies import make_pool, peak_memory_mb, time_query

COMMAND = "python -m benchmarks --only modal"
MODAL_DENSITY = {"base": "least_confident", "similarity": "euclidean", "n_neighbors": None}
# native name, its params, modAL twin, largest pool the pair is run on
TWINS = [
    ("least_confident", {}, "modal.uncertainty", None),
    ("margin", {}, "modal.margin", None),
    ("entropy", {}, "modal.entropy", None),
    ("vote_entropy", {}, "modal.vote_entropy", None),
    ("consensus_entropy", {}, "modal.consensus_entropy", None),
    ("kl_divergence", {}, "modal.max_disagreement", None),
    ("information_density", MODAL_DENSITY, "modal.information_density", 10_000),  # modAL: N x N matrix
]


def measure(sizes: list[int], repeats: int) -> list[dict]:
    rows = []
    for n in sizes:
        pool = make_pool(n)
        for native, params, twin, max_n in TWINS:
            if max_n is not None and n > max_n:
                continue
            twin_params = {"max_pool": max_n} if max_n else None
            ours = time_query(native, pool, params, repeats=repeats)
            theirs = time_query(twin, pool, twin_params, repeats=repeats)
            rows.append({"pair": f"{native} / {twin}", "n_pool": n,
                         "native_query_s": ours["query_s"], "modal_query_s": theirs["query_s"],
                         "native_prepare_s": ours["prepare_s"], "modal_prepare_s": theirs["prepare_s"],
                         "native_peak_mb": peak_memory_mb(native, pool, params),
                         "modal_peak_mb": peak_memory_mb(twin, pool, twin_params),
                         "ratio": ours["query_s"] / theirs["query_s"]})
            print(f"  {rows[-1]['pair']:<50} N={n:>7,}  query ratio {rows[-1]['ratio']:.3f}", file=sys.stderr,
                  flush=True)
    return rows


def by_pair(rows: list[dict], key: str, digits: int) -> dict:
    """{pair: {pool size: value}} of one column."""
    out: dict = {}
    for r in rows:
        out.setdefault(r["pair"], {})[str(r["n_pool"])] = round(r[key], digits)
    return out


def run(quick: bool) -> dict:
    sizes = [1_000, 10_000] if quick else [1_000, 10_000, 100_000]
    time_query("modal.uncertainty", make_pool(200), repeats=1)  # import modAL (and torch) before timing
    rows = measure(sizes, repeats=3 if quick else 7)
    both = lambda key, digits: {side: by_pair(rows, f"{side}_{key}", digits) for side in ("native", "modal")}
    return {
        "modal_query_time_ratio": figure(
            by_pair(rows, "ratio", 3), COMMAND,
            definition="native query time / modAL twin's, same model and pool, by pool size (below 1: native faster)"),
        "modal_query_s": figure(both("query_s", 5), COMMAND, definition="median seconds per query (batch of 10)"),
        "modal_prepare_s": figure(both("prepare_s", 4), COMMAND, definition="seconds of pool-only work, once per run"),
        "modal_peak_mb": figure(both("peak_mb", 2), COMMAND,
                                definition="traced peak (MiB) of prepare + one query, by pool size"),
        "modal_pairs_faster_native": figure(
            sum(r["ratio"] < 1 for r in rows) / len(rows), COMMAND,
            definition="share of (pair, pool size) cells where the native strategy queries faster"),
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
