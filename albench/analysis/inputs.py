"""What the analysis reads from a results folder: the runs table without the columns that no figure
uses, and the curves where they lie (``Curves``: DuckDB over the parts, never one pandas frame), so that
a study of 10^6 runs and 2 x 10^7 curve rows fits in a few GiB.

Left out of the runs: tracebacks, timestamps, library versions, implementation hashes (``<key>_impl``,
112 bytes a run: half a GiB at OGAL's 4.6 x 10^6 runs) and, for AL results, every summary
metric but the one ranked on (``auc_accuracy`` unless asked otherwise; with ``normalized_auc_<m>`` the
``auc_<m>`` it is computed from). A metric not stored as a column (``rampup_*``, from the curves) or not
stored at all keeps every column, so the analysis names what is available.
"""

from __future__ import annotations

import re

import pandas as pd

from albench.analysis.curves import Curves
from albench.analysis.frame import AL_METRIC_PREFIXES, DEFAULT_METRIC

UNUSED_RUN_COLUMNS = re.compile(r"^(error_traceback|started_at|finished_at)$|_(version|impl)$")
# AL columns that are outputs, not design: all but the ranked metric can stay on disk
AL_OUTPUTS = re.compile("^(" + "|".join(AL_METRIC_PREFIXES) + ")|_s$|^n_")
KEPT_OUTPUTS = ("n_labelled_start", "n_labelled_final")  # the cost of comparing two runs' picks
NORMALIZED = "normalized_"


def run_columns(names: list[str], metric: str | None = None) -> list[str]:
    """The columns of a runs table (``names``) that the analysis of ``metric`` reads."""
    keep = [c for c in names if not UNUSED_RUN_COLUMNS.search(c)]
    if any(c.endswith("_squared_error") for c in names):  # active testing: small tables, every column
        return keep
    wanted = metric or DEFAULT_METRIC["al"]
    source = wanted[len(NORMALIZED):] if wanted.startswith(NORMALIZED) else wanted
    if source not in names:
        return keep
    return [c for c in keep if not AL_OUTPUTS.search(c) or c in (source, *KEPT_OUTPUTS)]


def read_inputs(results, metric: str | None = None) -> tuple[pd.DataFrame, Curves | None]:
    """(runs, curves) of an ``albench.results.Results`` for ``albench.analysis.summary.analyze``; the runs
    sorted by run_id, as the analysis orders them, so that its frame can share their columns."""
    runs = results.read("runs", run_columns(results.columns("runs"), metric))
    if "run_id" in runs.columns and not runs["run_id"].is_monotonic_increasing:
        runs = runs.sort_values("run_id", kind="stable", ignore_index=True)
    return runs, Curves.of(results)
