"""Leaderboard statistics against scipy, scikit-posthocs' own formula, and Demsar's tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from albench.analysis.frame import prepare
from albench.analysis.leaderboard import compare, leaderboard
from albench.analysis.stats import critical_difference, friedman, kendall_tau, kendall_tau_rows, nemenyi

METHODS = ["a", "b", "c", "d"]


def runs_from_matrix(matrix: np.ndarray, seeds: int = 2, seed: int = 0) -> pd.DataFrame:
    """Runs whose per-(data set, method) mean is ``matrix``: seeds scatter symmetrically around it."""
    gen = np.random.default_rng(seed)
    rows = []
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            spread = gen.uniform(0, 0.01)
            for s, sign in zip(range(seeds), (-1, 1)):
                rows.append({"run_id": f"{i}-{j}-{s}", "kind": "al", "status": "ok", "dataset": f"ds{i:02d}",
                             "strategy": METHODS[j], "seed": s, "auc_accuracy": value + sign * spread})
    return pd.DataFrame(rows)


@pytest.fixture
def matrix():
    gen = np.random.default_rng(7)
    return gen.uniform(0.6, 0.9, size=(12, 4)) + np.array([0.06, 0.03, 0.0, -0.02])


def test_friedman_from_runs_equals_scipy_and_the_textbook_formula(matrix):
    comparison = compare(prepare(runs_from_matrix(matrix)), "auc_accuracy")
    ref = stats.friedmanchisquare(*matrix.T)
    assert comparison.friedman.statistic == pytest.approx(ref.statistic)
    assert comparison.friedman.p_value == pytest.approx(ref.pvalue)
    # Demsar (2006), eq. for chi2_F with ranks 1 = best (higher metric)
    n, k = matrix.shape
    ranks = stats.rankdata(-matrix, axis=1)
    chi2 = 12 * n / (k * (k + 1)) * ((ranks.mean(axis=0) ** 2).sum() - k * (k + 1) ** 2 / 4)
    assert comparison.friedman.statistic == pytest.approx(chi2)
    table = comparison.table.set_index("strategy")
    assert table.loc[METHODS, "mean_rank"].to_numpy() == pytest.approx(ranks.mean(axis=0))
    assert list(table.index) == [METHODS[i] for i in np.argsort(ranks.mean(axis=0), kind="stable")]


def test_nemenyi_p_values_follow_the_studentized_range(matrix):
    p = nemenyi(pd.DataFrame(matrix, columns=METHODS))
    n, k = matrix.shape
    mean_ranks = stats.rankdata(matrix, axis=1).mean(axis=0)
    for i, j in [(0, 1), (0, 3), (2, 3)]:
        q = abs(mean_ranks[i] - mean_ranks[j]) / math.sqrt(k * (k + 1) / (6 * n)) * math.sqrt(2)
        assert p.iloc[i, j] == pytest.approx(stats.studentized_range.sf(q, k, np.inf), rel=1e-3)
    assert np.allclose(p.to_numpy(), p.to_numpy().T)


def test_pairs_beyond_the_critical_difference_are_significant(matrix):
    comparison = compare(prepare(runs_from_matrix(matrix)), "auc_accuracy")
    ranks = comparison.table.set_index("strategy")["mean_rank"]
    for a in METHODS:
        for b in METHODS:
            if a != b and abs(ranks[a] - ranks[b]) > comparison.cd + 1e-9:
                assert comparison.nemenyi.loc[a, b] < comparison.alpha
            elif a != b and abs(ranks[a] - ranks[b]) < comparison.cd - 1e-9:
                assert comparison.nemenyi.loc[a, b] > comparison.alpha


@pytest.mark.parametrize("k, q_005", [(2, 1.960), (3, 2.343), (4, 2.569), (5, 2.728), (10, 3.164)])
def test_critical_difference_uses_demsars_q_values(k, q_005):
    assert critical_difference(k, 10) == pytest.approx(q_005 * math.sqrt(k * (k + 1) / 60), rel=1e-3)


def test_friedman_edge_cases():
    assert math.isnan(friedman(pd.DataFrame([[1.0, 2.0], [2.0, 3.0]])).p_value)  # two methods
    tied = friedman(pd.DataFrame(np.ones((4, 3))))
    assert (tied.statistic, tied.p_value) == (0.0, 1.0)


def test_kendall_tau_equals_scipy_with_ties_and_gaps():
    gen = np.random.default_rng(0)
    a = gen.integers(0, 4, size=(50, 7)).astype(float)
    b = gen.integers(0, 4, size=(50, 7)).astype(float)
    a[3, 2] = np.nan
    got = kendall_tau_rows(a, b)
    for i in range(len(a)):
        keep = np.isfinite(a[i]) & np.isfinite(b[i])
        ref = stats.kendalltau(a[i][keep], b[i][keep]).statistic
        assert got[i] == pytest.approx(ref, nan_ok=True)
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)


def test_leaderboard_averages_other_hyperparameters_and_drops_incomplete_blocks():
    rows = []
    values = {("x", "a"): [0.9, 0.7], ("x", "b"): [0.6, 0.6], ("y", "a"): [0.5, 0.5], ("y", "b"): [0.8, 0.4],
              ("z", "a"): [0.9, 0.9]}  # z has no run of b
    for (dataset, strategy), metric in values.items():
        for batch, value in zip((1, 10), metric):
            rows.append({"run_id": f"{dataset}{strategy}{batch}", "kind": "al", "status": "ok", "dataset": dataset,
                         "strategy": strategy, "batch_size": batch, "auc_accuracy": value})
    rows.append({"run_id": "failed", "kind": "al", "status": "error", "dataset": "x", "strategy": "b",
                 "batch_size": 1, "auc_accuracy": None})
    comparison = compare(prepare(pd.DataFrame(rows), block="dataset"), "auc_accuracy")
    # x: a 0.8 > b 0.6; y: a 0.5 < b 0.6  -> both mean rank 1.5, ties broken by the mean metric
    table = comparison.table.set_index("strategy")
    assert table["mean_rank"].to_dict() == {"a": 1.5, "b": 1.5}
    assert comparison.n_dropped_blocks == 1
    # default blocks: (data set, batch size) cells; a wins x|1, x|10, y|10 and loses y|1
    cells = compare(prepare(pd.DataFrame(rows)), "auc_accuracy")
    assert cells.blocks == ("dataset", "batch_size") and cells.n_dropped_blocks == 2
    assert cells.table.set_index("strategy")["mean_rank"].to_dict() == {"a": 1.25, "b": 1.75}
    assert table.loc["b", "failures"] == 1 and table.loc["b", "runs"] == 5
    assert table.loc["a", "mean_auc_accuracy"] == pytest.approx(np.mean([0.9, 0.7, 0.5, 0.5, 0.9, 0.9]))
    assert list(leaderboard(pd.DataFrame(rows))["strategy"]) == ["a", "b"]


def test_lower_is_better_metrics_rank_ascending(matrix):
    runs = runs_from_matrix(matrix).rename(columns={"auc_accuracy": "fit_s"})
    comparison = compare(prepare(runs), "fit_s")
    assert not comparison.higher_is_better
    expected = stats.rankdata(matrix, axis=1).mean(axis=0)
    assert comparison.table.set_index("strategy").loc[METHODS, "mean_rank"].to_numpy() == pytest.approx(expected)


def test_a_bootstrap_in_small_batches_draws_the_same_resamples(monkeypatch):
    from albench.analysis import stats as stats_module

    values = np.random.default_rng(4).normal(size=(37, 5))
    statistic = lambda idx: values[idx].mean(axis=(-2, -1))  # noqa: E731
    whole = stats_module.bootstrap_ci(37, statistic, 500, 0.9, seed=3, unit_size=5)
    monkeypatch.setattr(stats_module, "BOOTSTRAP_CELLS", 37 * 5 * 7)  # 7 resamples per call
    assert stats_module.bootstrap_ci(37, statistic, 500, 0.9, seed=3, unit_size=5) == whole
