"""Only the grid you mean: ``--grid`` restricts answers to the current grid's runs, ``grid prune``
deletes the rows the grid no longer contains. Results are real runs of tiny grids."""

from __future__ import annotations

import json

import pytest
import yaml

import albench.results
from albench.execute import run_grid
from albench.spec import grid_from_dict
from albench.store import Store
from conftest import invoke


def grid_doc(strategies: list[str]) -> dict:
    return {"name": "tiny", "kind": "al", "params": {
        "dataset": "iris", "learner": "logreg", "strategy": strategies, "batch_size": 2,
        "initial_size": "per_class", "budget": 1, "seed": {"range": [0, 2]}}}


@pytest.fixture()
def stored(tmp_path):
    """Results of an old grid (three strategies) and the current grid file (two of them)."""
    root = tmp_path / "tiny"
    run_grid(grid_from_dict(grid_doc(["random", "margin", "entropy"])), Store(root))
    current = tmp_path / "tiny.yaml"
    current.write_text(yaml.safe_dump(grid_doc(["random", "margin"])))
    return root, current


def test_grid_run_ids_restrict_every_table_and_sql(stored):
    root, current = stored
    ids = albench.results.grid_run_ids(current)
    assert len(ids) == 4
    full, only = albench.results.open(root), albench.results.open(root, run_ids=ids)
    assert len(full.runs) == 6 and set(only.runs["run_id"]) == ids
    assert set(only.curves["run_id"]) == ids and len(only.curves) == len(full.curves) * 4 // 6
    assert only.sql("SELECT count(*) AS n FROM runs")["n"].item() == 4
    assert only.sql("SELECT count(DISTINCT run_id) AS n FROM curves")["n"].item() == 4
    assert set(albench.results.open(root, lazy=True, run_ids=ids).runs.compute()["run_id"]) == ids


def test_cli_grid_option(stored):
    root, current = stored
    out = invoke("analyze", root, "--grid", current, "--json", "--resamples", 20)
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["ok_runs"] == 4 and {row["strategy"] for row in data["leaderboard"]} == {"random", "margin"}
    counted = invoke("query", root, "SELECT count(*) AS n FROM runs", "--grid", current, "--json")
    assert json.loads(counted.output) == [{"n": 4}]
    bad = invoke("analyze", root, "--grid", current.with_name("nope.yaml"))
    assert bad.exit_code == 2 and "nope.yaml" in bad.output and "Traceback" not in bad.output
    other = current.with_name("other.yaml")
    other.write_text(yaml.safe_dump(grid_doc(["least_confident"])))
    for command in (["analyze"], ["report"], ["query", "SELECT 1"]):
        none = invoke(command[0], root, *command[1:], "--grid", other)
        assert none.exit_code == 2, none.output
        assert f"--grid {other}: none of its 2 runs is stored in {root}" in " ".join(none.output.split())


def test_prune_dry_run_then_prune(stored):
    root, current = stored
    dry = invoke("grid", "prune", current, "--out", root, "--dry-run")
    assert dry.exit_code == 0, dry.output
    text = " ".join(dry.output.split())
    assert "would remove 2 of 6 stored runs" in text and "(2 ok)" in text
    assert "strategy: entropy not in the grid" in text
    assert "dry run: nothing removed" in text
    assert len(albench.results.open(root).runs) == 6
    done = invoke("grid", "prune", current, "--out", root)
    assert done.exit_code == 0, done.output
    assert "removed 2 runs; 4 remain" in " ".join(done.output.split())
    res = albench.results.open(root)
    assert set(res.runs["run_id"]) == set(res.curves["run_id"]) == albench.results.grid_run_ids(current)
    again = invoke("grid", "prune", current, "--out", root)
    assert "nothing to prune" in again.output


def test_prune_keeps_the_runs_of_other_grids_in_the_same_folder(stored, tmp_path):
    """Another grid (another name, or another kind) run into the folder: pruning one grid never deletes the
    other's runs, and says how many it kept."""
    root, current = stored
    neighbour = {**grid_doc(["least_confident"]), "name": "neighbour"}
    run_grid(grid_from_dict(neighbour), Store(root))
    at = {"name": "tiny", "kind": "at", "params": {"dataset": "iris", "model": "gnb", "train_size": 30,
                                                   "budget": 3, "seed": {"range": [0, 2]}}}
    run_grid(grid_from_dict(at), Store(root))  # the same name, the other kind
    before = set(albench.results.open(root).runs["run_id"])
    assert len(before) == 6 + 2 + 2
    done = invoke("grid", "prune", current, "--out", root)
    assert done.exit_code == 0, done.output
    text = " ".join(done.output.split())
    assert "keeping 4 stored runs of other grids: 'neighbour' (al), 'tiny' (at)" in text, text
    assert "removing 2 of 10 stored runs" in text and "removed 2 runs; 8 remain" in text
    after = albench.results.open(root).runs
    assert len(after) == 8
    assert set(after.loc[after["grid"] == "neighbour", "run_id"]) == \
        {s.run_id for s in grid_from_dict(neighbour).specs()}
    assert set(after.loc[after["kind"] == "at", "run_id"]) == {s.run_id for s in grid_from_dict(at).specs()}
    assert set(after.loc[(after["grid"] == "tiny") & (after["kind"] == "al"), "run_id"]) == \
        albench.results.grid_run_ids(current)


def test_one_method_is_said_once_without_a_test_line(tmp_path):
    """A folder of one strategy: the verdict says there is nothing to compare, once, and no Friedman or
    Nemenyi line of n/a values follows the leaderboard."""
    root = tmp_path / "one"
    run_grid(grid_from_dict(grid_doc(["margin"])), Store(root))
    out = invoke("analyze", root)
    assert out.exit_code == 0, out.output
    assert out.output.count("nothing to compare") == 1 and "margin is the only method" in out.output
    assert "Friedman" not in out.output and "n/a" not in out.output
