"""Results on disk: ``<root>/runs/`` (one row per run) and ``<root>/curves/``.

Each batch of finished runs becomes one part file in each table, written to a
hidden temporary name and then renamed, so a crash never leaves a half-written
file under a readable name. The curves part is renamed first and shares its
name with the runs part; a runs row is what marks a run as done, and curves
parts without their runs part (a crash between the two renames) are orphans
that readers ignore and the next write removes.

The store knows nothing of AL: rows are plain dicts. Columns whose value is
None in every row of a batch are left out of that part; readers unify parts by
column name, so grids that gained a column later still read.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq

TABLES = ("runs", "curves")


class Store:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def dir(self, table: str) -> Path:
        return self.root / table

    def parts(self, table: str) -> list[Path]:
        """Readable part files of a table (orphan curves parts excluded)."""
        files = sorted(self.dir(table).glob("part-*.parquet"))
        if table == "curves":
            done = {f.name for f in self.dir("runs").glob("part-*.parquet")}
            files = [f for f in files if f.name in done]
        return files

    def write(self, runs: list[dict], curves: list[dict]) -> str | None:
        """Write one batch atomically; returns the part name (None for an empty batch)."""
        if not runs:
            return None
        name = f"part-{uuid.uuid4().hex}.parquet"
        for table, rows in (("curves", curves), ("runs", runs)):
            if not rows:
                continue
            self.dir(table).mkdir(parents=True, exist_ok=True)
            _write_atomic(_to_table(rows), self.dir(table) / name)
        return name

    def remove_orphans(self) -> None:
        done = {f.name for f in self.dir("runs").glob("part-*.parquet")}
        for f in self.dir("curves").glob("part-*.parquet"):
            if f.name not in done:
                f.unlink()
        for table in TABLES:
            for f in self.dir(table).glob(".part-*.tmp"):
                f.unlink()

    def drop_runs(self, run_ids: set[str]) -> None:
        """Rewrite the parts holding ``run_ids`` without them (each rewrite atomic)."""
        if not run_ids:
            return
        ids = pa.array(sorted(run_ids))
        # curves first: a crash in between leaves a stored error row, retried next time
        for table in ("curves", "runs"):
            for f in self.parts(table):
                t = pq.read_table(f)
                if "run_id" not in t.column_names:
                    continue
                keep = pa.compute.invert(pa.compute.is_in(t["run_id"], value_set=ids))
                if pa.compute.all(keep).as_py():
                    continue
                _write_atomic(t.filter(keep), f)

    def read(self, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        return read_parts(self.parts(table), columns)

    def finished(self, statuses: Iterable[str] | None = None) -> set[str]:
        """run_ids stored, optionally only those whose status is in ``statuses``."""
        df = self.read("runs", ["run_id", "status"])
        if df.empty:
            return set()
        if statuses is not None:
            df = df[df["status"].isin(list(statuses))]
        return set(df["run_id"])


def _to_table(rows: list[dict]) -> pa.Table:
    keys: dict[str, None] = {}
    for row in rows:
        for k, v in row.items():
            if v is not None:
                keys.setdefault(k)
    return pa.Table.from_pylist([{k: row.get(k) for k in keys} for row in rows])


def _write_atomic(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.stem}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_parts(files: list[Path], columns: list[str] | None = None) -> pd.DataFrame:
    """Read part files into one DataFrame, unifying columns by name."""
    if not files:
        return pd.DataFrame(columns=columns or [])
    tables = []
    for f in files:
        t = pq.read_table(f)
        if columns is not None:
            t = t.select([c for c in columns if c in t.column_names])
        tables.append(t)
    return pa.concat_tables(tables, promote_options="permissive").to_pandas()
