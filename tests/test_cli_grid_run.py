"""``grid run --dry-run``, a re-run with nothing left (no cluster is started), the closing tables, and a folder
holding runs of both kinds."""

from __future__ import annotations

import json

from albench.execute import run_grid
from albench.spec import load_grid
from albench.store import Store
from conftest import invoke, small_al_grid


def test_dry_run_counts_stored_and_left_and_writes_nothing(write_grid, tmp_path):
    path = write_grid(small_al_grid())
    out = tmp_path / "out"
    proc = invoke("grid", "run", path, "--out", out, "--dry-run")
    assert proc.exit_code == 0, proc.output
    assert "small: 4 runs, 0 stored, 4 left; no stored timing" in proc.stdout
    assert not out.exists()
    grid = load_grid(path)
    half = load_grid(write_grid(small_al_grid(params={"strategy": "random"}), "half.yaml"))
    run_grid(half, Store(out))
    proc = invoke("grid", "run", path, "--out", out, "--dry-run", "--workers", "2")
    assert proc.exit_code == 0, proc.output
    assert f"small: {len(grid)} runs, 2 stored, 2 left; about " in proc.stdout
    assert "per run on 2 workers" in proc.stdout
    assert len(Store(out).read("runs")) == 2  # nothing ran


def test_nothing_left_starts_no_cluster(write_grid, tmp_path):
    path = write_grid(small_al_grid())
    out = tmp_path / "out"
    run_grid(load_grid(path), Store(out))
    proc = invoke("grid", "run", path, "--out", out, "--workers", "2")
    assert proc.exit_code == 0, proc.output
    assert "nothing left to run: all 4 runs of 'small' are stored (no cluster started)" in proc.stdout
    assert "leaderboard" in proc.stdout and "note:" not in proc.stdout  # one kind stored


def test_analyze_on_a_budgeted_folder_gives_the_full_grid_estimate(write_grid, tmp_path):
    import json

    path = write_grid(small_al_grid(params={"dataset": ["iris", "wine"], "strategy": ["random", "margin"],
                                            "budget": 2, "seed": {"range": [0, 3]}}))
    out = tmp_path / "out"
    proc = invoke("grid", "sample", path, "--budget", "50%", "--out", out)
    assert proc.exit_code == 0, proc.output
    proc = invoke("analyze", out, "--json", "--resamples", "20")
    assert proc.exit_code == 0, proc.output
    estimate = json.loads(proc.stdout)["full_grid_estimate"]
    assert json.dumps(estimate)  # present and plain JSON
    proc = invoke("analyze", out, "--resamples", "20")
    assert "full-grid estimate of mean auc_accuracy" in proc.stdout, proc.stdout[-2000:]


def test_the_closing_leaderboard_reads_only_its_columns_and_equals_the_full_read(write_grid, tmp_path):
    import pandas as pd

    from albench.analysis.leaderboard import leaderboard
    from albench.analysis.stored_board import stored_leaderboard
    from albench.closing_tables import al_columns, al_tables
    from albench.results import Results

    grid = load_grid(write_grid(small_al_grid(params={
        "dataset": ["iris", "wine"], "learner": ["logreg", "knn"], "strategy": ["random", "margin", "oracle"],
        "budget": 2, "seed": 0})))
    store = Store(tmp_path / "out")
    run_grid(grid, store)
    everything = store.read("runs")
    # a DuckDB group-by, the oracle baseline left out as every ranking leaves it out
    [table] = al_tables(store, grid.name)
    pd.testing.assert_frame_equal(table.frame, stored_leaderboard(Results(store.root)))
    assert "oracle" not in set(table.frame["strategy"]) and "oracle" in set(everything["strategy"])
    pd.testing.assert_frame_equal(table.frame, leaderboard(everything))
    # the runs read when it cannot sum exactly: only the columns the table needs, the same leaderboard
    pruned = store.read("runs", al_columns())
    assert len(pruned.columns) < len(everything.columns) / 2
    assert {"total_s", "error", "final_accuracy"} & set(everything.columns) - set(pruned.columns)
    pd.testing.assert_frame_equal(leaderboard(pruned), leaderboard(everything))
    store.drop_runs(set(everything.loc[everything["strategy"] == "oracle", "run_id"]))
    [table] = al_tables(store, grid.name)
    pd.testing.assert_frame_equal(table.frame, leaderboard(store.read("runs")))


