"""Active benchmarking against uniform subsampling of whole blocks, at the same budget.

A mid-size grid (4 data sets x 3 learners x 6 strategies x 2 batch sizes x
6 replicates = 864 runs, 144 blocks) is run in full once and cached under
``benchmarks/out/`` (about a minute on two cores; later calls reuse it).
Then, for budgets of 5, 10 and 20 % of the runs, both designs are replayed
from the full results, nothing re-run: ``simulate`` (the same rounds and
estimator as ``albench grid sample``) over many seeds, and uniform random
subsampling of the same number of blocks (the plain mean of the sampled
blocks) over many more. Figures per budget:

- ``mae_ratio``: mean absolute error of the per-strategy full-grid means,
  active / uniform (goal <= 0.5);
- ``tau_gain``: median Kendall tau against the full leaderboard, active
  minus uniform (goal >= 0.1; the means are in the table too);
- ``pairs_right_min``: over the pairs the full grid separates (paired t-test
  over blocks at the 5 % level), the smallest share of repetitions that order
  the pair rightly (goal >= 0.9);
- ``coverage``: share of 95 % intervals (Student-t, as in the leaderboard) that hold the
  full-grid mean (goal >= 0.9);
- ``mae_ratio_10pct_two_rounds``: the 10 % budget spent in two rounds instead of one.

Diagnostics in ``active_bench_by_budget`` (no goal): ``coverage_pairs``, the
same for the pairwise differences, and ``coverage_pairs_normal`` with a
normal quantile instead of Student-t (what the intervals were before they
had degrees of freedom); ``ci_width_vs_normal``, the median ratio of a
mean's Student-t half-width to the normal one; ``unseparated_right_active``
and ``_uniform``: over the pairs the full grid does *not* separate, the mean
share of repetitions that order them as the full grid does (near 0.5 for a
near-tie), which is what governs the median Kendall tau. ``tau_ideal``,
``tau_mean_ideal``, ``tau_gain_ideal``, ``unseparated_right_ideal`` and
``pairs_right_min_ideal``: the
same for an ideal design (``ideal_stratified``) whose estimates carry only
the replicate noise of the blocks it samples, every design cell's effect
removed; where its tau gain over uniform is below 0.1 (or its worst
separated pair below 0.9), that goal is out of reach of any design whose
error is that noise.

    python -m benchmarks --only active_bench [--quick]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy import stats

from albench.active_bench.population import population
from albench.active_bench.rounds import Options, simulate
from albench.analysis.stats import kendall_tau_rows
from albench.finite_population.intervals import t_quantile
from albench.execute import run_grid
from albench.spec import grid_from_dict
from albench.store import Store

OUT = Path(__file__).resolve().parent / "out"
BUDGETS = (0.05, 0.10, 0.20)
METRIC = "auc_accuracy"
STRATEGIES = ["random", "least_confident", "margin", "entropy", "coreset", "information_density"]


def grid_doc(quick: bool) -> dict:
    params = {"dataset": ["iris", "wine", "breast_cancer", "digits"], "learner": ["logreg", "gnb", "knn"],
              "strategy": STRATEGIES, "batch_size": [1, 5], "budget": 10,
              "start_point": {"range": [0, 3]}, "split": {"range": [0, 2]}, "seed": 0}
    if quick:  # 2 x 2 x 6 x 2 x 3 = 144 runs, 24 blocks
        params.update(dataset=["iris", "wine"], learner=["logreg", "gnb"], split=0)
    return {"name": "active-bench-quick" if quick else "active-bench-full", "kind": "al", "params": params}


def full_results(quick: bool):
    """The grid's every run: read from the cache, running only what is missing."""
    grid = grid_from_dict(grid_doc(quick))
    store = Store(OUT / grid.name)
    run_grid(grid, store)
    return grid, store.read("runs")


def uniform_blocks(values: np.ndarray, n_blocks: int, repeats: int, rng: np.random.Generator) -> np.ndarray:
    """(repeats, K) plain means of ``n_blocks`` blocks drawn uniformly without replacement."""
    picks = np.argsort(rng.random((repeats, len(values))), axis=1)[:, :n_blocks]
    return values[picks].mean(axis=1)


