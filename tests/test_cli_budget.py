"""``albench grid run --budget``: the same budgeted runs as ``albench grid sample``; CPU-time budgets."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from albench.active_bench import records
from albench.active_bench.rounds import blocks_for_seconds, parse_seconds
from albench.store import Store
from conftest import invoke, small_al_grid

GRID = small_al_grid(params={"dataset": ["iris", "wine"], "strategy": ["random", "margin"], "budget": 2,
                             "seed": {"range": [0, 3]}})  # 6 blocks of 2 runs


def _stored(root) -> pd.DataFrame:
    runs = Store(root).read("runs", ["run_id", "status", "auc_accuracy"])
    return runs.sort_values("run_id").reset_index(drop=True)


def test_grid_run_budget_stores_the_same_rows_and_design_as_grid_sample(write_grid, tmp_path):
    path = write_grid(GRID)
    by_run = invoke("grid", "run", path, "--budget", "50%", "--out", tmp_path / "run")
    by_sample = invoke("grid", "sample", path, "--budget", "50%", "--out", tmp_path / "sample", "--seed", "0")
    assert by_run.exit_code == 0, by_run.output
    assert by_sample.exit_code == 0, by_sample.output
    run, sample = _stored(tmp_path / "run"), _stored(tmp_path / "sample")
    assert len(run) == 6  # 3 of 6 blocks, 2 strategies each
    pd.testing.assert_frame_equal(run, sample)
    design = [records.read_design(tmp_path / d).sort_values("block_id").reset_index(drop=True)
              for d in ("run", "sample")]
    pd.testing.assert_frame_equal(design[0], design[1])
    assert "full-grid estimate (small, auc_accuracy)" in by_run.output
    assert "6 of 12 runs (50.0%)" in by_run.output


@pytest.mark.parametrize("flag", ["--dry-run", "--rerun-changed"])
def test_budget_with_a_flag_that_picks_runs_otherwise_is_refused(write_grid, tmp_path, flag):
    result = invoke("grid", "run", write_grid(GRID), "--budget", "50%", flag, "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert f"--budget cannot be combined with {flag}" in result.output
    assert not (tmp_path / "o").exists()


def test_budget_with_rerun_failed_reruns_the_sampled_blocks_failures(write_grid, tmp_path, monkeypatch):
    import albench.cli.active_bench as active_bench

    seen = {}
    monkeypatch.setattr(active_bench, "run_budgeted", lambda *a, **kw: seen.update(kw))
    result = invoke("grid", "run", write_grid(GRID), "--budget", "50%", "--rerun-failed", "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    assert seen["rerun_failed"] is True


def test_until_without_budget_is_refused(write_grid, tmp_path):
    result = invoke("grid", "run", write_grid(GRID), "--until", "settled", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "--until needs --budget" in result.output


@pytest.mark.parametrize("text, seconds", [("2h", 7200), ("30min", 1800), ("90s", 90), ("1.5d", 129600),
                                           ("45 m", 2700), ("10%", None), ("200", None), ("2 hours", None)])
def test_time_budgets_parse_to_seconds(text, seconds):
    assert parse_seconds(text) == seconds


def test_blocks_for_seconds_spends_the_rest_at_the_mean_cost_of_a_sampled_block():
    costs = np.array([10.0, 30.0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan])
    sampled = np.array([True, True, False, False, False, False, False, False])
    # 40 s spent on 2 blocks, 20 s a block: 100 s buy 3 more blocks (60 s), not 4 (80 s > 100 - 40)
    assert blocks_for_seconds(costs, sampled, 100.0) == 5
    assert blocks_for_seconds(costs, sampled, 30.0) == 2  # already over: nothing new
    assert blocks_for_seconds(costs, sampled, 1e9) == 8  # never more than the grid
    one_unmeasured = sampled.copy()
    one_unmeasured[2] = True  # a sampled block without timings counts at the mean: 60 s spent
    assert blocks_for_seconds(costs, one_unmeasured, 100.0) == 5
    with pytest.raises(ValueError, match="needs the measured time of some runs"):
        blocks_for_seconds(np.full(8, np.nan), sampled, 100.0)


def test_a_time_budget_continues_a_budgeted_folder(write_grid, tmp_path):
    path, out = write_grid(GRID), tmp_path / "o"
    first = invoke("grid", "run", path, "--budget", "1h", "--out", out)
    assert first.exit_code == 2 and "--budget 1h: a CPU-time budget needs the measured time" in first.output
    assert invoke("grid", "run", path, "--budget", "4", "--out", out).exit_code == 0  # 2 blocks
    assert len(_stored(out)) == 4
    assert invoke("grid", "run", path, "--budget", "0.001s", "--out", out).exit_code == 0  # spent already
    assert len(_stored(out)) == 4
    assert invoke("grid", "run", path, "--budget", "1000h", "--out", out).exit_code == 0  # buys the rest
    stored = _stored(out)
    assert len(stored) == 12 and stored["run_id"].is_unique


def test_a_grid_of_one_strategy_is_estimated_without_pairs(write_grid, tmp_path):
    path = write_grid(small_al_grid(params={"dataset": ["iris", "wine"], "strategy": "random", "budget": 2,
                                            "seed": {"range": [0, 3]}}))  # 6 blocks of one run
    half = invoke("grid", "sample", path, "--budget", "50%", "--out", tmp_path / "out")
    assert half.exit_code == 0, half.output
    assert "3 of 6 runs (50.0%)" in half.stdout and "pairwise differences" not in half.stdout
    estimate = invoke("grid", "estimate", tmp_path / "out", "--json")
    assert estimate.exit_code == 0, estimate.output
    parsed = json.loads(estimate.stdout)
    assert [row["method"] for row in parsed["leaderboard"]] == ["random"] and parsed["pairwise"] == []
    assert np.isfinite(parsed["leaderboard"][0]["se"])
    whole = invoke("grid", "sample", path, "--budget", "100%", "--out", tmp_path / "out")
    assert whole.exit_code == 0, whole.output
    [row] = json.loads(invoke("grid", "estimate", tmp_path / "out", "--json").stdout)["leaderboard"]
    plain_mean = _stored(tmp_path / "out")["auc_accuracy"].mean()
    assert row["mean_auc_accuracy"] == pytest.approx(plain_mean, abs=1e-9)  # JSON keeps 10 digits
    assert row["se"] == 0
