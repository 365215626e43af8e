"""Run a grid: skip what is stored, execute the rest, write results in batches.

``execute_run`` turns one RunSpec into table rows and never raises: a run that
fails becomes a row with ``status`` = ``error``, its message and the tail of its
traceback; a run over its time limit becomes ``status`` = ``timeout``.
``run_batch`` is what a worker executes; ``GridRecorder`` stores each finished
run once, whatever order or how many times results arrive; ``run_grid`` is the
local executor (``albench.dask_executor`` is the distributed one). None of it
knows what AL is.

A run's own ``sys.exit`` or ``KeyboardInterrupt`` (raised by a plug-in) is that
run's failure, an error row; a Ctrl-C pressed by the user still stops the
grid (``albench.interrupts`` tells the two apart). Pending runs are generated
from the grid as they are executed, never listed, so a grid of millions of
runs starts at once. Finished runs are written in parts by size
(``albench.part_writer``), where a row the results schema cannot hold becomes
an error row instead of losing its batch. Each executing process first
removes the plug-in folders that killed processes left behind
(``albench.stale_plugin_dirs``).
"""

from __future__ import annotations

import itertools
import platform
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Callable, Iterable, Iterator

import numpy as np

from albench import deadline
from albench.interrupts import ctrl_c_recorded, own_interrupt
from albench.kinds import KINDS
from albench.part_writer import BatchWriter
from albench.run_context import RunContext, context_for, ensure_plugins
from albench.run_ids import RunIds, SeenRunIds
from albench.spec import Grid, RunSpec
from albench.stale_plugin_dirs import remove_stale_once
from albench.store import Store
from albench.table_schema import schemas_for

TRACEBACK_LINES = 12
# BLAS/OpenMP threads per run, as in Dask's worker processes: AL fits are small,
# and threads on small matrices cost more than they give (twice the time measured
# on two busy cores).
RUN_THREADS = 1
CHILD_EXIT_S = 5.0  # how long an idle run process may take to exit on its own (and remove its plug-in folder)
Progress = Callable[[dict], None]  # called with each stored runs row


@lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    out = {"python_version": platform.python_version()}
    for dist in ("albench", "numpy", "scikit-learn", "pandas", "modAL-python", "torch"):
        try:
            out[f"{dist.replace('-', '_').lower()}_version"] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def now() -> datetime:
    return datetime.now(timezone.utc)


def base_row(spec: RunSpec, grid_name: str) -> dict:
    """The run's identity: id, grid, kind, hyperparameters, and which code implements each component."""
    return {"run_id": spec.run_id, "grid": grid_name, "kind": spec.kind, **spec.columns(),
            **KINDS[spec.kind].implementations(spec.params)}


def finish_row(row: dict, started: datetime, t0: float) -> dict:
    row.update(total_s=time.perf_counter() - t0, started_at=started, finished_at=now(), **library_versions())
    return row


def execute_run(spec: RunSpec, grid_name: str, timeout_s: float | None = None) -> tuple[dict, list[dict]]:
    """One run as (runs row, curve rows); exceptions become an error row.

    ``timeout_s`` sets the cooperative deadline (``albench.deadline``): the run
    stops at its first check after the limit and becomes a ``timeout`` row.
    """
    row = base_row(spec, grid_name)
    started, t0 = now(), time.perf_counter()
    curves: list[dict] = []
    try:
        with deadline.scope(timeout_s):
            result = KINDS[spec.kind].runner()(spec)
        row.update(status="ok", error=None, **result.summary)
        curves = [{"run_id": spec.run_id, **r} for r in result.curves]
    except deadline.RunTimeout as exc:
        row.update(status="timeout", error=f"stopped after {time.perf_counter() - t0:.1f} s: {exc}")
    except (Exception, SystemExit, KeyboardInterrupt) as exc:
        if isinstance(exc, KeyboardInterrupt) and not own_interrupt():
            raise  # the user's Ctrl-C: it stops the grid
        what = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, SystemExit):
            what = f"SystemExit: the run called sys.exit({exc.code!r})"
        elif isinstance(exc, KeyboardInterrupt):
            what = "KeyboardInterrupt: raised by the run itself, not by Ctrl-C"
        tb = traceback.format_exc().rstrip().splitlines()
        row.update(status="error", error=what, error_traceback="\n".join(tb[-TRACEBACK_LINES:]))
    return finish_row(row, started, t0), curves


