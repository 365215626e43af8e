"""Run a grid: skip what is stored, execute the rest, write results in batches.

``execute_run`` turns one RunSpec into table rows and never raises: a run that
fails becomes a row with ``status`` = ``error``, its message and the tail of its
traceback. ``run_grid`` is the in-process executor; it knows nothing of AL.
"""

from __future__ import annotations

import platform
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

from albench.kinds import KINDS
from albench.spec import Grid, RunSpec
from albench.store import Store

TRACEBACK_LINES = 12


@lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    out = {"python_version": platform.python_version()}
    for dist in ("albench", "numpy", "scikit-learn", "pandas", "modAL-python", "torch"):
        try:
            out[f"{dist.replace('-', '_').lower()}_version"] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def _now() -> datetime:
    return datetime.now(timezone.utc)


def base_row(spec: RunSpec, grid_name: str) -> dict:
    return {"run_id": spec.run_id, "grid": grid_name, "kind": spec.kind, **spec.columns()}


def execute_run(spec: RunSpec, grid_name: str) -> tuple[dict, list[dict]]:
    """One run as (runs row, curve rows); exceptions become an error row."""
    row = base_row(spec, grid_name)
    started, t0 = _now(), time.perf_counter()
    curves: list[dict] = []
    try:
        result = KINDS[spec.kind].runner()(spec)
        row.update(status="ok", error=None, **result.summary)
        curves = [{"run_id": spec.run_id, **r} for r in result.curves]
    except Exception as exc:
        tb = traceback.format_exc().rstrip().splitlines()
        row.update(status="error", error=f"{type(exc).__name__}: {exc}",
                   error_traceback="\n".join(tb[-TRACEBACK_LINES:]))
    row.update(total_s=time.perf_counter() - t0, started_at=started, finished_at=_now(), **library_versions())
    return row, curves


@dataclass
class GridSummary:
    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    timed_out: int = 0
    wall_s: float = 0.0

    def line(self) -> str:
        return (f"{self.done} done, {self.skipped} skipped (already stored), "
                f"{self.failed} failed, {self.timed_out} timed out, in {self.wall_s:.1f} s")


def pending(grid: Grid, store: Store, rerun_failed: bool = False) -> tuple[list[RunSpec], int]:
    """Runs still to do, and how many are skipped as already stored.

    With ``rerun_failed``, stored error/timeout rows are removed first so each
    run_id stays stored once.
    """
    store.remove_orphans()
    if rerun_failed:
        store.drop_runs(store.finished(statuses=("error", "timeout")))
    done = store.finished()
    todo, skipped = [], 0
    for spec in grid.specs():
        if spec.run_id in done:
            skipped += 1
        else:
            todo.append(spec)
    return todo, skipped


class BatchWriter:
    """Buffers finished runs and writes a part every ``max_runs`` runs or ``max_s`` seconds."""

    def __init__(self, store: Store, max_runs: int = 200, max_s: float = 10.0):
        self.store, self.max_runs, self.max_s = store, max_runs, max_s
        self.runs: list[dict] = []
        self.curves: list[dict] = []
        self.last = time.monotonic()

    def add(self, row: dict, curves: list[dict]) -> None:
        self.runs.append(row)
        self.curves.extend(curves)
        if len(self.runs) >= self.max_runs or time.monotonic() - self.last >= self.max_s:
            self.flush()

    def flush(self) -> None:
        self.store.write(self.runs, self.curves)
        self.runs, self.curves = [], []
        self.last = time.monotonic()


def run_grid(grid: Grid, store: Store, *, rerun_failed: bool = False, progress=None) -> GridSummary:
    """In-process executor. ``progress(row)`` is called after each run, if given."""
    t0 = time.perf_counter()
    todo, skipped = pending(grid, store, rerun_failed)
    summary = GridSummary(total=len(todo) + skipped, skipped=skipped)
    writer = BatchWriter(store)
    try:
        for spec in todo:
            row, curves = execute_run(spec, grid.name)
            writer.add(row, curves)
            summary.done += row["status"] == "ok"
            summary.failed += row["status"] == "error"
            summary.timed_out += row["status"] == "timeout"
            if progress:
                progress(row)
    finally:
        writer.flush()
    summary.wall_s = time.perf_counter() - t0
    return summary
