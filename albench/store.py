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

Both tables of a batch are converted before anything is written
(``albench.row_tables``): a value the schema cannot hold raises
``UnstorableRows`` naming the rows, and nothing of the batch is on disk. The
store knows nothing of AL: rows are plain dicts; a caller may pass each
table's declared schema (``albench.table_schema``), whose columns every part
then holds, typed, even when empty. Other columns whose
value is None in every row of a batch are left out of that part; readers
unify parts by column name, so grids that gained a column later still read.
A part that cannot be read raises ``DamagedPart`` naming the file
(``albench fsck`` quarantines it); the errors are in ``albench.store_errors``.

Compacted files (``albench.compaction``) are parts too, named
``part-compact-<uuid>.parquet`` in both tables; the runs one lists in its
Parquet metadata (``REPLACES_KEY``) the names of the parts it replaces.
``parts`` leaves out every part a listed compacted file replaces, so a
compaction interrupted after its new files were renamed into place (the
commit) and before the old parts were deleted never shows a row twice;
``remove_orphans`` (under the lock) then deletes the replaced parts. Readers
other than ``parts`` (a bare ``runs/*.parquet`` glob) see such leftovers until
then. A reader racing a compaction may find a listed part gone
(``PartVanished``); ``Store.read`` lists the parts again and retries.
``Store.drop_runs`` rewrites in place only the parts that hold the runs it
drops (``albench.part_rewrite``).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
import uuid
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq

from albench.row_tables import owner_index, to_table
from albench.run_ids import RunIds
from albench.store_errors import DamagedPart, PartVanished, StoreError, StoreLocked, UnstorableRows

TABLES = ("runs", "curves")
LOCK_FILE = ".albench-lock"
COMPACTED_PREFIX = "part-compact-"
REPLACES_KEY = b"albench.replaces"  # metadata of a compacted runs file: JSON list of the part names it replaces
ROW_GROUP_ROWS = 128 * 1024  # rows per Parquet row group of files written here


class Store:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._lock_fd: int | None = None

    def dir(self, table: str) -> Path:
        return self.root / table

    def parts(self, table: str) -> list[Path]:
        """Readable part files of a table: orphan curves parts and parts replaced by a compacted file excluded."""
        runs = sorted(self.dir("runs").glob("part-*.parquet"))
        replaced = replaced_names(runs)
        runs = [f for f in runs if f.name not in replaced]
        if table == "runs":
            return runs
        done = {f.name for f in runs}  # listed after the runs parts: a curves part renamed before its runs part
        return [f for f in sorted(self.dir(table).glob("part-*.parquet")) if f.name in done]

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
        tables = {"runs": to_table(runs, schemas.get("runs"))}
        if curves:
            tables["curves"] = to_table(curves, schemas.get("curves"), owners=owner_index(runs, curves))
        bad = {**tables["runs"].bad, **(tables["curves"].bad if curves else {})}
        if bad:
            raise UnstorableRows(bad)
        return self.write_tables({table: converted.table for table, converted in tables.items()})

    def write_tables(self, tables: dict[str, pa.Table], name: str | None = None) -> str:
        """Write one part per table (``runs`` required, ``curves`` optional) under the writer lock.

        Each file goes to a hidden temporary name and is renamed; the curves
        part is renamed first, so the runs part, renamed last, marks the runs
        as stored. Returns the part name (``name``, else a new
        ``part-<uuid>.parquet``).
        """
        if "runs" not in tables or set(tables) - set(TABLES):
            raise StoreError(f"write_tables: tables must be runs and optionally curves, not {sorted(tables)}")
        name = name or f"part-{uuid.uuid4().hex}.parquet"
        with self.writing():
            for table in ("curves", "runs"):
                if tables.get(table) is not None:
                    self.dir(table).mkdir(parents=True, exist_ok=True)
                    write_atomic(tables[table], self.dir(table) / name)
        return name

    def remove_orphans(self) -> None:
        """Delete what no reader counts: parts replaced by a compacted file (finishing an interrupted
        compaction), orphan curves parts and temporary files. Only the lock holder may, so no live writer
        owns them."""
        with self.writing():
            runs = sorted(self.dir("runs").glob("part-*.parquet"))
            replaced = replaced_names(runs)
            for table in ("curves", "runs"):  # curves first: a crash in between leaves orphans, removed next
                for name in sorted(replaced):
                    (self.dir(table) / name).unlink(missing_ok=True)
            done = {f.name for f in runs if f.name not in replaced}
            for f in self.dir("curves").glob("part-*.parquet"):
                if f.name not in done:
                    f.unlink(missing_ok=True)
            for table in TABLES:
                for f in self.dir(table).glob(".part-*.tmp"):
                    f.unlink(missing_ok=True)

    def drop_runs(self, run_ids: set[str]) -> None:
        """Rewrite the parts holding ``run_ids`` without them (each rewrite atomic), curves first; the other
        parts are not touched, and memory stays bounded by one row group (``albench.part_rewrite``)."""
        from albench.part_rewrite import drop_runs  # that module builds on this one

        drop_runs(self, run_ids)

    # -- reading ----------------------------------------------------------------------------------------

    def read(self, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        """A table's rows (only ``columns`` are read); the parts are listed again if a compaction replaces
        them meanwhile."""
        return self._relisting(lambda: read_parts(self.parts(table), columns))

    def finished(self, statuses: Iterable[str] | None = None) -> set[str]:
        """run_ids stored, optionally only those whose status is in ``statuses`` (reads two columns)."""
        return set(self.finished_ids(statuses))

    def finished_ids(self, statuses: Iterable[str] | None = None) -> RunIds:
        """As ``finished``, held compactly (``albench.run_ids.RunIds``): reads only run_id and status, with
        pyarrow, and never makes a Python string per stored run."""
        return self._relisting(lambda: _finished_ids(self.parts("runs"), statuses))

    @staticmethod
    def _relisting(read, attempts: int = 3):
        """``read()``, listing the parts again when one vanished meanwhile (a compaction replaced it)."""
        for attempt in range(attempts):
            try:
                return read()
            except PartVanished:
                if attempt == attempts - 1:
                    raise


def _finished_ids(files: list[Path], statuses: Iterable[str] | None) -> RunIds:
    wanted = None if statuses is None else pa.array(list(statuses), pa.string())
    columns = []
    for f in files:
        t = read_part(f, ["run_id", "status"])
        if "run_id" not in t.column_names:
            continue
        if wanted is not None:
            if "status" not in t.column_names:
                continue
            t = t.filter(pa.compute.is_in(t["status"], value_set=wanted))
        columns.extend(pa.compute.cast(t["run_id"], pa.string()).chunks)
    return RunIds.from_arrow(pa.chunked_array(columns, pa.string()))


def replaced_names(runs_parts: list[Path]) -> set[str]:
    """Names of the parts that the compacted files among ``runs_parts`` replace (reads their footers only)."""
    replaced: set[str] = set()
    for f in runs_parts:
        if f.name.startswith(COMPACTED_PREFIX):
            replaced.update(_replaces(f))
    return replaced


def _replaces(path: Path) -> list[str]:
    try:
        metadata = pq.read_schema(path).metadata or {}
    except FileNotFoundError:
        raise _vanished(path) from None
    except (OSError, pa.ArrowException) as exc:
        raise damaged(path, exc) from None
    return json.loads(metadata.get(REPLACES_KEY, b"[]"))


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


def temporary_name(path: Path) -> Path:
    """The hidden name a file is written under before it is renamed to ``path`` (skipped by readers' globs,
    deleted by ``Store.remove_orphans``)."""
    return path.with_name(f".{path.stem}-{uuid.uuid4().hex[:8]}.tmp")


def write_atomic(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` through a temporary name: a crash never leaves half a file under ``path``."""
    tmp = temporary_name(path)
    try:
        pq.write_table(table, tmp, row_group_size=ROW_GROUP_ROWS)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_part(path: Path, columns: list[str] | None = None) -> pa.Table:
    """One part file as a table; ``DamagedPart`` naming the file if it cannot be read."""
    try:
        with pq.ParquetFile(path) as file:  # one footer read; 4x faster than pq.read_table on small parts
            if columns is None:
                return file.read()
            present = set(file.schema_arrow.names)
            return file.read(columns=[c for c in columns if c in present])
    except FileNotFoundError:
        raise _vanished(path) from None
    except (OSError, pa.ArrowException) as exc:
        raise damaged(path, exc) from None


def row_groups(path: Path, columns: list[str] | None = None,
               read_dictionary: list[str] | None = None) -> Iterator[pa.Table]:
    """A part's row groups, one table each (a large file is never held whole); errors as ``read_part``.

    ``columns``: only those the part has; ``read_dictionary``: columns read as dictionary arrays (a
    repeated string is decoded once per row group).
    """
    try:
        with pq.ParquetFile(path) as plain:
            names = plain.schema_arrow.names
            present = None if columns is None else [c for c in columns if c in names]
            as_dictionary = [c for c in read_dictionary or () if c in names]  # set when a file is opened
            with (pq.ParquetFile(path, metadata=plain.metadata, read_dictionary=as_dictionary) if as_dictionary
                  else nullcontext(plain)) as file:  # the footer already read is not read again
                for i in range(file.num_row_groups):
                    yield file.read_row_group(i, columns=present)
    except FileNotFoundError:
        raise _vanished(path) from None
    except (OSError, pa.ArrowException) as exc:
        raise damaged(path, exc) from None


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (renames) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _vanished(path: Path) -> PartVanished:
    return PartVanished(f"{path}: deleted while being read (replaced by a compaction); read again")


def damaged(path: Path, exc: BaseException) -> DamagedPart:
    """The one-line error of a part that cannot be read, naming the file and the repair."""
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return DamagedPart(f"{path}: damaged part file ({first}); "
                       f"run `albench fsck {path.parent.parent}` to move it aside")


def read_parts(files: list[Path], columns: list[str] | None = None) -> pd.DataFrame:
    """Read part files into one DataFrame, unifying columns by name (only ``columns`` are read)."""
    if not files:
        return pd.DataFrame(columns=columns or [])
    tables = [read_part(f, columns) for f in files]
    return pa.concat_tables(tables, promote_options="permissive").to_pandas()
