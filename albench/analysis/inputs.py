"""What the analysis reads from a results folder: the runs table without the columns that no figure
uses (tracebacks, timestamps, library versions), and the curves where they lie (``Curves``: DuckDB over
the parts, never one pandas frame), so that a study of 10^6 runs and 2 x 10^7 curve rows fits in a few GiB."""

from __future__ import annotations

import re

import pandas as pd

from albench.analysis.curves import Curves

UNUSED_RUN_COLUMNS = re.compile(r"^(error_traceback|started_at|finished_at)$|_version$")


def read_inputs(results) -> tuple[pd.DataFrame, Curves | None]:
    """(runs, curves) of an ``albench.results.Results`` for ``albench.analysis.summary.analyze``."""
    columns = [c for c in results.columns("runs") if not UNUSED_RUN_COLUMNS.search(c)]
    return results.read("runs", columns), Curves.of(results)
