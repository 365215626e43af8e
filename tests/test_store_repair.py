"""A results folder under abuse: two writers at once, damaged parts and their repair, hostile SQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from albench.cli import app
from albench.execute import run_grid
from albench.repair import check, repair
from albench.spec import grid_from_dict
from albench.store import DamagedPart, Store, StoreLocked
from conftest import small_al_grid
from executor_helpers import run_ids, write_grid

ALBENCH = str(Path(sys.executable).parent / "albench")
HOLD_LOCK = ("import sys, time; from albench.store import Store\n"
             "with Store(sys.argv[1]).writing():\n    print('locked', flush=True); time.sleep(600)\n")


def _grid(tmp_path: Path, seeds: int = 2) -> Path:
    return write_grid(tmp_path, small_al_grid(params={"seed": {"range": [0, seeds]}}))


def _holder(root: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(root)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "locked\n"
    return proc


def test_a_second_writer_is_refused_and_a_killed_writer_leaves_no_lock(tmp_path):
    out = tmp_path / "out"
    holder = _holder(out)
    try:
        with pytest.raises(StoreLocked, match=f"{out} is being written by albench process {holder.pid}"):
            with Store(out).writing():
                pass
        result = CliRunner().invoke(app, ["grid", "run", str(_grid(tmp_path)), "--out", str(out), "-q"])
        assert result.exit_code == 2
        assert result.output == (f"error: --out: {out} is being written by albench process {holder.pid}; wait for "
                                 f"it to finish, or write to another folder (--out)\n")
        # its temporary parts are its own: a second process never cleans them up
        tmp_part = out / "runs" / ".part-live-1234.tmp"
        tmp_part.write_bytes(b"half")
        with pytest.raises(StoreLocked):
            Store(out).remove_orphans()
        assert tmp_part.exists()
    finally:
        holder.kill()  # kill -9: the kernel releases its flock
        holder.wait()
    Store(out).remove_orphans()
    assert not tmp_part.exists()  # no live writer now: the leftover is a crashed writer's
    assert run_grid(grid_from_dict(small_al_grid()), Store(out)).done == 4


def test_two_grid_runs_at_once_store_every_run_once(tmp_path):
    grid_path = _grid(tmp_path, seeds=3)
    out = tmp_path / "out"
    command = [ALBENCH, "grid", "run", str(grid_path), "--out", str(out), "-q"]
    first, second = (subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for _ in range(2))
    outcomes = [p.communicate(timeout=300) + (p.returncode,) for p in (first, second)]
    codes = sorted(code for _, _, code in outcomes)
    assert codes in ([0, 0], [0, 2]), outcomes
    for stdout, stderr, code in outcomes:
        if code == 2:  # the later one says why it stopped, in one line
            assert stderr.startswith(f"error: --out: {out} is being written by albench process ")
    runs = Store(out).read("runs")
    assert runs["run_id"].is_unique and set(runs["run_id"]) == run_ids(grid_path)


def _damage(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A complete folder of 4 runs in 2 parts, then one runs part truncated and one zero bytes."""
    grid_path = _grid(tmp_path)
    out = tmp_path / "out"
    store = Store(out)
    grid = grid_from_dict(small_al_grid(params={"seed": 0}))  # 2 runs, then the other 2
    run_grid(grid, store)
    run_grid(grid_from_dict(small_al_grid()), store)
    parts = store.parts("runs")
    assert len(parts) == 2
    truncated, zero = parts
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    zero.write_bytes(b"")
    return grid_path, out, truncated


