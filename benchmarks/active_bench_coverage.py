"""Coverage of active benchmarking's 95 % intervals on the tests' synthetic populations, by sample size.

The populations (``benchmarks.active_bench_population``) are those of ``tests/test_active_bench.py`` (3 data sets x
2 learners x 2 batch sizes x 4 replicates = 48 blocks of 3 strategies) and
of ``tests/test_active_bench_incomplete.py`` (the same with two exclude
rules), whose full-grid truth is known. For each number of sampled blocks
and each seed, ``simulate`` draws and estimates as ``albench grid sample``
does; the table gives the share of intervals holding the truth for the
means and the pairwise differences, with the Student-t quantile of the
tables (Satterthwaite's degrees of freedom) and with a normal quantile
(the intervals before they had degrees of freedom), the worst single pair
(Student-t), and the median ratio of a pair's Student-t half-width to the
normal one. A second table checks P(the estimated best is the best), from
the multivariate t draws of the tables and from normal draws: its mean
against the share of repetitions whose estimated best is the true one, and
that share among the repetitions where P >= 0.95 (``--until best``). A few
minutes on two cores at the defaults:

    python -m benchmarks.active_bench_coverage [--seeds 300] [--blocks 6,8,10,12,16,24] [--rounds 1]
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
from scipy import stats

from albench.active_bench.population import population
from albench.active_bench.rounds import Options, simulate
from albench.finite_population.intervals import t_quantile
from benchmarks.active_bench_population import excluded_runs, full_grid_truth, synthetic_runs

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
    means_t, means_z, pairs_t, pairs_z, widths, best = [], [], [], [], [], []
    for seed in seeds:
        _, est = simulate(pop, values, n_blocks, METRIC, Options(rounds=rounds, seed=seed))
        normal = dataclasses.replace(est, df=None, contrast_df=None, _ranks={})
        best.append((est.rank_probabilities()[1], normal.rank_probabilities()[1],
                     int(np.argmax(truth)) in est.tied_entries()[0]))
        off, se = np.abs(est.mean - truth), est.se
        means_t.append(off <= t_quantile(0.95, est.df) * se)
        means_z.append(off <= z * se)
        off, se = np.abs(est.pair_difference[upper] - truth_pairs[upper]), np.sqrt(est.pair_variance[upper])
        quantile = t_quantile(0.95, est.pair_df[upper])
        pairs_t.append(off <= quantile * se)
        pairs_z.append(off <= z * se)
        widths.append(quantile / z)
    p_t, p_normal, right = (np.array(column, dtype=float) for column in zip(*best))
    return {"blocks": f"{n_blocks} of {pop.n_blocks}", "means_t": np.mean(means_t), "means_normal": np.mean(means_z),
            "pairs_t": np.mean(pairs_t), "pairs_normal": np.mean(pairs_z),
            "worst_pair_t": np.mean(pairs_t, axis=0).min(), "pair_width_vs_normal": np.median(widths),
            "best_right": right.mean(), "p_best_t": p_t.mean(), "p_best_normal": p_normal.mean(),
            "right_when_t_sure": _share(right, p_t >= 0.95), "right_when_normal_sure": _share(right, p_normal >= 0.95)}


def _share(right: np.ndarray, where: np.ndarray) -> str:
    """Share of ``right`` among the repetitions ``where``, with their number."""
    return f"{right[where].mean():.3f} ({int(where.sum())})" if where.any() else "- (0)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=300, help="seeds 0..N-1 per sample size (default 300)")
    parser.add_argument("--blocks", default="6,8,10,12,16,24", help="sampled blocks, comma-separated")
    parser.add_argument("--rounds", type=int, default=1, help="rounds the blocks are drawn in (default 1)")
    args = parser.parse_args(argv)
    sizes = [int(b) for b in args.blocks.split(",")]
    print(f"seeds 0-{args.seeds - 1}, {args.rounds} round(s); coverage of 95 % intervals")
    print("population     blocks    means t  normal  pairs t  normal  worst pair t  pair width t/normal")
    rows = {(name, n): coverage(runs, n, range(args.seeds), args.rounds)
            for name, runs in populations().items() for n in sizes}
    for (name, _), row in rows.items():
        print(f"{name:14s} {row['blocks']:9s} {row['means_t']:7.3f} {row['means_normal']:7.3f} "
              f"{row['pairs_t']:8.3f} {row['pairs_normal']:7.3f} {row['worst_pair_t']:13.3f} "
              f"{row['pair_width_vs_normal']:20.2f}")
    print("\nP(the estimated best is the best): its mean against the share of repetitions where it is, and that "
          "share where P >= 0.95 (their number)")
    print("population     blocks    right  mean P t  normal  right when P t >= 0.95  normal >= 0.95")
    for (name, _), row in rows.items():
        print(f"{name:14s} {row['blocks']:9s} {row['best_right']:6.3f} {row['p_best_t']:9.3f} "
              f"{row['p_best_normal']:7.3f} {row['right_when_t_sure']:>23s} {row['right_when_normal_sure']:>15s}")


if __name__ == "__main__":
    main()
