"""Each row records which implementation made it; rows of a changed strategy are found and can run again."""

from __future__ import annotations

import subprocess
import sys

import yaml

from albench.execute import run_grid
from albench.implementations import changed
from albench.spec import load_grid
from albench.store import Store
from conftest import small_al_grid

PLUGIN = '''
from albench.strategy import Strategy, register


@register("wanderer", "random picks, version {version}")
class Wanderer(Strategy):
    def query(self, state, batch_size, rng):
        return rng.choice(state.unlabelled, size=batch_size, replace=False)
'''


def test_rows_record_implementations_and_a_changed_plugin_is_found(tmp_path):
    folder = tmp_path / "plugs"
    folder.mkdir()
    (folder / "wanderer.py").write_text(PLUGIN.format(version=1))
    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump(small_al_grid(params={"strategy": ["margin", "wanderer"]}, plugins=["plugs"])))
    grid, store = load_grid(path), Store(tmp_path / "out")
    run_grid(grid, store)
    runs = store.read("runs")
    assert runs["strategy_impl"].str.fullmatch(r"[\w.]+@[0-9a-f]{12}").all()
    assert set(runs.loc[runs["strategy"] == "margin", "strategy_impl"]) == {
        runs.loc[runs["strategy"] == "margin", "strategy_impl"].iloc[0]}
    assert runs["learner_impl"].notna().all() and runs["dataset_impl"].notna().all()
    assert changed(grid, store).run_ids == set()

    (folder / "wanderer.py").write_text(PLUGIN.format(version=2))  # the strategy's code changes
    cmd = [sys.executable, "-m", "albench", "grid", "run", str(path), "--out", str(tmp_path / "out"), "-q"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "2 stored rows of strategy 'wanderer' were made by another implementation" in proc.stdout
    assert "--rerun-changed runs them again" in proc.stdout
    before = set(store.read("runs")["run_id"])
    proc = subprocess.run(cmd + ["--rerun-changed"], capture_output=True, text=True)
    assert proc.returncode == 0 and "2 rows dropped: they run again now" in proc.stdout, proc.stderr
    after = store.read("runs")
    assert set(after["run_id"]) == before and len(after) == len(before)  # each run stored once
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert "another implementation" not in proc.stdout, proc.stdout


def test_changed_rows_are_counted_per_component_and_implementation(write_grid, tmp_path):
    from albench.kinds import KINDS

    grid = load_grid(write_grid(small_al_grid()))
    now = KINDS["al"].implementations_of("strategy", ["margin", "random"])
    store = Store(tmp_path / "out")
    older = [{"run_id": f"old{i}", "kind": "al", "status": "ok", "strategy": "margin"} for i in range(3)]
    store.write(older, [])  # written before implementations were recorded: unknown, not changed
    rows = []
    for i, (strategy, made_by) in enumerate([("margin", now["margin"]), ("margin", "albench.x@aaaaaaaaaaaa"),
                                             ("margin", "albench.x@bbbbbbbbbbbb"), ("margin", "albench.x@cccccccccccc"),
                                             ("random", now["random"]), ("random", "albench.y@dddddddddddd"),
                                             ("elsewhere", "albench.z@eeeeeeeeeeee")]):
        rows.append({"run_id": f"r{i}", "kind": "al", "status": "ok", "strategy": strategy, "strategy_impl": made_by})
    for half in (rows[::2], rows[1::2]):
        store.write(half, [])
    found = changed(grid, store)
    assert found.unknown == 3
    assert found.by_component[("strategy", "margin")] == (3, "albench.x@aaaaaaaaaaaa, albench.x@bbbbbbbbbbbb",
                                                          now["margin"])
    assert found.by_component[("strategy", "random")] == (1, "albench.y@dddddddddddd", now["random"])
    assert ("strategy", "elsewhere") not in found.by_component  # not a component of this grid
    assert found.run_ids == {"r1", "r2", "r3", "r5"}


def test_another_grid_in_the_same_folder_is_not_counted_nor_dropped(write_grid, tmp_path):
    """Rows of a changed component written by another grid (another name, or the other kind, which shares
    the data set key) are that grid's: ``--rerun-changed`` must not drop them."""
    grid = load_grid(write_grid(small_al_grid()))
    store = Store(tmp_path / "out")
    stale = "albench.x@aaaaaaaaaaaa"
    rows = [{"run_id": "mine", "grid": grid.name, "kind": "al", "status": "ok", "strategy": "margin",
             "strategy_impl": stale, "dataset": "iris", "dataset_impl": stale},
            {"run_id": "neighbour", "grid": "other", "kind": "al", "status": "ok", "strategy": "margin",
             "strategy_impl": stale, "dataset": "iris", "dataset_impl": stale},
            {"run_id": "tested", "grid": grid.name, "kind": "at", "status": "ok", "dataset": "iris",
             "dataset_impl": stale},
            {"run_id": "old", "kind": "al", "status": "ok", "strategy": "margin", "strategy_impl": stale}]
    store.write(rows, [])
    found = changed(grid, store)
    assert found.by_component[("strategy", "margin")][0] == 2  # its own row and the one without a grid name
    assert found.by_component[("dataset", "iris")][0] == 1
    assert found.run_ids == {"mine", "old"}
