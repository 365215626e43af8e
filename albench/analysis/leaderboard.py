"""Leaderboards: methods ranked within each block (data set), ranks averaged,
with a Friedman test and the Nemenyi critical difference (``stats``).

Within a block (by default a design cell, see ``frame``), a method's score is
the mean of the metric over every other hyperparameter (seeds, start points,
...). The comparison states its blocks, their number, and whether the Nemenyi
test could separate any pair at all: mean ranks lie in [1, k], so when the
critical difference exceeds k - 1 no pair can differ significantly, whatever
the data. Blocks where some method
has no successful run are left out of the ranks and the tests, which need a
complete blocks x methods table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from albench.analysis import stats
from albench.analysis.frame import REPLICATES, AnalysisError, Frame, join_labels, prepare


def block_key(df: pd.DataFrame, block: str | list[str]) -> pd.Series:
    """One label per block; several columns are joined (``iris | logreg``)."""
    return join_labels(df, [block] if isinstance(block, str) else list(block))


def block_matrix(frame: Frame, metric: str, block: str | list[str] | None = None,
                 rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Blocks x methods table of mean ``metric`` over ok rows (incomplete blocks dropped)."""
    ok = frame.ok if rows is None else rows
    ok = ok[ok[metric].notna()]
    key = block_key(ok, block or frame.block)
    matrix = stats.group_means(ok[metric], [key.rename("block"), ok[frame.method]]).unstack(frame.method)
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
    blocks: tuple[str, ...] = ()  # the columns that make up a block
    finer: tuple[str, ...] = ()  # varying design hyperparameters outside the blocks (finer blocks would add them)

    @property
    def can_separate(self) -> bool:
        """Whether any pair of mean ranks could differ by more than the critical difference."""
        k = self.matrix.shape[1]
        return bool(k >= 2 and math.isfinite(self.cd) and self.cd < k - 1)

    def power_note(self) -> str:
        """One sentence: can the Nemenyi test separate anything here, and what would give it power."""
        k, n = self.matrix.shape[1], self.matrix.shape[0]
        if k < 2:
            return "only one method: nothing to compare"
        if self.can_separate:
            return (f"the Nemenyi test can separate methods whose mean ranks differ by more than "
                    f"{self.cd:.3g} (of at most {k - 1})")
        need = stats.blocks_to_separate(k, self.alpha)
        how = (f"more data sets, or finer blocks, e.g. --block {','.join(self.blocks + self.finer[:1])}"
               if self.finer else "more data sets")
        return (f"the Nemenyi test cannot separate any pair: its critical difference {self.cd:.3g} exceeds the "
                f"largest possible rank gap {k - 1} with {stats.blocks(n)}; it needs at least {need} blocks ({how})")

    def summary(self) -> dict:
        f = self.friedman
        return {"metric": self.metric, "higher_is_better": self.higher_is_better,
                "blocks": f.n_blocks, "block_columns": list(self.blocks), "methods": f.n_methods,
                "dropped_blocks": self.n_dropped_blocks,
                "friedman_chi2": f.statistic, "friedman_p": f.p_value, "alpha": self.alpha,
                "critical_difference": self.cd, "can_separate": self.can_separate, "power": self.power_note()}


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
    runs, failures = run_counts(frame)
    table = ranked_table(metric, better, stats.group_means(ok[metric], [ok[frame.method]]), mean_rank, runs, failures)
    table.index.name = frame.method
    best = table.index[0]
    if best in nem.index:
        table["p_vs_best"] = nem.loc[best].reindex(table.index)
        table.loc[best, "p_vs_best"] = np.nan
    parts = ((block,) if isinstance(block, str) else tuple(block)) if block else frame.block_parts
    covered = set(parts) | ({"dataset", "loss"} if "task" in parts else set())  # a task is (data set, loss)
    finer = tuple(h for h in frame.hyperparameters if h not in covered and h not in frame.method_parts
                  and h not in REPLICATES)
    return Comparison(metric, better, frame.method, table.reset_index(), matrix, ranks, fried, nem,
                      stats.critical_difference(matrix.shape[1], matrix.shape[0], alpha), alpha,
                      int(all_blocks - len(matrix)), parts, finer)


def run_counts(frame: Frame) -> tuple[pd.Series, pd.Series]:
    """Per method: its runs, and those that did not succeed."""
    grouped = frame.runs.groupby(frame.method)
    return grouped.size(), grouped["status"].apply(lambda s: int((s != "ok").sum()))


def ranked_table(metric: str, better: bool, means: pd.Series, mean_rank: pd.Series, runs: pd.Series,
                 failures: pd.Series) -> pd.DataFrame:
    """The leaderboard's columns, one row per method (the index), best mean rank first, then best mean."""
    table = pd.DataFrame({f"mean_{metric}": means, "mean_rank": mean_rank, "runs": runs, "failures": failures})
    return table.sort_values(["mean_rank", f"mean_{metric}"], ascending=[True, not better])


def counts_table(runs: pd.Series, failures: pd.Series, method: str) -> pd.DataFrame:
    """The leaderboard when nothing can be ranked: runs and failures per method."""
    return pd.DataFrame({"runs": runs, "failures": failures}).rename_axis(method).reset_index()


def leaderboard(runs: pd.DataFrame, metric: str | None = None, by: str | None = None,
                block: str = "dataset") -> pd.DataFrame:
    """One row per method, best mean rank first (the table of ``compare``).

    ``runs`` is a stored runs table; ``metric`` defaults to the kind's main
    metric (``auc_accuracy`` for AL, ``squared_error`` for active testing).
    Without successful runs, the table only counts runs and failures.
    """
    frame = prepare(runs, block=[block] if block in runs.columns else None)
    if by is not None:
        frame.method, frame.method_parts = by, (by,)
    block = frame.block
    if not frame.ok.empty:
        metric = frame.check_metric(metric)
        if not block_matrix(frame, metric, block).empty:
            return compare(frame, metric, block).table.drop(columns="p_vs_best", errors="ignore")
    return counts_table(*run_counts(frame), frame.method)
