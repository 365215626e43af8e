"""Minimal study design: a hand-computed case and a brute-force reference with scipy."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from albench.analysis.design import design_curve
from albench.analysis.frame import prepare


def runs_table(metric: dict[tuple, float], keys=("dataset", "strategy", "seed")) -> pd.DataFrame:
    rows = [{"run_id": "-".join(map(str, key)), "kind": "al", "status": "ok", **dict(zip(keys, key)),
             "auc_accuracy": value} for key, value in metric.items()]
    return pd.DataFrame(rows)


def test_one_dissenting_dataset_of_four_needs_three():
    # d0-d2 rank A > B > C, d3 the reverse. Full leaderboard: A 1.5, B 2, C 2.5.
    # k=1: taus 1, 1, 1, -1 -> 0.5; k=2: three agreeing pairs (1), three pairs with d3 whose
    # ranks all tie (0) -> 0.5; k=3: every triple keeps A > B > C -> 1; k=4: 1.
    score = {"A": 3.0, "B": 2.0, "C": 1.0}
    metric = {(f"d{i}", s, 0): (v if i < 3 else -v) for i in range(4) for s, v in score.items()}
    design = design_curve(prepare(runs_table(metric)), "auc_accuracy")
    curve = design.curve[design.curve["factor"] == "dataset"]
    assert curve["tau_mean"].tolist() == pytest.approx([0.5, 0.5, 1.0, 1.0])
    assert curve["subsets"].tolist() == [4, 6, 4, 1]
    minimal = design.minimal.set_index("factor")
    assert minimal.loc["dataset", "minimal_k"] == 3 and minimal.loc["dataset", "n_values"] == 4


def test_data_set_curve_within_blocks_of_a_numeric_column():
    """``--block seed``: the leaderboard labels blocks as text; the data set's curve must find them (it was
    all NaN, "not reached", whenever the block column was numeric)."""
    score = {"A": 3.0, "B": 2.0, "C": 1.0}
    metric = {(f"d{i}", s, seed): (v if i < 3 else -v)
              for i in range(4) for s, v in score.items() for seed in (0, 1)}
    design = design_curve(prepare(runs_table(metric), block="seed"), "auc_accuracy")
    curve = design.curve[design.curve["factor"] == "dataset"]
    assert curve["tau_mean"].tolist() == pytest.approx([0.5, 0.5, 1.0, 1.0])  # as in the case above, per seed
    assert design.minimal.set_index("factor").loc["dataset", "minimal_k"] == 3


def test_seed_curve_equals_brute_force_with_scipy():
    gen = np.random.default_rng(4)
    datasets, strategies, seeds = [f"d{i}" for i in range(3)], list("ABCDE"), range(5)
    effect = dict(zip(strategies, [0.0, 0.01, 0.02, 0.03, 0.04]))
    metric = {(d, s, r): effect[s] + gen.normal(0, 0.02) for d in datasets for s in strategies for r in seeds}
    runs = runs_table(metric)
    design = design_curve(prepare(runs), "auc_accuracy", factors=["seed"])

    def board(chosen):
        sub = runs[runs["seed"].isin(chosen)]
        means = sub.groupby(["dataset", "strategy"])["auc_accuracy"].mean().unstack()
        return means.rank(axis=1, ascending=False).mean(axis=0).reindex(strategies).to_numpy()

    full = board(list(seeds))
    for k in range(1, 6):
        taus = [stats.kendalltau(board(c), full).statistic for c in itertools.combinations(seeds, k)]
        row = design.curve[(design.curve["factor"] == "seed") & (design.curve["k"] == k)].iloc[0]
        assert row["tau_mean"] == pytest.approx(np.mean(taus))
        assert row["tau_low"] == pytest.approx(np.quantile(taus, 0.05))
    reached = [k for k in range(1, 5) if design.curve.set_index(["factor", "k"]).loc[("seed", k), "tau_mean"] >= 0.9]
    minimal = design.minimal.set_index("factor").loc["seed"]
    assert minimal["reached"] == bool(reached)
    assert minimal["minimal_k"] == reached[0] if reached else np.isnan(minimal["minimal_k"])


def test_target_reached_only_with_every_value_is_not_reached():
    # d0, d1 rank A > B > C, d2 the reverse; full leaderboard A 5/3, B 2, C 7/3.
    # k=1: taus 1, 1, -1 -> 1/3; k=2: {d0, d1} 1, the pairs with d2 tie everything (0) -> 1/3; k=3: 1
    score = {"A": 3.0, "B": 2.0, "C": 1.0}
    metric = {(f"d{i}", s, 0): (v if i < 2 else -v) for i in range(3) for s, v in score.items()}
    design = design_curve(prepare(runs_table(metric)), "auc_accuracy")
    curve = design.curve[design.curve["factor"] == "dataset"]
    assert curve["tau_mean"].tolist() == pytest.approx([1 / 3, 1 / 3, 1.0])
    minimal = design.minimal.set_index("factor").loc["dataset"]
    assert not minimal["reached"] and np.isnan(minimal["minimal_k"])


def test_large_factors_are_subsampled_reproducibly():
    gen = np.random.default_rng(1)
    metric = {(f"d{i:02d}", s, 0): gen.normal() + 0.5 * j for i in range(14) for j, s in enumerate("ABC")}
    frame = prepare(runs_table(metric))
    a = design_curve(frame, "auc_accuracy", n_subsets=50, seed=3).curve
    b = design_curve(frame, "auc_accuracy", n_subsets=50, seed=3).curve
    pd.testing.assert_frame_equal(a, b)
    assert a["subsets"].max() == 50 and a["tau_mean"].iloc[-1] == pytest.approx(1.0)
    assert a["tau_mean"].iloc[-2] > a["tau_mean"].iloc[0]  # more data sets, closer to the full leaderboard


def test_many_values_are_evaluated_on_a_grid_and_the_crossing_is_bisected(monkeypatch):
    from albench.analysis import design

    gen = np.random.default_rng(7)
    metric = {(f"d{i:03d}", s, 0): gen.normal(0, 1.0) + 0.3 * j for i in range(60) for j, s in enumerate("ABCDE")}
    frame = prepare(runs_table(metric))
    every = design_curve(frame, "auc_accuracy", n_subsets=400, seed=0)
    monkeypatch.setattr(design, "EXACT_K", 4)
    assert design.k_grid(60)[:6] == [1, 2, 3, 4, 5, 6] and design.k_grid(60)[-1] == 60
    assert all(b - a >= 1 and b <= round(a * design.K_STEP) + 1 for a, b in zip(design.k_grid(60), design.k_grid(60)[1:]))
    gridded = design_curve(frame, "auc_accuracy", n_subsets=400, seed=0)
    ks = gridded.curve["k"].tolist()
    assert len(ks) < 40 and ks == sorted(set(ks)) and set(design.k_grid(60)) <= set(ks)
    exact = every.minimal.set_index("factor").loc["dataset", "minimal_k"]
    found = gridded.minimal.set_index("factor").loc["dataset", "minimal_k"]
    assert 4 < exact < 60 and abs(found - exact) <= 2  # the same crossing, up to subset noise
    below = gridded.curve.set_index("k").loc[found - 1, "tau_mean"]
    assert below < 0.9 <= gridded.curve.set_index("k").loc[found, "tau_mean"]
