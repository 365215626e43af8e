"""Coverage of active benchmarking's 95 % intervals on the tests' synthetic populations, by sample size.

The populations are those of ``tests/test_active_bench.py`` (3 data sets x
2 learners x 2 batch sizes x 4 replicates = 48 blocks of 3 strategies) and
of ``tests/test_active_bench_incomplete.py`` (the same with two exclude
rules), whose full-grid truth is known. For each number of sampled blocks
and each seed, ``simulate`` draws and estimates as ``albench grid sample``
does; the table gives the share of intervals holding the truth for the
means and the pairwise differences, with the Student-t quantile of the
tables (Satterthwaite's degrees of freedom) and with a normal quantile
(the intervals before they had degrees of freedom), the worst single pair
(Student-t), and the median ratio of a pair's Student-t half-width to the
normal one. A few minutes on two cores at the defaults:

    python -m benchmarks.active_bench_coverage [--seeds 300] [--blocks 6,8,10,12,16,24] [--rounds 1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the populations are the tests' own

from active_bench_helpers import synthetic_runs  # noqa: E402
from test_active_bench_incomplete import excluded_runs, full_grid_truth  # noqa: E402

from albench.active_bench.population import population  # noqa: E402
from albench.active_bench.rounds import Options, simulate  # noqa: E402
from albench.finite_population.intervals import t_quantile  # noqa: E402

METRIC = "auc_accuracy"


def populations() -> dict:
    return {"complete": synthetic_runs(["iris", "wine", "digits"], ["logreg", "gnb"], ["random", "margin", "entropy"],
                                       [1, 5], 4),
            "exclude rules": excluded_runs()}


def coverage(runs, n_blocks: int, seeds: range, rounds: int = 1) -> dict:
    """Coverage of the means' and pairs' intervals over ``seeds``, Student-t and normal."""
    pop = population(runs)
    values = pop.values(runs, METRIC)
    truth, truth_pairs = full_grid_truth(values, pop.present)
    upper = np.triu_indices(len(truth), 1)
    z = stats.norm.ppf(0.975)
    means_t, means_z, pairs_t, pairs_z, widths = [], [], [], [], []
    for seed in seeds:
        _, est = simulate(pop, values, n_blocks, METRIC, Options(rounds=rounds, seed=seed))
        off, se = np.abs(est.mean - truth), est.se
        means_t.append(off <= t_quantile(0.95, est.df) * se)
        means_z.append(off <= z * se)
        off, se = np.abs(est.pair_difference[upper] - truth_pairs[upper]), np.sqrt(est.pair_variance[upper])
        quantile = t_quantile(0.95, est.pair_df[upper])
        pairs_t.append(off <= quantile * se)
        pairs_z.append(off <= z * se)
        widths.append(quantile / z)
    return {"blocks": f"{n_blocks} of {pop.n_blocks}", "means_t": np.mean(means_t), "means_normal": np.mean(means_z),
            "pairs_t": np.mean(pairs_t), "pairs_normal": np.mean(pairs_z),
            "worst_pair_t": np.mean(pairs_t, axis=0).min(), "pair_width_vs_normal": np.median(widths)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=300, help="seeds 0..N-1 per sample size (default 300)")
    parser.add_argument("--blocks", default="6,8,10,12,16,24", help="sampled blocks, comma-separated")
    parser.add_argument("--rounds", type=int, default=1, help="rounds the blocks are drawn in (default 1)")
    args = parser.parse_args(argv)
    sizes = [int(b) for b in args.blocks.split(",")]
    print(f"seeds 0-{args.seeds - 1}, {args.rounds} round(s); coverage of 95 % intervals")
    print("population     blocks    means t  normal  pairs t  normal  worst pair t  pair width t/normal")
    for name, runs in populations().items():
        for n in sizes:
            row = coverage(runs, n, range(args.seeds), args.rounds)
            print(f"{name:14s} {row['blocks']:9s} {row['means_t']:7.3f} {row['means_normal']:7.3f} "
                  f"{row['pairs_t']:8.3f} {row['pairs_normal']:7.3f} {row['worst_pair_t']:13.3f} "
                  f"{row['pair_width_vs_normal']:20.2f}", flush=True)


if __name__ == "__main__":
    main()
