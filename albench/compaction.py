"""Merging a results folder's small part files into a few large, row-grouped ones.

Many small parts cost every reader (each file is opened, its schema unified;
Arrow's guidance is to avoid many tiny files). ``compact(root)`` merges the
small parts of ``runs/`` and ``curves/`` into files of up to ``max_runs_rows``
runs rows (default 10^6) whose curves file stays under ``max_curves_bytes``
(default 512 MiB of input) and which replace at most ``max_parts`` parts
(default 10,000), written in row groups of ``ROW_GROUP_ROWS`` rows. A part
is small when it holds under half of either bound; large parts are left as
they are.

One group of parts becomes one pair of files, ``part-compact-<uuid>.parquet``
in both tables, so a curves file still shares its name with its runs file.
Each group, under the folder's writer lock (``Store.writing``: never while a
grid writes there):

1. both new files are written, streaming part by part, to hidden temporary
   names, flushed to disk, and their row counts checked against the parts';
2. the curves file is renamed into place (until step 3 it is an orphan, which
   readers ignore and ``remove_orphans`` deletes);
3. the runs file is renamed into place: the commit. Its metadata lists the
   names of the parts it replaces, and ``Store.parts`` leaves those out;
4. the replaced parts are deleted, curves first.

A crash before step 3 leaves the old parts (and leftovers that the next lock
holder deletes); a crash after it leaves the new files, with replaced parts
that no reader counts and that the next lock holder (``remove_orphans``: every
``grid run``, ``compact`` and ``fsck``) deletes. No row is ever lost or read
twice. Orphan curves parts (a writer's crash) are removed first, never merged.
Columns are unified by name (a column absent from a part is null there), as
every reader already does; rows keep their values and types.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from albench.store import COMPACTED_PREFIX, REPLACES_KEY, ROW_GROUP_ROWS, TABLES, Store, StoreError, \
    replaced_names, row_groups, temporary_name
from albench.store import fsync_dir as _fsync_dir  # a module name of its own: the crash tests patch it
from albench.wording import counted

MAX_RUNS_ROWS = 1_000_000
MAX_CURVES_BYTES = 512 * 1024 ** 2
MAX_PARTS = 10_000  # the replaced names are listed in the new file's footer: keep that list short
AUTO_COMPACT_PARTS = 100  # a grid run that leaves more runs parts than this compacts the folder


@dataclass
class CompactSummary:
    parts_before: int = 0  # runs parts
    parts_after: int = 0
    merged: int = 0  # runs parts replaced
    written: int = 0  # compacted runs files written
    runs_rows: int = 0  # rows moved into compacted files
    curves_rows: int = 0
    finished: int = 0  # replaced parts of an interrupted compaction deleted first
    wall_s: float = 0.0

    def line(self) -> str:
        done = (f"finished an interrupted compaction (deleted {self.finished} replaced parts); "
                if self.finished else "")
        if not self.written:
            return done + (f"compaction: nothing to merge ({self.parts_before} runs parts, none small enough "
                           "to merge)")
        return done + (f"compacted {self.merged} runs parts ({self.runs_rows} runs rows, {self.curves_rows} "
                       f"curves rows) into {counted(self.written, 'file')}: {self.parts_before} -> "
                       f"{self.parts_after} runs parts, in {self.wall_s:.1f} s")


@dataclass
class _Part:
    name: str
    runs_rows: int
    curves_bytes: int


def compact(root: str | os.PathLike | Store, *, max_runs_rows: int = MAX_RUNS_ROWS,
            max_curves_bytes: int = MAX_CURVES_BYTES, max_parts: int = MAX_PARTS) -> CompactSummary:
    """Merge the small parts of the results folder ``root`` (see the module docstring).

    ``root`` may be a ``Store`` whose writer lock the caller already holds.

    Raises ``StoreLocked`` at once if another process writes there (a grid
    run: compact once it has finished; it compacts by itself when it leaves
    more than ``AUTO_COMPACT_PARTS`` parts), ``StoreError`` for a folder that
    is not a results folder.
    """
    for name, value in (("max_runs_rows", max_runs_rows), ("max_curves_bytes", max_curves_bytes),
                        ("max_parts", max_parts)):
        if value < 2:
            raise StoreError(f"compact: {name} = {value}: must be at least 2")
    store = root if isinstance(root, Store) else Store(root)
    if not store.dir("runs").is_dir():
        raise StoreError(f"{root}: not a results folder (no runs/ in it)")
    t0 = time.perf_counter()
    summary = CompactSummary()
    with store.writing():
        listed = {table: {f.name for f in store.dir(table).glob("part-*.parquet")} for table in TABLES}
        replaced = replaced_names([store.dir("runs") / n for n in listed["runs"]])
        summary.finished = sum(len(replaced & names) for names in listed.values())
        store.remove_orphans()  # also finishes a compaction interrupted after its commit
        summary.parts_before = len(store.parts("runs"))
        while True:  # more than one pass only when a pass met max_parts (folders of thousands of tiny parts)
            groups = plan(store, max_runs_rows, max_curves_bytes, max_parts)
            if not groups:
                break
            for group in groups:
                runs_rows, curves_rows = merge(store, [p.name for p in group])
                summary.merged += len(group)
                summary.written += 1
                summary.runs_rows += runs_rows
                summary.curves_rows += curves_rows
        summary.parts_after = len(store.parts("runs"))
    summary.wall_s = time.perf_counter() - t0
    return summary


def compact_if_piled_up(store: Store, limit: int | None = None) -> CompactSummary | None:
    """Compact ``store`` when it holds more than ``limit`` (``AUTO_COMPACT_PARTS``) runs parts; the caller
    holds its writer lock."""
    if len(store.parts("runs")) <= (AUTO_COMPACT_PARTS if limit is None else limit):
        return None
    return compact(store)


def plan(store: Store, max_runs_rows: int, max_curves_bytes: int, max_parts: int) -> list[list[_Part]]:
    """Groups of small parts to merge, in name order, each within the bounds; single parts are left alone."""
    small = []
    for runs_part in store.parts("runs"):
        curves_part = store.dir("curves") / runs_part.name
        part = _Part(runs_part.name, pq.read_metadata(runs_part).num_rows,
                     curves_part.stat().st_size if curves_part.exists() else 0)
        if part.runs_rows < max_runs_rows / 2 and part.curves_bytes < max_curves_bytes / 2:
            small.append(part)
    groups: list[list[_Part]] = []
    group: list[_Part] = []
    rows = size = 0
    for part in small:
        if group and (rows + part.runs_rows > max_runs_rows or size + part.curves_bytes > max_curves_bytes
                      or len(group) == max_parts):
            groups.append(group)
            group, rows, size = [], 0, 0
        group.append(part)
        rows += part.runs_rows
        size += part.curves_bytes
    groups.append(group)
    return [g for g in groups if len(g) > 1]


def merge(store: Store, names: list[str]) -> tuple[int, int]:
    """Replace the parts ``names`` (in both tables) by one compacted pair of files; (runs rows, curves rows).

    The caller holds the writer lock. Steps and crash safety: the module docstring.
    """
    name = f"{COMPACTED_PREFIX}{uuid.uuid4().hex}.parquet"
    written: dict[str, Path] = {}
    rows = {}
    try:
        for table in TABLES:
            sources = [store.dir(table) / n for n in names if (store.dir(table) / n).exists()]
            if not sources:
                continue
            target = store.dir(table) / name
            written[table] = temporary_name(target)
            metadata = {REPLACES_KEY: json.dumps(sorted(names)).encode()} if table == "runs" else None
            rows[table] = _concatenate(sources, written[table], metadata)
        _commit(store, written, name)
    finally:
        for tmp in written.values():
            tmp.unlink(missing_ok=True)
    for table in ("curves", "runs"):  # step 4: the replaced parts, no longer counted by any reader
        for n in names:
            (store.dir(table) / n).unlink(missing_ok=True)
    return rows.get("runs", 0), rows.get("curves", 0)


def _commit(store: Store, written: dict[str, Path], name: str) -> None:
    for table in ("curves", "runs"):  # the runs rename, last, is the commit
        if table in written:
            os.replace(written[table], store.dir(table) / name)
    for table in written:
        _fsync_dir(store.dir(table))  # the renames reach the disk before any old part is deleted


def _concatenate(sources: list[Path], tmp: Path, metadata: dict[bytes, bytes] | None) -> int:
    """Stream ``sources`` into one Parquet file at ``tmp`` (columns unified by name), flushed to disk; its rows."""
    schemas, expected = [], 0
    for f in sources:  # footers only
        with pq.ParquetFile(f) as file:
            schemas.append(file.schema_arrow.remove_metadata())
            expected += file.metadata.num_rows
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    schema = schema.with_metadata(metadata) if metadata else schema
    buffered: list[pa.Table] = []
    n_buffered = n_written = 0
    with pq.ParquetWriter(tmp, schema) as writer:
        for f in sources:
            for group in row_groups(f):  # a large part (an earlier compacted file) is never read whole
                table = _conform(group, schema)
                buffered.append(table)
                n_buffered += len(table)
                if n_buffered >= ROW_GROUP_ROWS:
                    n_written += _flush(writer, buffered, schema)
                    buffered, n_buffered = [], 0
        n_written += _flush(writer, buffered, schema)
    if n_written != expected or pq.read_metadata(tmp).num_rows != expected:
        raise StoreError(f"compaction of {len(sources)} parts into {tmp} wrote {n_written} rows, not {expected}; "
                         "nothing was replaced")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    return n_written


def _flush(writer: pq.ParquetWriter, tables: list[pa.Table], schema: pa.Schema) -> int:
    if not tables:
        return 0
    table = pa.concat_tables(tables).replace_schema_metadata(schema.metadata)
    writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
    return len(table)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with the columns of ``schema``, in its order and types (a missing column is null)."""
    present = set(table.column_names)
    columns = [pc.cast(table.column(f.name), f.type) if f.name in present else pa.nulls(len(table), f.type)
               for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)
