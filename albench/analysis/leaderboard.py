"""Leaderboards: methods ranked within each block (data set), ranks averaged,
with a Friedman test and the Nemenyi critical difference (``stats``).

Within a block, a method's score is the mean of the metric over every other
hyperparameter (learners, batch sizes, seeds, ...). Blocks where some method
has no successful run are left out of the ranks and the tests, which need a
complete blocks x methods table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from albench.analysis import stats
from albench.analysis.frame import AnalysisError, Frame, prepare


def block_key(df: pd.DataFrame, block: str | list[str]) -> pd.Series:
    """One label per block; several columns are joined (``iris | logreg``)."""
    if isinstance(block, str):
        return df[block].astype(str)
    return df[block].astype(str).agg(" | ".join, axis=1)


def block_matrix(frame: Frame, metric: str, block: str | list[str] | None = None,
                 rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Blocks x methods table of mean ``metric`` over ok rows (incomplete blocks dropped)."""
    ok = frame.ok if rows is None else rows
    ok = ok[ok[metric].notna()]
    key = block_key(ok, block or frame.block)
    matrix = ok.groupby([key.rename("block"), ok[frame.method]])[metric].mean().unstack(frame.method)
    methods = sorted(frame.ok[frame.method].unique())
    return matrix.reindex(columns=methods).dropna(axis=0, how="any")


@dataclass
class Comparison:
    """A leaderboard and the statistics behind it."""

    metric: str
    higher_is_better: bool
    method: str
    table: pd.DataFrame  # one row per method, best first
    matrix: pd.DataFrame  # blocks x methods mean metric (complete blocks)
    ranks: pd.DataFrame  # blocks x methods rank (1 best)
    friedman: stats.Friedman
    nemenyi: pd.DataFrame  # methods x methods p-values
    cd: float  # critical difference of mean ranks at ``alpha``
    alpha: float
    n_dropped_blocks: int

    def summary(self) -> dict:
        f = self.friedman
        return {"metric": self.metric, "higher_is_better": self.higher_is_better,
                "blocks": f.n_blocks, "methods": f.n_methods, "dropped_blocks": self.n_dropped_blocks,
                "friedman_chi2": f.statistic, "friedman_p": f.p_value, "alpha": self.alpha,
                "critical_difference": self.cd}


def compare(frame: Frame, metric: str | None = None, block: str | list[str] | None = None,
            alpha: float = 0.05) -> Comparison:
    metric = frame.check_metric(metric)
    better = frame.higher_is_better(metric)
    ok = frame.ok
    all_blocks = block_key(ok, block or frame.block).nunique()
    matrix = block_matrix(frame, metric, block)
    if matrix.empty:
        raise AnalysisError(f"no block ({block or frame.block}) has a successful run of every {frame.method}")
    ranks = stats.block_ranks(matrix, better)
    mean_rank = ranks.mean(axis=0)
    fried = stats.friedman(matrix)
    nem = stats.nemenyi(matrix)
    runs = frame.runs.groupby(frame.method)
    table = pd.DataFrame({
        f"mean_{metric}": ok.groupby(frame.method)[metric].mean(),
        "mean_rank": mean_rank,
        "runs": runs.size(),
        "failures": runs["status"].apply(lambda s: int((s != "ok").sum())),
    })
    table.index.name = frame.method
    table = table.sort_values(["mean_rank", f"mean_{metric}"], ascending=[True, not better])
    best = table.index[0]
    if best in nem.index:
        table["p_vs_best"] = nem.loc[best].reindex(table.index)
        table.loc[best, "p_vs_best"] = np.nan
    return Comparison(metric, better, frame.method, table.reset_index(), matrix, ranks, fried, nem,
                      stats.critical_difference(matrix.shape[1], matrix.shape[0], alpha), alpha,
                      int(all_blocks - len(matrix)))


def leaderboard(runs: pd.DataFrame, metric: str | None = None, by: str | None = None,
                block: str = "dataset") -> pd.DataFrame:
    """One row per method, best mean rank first (the table of ``compare``).

    ``runs`` is a stored runs table; ``metric`` defaults to the kind's main
    metric (``auc_accuracy`` for AL, ``squared_error`` for active testing).
    Without successful runs, the table only counts runs and failures.
    """
    frame = prepare(runs)
    if by is not None:
        frame.method, frame.method_parts = by, (by,)
    if block not in frame.runs.columns:
        block = frame.block
    if not frame.ok.empty:
        metric = frame.check_metric(metric)
        if not block_matrix(frame, metric, block).empty:
            return compare(frame, metric, block).table.drop(columns="p_vs_best", errors="ignore")
    grouped = frame.runs.groupby(frame.method)
    return pd.DataFrame({"runs": grouped.size(),
                         "failures": grouped["status"].apply(lambda s: int((s != "ok").sum()))}).reset_index()
