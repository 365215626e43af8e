"""Hyperparameter influence on a runs table whose truth is known.

The metric depends strongly on the strategy, weakly on the batch size (a
small main effect, and large batches hurt the best strategy enough to swap it
with the second), not at all on the learner, plus noise. Queried indices
depend strongly on the strategy, partly on the batch size, not on the learner.
Every measure must order them strategy > batch_size > learner.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from albench.analysis.frame import prepare
from albench.analysis.influence import importances, influence_table
from albench.analysis.stability import bootstrap_ci, stability

STRATEGY_EFFECT = {"s0": 0.0, "s1": 0.04, "s2": 0.08, "s3": 0.12}
TRUTH = ["strategy", "batch_size", "learner"]  # most influential first
POOL = 300


def synthetic_results(seed: int = 0, noise: float = 0.01) -> tuple[pd.DataFrame, pd.DataFrame]:
    gen = np.random.default_rng(seed)
    datasets = [f"d{i}" for i in range(6)]
    level = dict(zip(datasets, gen.uniform(0.5, 0.8, len(datasets))))
    order = {(d, s): gen.permutation(POOL) for d in datasets for s in STRATEGY_EFFECT}
    runs, curves = [], []
    for d, s, b, learner, rep in itertools.product(datasets, STRATEGY_EFFECT, [1, 10], ["a", "b", "c"], range(3)):
        large = b == 10
        value = level[d] + STRATEGY_EFFECT[s] - 0.01 * large - 0.06 * (large and s == "s3") + gen.normal(0, noise)
        run_id = f"{d}-{s}-{b}-{learner}-{rep}"
        runs.append({"run_id": run_id, "kind": "al", "status": "ok", "dataset": d, "strategy": s, "batch_size": b,
                     "learner": learner, "seed": rep, "auc_accuracy": value})
        queried = order[(d, s)][:20].copy()
        if large:
            queried[::3] = order[(d, s)][100:107]  # a third of the picks change with the batch size
        curves += [{"run_id": run_id, "cycle": c, "queried": queried[5 * c:5 * c + 5].tolist()} for c in range(4)]
    return pd.DataFrame(runs), pd.DataFrame(curves)


@pytest.fixture(scope="module")
def table():
    runs, curves = synthetic_results()
    frame = prepare(runs, block="dataset")
    return influence_table(frame, "auc_accuracy", curves, n_resamples=200).set_index("hyperparameter")


def _order(values: pd.Series, most_first_by_high: bool) -> list[str]:
    return list(values.loc[TRUTH].sort_values(ascending=not most_first_by_high).index)


@pytest.mark.parametrize("measure", ["fanova", "ped_anova"])
def test_importance_evaluators_rank_the_truth(table, measure):
    assert _order(table[measure], most_first_by_high=True) == TRUTH
    assert table.loc["strategy", measure] > 2 * table.loc["batch_size", measure]
    assert table.loc["learner", measure] < 0.05


@pytest.mark.parametrize("measure", ["pearson_r", "jaccard"])
def test_stability_measures_rank_the_truth(table, measure):
    # similarities: the most influential hyperparameter agrees least with itself across values
    assert _order(table[measure], most_first_by_high=False) == TRUTH
    assert table.loc["learner", measure] > 0.9


def test_kendall_tau_ranks_the_truth_where_defined(table):
    # the strategy is what the leaderboard ranks: its tau is undefined
    assert np.isnan(table.loc["strategy", "kendall_tau"])
    # batch 10 swaps s3 and s2: its leaderboard against batch 1's has tau 4/6, the only pair
    assert table.loc["batch_size", "kendall_tau"] == pytest.approx(4 / 6)
    assert table.loc["batch_size", "kendall_tau_worst_pair"] == "1 vs 10"
    assert table.loc["learner", "kendall_tau"] == pytest.approx(1.0)


def test_combined_rank_and_intervals(table):
    assert list(table.loc[TRUTH, "influence_rank"].sort_values().index) == TRUTH
    for measure in ("kendall_tau", "pearson_r", "jaccard"):
        rows = table[table[f"{measure}_low"].notna()]
        assert len(rows) > 0
        assert (rows[f"{measure}_low"] <= rows[measure] + 1e-12).all()
        assert (rows[measure] <= rows[f"{measure}_high"] + 1e-12).all()


def test_pearson_matches_a_direct_computation():
    runs, _ = synthetic_results(seed=1)
    frame = prepare(runs, block="dataset")
    got = stability(frame, "auc_accuracy", None, n_resamples=50).loc["batch_size", "pearson_r"]
    per_dataset = []
    for _, group in runs.groupby("dataset"):
        wide = group.pivot_table(index=["strategy", "learner", "seed"], columns="batch_size", values="auc_accuracy")
        per_dataset.append(np.corrcoef(wide[1], wide[10])[0, 1])
    assert got == pytest.approx(np.mean(per_dataset))


def test_bootstrap_interval_covers_the_mean_of_noise():
    values = np.random.default_rng(3).normal(0.5, 0.1, size=40)
    point, low, high = bootstrap_ci(len(values), lambda idx: values[idx].mean(axis=-1), 2000, 0.95, seed=0)
    assert point == pytest.approx(values.mean())
    half = 1.96 * values.std(ddof=1) / np.sqrt(len(values))
    assert low == pytest.approx(point - half, abs=0.25 * half) and high == pytest.approx(point + half, abs=0.25 * half)


def test_constant_metric_gives_zero_importance():
    runs, _ = synthetic_results()
    frame = prepare(runs.assign(auc_accuracy=0.7))
    assert (importances(frame, "auc_accuracy").to_numpy() == 0).all()


def test_resampled_leaderboards_equal_the_nan_mean_of_the_resampled_ranks_bit_for_bit():
    from albench.analysis.stability import _boards
    from albench.analysis.stats import nanmean

    rng = np.random.default_rng(1)
    n_values, n_blocks, n_methods = 7, 40, 5
    ranks = rng.integers(2, 2 * n_methods + 1, size=(n_values, n_blocks, n_methods)) / 2  # ranks: halves
    ranks[rng.random(ranks.shape) < 0.3] = np.nan
    ranks[2, :30] = np.nan  # a value holding a few blocks only (a data set holds its own)
    ranks[4] = np.nan  # and one holding none
    boards = _boards(ranks, np.arange(n_values))
    for idx in (np.arange(n_blocks), rng.integers(0, n_blocks, size=(3, 11, n_blocks))):
        np.testing.assert_array_equal(boards(idx), nanmean(ranks[:, idx], axis=-2))
    some = _boards(ranks, np.array([0, 3]))(np.arange(n_blocks))
    assert np.isnan(some[[1, 2, 4, 5, 6]]).all() and np.isfinite(some[[0, 3]]).any()