def test_the_closing_active_testing_tables_read_only_their_columns_and_equal_the_full_read(write_grid, tmp_path):
    import pandas as pd

    from albench.active_testing.report import final_errors, reliability_warnings
    from albench.closing_tables import al_tables, at_columns, at_tables

    grid = load_grid(write_grid({"name": "at-small", "kind": "at", "params": {
        "dataset": "iris", "model": "logreg", "train_size": 30, "proposal": ["uniform", "surrogate_loss"],
        "safeguard_weight": [0.01, 0.5], "budget": 8, "seed": {"range": [0, 2]}}}))
    store = Store(tmp_path / "out")
    run_grid(grid, store)
    everything = store.read("runs")
    pruned = store.read("runs", at_columns(store))
    assert len(pruned.columns) < len(everything.columns)
    assert {"lure_estimate", "total_s"} <= set(everything.columns) - set(pruned.columns)
    pd.testing.assert_frame_equal(final_errors(pruned), final_errors(everything))
    assert reliability_warnings(pruned) == reliability_warnings(everything) != []
    [table] = at_tables(store, grid.name)
    # one data set, loss and surrogate: said once in the title, not in every row
    pd.testing.assert_frame_equal(table.frame, final_errors(everything).drop(columns=["dataset", "loss", "surrogate"]))
    assert table.title.endswith("; in every run: dataset iris, loss cross_entropy, surrogate model")
    assert {"proposal", "safeguard_weight", "estimator"} <= set(table.frame.columns)
    # AL runs of another grid in the same folder stay out of the table, and AT runs out of the leaderboard
    run_grid(load_grid(write_grid(small_al_grid(params={"strategy": ["random", "margin"], "budget": 2}))), store)
    [mixed] = at_tables(store, grid.name)
    pd.testing.assert_frame_equal(mixed.frame, table.frame)
    [board] = al_tables(store, "al")
    assert sorted(board.frame["strategy"]) == ["margin", "random"]
    assert table.warnings == reliability_warnings(everything)


def test_a_folder_holding_both_kinds_is_analysed_one_kind_at_a_time(write_grid, tmp_path):
    """Two grids of one name, one of each kind, in one folder: the AL curves' `queried` column is then in
    every curves row, and the AT analysis must not compare the picks of the estimators of one run."""
    out = tmp_path / "both"
    run_grid(load_grid(write_grid(small_al_grid(params={"strategy": ["random", "margin"], "budget": 2,
                                                        "seed": {"range": [0, 2]}}))), Store(out))
    at_grid = write_grid({"name": "other", "kind": "at", "params": {
        "dataset": "iris", "model": ["logreg", "gnb"], "train_size": 30, "proposal": ["uniform", "surrogate_loss"],
        "budget": 5, "seed": {"range": [0, 3]}}})
    run_grid(load_grid(at_grid), Store(out))
    again = invoke("grid", "run", at_grid, "--out", out, "--workers", 0)
    assert again.exit_code == 0, again.output
    assert (f"note: {out} also holds runs of kind al (the tables above leave them out); `albench analyze` and "
            f"`albench report` on it need --kind at") in " ".join(again.output.split())
    either = invoke("analyze", out)
    assert either.exit_code == 2 and "several kinds (al, at); choose one with --kind" in either.output
    at = invoke("analyze", out, "--kind", "at", "--resamples", 50, "--json")
    assert at.exit_code == 0, at.output
    influence = {row["hyperparameter"]: row for row in json.loads(at.output)["influence"]}
    assert influence["estimator"]["jaccard_contexts"] == 0 and influence["model"]["jaccard_contexts"] > 0
    al = invoke("analyze", out, "--kind", "al", "--resamples", 50)
    assert al.exit_code == 0 and "leaderboard: strategy" in al.output
    mixed = invoke("compare", out, out, "--resamples", 50)
    assert mixed.exit_code == 2 and "choose one with --kind" in mixed.output
    for kind, methods in (("at", {"uniform", "surrogate_loss"}), ("al", {"random", "margin"})):
        same = invoke("compare", out, out, "--kind", kind, "--resamples", 50, "--json")
        assert same.exit_code == 0, same.output
        rows = json.loads(same.output)["table"]
        assert {r["method"].split(" / ")[0] for r in rows} == methods | {"all"}  # AT: proposal / estimator
        assert all(r["effect"] == 0 for r in rows)
    for kind in ("at", "al"):  # one report per kind, side by side: neither overwrites the other
        drawn = invoke("report", out, "--kind", kind, "--resamples", 20, "--static")
        assert drawn.exit_code == 0, drawn.output
        assert f"report: {out / f'report-{kind}' / 'report.html'}" in drawn.output
    assert not (out / "report").exists()
    exported = invoke("export", out, "--kind", "at", "--no-pdf", "--no-svg", "--resamples", 20)
    assert exported.exit_code == 0 and (out / "export-at" / "tables").is_dir(), exported.output


