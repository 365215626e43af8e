"""Finished runs buffered and written to the store in parts, by size.

``BatchWriter`` writes a part every ``part_runs()`` runs (``PART_RUNS``, or
the ``ALBENCH_PART_RUNS`` environment variable) or as soon as the buffered
curve rows reach ``PART_CURVE_ROWS``, whichever comes first; a run whose row
the declared schema cannot hold is stored as an error row saying why
(``unstorable_row``) instead of losing its batch. The executors
(``albench.execute``, ``albench.dask_executor``) feed it through
``albench.execute.GridRecorder``.
"""

from __future__ import annotations

import os
import time

from albench.row_tables import storable_values
from albench.store import Store, StoreError, UnstorableRows

PART_RUNS = 1000  # runs per part at most; the environment variable ALBENCH_PART_RUNS overrides it
PART_CURVE_ROWS = 20_000  # buffered curve rows that write a part (about 20 MB of rows in memory)
PART_MAX_S = 300.0


def part_runs() -> int:
    """Runs per part: ``ALBENCH_PART_RUNS`` if set (smaller parts lose less work when a grid is killed),
    else ``PART_RUNS``."""
    text = os.environ.get("ALBENCH_PART_RUNS", "").strip()
    if not text:
        return PART_RUNS
    if not text.isdigit() or int(text) < 1:
        raise StoreError(f"ALBENCH_PART_RUNS={text!r}: must be a whole number of runs, at least 1")
    return int(text)


class BatchWriter:
    """Buffers finished runs and writes a part by size: every ``max_runs`` runs (``part_runs()``), or as soon
    as the buffered curve rows reach ``max_curve_rows``, whichever comes first.

    ``max_s`` (5 minutes) is only a safety bound: a part is also written when
    a run arrives that long after the last part, so a crash of the process
    loses at most that much work (slow runs no longer get a part each, as
    with the 10 s bound this replaced). ``schemas`` are the declared table
    schemas (``albench.table_schema``). A run whose row they cannot hold is
    stored as an error row saying why, with the values that fit, and without
    its curves; the rest of the batch is written as usual.
    """

    def __init__(self, store: Store, max_runs: int | None = None, max_curve_rows: int = PART_CURVE_ROWS,
                 max_s: float = PART_MAX_S, schemas: dict | None = None):
        self.store, self.max_curve_rows, self.max_s = store, max_curve_rows, max_s
        self.max_runs = part_runs() if max_runs is None else max_runs
        self.schemas = schemas
        self.runs: list[dict] = []
        self.curves: list[dict] = []
        self.last = time.monotonic()

    def add(self, row: dict, curves: list[dict]) -> None:
        self.runs.append(row)
        self.curves.extend(curves)
        if (len(self.runs) >= self.max_runs or len(self.curves) >= self.max_curve_rows
                or time.monotonic() - self.last >= self.max_s):
            self.flush()

    def flush(self) -> None:
        if not self.runs:
            self.last = time.monotonic()
            return
        try:
            self.store.write(self.runs, self.curves, self.schemas)
        except UnstorableRows as exc:
            lost = {self.runs[i]["run_id"] for i in exc.bad}
            runs = [unstorable_row(row, exc.bad[i], self.schemas) if i in exc.bad else row
                    for i, row in enumerate(self.runs)]
            self.store.write(runs, [c for c in self.curves if c.get("run_id") not in lost], self.schemas)
        self.runs, self.curves = [], []
        self.last = time.monotonic()


def unstorable_row(row: dict, reason: str, schemas: dict | None) -> dict:
    """The error row of a run whose row cannot be stored: every value that fits, and the reason."""
    kept = storable_values(row, (schemas or {}).get("runs"))
    kept.update(run_id=row["run_id"], status="error", error_traceback=None,
                error=f"the run finished but its row cannot be stored ({reason})")
    return kept
