"""The tables ``albench grid run`` prints when it ends, one function per grid kind (``Kind.closing_path``).

They cover everything stored, and are read so that a re-run of a huge store loads no more than it must:
the AL leaderboard is one DuckDB group-by (``albench.analysis.stored_board``); the runs are read only
when it cannot sum the metric exactly, and then only the columns the table uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

AL_METRICS = ("auc_accuracy", "auc_macro_f1", "auc_weighted_f1")  # ranked on the first; an oracle normalises all
AT_OUTPUTS = ("_squared_error", "_ci_low", "_ci_high")  # per estimator: the final table's errors and intervals


@dataclass
class ClosingTable:
    title: str
    frame: pd.DataFrame
    floatfmt: str = "{:.4g}"
    warnings: list[str] = field(default_factory=list)


def al_tables(store, name: str) -> list[ClosingTable]:
    """The leaderboard (mean AUC of accuracy) of the stored AL runs."""
    from albench.analysis.leaderboard import leaderboard
    from albench.analysis.stored_board import stored_leaderboard
    from albench.results import Results

    board = stored_leaderboard(Results(store.root))
    if board is None:  # a metric value DuckDB cannot sum exactly (infinite, or huge)
        runs = store.read("runs", al_columns())
        runs = runs[runs["kind"] == "al"] if "kind" in runs.columns else runs  # as the group-by's filter
        board = leaderboard(runs) if not runs.empty else pd.DataFrame()
    title = f"leaderboard ({name}: mean AUC of accuracy, mean rank within data sets)"
    return [ClosingTable(title, board)] if not board.empty else []


def at_tables(store, name: str) -> list[ClosingTable]:
    """Each estimator's error of the final estimate, with the reliability warnings."""
    from albench.active_testing.report import LEGACY, final_errors, reliability_warnings

    runs = store.read("runs", at_columns(store))
    if "kind" in runs.columns:  # a folder may hold AL runs too (another grid of the same name)
        runs = runs[runs["kind"] == "at"].reset_index(drop=True)
    if runs.empty:
        return []
    table = final_errors(runs)
    # the figures' keys are grouped by even when the grid holds one value: said once, not in every row
    constant = [k for k in LEGACY if k in table.columns and len(table) > 1 and table[k].nunique(dropna=False) == 1]
    same = "; in every run: " + ", ".join(f"{k} {table[k].iloc[0]}" for k in constant) if constant else ""
    title = (f"{name}: error of the final estimate, grouped by every varying key (seeds averaged): mean "
             f"squared error with BCa 95 % interval, median, interval coverage{same}")
    return [ClosingTable(title, table.drop(columns=constant), "{:.3g}", reliability_warnings(runs))]


def al_columns() -> list[str]:
    """The runs columns the AL leaderboard reads when it needs the runs: the design and the AUC metrics."""
    return [*_design_columns("al"), *AL_METRICS]


def at_columns(store) -> list[str]:
    """The runs columns of the active-testing table: the design, each estimator's squared error and
    interval, the true risk and the largest importance weight (the reliability warning)."""
    from albench.results import Results

    stored = Results(store.root).columns("runs")  # estimators are plug-ins: their columns are found by name
    return [*_design_columns("at"), "true_risk", "max_weight", *(c for c in stored if c.endswith(AT_OUTPUTS))]


def _design_columns(kind: str) -> list[str]:
    """Bookkeeping and the kind's hyperparameters with their ``*_params`` (the tables label methods and
    group by them)."""
    from albench.kinds import KINDS

    keys = list(KINDS[kind].params.model_fields)
    return ["run_id", "kind", "status", *keys, *(f"{k}_params" for k in keys)]