def ideal_stratified(values: np.ndarray, cells: np.ndarray, n_blocks: int, repeats: int,
                     rng: np.random.Generator) -> np.ndarray:
    """(repeats, K) normal draws of an ideal design's estimates: one that removes every design cell's
    effect, so that only the replicate noise of the blocks sampled is left (the pooled within-cell
    covariance, times 1/n - 1/N), as stratifying on every cell with known cell weights would. The
    full-grid means are its expectation. What it orders rightly, no design can expect to beat by much."""
    codes = np.unique(cells, return_inverse=True)[1]
    cell_means = np.zeros((codes.max() + 1, values.shape[1]))
    np.add.at(cell_means, codes, values)
    cell_means /= np.bincount(codes)[:, None]
    within = values - cell_means[codes]
    cov = within.T @ within / (len(values) - codes.max() - 1) * (1 / n_blocks - 1 / len(values))
    return rng.multivariate_normal(values.mean(axis=0), cov, size=repeats, method="eigh")


def separated_pairs(values: np.ndarray, alpha: float = 0.05) -> list[tuple[int, int]]:
    """(better, worse) pairs of methods whose paired t-test over all blocks rejects equality at ``alpha``."""
    pairs = []
    for i in range(values.shape[1]):
        for j in range(i + 1, values.shape[1]):
            if stats.ttest_rel(values[:, i], values[:, j]).pvalue < alpha:
                better, worse = (i, j) if values[:, i].mean() > values[:, j].mean() else (j, i)
                pairs.append((better, worse))
    return pairs


def unseparated_right(estimates: np.ndarray, truth: np.ndarray, separated: list[tuple[int, int]]) -> float:
    """Mean over the pairs not in ``separated`` (and not tied in ``truth``) of the share of rows of
    ``estimates`` (repeats, K) that order the pair as ``truth`` does; NaN without such pairs."""
    apart = {frozenset(p) for p in separated}
    shares = []
    for i in range(len(truth)):
        for j in range(i + 1, len(truth)):
            if frozenset((i, j)) in apart or truth[i] == truth[j]:
                continue
            better, worse = (i, j) if truth[i] > truth[j] else (j, i)
            shares.append(float((estimates[:, better] > estimates[:, worse]).mean()))
    return float(np.mean(shares)) if shares else float("nan")