def warm_up() -> None:
    """Import every runner and strategy (and so their libraries) before the first run is timed."""
    from albench.strategy import registry

    for kind in KINDS.values():
        kind.runner()
    registry.names()


def limit_threads():
    """Warm up, then cap the numerical libraries' threads at ``RUN_THREADS``."""
    from threadpoolctl import threadpool_limits

    warm_up()
    return threadpool_limits(limits=RUN_THREADS)


_local = threading.local()  # each executing thread keeps its own run process


def _thread_run_process():
    from albench.run_process import RunProcess

    if getattr(_local, "run_process", None) is None:
        _local.run_process = RunProcess()
    return _local.run_process


def run_batch(specs: list[RunSpec], ctx: RunContext) -> list[tuple[dict, list[dict]]]:
    """Execute runs one after the other: the body of one distributed task.

    With a time limit, the runs go to this thread's killable run process
    (``albench.run_process``); without one, they run right here.
    """
    remove_stale_once()  # plug-in folders of this machine's killed processes, on the worker's first task
    ensure_plugins(ctx)
    if ctx.timeout_s is None:
        return [execute_run(spec, ctx.grid_name) for spec in specs]
    process = _thread_run_process()
    return [process.run(spec, ctx) for spec in specs]


@dataclass
class GridSummary:
    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    timed_out: int = 0
    wall_s: float = 0.0
    compacted: str | None = None  # what the closing compaction did, if the parts had piled up

    def line(self) -> str:
        line = (f"{self.done} done, {self.skipped} skipped (already stored), "
                f"{self.failed} failed, {self.timed_out} timed out, in {self.wall_s:.1f} s")
        return line + (f"; {self.compacted}" if self.compacted else "")


LOOKUP_CHUNK = 1024  # run_ids looked up in the stored set at once (RunSpecs held: about 1 MB)


def _lookups(run_ids: Iterable[str], done: RunIds) -> Iterator[tuple[list[str], np.ndarray]]:
    """(chunk of ``run_ids``, whether ``done`` holds each), ``LOOKUP_CHUNK`` at a time (``np.searchsorted``)."""
    ids = iter(run_ids)
    while chunk := list(itertools.islice(ids, LOOKUP_CHUNK)):
        yield chunk, done.contains(chunk)


def _stored_ids(run_ids: Iterable[str], done: RunIds) -> set[str]:
    """Those of ``run_ids`` that ``done`` holds."""
    return {run_id for chunk, held in _lookups(run_ids, done) for run_id in itertools.compress(chunk, held)}


def stored_flags(grid: Grid, done: RunIds) -> np.ndarray:
    """One bool per run of the grid, in its order: whether the run is stored (one byte a run)."""
    flags, at = np.zeros(len(grid), dtype=bool), 0
    for chunk, held in _lookups(grid.run_ids(), done):
        flags[at:at + len(chunk)] = held
        at += len(chunk)
    return flags


class PendingRuns:
    """The grid's runs not stored yet: ``len()`` and iteration, generated from the grid, never listed.

    ``stored`` flags each run of the grid in its (deterministic) order, so
    iterating needs no second lookup of every run_id.
    """

    def __init__(self, grid: Grid, stored: np.ndarray | None, count: int):
        self.grid, self.stored, self.count = grid, stored, count

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[RunSpec]:
        if self.stored is None:
            return self.grid.specs()
        if not self.count:  # a re-run of a complete grid: no second walk over its runs
            return iter(())
        return (spec for spec, stored in zip(self.grid.specs(), self.stored.tolist()) if not stored)


def pending(grid: Grid, store: Store, rerun_failed: bool = False) -> tuple[PendingRuns, int]:
    """Runs still to do, and how many are skipped as already stored.

    Only the stored ``run_id`` and ``status`` columns are read, into a sorted
    numpy array (``Store.finished_ids``); the grid is walked once more to count
    what is stored (not at all into an empty store), its run_ids looked up in
    batches.
    With ``rerun_failed``, this grid's stored error/timeout rows are removed
    first, so each run_id stays stored once (failed rows of runs outside the
    grid are kept). Clean-up of a crashed writer's leftovers needs the
    folder's writer lock (``Store.writing``), which the caller should hold.
    """
    store.remove_orphans()
    if rerun_failed:
        failed = store.finished_ids(statuses=("error", "timeout"))
        if failed:
            store.drop_runs(_stored_ids(grid.run_ids(), failed))
    done = store.finished_ids()
    stored = stored_flags(grid, done) if done else None
    skipped = int(stored.sum()) if stored is not None else 0
    return PendingRuns(grid, stored, len(grid) - skipped), skipped


