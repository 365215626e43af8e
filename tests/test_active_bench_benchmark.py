"""The active-benchmarking benchmark's pieces on small synthetic populations (no timing, no full grid)."""

from __future__ import annotations

import numpy as np
import pytest

from albench.active_bench.population import population
from benchmarks import bench_active_bench as bench
from benchmarks.active_bench_population import synthetic_runs


def test_separated_pairs_are_those_a_paired_test_rejects():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(40, 1))
    low = base + rng.normal(scale=0.01, size=(40, 1))
    values = np.hstack([base + 1.0, low, base + 1.0])  # 0 and 2 tie in every block; 1 is below both
    assert bench.separated_pairs(values) == [(0, 1), (2, 1)]


def test_unseparated_pairs_are_scored_by_how_often_they_keep_the_full_grid_order():
    truth = np.array([3.0, 2.0, 1.0, 1.0])  # pairs (0, 2), (0, 3), (1, 2), (1, 3) separated; 2 = 3 a tie
    estimates = np.array([[3.0, 2.5, 1.0, 0.0], [2.0, 2.5, 1.0, 0.0], [2.0, 2.5, 3.0, 0.0], [3.0, 1.0, 2.0, 0.0]])
    separated = [(0, 2), (0, 3), (1, 2), (1, 3)]
    # left: (0, 1) right in rows 0 and 3; (2, 3) a tie in the full grid, skipped
    assert bench.unseparated_right(estimates, truth, separated) == pytest.approx(0.5)
    assert bench.unseparated_right(estimates, truth, separated[:3]) == pytest.approx((0.5 + 1.0) / 2)  # + (1, 3)
    assert np.isnan(bench.unseparated_right(estimates, truth, separated + [(0, 1)]))


def test_uniform_blocks_are_means_of_distinct_blocks():
    values = np.arange(10, dtype=float)[:, None] * np.array([[1.0, 2.0]])
    means = bench.uniform_blocks(values, 10, 5, np.random.default_rng(1))
    np.testing.assert_allclose(means, np.tile(values.mean(axis=0), (5, 1)))  # all 10 blocks: the full mean
    draws = bench.uniform_blocks(values, 3, 4000, np.random.default_rng(2))
    assert draws[:, 0].mean() == pytest.approx(values[:, 0].mean(), abs=0.1)


def test_compare_orders_clearly_different_strategies_and_beats_uniform_on_strong_factors():
    runs = synthetic_runs(["iris", "wine", "digits"], ["logreg", "gnb"], ["random", "margin", "entropy"],
                          [1, 5], 4, seed=2)
    pop = population(runs)
    values = pop.values(runs, bench.METRIC)
    values = values + np.array([0.0, 0.05, 0.1])  # strategies 0.05 apart everywhere
    row = bench.compare(pop, values, pop.costs(runs), 0.25, repeats=30)
    assert row["blocks"] == 12 and row["separated_pairs"] == 3
    assert row["pairs_right_min"] == 1.0
    assert row["mae_ratio"] < 1.0  # data set, learner and batch size effects: stratification pays
    assert 0.8 <= row["coverage"] <= 1.0 and 0.8 <= row["coverage_pairs"] <= 1.0
    assert row["ci_width_vs_normal"] > 1.0 and row["unseparated_pairs"] == 0  # t is wider; every pair separated
    assert np.isnan(row["unseparated_right_active"])


def test_the_ideal_design_carries_only_the_replicate_noise_of_the_blocks_it_samples():
    rng = np.random.default_rng(4)
    cells = np.repeat(np.arange(12).astype(str), 6)  # 12 design cells of 6 replicates
    effects = rng.normal(scale=1.0, size=(12, 3))[np.repeat(np.arange(12), 6)]  # large cell effects
    values = effects + rng.normal(scale=0.1, size=(72, 3))
    draws = bench.ideal_stratified(values, cells, 18, 20000, np.random.default_rng(5))
    np.testing.assert_allclose(draws.mean(axis=0), values.mean(axis=0), atol=0.002)
    noise = values - np.array([values[cells == c].mean(axis=0) for c in cells])
    expected = noise.var(axis=0, ddof=0) * 72 / (72 - 12) * (1 / 18 - 1 / 72)  # the cells' effects removed
    np.testing.assert_allclose(draws.var(axis=0), expected, rtol=0.05)
    assert draws.std(axis=0).max() < 0.05  # nothing of the cell effects (sd 1) is left
    exact = bench.ideal_stratified(effects, cells, 18, 10, np.random.default_rng(5))  # no replicate noise
    np.testing.assert_allclose(exact, np.tile(effects.mean(axis=0), (10, 1)), atol=1e-12)