def compare(pop, values: np.ndarray, costs: np.ndarray, share: float, repeats: int, seed0: int = 0,
            rounds: int = 1) -> dict:
    truth = values.mean(axis=0)
    upper = np.triu_indices(len(truth), 1)
    truth_pairs = truth[upper[0]] - truth[upper[1]]
    n_blocks = max(2, int(share * pop.n_runs / len(pop.methods) + 1e-9))
    z = stats.norm.ppf(0.975)
    means, inside, pairs_inside, pairs_inside_normal, widths = [], [], [], [], []
    for seed in range(seed0, seed0 + repeats):
        _, est = simulate(pop, values, n_blocks, METRIC, Options(rounds=rounds, seed=seed), costs)
        means.append(est.mean)
        quantile = t_quantile(0.95, est.df)  # the leaderboard's intervals
        inside.append(np.abs(est.mean - truth) <= quantile * est.se)
        widths.append(quantile / z)
        off, pair_se = np.abs(est.pair_difference[upper] - truth_pairs), np.sqrt(est.pair_variance[upper])
        pairs_inside.append(off <= t_quantile(0.95, est.pair_df[upper]) * pair_se)
        pairs_inside_normal.append(off <= z * pair_se)
    active = np.array(means)
    uniform = uniform_blocks(values, n_blocks, 20 * repeats, np.random.default_rng(seed0))
    ideal = ideal_stratified(values, pop.stratum_labels(tuple(pop.factors)), n_blocks, 20 * repeats,
                             np.random.default_rng(seed0))
    mae = {name: float(np.abs(est - truth).mean()) for name, est in (("active", active), ("uniform", uniform))}
    taus = {name: kendall_tau_rows(est, truth[None])
            for name, est in (("active", active), ("uniform", uniform), ("ideal", ideal))}
    tau = {name: float(np.nanmedian(t)) for name, t in taus.items()}
    pairs = separated_pairs(values)
    right = [float((active[:, i] > active[:, j]).mean()) for i, j in pairs]
    right_uniform = [float((uniform[:, i] > uniform[:, j]).mean()) for i, j in pairs]
    right_ideal = [float((ideal[:, i] > ideal[:, j]).mean()) for i, j in pairs]
    return {"blocks": n_blocks, "runs": n_blocks * len(pop.methods), "repeats_active": repeats,
            "repeats_uniform": 20 * repeats, "mae_active": mae["active"], "mae_uniform": mae["uniform"],
            "mae_ratio": mae["active"] / mae["uniform"], "tau_active": tau["active"], "tau_uniform": tau["uniform"],
            "tau_gain": tau["active"] - tau["uniform"], "tau_mean_active": float(np.nanmean(taus["active"])),
            "tau_mean_uniform": float(np.nanmean(taus["uniform"])), "separated_pairs": len(pairs),
            "pairs_right_min": min(right) if right else float("nan"),
            "pairs_right_min_uniform": min(right_uniform) if right_uniform else float("nan"),
            "pairs_right_min_ideal": min(right_ideal) if right_ideal else float("nan"),
            "coverage": float(np.mean(inside)), "coverage_pairs": float(np.mean(pairs_inside)),
            "coverage_pairs_normal": float(np.mean(pairs_inside_normal)),
            "ci_width_vs_normal": float(np.median(widths)),
            "unseparated_pairs": len(truth_pairs) - len(pairs),
            "unseparated_right_active": unseparated_right(active, truth, pairs),
            "unseparated_right_uniform": unseparated_right(uniform, truth, pairs),
            "unseparated_right_ideal": unseparated_right(ideal, truth, pairs), "tau_ideal": tau["ideal"],
            "tau_mean_ideal": float(np.nanmean(taus["ideal"])), "tau_gain_ideal": tau["ideal"] - tau["uniform"]}


def run(quick: bool) -> dict:
    """Figures for ``python -m benchmarks``: per budget, active benchmarking against uniform block subsampling."""
    grid, runs = full_results(quick)
    pop = population(runs[runs["grid"] == grid.name] if "grid" in runs.columns else runs)
    values, costs = pop.values(runs, METRIC), pop.costs(runs)
    if np.isnan(values).any():
        raise RuntimeError(f"{int(np.isnan(values).sum())} runs of {grid.name} failed; the benchmark needs all")
    repeats = 30 if quick else 200
    by_budget = {f"{round(share * 100)}%": compare(pop, values, costs, share, repeats) for share in BUDGETS}
    cmd = "python -m benchmarks --only active_bench" + (" --quick" if quick else "")
    figures: dict = {"active_bench_by_budget": {
        "value": by_budget, "command": cmd,
        "definition": f"{grid.name}: {pop.n_runs} runs, {pop.n_blocks} blocks; active benchmarking "
                      f"(seeds 0-{repeats - 1}) against uniform block subsampling ({20 * repeats} draws, seed 0)"}}
    goals = {"mae_ratio": "<= 0.5", "tau_gain": ">= 0.1", "pairs_right_min": ">= 0.9", "coverage": ">= 0.9"}
    two = compare(pop, values, costs, 0.10, repeats, rounds=2)  # the same budget spent in two rounds
    figures["active_bench_mae_ratio_10pct_two_rounds"] = {
        "value": two["mae_ratio"], "command": cmd,
        "definition": "as active_bench_mae_ratio_10pct, with the budget spent in two rounds (the second guided "
                      f"by the surrogate); coverage {two['coverage']:.3f}"}
    for budget, row in by_budget.items():
        for key, goal in goals.items():
            figures[f"active_bench_{key}_{budget.rstrip('%')}pct"] = {"value": row[key], "goal": goal,
                                                                      "command": cmd}
    return figures


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