class GridRecorder:
    """Stores each finished run once and keeps the grid's counts.

    A run can come back twice (a task recomputed after its worker died after
    all); only its first result is kept (the ids seen are held compactly,
    ``albench.run_ids.SeenRunIds``). ``close`` writes what is buffered.
    """

    def __init__(self, store: Store, summary: GridSummary, progress: Progress | None = None,
                 writer: BatchWriter | None = None, schemas: dict | None = None):
        self.summary, self.progress = summary, progress
        self.writer = writer or BatchWriter(store, schemas=schemas)
        self.seen = SeenRunIds()

    def add(self, row: dict, curves: list[dict]) -> None:
        if row["run_id"] in self.seen:
            return
        self.seen.add(row["run_id"])
        self.writer.add(row, curves)
        status = row["status"]
        self.summary.done += status == "ok"
        self.summary.failed += status == "error"
        self.summary.timed_out += status == "timeout"
        if self.progress:
            self.progress(row)

    def close(self) -> None:
        self.writer.flush()


def finish(store: Store, summary: GridSummary) -> None:
    """What every executor does after its last run, still holding the writer lock: compact the folder if its
    parts piled up (``albench.compaction.compact_if_piled_up``), noted in the summary line."""
    from albench.compaction import compact_if_piled_up

    compacted = compact_if_piled_up(store)
    if compacted is not None:
        summary.compacted = compacted.line()


def start(grid: Grid, store: Store, rerun_failed: bool,
          on_start: Callable[[int, int], None] | None) -> tuple[PendingRuns, GridSummary]:
    """What every executor does first, holding the store's writer lock: find the pending runs, announce them."""
    todo, skipped = pending(grid, store, rerun_failed)
    if on_start:
        on_start(len(todo), skipped)
    return todo, GridSummary(total=len(todo) + skipped, skipped=skipped)


def run_grid(grid: Grid, store: Store, *, rerun_failed: bool = False, timeout_s: float | None = None,
             progress: Progress | None = None, on_start: Callable[[int, int], None] | None = None) -> GridSummary:
    """The local executor: one run after the other in this process, on ``RUN_THREADS`` threads.

    ``timeout_s`` overrides the grid's ``timeout_s``; with a limit, runs go to
    one killable child process (``albench.run_process``). ``on_start(n_todo,
    n_skipped)`` is called once the pending runs are known, ``progress(row)``
    after each run.

    The store's writer lock is held throughout (``StoreLocked`` if another
    process writes there; ``StoreError`` if the folder cannot be written,
    before any run). A run's own ``sys.exit``/``KeyboardInterrupt`` is an
    error row; a Ctrl-C stops the grid after writing what finished. A grid
    that finishes with more than ``albench.compaction.AUTO_COMPACT_PARTS``
    runs parts in the folder compacts it (``GridSummary.compacted``).
    """
    t0 = time.perf_counter()
    with store.writing(), ctrl_c_recorded():
        todo, summary = start(grid, store, rerun_failed, on_start)
        ctx = context_for(grid, timeout_s)
        recorder = GridRecorder(store, summary, progress, schemas=schemas_for(grid.kind))
        process = None
        remove_stale_once()  # plug-in folders of killed run processes and workers
        limits = limit_threads()
        try:
            if ctx.timeout_s is None:
                results: Iterable = (execute_run(spec, ctx.grid_name) for spec in todo)
            else:
                from albench.run_process import RunProcess

                process = RunProcess()
                results = (process.run(spec, ctx) for spec in todo)
            for row, curves in results:
                recorder.add(row, curves)
            recorder.close()
            finish(store, summary)
        finally:
            recorder.close()
            limits.restore_original_limits()
            if process is not None:
                process.close(wait_s=CHILD_EXIT_S)
            summary.wall_s = time.perf_counter() - t0
    return summary
