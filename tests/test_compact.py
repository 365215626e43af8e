"""Compaction of a results folder: same rows after, atomic under crashes and a live writer; flush by size."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from albench import compaction
from albench.cli import app
from albench.compaction import compact
from albench.execute import BatchWriter, pending, run_grid
from albench.repair import check, repair
from albench.run_ids import RunIds, SeenRunIds
from albench.spec import grid_from_dict
from albench.store import COMPACTED_PREFIX, Store, StoreLocked
from albench.table_schema import schemas_for
from conftest import small_al_grid

HOLD_LOCK = ("import sys, time; from albench.store import Store\n"
             "with Store(sys.argv[1]).writing():\n    print('locked', flush=True); time.sleep(600)\n")


def _fill(store: Store, n_parts: int, runs_per_part: int = 3, seed: int = 0) -> None:
    """Parts that differ as real ones do: a column only in some parts, error rows without curves, list cells."""
    rng = np.random.default_rng(seed)
    for p in range(n_parts):
        runs, curves = [], []
        for r in range(runs_per_part):
            run_id = f"{p:04d}{r:04d}{rng.integers(1 << 30):08x}"
            failed = rng.random() < 0.2
            row = {"run_id": run_id, "status": "error" if failed else "ok", "seed": int(rng.integers(100)),
                   "auc": None if failed else float(rng.random()), "error": "boom" if failed else None,
                   "finished_at": datetime(2026, 1, 1 + p % 28, tzinfo=timezone.utc)}
            if p % 3 == 0:
                row["late_column"] = f"v{p}"  # a grid that gained a column later
            runs.append(row)
            if not failed:
                curves += [{"run_id": run_id, "cycle": c, "accuracy": float(rng.random()),
                            "queried": rng.integers(0, 50, size=c).tolist()} for c in range(3)]
        store.write(runs, curves)


def _rows(store: Store, table: str) -> pd.DataFrame:
    df = store.read(table)
    keys = ["run_id"] + (["cycle"] if table == "curves" else [])
    df = df.sort_values(keys).reset_index(drop=True)
    df = df[sorted(df.columns)]
    if "queried" in df:
        df["queried"] = df["queried"].map(list)
    return df


def _snapshot(store: Store) -> dict[str, pd.DataFrame]:
    return {t: _rows(store, t) for t in ("runs", "curves")}


def _assert_same(before: dict, store: Store) -> None:
    for table, df in before.items():
        pd.testing.assert_frame_equal(_rows(store, table), df)


def test_compacted_store_reads_back_the_same_rows_in_few_row_grouped_files(tmp_path, monkeypatch):
    store = Store(tmp_path)
    _fill(store, 40)
    orphan = tmp_path / "curves" / "part-orphan.parquet"  # a crashed writer's curves part: never merged
    pd.DataFrame({"run_id": ["ghost"], "cycle": [0]}).to_parquet(orphan)
    before = _snapshot(store)
    monkeypatch.setattr(compaction, "ROW_GROUP_ROWS", 25)
    summary = compact(tmp_path, max_runs_rows=60)
    # 120 runs rows in parts of 3, at most 60 per file: 2 files; small parts are those under 30 rows
    assert (summary.parts_before, summary.merged, summary.written, summary.parts_after) == (40, 40, 2, 2)
    assert summary.runs_rows == 120 and summary.curves_rows == len(before["curves"])
    runs_files, curves_files = store.parts("runs"), store.parts("curves")
    assert [p.name for p in runs_files] == [p.name for p in curves_files]
    assert all(p.name.startswith(COMPACTED_PREFIX) for p in runs_files)
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [p.name for p in runs_files]  # olds deleted
    assert not orphan.exists()
    for path in curves_files:
        sizes = [pq.ParquetFile(path).metadata.row_group(i).num_rows
                 for i in range(pq.ParquetFile(path).num_row_groups)]
        assert max(sizes) <= 25 and len(sizes) > 1
    _assert_same(before, store)
    assert check(tmp_path).clean  # fsck understands compacted files
    again = compact(tmp_path, max_runs_rows=60)  # both files hold 60 rows, not small: nothing to do
    assert again.written == 0 and [p.name for p in store.parts("runs")] == [p.name for p in runs_files]
    _fill(store, 2, seed=1)  # a writer after compaction adds small parts beside the compacted files
    assert len(store.read("runs")) == 126 and store.read("runs")["run_id"].is_unique


def test_a_crash_after_the_commit_never_shows_a_row_twice_and_the_next_compact_or_fsck_finishes(tmp_path,
                                                                                                monkeypatch):
    for finisher in ("compact", "fsck", "grid"):
        root = tmp_path / finisher
        store = Store(root)
        _fill(store, 6)
        before = _snapshot(store)
        old_names = sorted(p.name for p in (root / "runs").iterdir())

        def crash(path):  # after both renames, before any old part is deleted
            raise OSError("power cut")

        monkeypatch.setattr(compaction, "_fsync_dir", crash)
        with pytest.raises(OSError, match="power cut"):
            compact(root)
        monkeypatch.undo()
        on_disk = sorted(p.name for p in (root / "runs").iterdir())
        assert set(old_names) < set(on_disk) and len(on_disk) == len(old_names) + 1  # both sets are there
        assert len(store.parts("runs")) == 1
        _assert_same(before, store)  # ... and every row is read once
        found = check(root)
        assert len(found.replaced) == 12 and not found.duplicates and not found.orphans
        if finisher == "compact":
            finished = compact(root)
            assert finished.written == 0 and finished.finished == 12
            assert finished.line().startswith("finished an interrupted compaction (deleted 12 replaced parts); ")
        elif finisher == "fsck":
            repair(root)
            assert sorted(p.name for p in (root / "quarantine" / "runs").iterdir()) == old_names
        else:
            pending(grid_from_dict(small_al_grid()), store)  # every grid run starts by cleaning up
        assert [p.name for p in (root / "runs").iterdir()] == [p.name for p in store.parts("runs")]
        assert check(root).clean
        _assert_same(before, store)


def test_a_crash_before_the_commit_leaves_the_old_parts(tmp_path, monkeypatch):
    store = Store(tmp_path)
    _fill(store, 5)
    before = _snapshot(store)
    real = compaction.os.replace

    def replace(src, dst):
        if "runs" in str(dst):
            raise OSError("killed between the curves rename and the runs rename")
        real(src, dst)

    monkeypatch.setattr(compaction.os, "replace", replace)
    with pytest.raises(OSError, match="killed"):
        compact(tmp_path)
    monkeypatch.undo()
    assert len(store.parts("runs")) == 5 and len(list((tmp_path / "curves").iterdir())) == 6  # one orphan
    _assert_same(before, store)
    assert len(check(tmp_path).orphans) == 1
    assert compact(tmp_path).written == 1
    assert len(list((tmp_path / "curves").iterdir())) == 1 and not list(tmp_path.glob("*/.part-*"))
    _assert_same(before, store)


def test_compact_refuses_a_folder_being_written_and_changes_nothing(tmp_path):
    store = Store(tmp_path)
    _fill(store, 4)
    files = sorted(tmp_path.glob("*/*"))
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(StoreLocked):
            compact(tmp_path)
        result = CliRunner().invoke(app, ["compact", str(tmp_path)])
        assert result.exit_code == 3
        assert f"is being written by albench process {holder.pid}" in result.output
        assert "nothing compacted" in result.output
        assert sorted(tmp_path.glob("*/*")) == files
    finally:
        holder.kill()
        holder.wait()
    result = CliRunner().invoke(app, ["compact", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "compacted 4 runs parts" in result.output and "4 -> 1 runs parts" in result.output
    result = CliRunner().invoke(app, ["compact", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "not a results folder (no runs/ in it)" in result.output


def test_resume_after_compaction_skips_every_stored_run_and_rerun_failed_keeps_one_row(tmp_path):
    grid = grid_from_dict(small_al_grid(params={"seed": {"range": [0, 3]}}))
    store = Store(tmp_path)
    first = run_grid(grid, store)
    _fill(store, 3)  # more parts, so there is something to merge
    assert compact(tmp_path).written == 1
    again = run_grid(grid, store)
    assert (first.done, again.done, again.skipped) == (6, 0, 6)
    victim = _rows(store, "runs").query("status == 'ok' and grid == 'small'")["run_id"].iloc[0]
    store.drop_runs({victim})  # rewrites the compacted file without it
    store.write([{"run_id": victim, "status": "error", "error": "boom", "grid": "small", "kind": "al"}], [],
                schemas_for("al"))
    redo = run_grid(grid, store, rerun_failed=True)
    runs = store.read("runs")
    assert (redo.done, redo.skipped) == (1, 5)
    assert runs["run_id"].is_unique and (runs.set_index("run_id").loc[victim, "status"] == "ok")
    assert not store.read("curves").duplicated(["run_id", "cycle"]).any()


def test_a_grid_that_leaves_parts_piled_up_compacts_the_folder(tmp_path, monkeypatch):
    store = Store(tmp_path)
    _fill(store, 5)
    monkeypatch.setattr(compaction, "AUTO_COMPACT_PARTS", 4)
    summary = run_grid(grid_from_dict(small_al_grid()), store)
    assert summary.compacted is not None and "6 -> 1 runs parts" in summary.line()
    assert len(store.parts("runs")) == 1 and len(store.read("runs")) == 15 + 4
    monkeypatch.setattr(compaction, "AUTO_COMPACT_PARTS", 100)
    assert run_grid(grid_from_dict(small_al_grid()), store).compacted is None


def test_parts_are_flushed_by_size_and_by_a_long_time_bound_only(tmp_path, monkeypatch):
    store = Store(tmp_path)
    clock = [1000.0]
    monkeypatch.setattr("albench.part_writer.time.monotonic", lambda: clock[0])
    writer = BatchWriter(store, max_runs=5, max_curve_rows=10)

    def add(i: int, n_curves: int) -> None:
        writer.add({"run_id": f"r{i}", "status": "ok"}, [{"run_id": f"r{i}", "cycle": c} for c in range(n_curves)])

    for i in range(4):  # 4 runs, 8 curve rows: under both bounds
        add(i, 2)
    clock[0] += 60  # the old 10 s bound would have written a part by now
    assert not store.parts("runs")
    add(4, 2)  # the 5th run: max_runs
    assert [len(pq.read_table(p)) for p in store.parts("runs")] == [5]
    add(5, 6)
    add(6, 6)  # 12 curve rows: max_curve_rows, after 2 runs
    assert sorted(len(pq.read_table(p)) for p in store.parts("runs")) == [2, 5]
    add(7, 0)
    clock[0] += 301  # the safety bound: a run arriving 5 minutes after the last part is written at once
    add(8, 0)
    assert sorted(len(pq.read_table(p)) for p in store.parts("runs")) == [2, 2, 5]
    writer.flush()
    writer.flush()  # nothing buffered: no empty part
    assert len(store.parts("runs")) == 3 and store.finished() == {f"r{i}" for i in range(9)}


def test_run_id_sets_answer_as_a_python_set_does():
    rng = np.random.default_rng(5)
    hex_ids = {f"{x:016x}" for x in rng.integers(0, 1 << 63, size=2000)} | {"0" * 16, "f" * 16}
    others = {"short", "a-much-longer-run-id-than-the-rest", "ünïcode"}
    fresh = [f"{x:016x}" for x in rng.integers(0, 1 << 63, size=500)]
    tricky = ["", "shor", "shortX", "a-much-longer-run-id-than-the-rest!", "ünïcod", "0" * 15, "0" * 17,
              "F" * 16, "g" * 16, "0x" + "0" * 14, "1_" + "0" * 14]
    for stored in (hex_ids, hex_ids | others):
        queries = list(stored)[:500] + fresh + tricky + [i.upper() for i in list(hex_ids)[:20]]
        queries += [i[:15] for i in list(hex_ids)[:20]] + [i + "0" for i in list(hex_ids)[:20]]
        for ids in (RunIds.from_strings(stored), RunIds.from_strings(sorted(stored) * 2)):
            assert ids.hex == (stored == hex_ids)  # albench's own ids as integer keys
            assert len(ids) == len(stored) and set(ids) == stored
            assert ids.contains(queries).tolist() == [q in stored for q in queries]
            assert all((q in ids) == (q in stored) for q in queries[::50] + tricky)
    import pyarrow as pa
    ordered = sorted(hex_ids)
    from_arrow = RunIds.from_arrow(pa.chunked_array([pa.array(ordered[:100]), pa.array(ordered[100:] + [None])]))
    assert from_arrow.hex and from_arrow.ids.dtype == np.uint64 and set(from_arrow) == hex_ids
    assert not RunIds.from_arrow(pa.chunked_array([], pa.string())) and "x" not in RunIds()


def test_seen_run_ids_grow_and_remember_across_merges(monkeypatch):
    monkeypatch.setattr(SeenRunIds, "MERGE_EVERY", 7)
    rng = np.random.default_rng(2)
    for make in (lambda x: "id" * int(x % 3) + str(x),  # several widths, so merges widen the array
                 lambda x: f"{x * 7919:016x}"):  # albench's own ids: merged as integer keys
        seen, reference = SeenRunIds(), set()
        for x in rng.integers(0, 60, size=200):
            run_id = make(x)
            assert (run_id in seen) == (run_id in reference)
            if run_id not in reference:
                seen.add(run_id)
                reference.add(run_id)
        assert len(seen) == len(reference) > 40


def test_part_size_from_the_environment_and_a_bad_value_named(tmp_path, monkeypatch):
    from albench.part_writer import PART_RUNS
    from albench.store import StoreError

    assert BatchWriter(Store(tmp_path)).max_runs == PART_RUNS
    monkeypatch.setenv("ALBENCH_PART_RUNS", "50")
    assert BatchWriter(Store(tmp_path)).max_runs == 50
    for bad in ("0", "ten", "-3", "2.5"):
        monkeypatch.setenv("ALBENCH_PART_RUNS", bad)
        with pytest.raises(StoreError, match=f"ALBENCH_PART_RUNS='{bad}': must be a whole number of runs"):
            BatchWriter(Store(tmp_path))


def test_a_part_that_vanishes_between_listing_and_reading_is_listed_again(tmp_path, monkeypatch):
    from albench.store import PartVanished

    store = Store(tmp_path)
    _fill(store, 3)
    real, calls = Store.parts, []

    def stale_once(self, table):  # the first listing names a part that a compaction has just deleted
        calls.append(table)
        return real(self, table) + ([tmp_path / table / "part-gone.parquet"] if len(calls) == 1 else [])

    monkeypatch.setattr(Store, "parts", stale_once)
    assert len(store.read("runs")) == 9 and len(calls) == 2
    calls.clear()
    assert len(store.finished_ids()) == 9 and len(calls) == 2
    monkeypatch.setattr(Store, "parts", lambda self, table: [tmp_path / table / "part-gone.parquet"])
    with pytest.raises(PartVanished, match="part-gone.parquet: deleted while being read"):
        store.read("runs")
