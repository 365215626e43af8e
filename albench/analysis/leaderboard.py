"""Per-strategy leaderboard: mean metric, mean rank across data sets, counts."""

from __future__ import annotations

import pandas as pd


def leaderboard(runs: pd.DataFrame, metric: str = "auc_accuracy", by: str = "strategy",
                block: str = "dataset") -> pd.DataFrame:
    """One row per ``by`` value, best mean rank first.

    Ranks are computed within each ``block`` (data set) on the mean of
    ``metric`` over every other hyperparameter, then averaged over blocks
    (rank 1 is best; ties share the average rank).
    """
    failures = runs.groupby(by)["status"].apply(lambda s: int((s != "ok").sum()))
    ok = runs[runs["status"] == "ok"]
    if ok.empty or metric not in ok.columns:
        out = failures.rename("failures").to_frame()
        out["runs"] = runs.groupby(by).size()
        return out.reset_index()
    per_block = ok.groupby([block, by])[metric].mean().unstack(by)
    ranks = per_block.rank(axis=1, ascending=False)
    out = pd.DataFrame({
        f"mean_{metric}": ok.groupby(by)[metric].mean(),
        "mean_rank": ranks.mean(axis=0),
        "runs": runs.groupby(by).size(),
        "failures": failures,
    })
    out.index.name = by
    return out.sort_values(["mean_rank", f"mean_{metric}"], ascending=[True, False]).reset_index()
