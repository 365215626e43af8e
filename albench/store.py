"""Results on disk: ``<root>/runs/`` (one row per run) and ``<root>/curves/``.

Each batch of finished runs becomes one part file in each table, written to a
hidden temporary name and then renamed, so a crash never leaves a half-written
file under a readable name. The curves part is renamed first and shares its
name with the runs part; a runs row is what marks a run as done, and curves
parts without their runs part (a crash between the two renames) are orphans
that readers ignore and the next writer removes.

One writer at a time: writing takes an exclusive ``flock`` on
``<root>/.albench-lock``, which the kernel releases when the process ends, so
a killed writer never leaves the folder locked. Clean-up of orphans and
temporary parts happens only under that lock, so it never deletes another
live writer's files.

Both tables of a batch are converted before anything is written: a value the
schema cannot hold raises ``UnstorableRows`` naming the rows, and nothing of
the batch is on disk. The store knows nothing of AL: rows are plain dicts; a
caller may pass each table's declared schema (``albench.table_schema``), whose
columns every part then holds, typed, even when empty. Other columns whose
value is None in every row of a batch are left out of that part; readers
unify parts by column name, so grids that gained a column later still read.
A part that cannot be read raises ``DamagedPart`` naming the file
(``albench fsck`` quarantines it).
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq

TABLES = ("runs", "curves")
LOCK_FILE = ".albench-lock"
_CONVERSION_ERRORS = (OverflowError, TypeError, ValueError, pa.ArrowInvalid, pa.ArrowTypeError,
                      pa.ArrowNotImplementedError)


class StoreError(ValueError):
    """A results folder that cannot be written or read as asked; the message says why."""


class StoreLocked(StoreError):
    """Another live process is writing to this results folder."""


class DamagedPart(StoreError):
    """A part file that cannot be read (truncated, zero bytes, not Parquet)."""


class UnstorableRows(StoreError):
    """Rows of a batch that the schema cannot hold; ``bad`` maps a runs row's index to the reason."""

    def __init__(self, bad: dict[int, str]):
        super().__init__(f"{len(bad)} row(s) cannot be stored: " + "; ".join(sorted(set(bad.values()))))
        self.bad = bad


