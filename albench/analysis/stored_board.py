"""The leaderboard of a results folder from one DuckDB group-by over its parts: the closing table of
``albench grid run``, which must not load a study of OGAL's size.

At 4.6 x 10^6 runs, reading the runs into pandas and labelling, sorting and filtering them took about
55 s and 3 GiB. A leaderboard ranked within data sets needs, per (data set, strategy, status), only the
number of runs, how many hold the metric, and its sum: some 9,000 rows. The sums are exact (DECIMAL),
so two strategies with the same value in every run (margin and entropy on binary data) tie in every
block, whatever order the parts hold their runs in. Otherwise the table equals ``leaderboard`` of the
runs read whole (labels, ranks, counts; means to the last few bits).

An oracle baseline (``albench.strategies.oracle``) reads the test labels and is left out of the table,
as ``frame.prepare`` leaves it out of every ranking. With a metric value too large (or infinite) to sum
exactly, this gives None and the caller reads the runs.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from albench.analysis import stats
from albench.analysis.curves import quote
from albench.analysis.frame import LOWER_IS_BETTER, component_label
from albench.analysis.leaderboard import counts_table, ranked_table
from albench.analysis.normalized import is_oracle

SUMMABLE = 1e6  # |value| below this sums exactly as DECIMAL(38, 18) over 10^13 runs
CELL_COLUMNS = ["dataset", "dataset_params", "strategy", "strategy_params", "status", "n", "n_metric", "total",
                "unsummable"]


def stored_leaderboard(results, metric: str = "auc_accuracy") -> pd.DataFrame | None:
    """``leaderboard`` of the AL runs of an ``albench.results.Results`` (empty without any), or None when
    it cannot sum their metric exactly (see the module docstring). ``ResultsError`` for a damaged part."""
    cells = _cells(results, metric)
    if cells is None or cells["unsummable"].any():
        return None
    oracles = [s for s in cells["strategy"].dropna().unique() if is_oracle(s)]
    cells = cells[~cells["strategy"].isin(oracles)].copy()
    if cells.empty:
        return pd.DataFrame()
    for key in ("dataset", "strategy"):  # as ``frame._label_hyperparameters`` labels them
        cells[key] = [component_label(n, p) for n, p in zip(cells[key], cells[f"{key}_params"])]
    cells["failed"] = cells["n"].where(cells["status"] != "ok", 0)
    runs = cells.groupby("strategy")["n"].sum()
    failures = cells.groupby("strategy")["failed"].sum()
    ok = cells[cells["status"] == "ok"]
    if ok["n_metric"].sum() == 0:
        return counts_table(runs, failures, "strategy")
    matrix = (_means(ok[ok["n_metric"] > 0], ["dataset", "strategy"]).unstack("strategy")
              .reindex(columns=sorted(ok["strategy"].unique())).dropna(axis=0, how="any"))
    if matrix.empty:
        return counts_table(runs, failures, "strategy")
    better = not LOWER_IS_BETTER.search(metric)
    mean_rank = stats.block_ranks(matrix, better).mean(axis=0)
    table = ranked_table(metric, better, _means(ok, ["strategy"]), mean_rank, runs, failures)
    return table.rename_axis("strategy").reset_index()


def _means(cells: pd.DataFrame, by: list[str]) -> pd.Series:
    """The metric's mean per group, from the exact sums (NaN for a group without values)."""
    grouped = cells.groupby(by)
    totals, counts = grouped["total"].agg(lambda t: sum(t, Decimal(0))), grouped["n_metric"].sum()
    means = [float(t / n) if n else float("nan") for t, n in zip(totals, counts)]
    return pd.Series(means, index=totals.index, dtype=float)


def _cells(results, metric: str) -> pd.DataFrame | None:
    """One row per stored (data set, strategy, status) with the runs, the metric's count and exact sum,
    and how many values could not be summed exactly; None without the columns a leaderboard needs."""
    from albench.results import columns_of, connect, fetch

    with connect(results, spill=True) as con:
        columns = set(columns_of(con, "runs"))
        if not {"dataset", "strategy", metric} <= columns:
            return None
        rows = fetch(con, _cells_query(columns, metric))
    cells = pd.DataFrame(rows, columns=CELL_COLUMNS)
    cells["total"] = cells["total"].where(cells["total"].notna(), Decimal(0))
    return cells


def _cells_query(columns: set[str], metric: str) -> str:
    """The group-by of ``_cells`` over the view ``runs`` with ``columns`` (a missing one reads as null)."""

    def column(name: str, missing: str = "NULL") -> str:
        return quote(name) if name in columns else missing

    value = quote(metric)
    return (f"SELECT {column('dataset')}, {column('dataset_params')}, {column('strategy')}, "
            f"{column('strategy_params')}, {column('status', repr('ok'))}, count(*), "
            f"count(v), sum(v), count(*) FILTER (WHERE unsummable) FROM ("
            f"SELECT *, CASE WHEN abs({value}) < {SUMMABLE} THEN CAST({value} AS DECIMAL(38, 18)) END AS v, "
            f"NOT isnan({value}) AND abs({value}) >= {SUMMABLE} AS unsummable FROM runs"
            + (" WHERE kind = 'al'" if "kind" in columns else "") + ") GROUP BY ALL")