def test_the_closing_note_names_other_grids_of_the_kind_in_the_folder(write_grid, tmp_path):
    """Two AL grids in one folder: the leaderboard covers both, and the note says so and how to rank one."""
    from albench.results import Results, stored_grids

    out = tmp_path / "shared"
    other = write_grid(small_al_grid(name="neighbour", params={"strategy": ["random", "entropy"]}), "other.yaml")
    run_grid(load_grid(other), Store(out))
    path = write_grid(small_al_grid())
    proc = invoke("grid", "run", path, "--out", out, "--workers", 0)
    assert proc.exit_code == 0, proc.output
    text = " ".join(proc.output.split())
    assert (f"note: the tables above cover every run of kind al in {out}, with those written by other grids: "
            f"'neighbour' (4 runs); `albench analyze {out} --grid FILE` ranks one grid's runs alone") in text
    assert "entropy" in text  # the neighbour's strategy is on the leaderboard, as the note says
    assert [(g.name, g.kind, g.runs, g.failed) for g in stored_grids(Results(out))] == [
        ("neighbour", "al", 4, 0), ("small", "al", 2, 0)]  # random's runs are shared
    alone = invoke("grid", "run", other, "--out", out, "--workers", 0)
    assert "'small' (2 runs)" in " ".join(alone.output.split())


def test_grid_show_writes_a_run_of_seeds_short_and_other_values_whole(write_grid):
    path = write_grid(small_al_grid(params={"seed": {"range": [0, 200]}, "start_point": [0, 1, 2, 3, 5]}))
    out = invoke("grid", "show", path)
    assert out.exit_code == 0, out.output
    rows = {line.split("│")[1].strip(): line.split("│")[3].strip() for line in out.output.splitlines()
            if line.startswith("│ ") and line.split("│")[1].strip()}
    assert rows["seed"] == "0, 1, ..., 199" and rows["start_point"] == "0, 1, 2, 3, 5"
    assert "runs: 2000" in out.output  # 200 seeds x 5 start points x 2 strategies


def test_a_rerun_names_the_stored_failures_and_the_option_that_runs_them_again(tmp_path):
    from executor_helpers import registry_restored, write_grid as write_grid_with_plugins

    path = write_grid_with_plugins(tmp_path, {"name": "faulty", "kind": "al", "params": {
        "dataset": "iris", "learner": "gnb", "strategy": ["random", "test_raises"], "budget": 2}}, plugin=True)
    out = tmp_path / "out"
    with registry_restored():
        first = invoke("grid", "run", path, "--out", out, "--workers", 0)
        again = invoke("grid", "run", path, "--out", out, "--workers", 0)
        rerun = invoke("grid", "run", path, "--out", out, "--workers", 0, "--rerun-failed")
    note = "note: 1 stored run of grid 'faulty' failed (error or timeout); --rerun-failed runs it again"
    assert first.exit_code == 0 and note in " ".join(first.output.split()), first.output
    assert "0 done, 2 skipped" in again.output and note in " ".join(again.output.split()), again.output
    assert "1 failed" in rerun.output and "--rerun-failed runs" not in rerun.output, rerun.output