class Store:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._lock_fd: int | None = None

    def dir(self, table: str) -> Path:
        return self.root / table

    def parts(self, table: str) -> list[Path]:
        """Readable part files of a table (orphan curves parts excluded)."""
        files = sorted(self.dir(table).glob("part-*.parquet"))
        if table == "curves":
            done = {f.name for f in self.dir("runs").glob("part-*.parquet")}
            files = [f for f in files if f.name in done]
        return files

    # -- the one-writer lock --------------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator["Store"]:
        """Hold the folder's writer lock for the block (re-entrant); ``StoreLocked`` if another process has it."""
        if self._lock_fd is not None:
            yield self
            return
        fd = self._open_lock_file()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(fd)
            os.close(fd)
            raise StoreLocked(f"{self.root} is being written by {holder}; wait for it to finish, "
                              f"or write to another folder (--out)") from None
        # one fixed-width write, no truncation first: a reader never sees the file empty between the two
        os.pwrite(fd, f"albench process {os.getpid()}".ljust(LOCK_RECORD - 1).encode() + b"\n", 0)
        self._lock_fd = fd
        try:
            yield self
        finally:
            self._lock_fd = None
            os.close(fd)  # releases the flock

    def _open_lock_file(self) -> int:
        """Create the folder and its tables, check they take files, and open the lock file."""
        try:
            for table in TABLES:
                self.dir(table).mkdir(parents=True, exist_ok=True)
                probe = self.dir(table) / f".part-probe-{uuid.uuid4().hex}.tmp"
                probe.write_bytes(b"")
                probe.unlink()
            return os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
            reason = getattr(exc, "strerror", None) or str(exc)
            if isinstance(exc, (FileExistsError, NotADirectoryError)):
                reason = "a file of that name is in the way (a results folder is a directory)"
            raise StoreError(f"{self.root}: cannot write results there: {reason}") from None

    def check_writable(self) -> None:
        """``StoreError`` unless the folder can be written and no other process writes it; leaves no trace."""
        created = [p for p in (*reversed(self.root.absolute().parents), self.root.absolute(),
                               *(self.dir(t).absolute() for t in TABLES)) if _missing(p)]
        try:
            with self.writing():
                pass
        finally:  # undo what the check created (nothing, if it failed for want of a folder)
            with suppress(OSError):
                if self.root.absolute() in created:
                    (self.root / LOCK_FILE).unlink(missing_ok=True)
            for path in reversed(created):
                with suppress(OSError):
                    path.rmdir()

    # -- writing ----------------------------------------------------------------------------------------

    def write(self, runs: list[dict], curves: list[dict],
              schemas: dict[str, pa.Schema] | None = None) -> str | None:
        """Write one batch atomically; returns the part name (None for an empty batch).

        Raises ``UnstorableRows`` (nothing written) when a row does not fit ``schemas``.
        """
        if not runs:
            return None
        schemas = schemas or {}
        tables = {"runs": _to_table(runs, schemas.get("runs"))}
        if curves:
            tables["curves"] = _to_table(curves, schemas.get("curves"), owners=_owner_index(runs, curves))
        bad = {**tables["runs"].bad, **(tables["curves"].bad if curves else {})}
        if bad:
            raise UnstorableRows(bad)
        name = f"part-{uuid.uuid4().hex}.parquet"
        with self.writing():
            for table in ("curves", "runs"):
                if table in tables:
                    self.dir(table).mkdir(parents=True, exist_ok=True)
                    _write_atomic(tables[table].table, self.dir(table) / name)
        return name

    def remove_orphans(self) -> None:
        """Delete orphan curves parts and temporary files; only the lock holder may, so no live writer owns them."""
        with self.writing():
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
        with self.writing():
            # curves first: a crash in between leaves a stored error row, retried next time
            for table in ("curves", "runs"):
                for f in self.parts(table):
                    t = read_part(f)
                    if "run_id" not in t.column_names:
                        continue
                    keep = pa.compute.invert(pa.compute.is_in(t["run_id"], value_set=ids))
                    if pa.compute.all(keep).as_py():
                        continue
                    _write_atomic(t.filter(keep), f)

    # -- reading ----------------------------------------------------------------------------------------

    def read(self, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        return read_parts(self.parts(table), columns)

    def finished(self, statuses: Iterable[str] | None = None) -> set[str]:
        """run_ids stored, optionally only those whose status is in ``statuses`` (reads two columns)."""
        df = self.read("runs", ["run_id", "status"])
        if df.empty:
            return set()
        if statuses is not None:
            df = df[df["status"].isin(list(statuses))]
        return set(df["run_id"])


LOCK_RECORD = 64  # bytes of the lock file's "albench process <pid>" line


def _lock_holder(fd: int) -> str:
    """Who holds the lock, from its record; a holder that has just taken it may not have written it yet."""
    for _ in range(20):
        holder = os.pread(fd, LOCK_RECORD, 0).decode(errors="replace").strip()
        if holder:
            return holder
        time.sleep(0.05)
    return "another process"


def _missing(path: Path) -> bool:
    try:
        return not path.exists()
    except (OSError, ValueError):  # a name too long, a NUL byte: writing() says so
        return False


class _Converted:
    def __init__(self, table: pa.Table | None, bad: dict[int, str]):
        self.table, self.bad = table, bad


def _owner_index(runs: list[dict], curves: list[dict]) -> list[int]:
    """For each curves row, the index of its run's row (a bad curve row makes its run unstorable)."""
    index = {row.get("run_id"): i for i, row in enumerate(runs)}
    return [index.get(row.get("run_id"), 0) for row in curves]


def _column(values: list, dtype: pa.DataType | None) -> pa.Array:
    return pa.array(values, type=dtype) if dtype is not None else pa.array(values)


def _to_table(rows: list[dict], schema: pa.Schema | None, owners: list[int] | None = None) -> _Converted:
    """Rows as a table: declared columns first, with their types, then the others inferred.

    A value that cannot be converted marks its row (``owners[i]``: the runs row
    it belongs to) in ``bad`` with the reason.
    """
    declared = {f.name: f.type for f in schema} if schema is not None else {}
    keys: dict[str, None] = dict.fromkeys(declared)
    for row in rows:
        for k, v in row.items():
            if v is not None:
                keys.setdefault(k)
    arrays, bad = {}, {}
    for key in keys:
        values = [row.get(key) for row in rows]
        try:
            arrays[key] = _column(values, declared.get(key))
            continue
        except _CONVERSION_ERRORS as exc:
            column_error = exc
        found = False
        for i, v in enumerate(values):  # which rows? only on this (rare) path
            try:
                _column([v], declared.get(key))
            except _CONVERSION_ERRORS as exc:
                found = True
                owner = owners[i] if owners is not None else i
                bad.setdefault(owner, f"column {key!r}: {type(exc).__name__}: {exc}")
        if not found:  # every value alone converts, not together (mixed types): keep them as text
            if key in declared:
                raise StoreError(f"column {key!r}: {column_error}") from None
            arrays[key] = pa.array([None if v is None else str(v) for v in values], type=pa.string())
    if bad:
        return _Converted(None, bad)
    return _Converted(pa.table(arrays), {})


def storable_values(row: dict, schema: pa.Schema | None) -> dict:
    """The items of ``row`` whose value its column can hold (declared in ``schema``, else inferred)."""
    declared = {f.name: f.type for f in schema} if schema is not None else {}
    kept = {}
    for key, value in row.items():
        try:
            _column([value], declared.get(key))
        except _CONVERSION_ERRORS:
            continue
        kept[key] = value
    return kept


def _write_atomic(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.stem}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_part(path: Path, columns: list[str] | None = None) -> pa.Table:
    """One part file as a table; ``DamagedPart`` naming the file if it cannot be read."""
    try:
        if columns is None:
            return pq.read_table(path)
        present = set(pq.read_schema(path).names)
        return pq.read_table(path, columns=[c for c in columns if c in present])
    except (OSError, pa.ArrowException) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DamagedPart(f"{path}: damaged part file ({first}); "
                          f"run `albench fsck {path.parent.parent}` to move it aside") from None


def read_parts(files: list[Path], columns: list[str] | None = None) -> pd.DataFrame:
    """Read part files into one DataFrame, unifying columns by name (only ``columns`` are read)."""
    if not files:
        return pd.DataFrame(columns=columns or [])
    tables = [read_part(f, columns) for f in files]
    return pa.concat_tables(tables, promote_options="permissive").to_pandas()
