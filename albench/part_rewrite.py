"""Dropping runs from a results folder in place (``Store.drop_runs``: ``--rerun-failed``, ``--rerun-changed``,
``grid prune``; and ``albench fsck --repair``, which moves duplicate rows aside), at the cost of the files
that hold them.

Which parts hold a dropped run_id is read from their ``run_id`` column alone, a row group at a time and
as a dictionary (each distinct id is matched once, not once per curve row). The Parquet min/max
statistics cannot spare that read: compaction concatenates parts in name order, and run_ids are
hashes, so every row group spans nearly the whole range of ids. A part that holds one is rewritten a
row group at a time to a hidden temporary name, flushed to disk and renamed over it (schema and
metadata kept: a compacted runs file still lists the parts it replaces), so memory stays bounded by one
row group even for a compacted file of 10^6 runs; a part that holds none is not touched.

Crash safety: the curves parts are rewritten first and their folder flushed before any runs part
changes, so a crash in between leaves the runs rows (a failed run still counts as failed and is
dropped again on the next ``--rerun-failed``) and never a run's curves after its runs row is gone. A
crash during a rewrite leaves the old file and a temporary one, which the next lock holder deletes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from albench.store import ROW_GROUP_ROWS, Store, fsync_dir, row_groups, temporary_name


def drop_runs(store: Store, run_ids: set[str]) -> None:
    """Rewrite the parts of ``store`` holding ``run_ids`` without them, under its writer lock."""
    if not run_ids:
        return
    ids = pa.array(sorted(run_ids), pa.string())
    with store.writing():
        for table in ("curves", "runs"):  # curves first: see the module docstring
            holding = [f for f in store.parts(table) if holds_any(f, ids)]
            for f in holding:
                rewrite_without(f, ids)
            if holding:
                fsync_dir(store.dir(table))


def holds_any(path: Path, run_ids: pa.Array) -> bool:
    """Whether the part ``path`` has a row of one of ``run_ids`` (reads its run_id column, a row group at a time)."""
    for group in row_groups(path, ["run_id"], read_dictionary=["run_id"]):
        if "run_id" not in group.column_names:
            return False
        for chunk in group["run_id"].chunks:
            if pa.types.is_dictionary(chunk.type):  # match the distinct ids, then see whether a row has one
                hits = pc.is_in(chunk.dictionary, value_set=run_ids)
                if pc.any(hits).as_py() and pc.any(pc.take(hits, chunk.indices)).as_py():
                    return True
            elif pc.any(pc.is_in(chunk, value_set=run_ids)).as_py():
                return True
    return False


def rewrite_without(path: Path, run_ids: pa.Array, moved_to: Path | None = None) -> None:
    """Rewrite the part ``path`` without the rows of ``run_ids``, a row group at a time, to a temporary name
    flushed to disk and then renamed over ``path`` (its schema and metadata kept). With ``moved_to``, the
    rows left out are written there (``albench fsck --repair``'s quarantine), on disk before the rename."""
    tmp = temporary_name(path)
    writer = moved = None
    try:
        for group in row_groups(path):
            if writer is None:
                writer = pq.ParquetWriter(tmp, group.schema)
                moved = pq.ParquetWriter(moved_to, group.schema) if moved_to is not None else None
            dropped = pc.is_in(group["run_id"], value_set=run_ids)
            kept = group.filter(pc.invert(dropped))
            if len(kept):
                writer.write_table(kept, row_group_size=ROW_GROUP_ROWS)
            if moved is not None:
                moved.write_table(group.filter(dropped), row_group_size=ROW_GROUP_ROWS)
        if writer is None:  # no row group: nothing to drop
            return
        for done, file in ((moved, moved_to), (writer, tmp)):  # both on disk before the old file goes
            if done is not None:
                done.close()
                with open(file, "rb") as f:
                    os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        for w in (writer, moved):
            if w is not None:
                w.close()  # a no-op once closed
        tmp.unlink(missing_ok=True)
