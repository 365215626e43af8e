"""Store.drop_runs: the same files as rewriting every part whole, only the parts that hold a dropped id
rewritten, a row group at a time, and a crash at any point leaving a store that reads and retries."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from albench import compaction
from albench import part_rewrite
from albench import store as store_mod
from albench.compaction import compact
from albench.store import COMPACTED_PREFIX, DamagedPart, Store


def _fill(store: Store, n_parts: int, first: int = 0, runs_per_part: int = 4, seed: int = 0) -> None:
    """Parts as real ones differ: a column only in some parts, error rows without curves, list cells."""
    rng = np.random.default_rng(seed)
    for p in range(first, first + n_parts):
        runs, curves = [], []
        for r in range(runs_per_part):
            run_id = f"{rng.integers(1 << 62):016x}"
            failed = r == 0 and p % 2 == 0
            row = {"run_id": run_id, "status": "error" if failed else "ok", "seed": int(rng.integers(100)),
                   "auc": None if failed else float(rng.random()), "error": "boom" if failed else None,
                   "finished_at": datetime(2026, 1, 1 + p % 28, tzinfo=timezone.utc)}
            if p % 3 == 0:
                row["late_column"] = f"v{p}"
            runs.append(row)
            if not failed:
                curves += [{"run_id": run_id, "cycle": c, "accuracy": float(rng.random()),
                            "queried": rng.integers(0, 50, size=c).tolist()} for c in range(5)]
        store.write(runs, curves)


@pytest.fixture
def mixed_store(tmp_path, monkeypatch):
    """Two compacted files of several row groups each, then plain parts written after them."""
    monkeypatch.setattr(store_mod, "ROW_GROUP_ROWS", 7)
    monkeypatch.setattr(compaction, "ROW_GROUP_ROWS", 7)
    store = Store(tmp_path / "store")
    _fill(store, 6)
    compact(store.root, max_runs_rows=12)  # 6 parts of 4 runs: 2 files of 12 runs (3 parts each)
    _fill(store, 3, first=6, seed=1)
    names = [f.name for f in store.parts("runs")]
    assert sum(n.startswith(COMPACTED_PREFIX) for n in names) == 2 and len(names) == 5
    assert all(pq.ParquetFile(f).num_row_groups > 1 for f in store.parts("curves") if f.name.startswith(
        COMPACTED_PREFIX))
    return store


def _reference_drop(store: Store, run_ids: set[str]) -> None:
    """drop_runs as it was: every part read whole, a part holding an id rewritten whole."""
    ids = pa.array(sorted(run_ids))
    for table in ("curves", "runs"):
        for f in store.parts(table):
            t = pq.ParquetFile(f).read()
            keep = pc.invert(pc.is_in(t["run_id"], value_set=ids))
            if not pc.all(keep).as_py():
                pq.write_table(t.filter(keep), f)


def _files(store: Store) -> dict[str, pa.Table]:
    return {f"{f.parent.name}/{f.name}": pq.ParquetFile(f).read() for t in ("runs", "curves")
            for f in sorted(store.dir(t).glob("*.parquet"))}


def _ids_by_part(store: Store) -> dict[str, list[str]]:
    return {f.name: pq.read_table(f, columns=["run_id"])["run_id"].to_pylist() for f in store.parts("runs")}


def _victims(store: Store, case: str) -> set[str]:
    by_part = _ids_by_part(store)
    compacted = [n for n in by_part if n.startswith(COMPACTED_PREFIX)]
    plain = [n for n in by_part if not n.startswith(COMPACTED_PREFIX)]
    if case == "several files":  # a run with curves and an error row without, in compacted files and a part
        return {by_part[compacted[0]][0], by_part[compacted[0]][5], by_part[compacted[1]][11], by_part[plain[0]][2]}
    if case == "absent":
        return {"0" * 16, "nope"}
    if case == "a whole part":
        return set(by_part[plain[1]])
    return {by_part[compacted[1]][3], "f" * 16}  # one present, one absent


@pytest.mark.parametrize("case", ["several files", "absent", "a whole part", "present and absent"])
def test_drop_runs_writes_what_rewriting_every_part_whole_wrote(mixed_store, tmp_path, case):
    reference = Store(tmp_path / "reference")
    shutil.copytree(mixed_store.root, reference.root)
    victims = _victims(mixed_store, case)
    mixed_store.drop_runs(victims)
    _reference_drop(reference, victims)
    got, want = _files(mixed_store), _files(reference)
    assert got.keys() == want.keys()
    for name, table in want.items():
        assert got[name].equals(table, check_metadata=True), name  # rows, order, types, replaced-parts list
    stored = set(mixed_store.read("runs")["run_id"]) | set(mixed_store.read("curves")["run_id"])
    assert not stored & victims
    if case == "several files":
        assert len(mixed_store.read("runs")) == 36 - 4


def test_parts_without_a_dropped_id_are_not_rewritten(mixed_store):
    def identity():
        return {f: (f.stat().st_ino, f.stat().st_mtime_ns) for t in ("runs", "curves")
                for f in mixed_store.dir(t).glob("*.parquet")}

    holder = next(f.name for f in mixed_store.parts("runs") if f.name.startswith(COMPACTED_PREFIX))
    with_curves = pq.read_table(mixed_store.dir("curves") / holder, columns=["run_id"])["run_id"][9].as_py()
    before = identity()
    mixed_store.drop_runs({with_curves, "absent-id"})
    after = identity()
    changed = {f"{f.parent.name}/{f.name}" for f in before if before[f] != after[f]}
    assert changed == {f"runs/{holder}", f"curves/{holder}"}
    assert before.keys() == after.keys()


def test_a_crash_between_the_tables_leaves_the_error_row_to_retry(mixed_store, monkeypatch):
    runs = mixed_store.read("runs")
    victim = runs.loc[runs["status"] == "error", "run_id"].iloc[0]
    with_curves = runs.loc[runs["status"] == "ok", "run_id"].iloc[0]
    real = part_rewrite.rewrite_without

    def crash_at_runs(path, run_ids):
        if path.parent.name == "runs":
            raise OSError("killed")
        real(path, run_ids)

    monkeypatch.setattr(part_rewrite, "rewrite_without", crash_at_runs)
    with pytest.raises(OSError, match="killed"):
        mixed_store.drop_runs({victim, with_curves})
    monkeypatch.undo()
    # curves went first: the runs rows are still there, the failed one still counts as failed, and a
    # run's curves are never left without its runs row having been dropped first
    assert {victim, with_curves} <= mixed_store.finished() and victim in mixed_store.finished({"error"})
    assert with_curves not in set(mixed_store.read("curves")["run_id"])
    mixed_store.drop_runs({victim, with_curves})  # the retry finishes the job
    assert not {victim, with_curves} & mixed_store.finished()


def test_a_crash_mid_rewrite_leaves_the_part_as_it_was_and_no_temporary_file(mixed_store, monkeypatch):
    compacted = next(f for f in mixed_store.parts("curves") if f.name.startswith(COMPACTED_PREFIX))
    victim = pq.read_table(compacted, columns=["run_id"])["run_id"][0].as_py()
    before = compacted.read_bytes()
    calls = []

    def fail_second_group(self, table, row_group_size=None):
        calls.append(len(table))
        if len(calls) == 2:
            raise OSError("disk full")
        return real(self, table, row_group_size=row_group_size)

    real = pq.ParquetWriter.write_table
    monkeypatch.setattr(pq.ParquetWriter, "write_table", fail_second_group)
    with pytest.raises(OSError, match="disk full"):
        mixed_store.drop_runs({victim})
    monkeypatch.undo()
    assert compacted.read_bytes() == before
    assert not [f for t in ("runs", "curves") for f in mixed_store.dir(t).iterdir() if f.name.startswith(".")]
    assert victim in mixed_store.finished()


def test_a_part_without_a_run_id_column_is_left_alone(mixed_store):
    name = mixed_store.write_tables({"runs": pa.table({"note": ["written by hand"]})})
    path = mixed_store.dir("runs") / name
    before = (path.stat().st_ino, path.read_bytes())
    victim = mixed_store.read("runs")["run_id"].dropna().iloc[0]
    mixed_store.drop_runs({victim})
    assert (path.stat().st_ino, path.read_bytes()) == before and victim not in mixed_store.finished()


def test_a_damaged_part_is_named(mixed_store):
    bad = mixed_store.dir("runs") / "part-damaged.parquet"
    bad.write_bytes(b"PAR1 not a parquet file")
    with pytest.raises(DamagedPart, match="part-damaged.parquet: damaged part file"):
        mixed_store.drop_runs({"some-id"})


PEAK = """
import sys
import pyarrow as pa, pyarrow.parquet as pq
from albench.store import Store
for root in sys.argv[1:3]:
    Store(root).drop_runs({sys.argv[3]})
    print(pa.default_memory_pool().max_memory())  # the peak so far