def test_damaged_parts_are_named_by_readers_and_fsck_repairs_them(tmp_path):
    grid_path, out, truncated = _damage(tmp_path)
    with pytest.raises(DamagedPart, match=f"^{truncated}: damaged part file .*run `albench fsck {out}`"):
        Store(out).read("runs")
    cli = CliRunner()
    run = cli.invoke(app, ["grid", "run", str(grid_path), "--out", str(out), "-q"])
    assert run.exit_code == 2 and run.output.startswith("error: ") and "damaged part file" in run.output
    assert len(run.output.strip().splitlines()) == 1
    query = cli.invoke(app, ["query", str(out), "SELECT count(*) FROM runs"])
    assert query.exit_code == 2 and "part-" in query.output and len(query.output.strip().splitlines()) == 1

    dry = cli.invoke(app, ["fsck", str(out), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.count("damaged: ") == 2 and dry.output.count("partner of a damaged part: ") == 2
    assert "dry run: nothing changed" in dry.output and not (out / "quarantine").exists()

    fixed = cli.invoke(app, ["fsck", str(out)])
    assert fixed.exit_code == 0, fixed.output
    assert sorted(p.parent.name for p in (out / "quarantine").glob("*/part-*")) == ["curves", "curves", "runs", "runs"]
    assert check(out).clean and Store(out).parts("runs") == []
    again = cli.invoke(app, ["grid", "run", str(grid_path), "--out", str(out), "-q"])
    assert again.exit_code == 0 and "4 done, 0 skipped" in again.output  # the missing runs ran again
    runs = Store(out).read("runs")
    assert runs["run_id"].is_unique and set(runs["run_id"]) == run_ids(grid_path)
    assert cli.invoke(app, ["fsck", str(out)]).output.endswith("no damaged part, orphan, duplicate row or "
                                                                "temporary file\n")


def test_fsck_moves_duplicate_rows_aside_keeping_the_ok_row(tmp_path):
    store = Store(tmp_path)
    store.write([{"run_id": "a", "status": "error", "error": "boom"}], [])
    store.write([{"run_id": "a", "status": "ok"}, {"run_id": "b", "status": "ok"}],
                [{"run_id": "a", "cycle": 0}, {"run_id": "b", "cycle": 0}])
    store.write([{"run_id": "b", "status": "ok"}], [{"run_id": "b", "cycle": 0}])
    found = check(tmp_path)
    assert sum(len(ids) for ids in found.duplicates.values()) == 2
    assert repair(tmp_path).duplicates == found.duplicates
    runs = store.read("runs")
    assert sorted(runs["run_id"]) == ["a", "b"] and set(runs["status"]) == {"ok"}
    curves = store.read("curves")
    assert sorted(curves["run_id"]) == ["a", "b"]  # b's curves of the row moved aside went with it
    moved = Store(tmp_path / "quarantine")
    assert len(list((tmp_path / "quarantine" / "runs").glob("duplicates-*"))) == 2 and moved.root.exists()
    assert check(tmp_path).clean


def test_fsck_moves_duplicates_out_of_a_part_of_many_row_groups_keeping_its_metadata(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    store = Store(tmp_path)
    store.write([{"run_id": "r3", "status": "ok"}, {"run_id": "r7", "status": "ok"}], [])  # the copies kept
    rows = pa.table({"run_id": [f"r{i}" for i in range(10)], "status": ["error"] * 10})
    big = tmp_path / "runs" / "part-big.parquet"
    pq.write_table(rows.replace_schema_metadata({b"note": b"kept"}), big, row_group_size=3)
    assert pq.ParquetFile(big).num_row_groups == 4
    repair(tmp_path)
    left = pq.read_table(big)
    assert left.schema.metadata[b"note"] == b"kept"
    assert left["run_id"].to_pylist() == [f"r{i}" for i in range(10) if i not in (3, 7)]
    moved = pq.read_table(tmp_path / "quarantine" / "runs" / "duplicates-part-big.parquet")
    assert moved.to_pydict() == {"run_id": ["r3", "r7"], "status": ["error", "error"]}
    assert check(tmp_path).clean and sorted(store.read("runs")["run_id"]) == [f"r{i}" for i in range(10)]


def test_query_read_only_refuses_files_outside_the_results(tmp_path):
    store = Store(tmp_path / "res")
    store.write([{"run_id": "a", "status": "ok", "auc_accuracy": 0.5}], [])
    cli = CliRunner()
    ok = cli.invoke(app, ["query", str(tmp_path / "res"), "SELECT count(*) AS n FROM runs", "--json", "--read-only"])
    assert ok.exit_code == 0 and ok.output.strip() == '[{"n":1}]'
    secret = tmp_path / "secret.csv"
    secret.write_text("x\n1\n")
    for sql in (f"SELECT * FROM read_csv('{secret}')", f"COPY runs TO '{tmp_path}/stolen.csv'",
                f"ATTACH '{tmp_path}/other.db'", "SET enable_external_access = true"):
        denied = cli.invoke(app, ["query", str(tmp_path / "res"), sql, "--read-only"])
        assert denied.exit_code == 2, (sql, denied.output)
        assert denied.output.startswith("error: query failed: ") and len(denied.output.strip().splitlines()) == 1
    assert not (tmp_path / "stolen.csv").exists() and not (tmp_path / "other.db").exists()
    # without --read-only the same SQL reads the file: that is what the option is for
    assert cli.invoke(app, ["query", str(tmp_path / "res"), f"SELECT * FROM read_csv('{secret}')"]).exit_code == 0


def _duplicates_by_hand(parts: dict[str, list[dict]]) -> dict[str, list[str]]:
    """The rule written out: of a run_id's rows, those of the highest (ok, finished_at, part name) stay."""
    rank = {}
    for name, rows in parts.items():
        for row in rows:
            key = (row["status"] == "ok", row["finished_at"].timestamp() if row["finished_at"] else 0.0, name)
            rank.setdefault(row["run_id"], []).append((key, name))
    out: dict[str, list[str]] = {}
    for run_id, keys in rank.items():
        best = max(k for k, _ in keys)
        for key, name in keys:
            if key != best:
                out.setdefault(name, []).append(run_id)
    return out


def test_duplicate_rows_follow_the_rule_with_ties_missing_times_and_many_copies(tmp_path):
    from datetime import datetime, timedelta, timezone

    import numpy as np

    from albench.repair import _duplicates

    rng = np.random.default_rng(3)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    store, parts = Store(tmp_path), {}
    for _ in range(6):  # each write is a part; ids repeat across parts, some finish times tie or are missing
        rows = [{"run_id": f"r{int(i)}", "status": str(rng.choice(["ok", "error", "timeout"])),
                 "finished_at": None if rng.random() < 0.2 else start + timedelta(seconds=int(rng.integers(0, 3)))}
                for i in rng.choice(12, size=8, replace=False)]
        before = {p.name for p in store.parts("runs")}
        store.write(rows, [])
        (new,) = {p.name for p in store.parts("runs")} - before
        parts[new] = rows
    names = sorted(parts)
    got = {name: sorted(ids) for name, ids in _duplicates(store, names).items()}
    expected = {name: sorted(ids) for name, ids in _duplicates_by_hand(parts).items()}
    assert got == expected and sum(map(len, expected.values())) > 10