pq.ParquetFile(Store(sys.argv[2]).parts("curves")[0]).read()  # the larger file whole: the meter sees it
print(pa.default_memory_pool().max_memory())
"""


def _one_curves_file(root, row_groups: int, rows_per_group: int = 4096) -> tuple[Store, pa.Table, str]:
    """A store of one pair of parts; its curves file of ``row_groups`` groups of 200-character text."""
    n = row_groups * rows_per_group
    run_ids = [f"{i:016x}" for i in range(n // 8)]
    text = np.random.default_rng(row_groups).bytes(100 * n).hex()
    curves = pa.table({"run_id": np.repeat(run_ids, 8), "cycle": np.tile(np.arange(8), len(run_ids)),
                       "blob": [text[200 * i:200 * (i + 1)] for i in range(n)]})
    store = Store(root)
    store.write_tables({"runs": pa.table({"run_id": run_ids}), "curves": curves})
    pq.write_table(curves, store.parts("curves")[0], row_group_size=rows_per_group)
    return store, curves, run_ids[100]


def test_memory_of_a_drop_is_one_row_group_not_the_file(tmp_path):
    """Peak Arrow memory of dropping one run from a curves file of 16 row groups, then from one of 64 (60 MB
    of incompressible text): the same, and far under the larger table, which reading it whole takes."""
    small, _, victim = _one_curves_file(tmp_path / "small", 16)
    large, curves, same_victim = _one_curves_file(tmp_path / "large", 64)
    assert victim == same_victim
    out = subprocess.run([sys.executable, "-c", PEAK, str(small.root), str(large.root), victim],
                         capture_output=True, text=True, check=True)
    after_small, after_large, after_whole = map(int, out.stdout.split())
    assert after_whole > curves.nbytes > 50e6  # reading the file whole holds at least its table
    assert after_large < 1.5 * after_small  # four times the file, no more memory
    assert after_large < curves.nbytes / 4
    assert len(large.read("curves")) == len(curves) - 8 and victim not in set(large.read("curves")["run_id"])


def test_the_drop_benchmark_measures_a_drop_on_a_mirror_and_leaves_the_source_alone(mixed_store, tmp_path):
    from benchmarks.bench_store_maintenance import drop_figures, link_copy

    source = {f: (f.stat().st_ino, f.stat().st_mtime_ns, f.read_bytes()) for t in ("runs", "curves")
              for f in mixed_store.dir(t).glob("*.parquet")}
    rows = len(mixed_store.read("runs"))
    mirror = link_copy(mixed_store.root, tmp_path / "mirror")
    out = drop_figures(mirror.root, n=3)
    assert out["status"] == "ok" and out["checked"] is True and out["cpu_s"] > 0
    assert out["runs_files"] == 5 and out["rewritten"] == 2  # the first runs file and its curves file
    assert len(mirror.read("runs")) == rows - 3
    assert source == {f: (f.stat().st_ino, f.stat().st_mtime_ns, f.read_bytes()) for f in source}
    assert len(mixed_store.read("runs")) == rows
