"""Figures from stored ``at`` results: squared error against M, and labelling efficiency.

Labelling efficiency compares an active estimate's mean squared error after M
labels with the iid baseline (uniform proposal, sample mean). That baseline's
error is known exactly: after m uniform draws without replacement from a pool
of N losses with variance s^2 (the mean of (L_i - R)^2), the sample mean has
mean squared error s^2 / m * (N - m) / (N - 1) (Cochran, "Sampling
Techniques", 1977, thm. 2.2). Averaged over the runs of a group, this gives a
noise-free curve, defined up to m = N, so the matching number of iid labels
needs no simulation and no extrapolation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

GROUP = ["dataset", "loss"]  # one baseline per group: the same pools in every run of it
ROW = ["surrogate", "proposal", "estimator"]


def mse_interval(squared_errors: np.ndarray, confidence: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean squared error over runs."""
    values = np.asarray(squared_errors, dtype=float)
    if len(values) < 2 or np.ptp(values) == 0:
        return float(values.mean()), float(values.mean())
    res = stats.bootstrap((values,), np.mean, confidence_level=confidence, n_resamples=2000,
                          method="percentile", rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def errors_by_budget(runs: pd.DataFrame, curves: pd.DataFrame, budgets=None,
                     by: tuple[str, ...] = (*GROUP, *ROW)) -> pd.DataFrame:
    """Median and mean squared error after m labels, with a 95% bootstrap interval of the mean.

    One row per ``by`` and m, over the runs with status ok.
    """
    ok = runs.loc[runs["status"] == "ok", ["run_id", *[c for c in by if c != "estimator"]]]
    rows = curves.merge(ok, on="run_id")
    if budgets is not None:
        rows = rows[rows["m"].isin(list(budgets))]
    grouped = rows.groupby([*by, "m"])["squared_error"]
    out = grouped.agg(median_se="median", mse="mean", runs="count")
    bounds = grouped.apply(lambda s: mse_interval(s.to_numpy()))
    out["mse_low"] = [b[0] for b in bounds]
    out["mse_high"] = [b[1] for b in bounds]
    return out.reset_index()


def iid_mse(runs: pd.DataFrame, m: np.ndarray) -> np.ndarray:
    """Exact mean squared error of the iid mean after m uniform labels, averaged over ``runs``."""
    s2 = runs["pool_loss_variance"].to_numpy(dtype=float)[:, None]
    n = runs["n_pool"].to_numpy(dtype=float)[:, None]
    m = np.asarray(m, dtype=float)[None, :]
    return (s2 / m * np.clip(n - m, 0, None) / np.maximum(n - 1, 1)).mean(axis=0)


def iid_labels_matching(runs: pd.DataFrame, mse: float) -> int:
    """The fewest uniform labels whose iid mean has mean squared error <= ``mse``."""
    n_max = int(runs["n_pool"].min())
    m = np.arange(1, n_max + 1)
    ok = np.flatnonzero(iid_mse(runs, m) <= mse)
    return int(m[ok[0]]) if len(ok) else n_max


def labelling_efficiency(runs: pd.DataFrame, errors: pd.DataFrame) -> pd.DataFrame:
    """``errors`` (from ``errors_by_budget``) plus the iid labels matching each mean squared error.

    ``iid_labels``: uniform labels the sample mean needs for the same error;
    ``efficiency`` = iid_labels / m (above 1: active testing saves labels).
    ``iid_labels_low``/``_high`` map the interval of the mean squared error
    (a larger error matches fewer iid labels).
    """
    ok = runs[runs["status"] == "ok"]
    out = errors.copy()
    groups = {key: frame for key, frame in ok.groupby(GROUP)}

    def labels(column: str) -> list[int]:
        return [iid_labels_matching(groups[tuple(row[GROUP])], row[column]) for _, row in out.iterrows()]

    out["iid_labels"] = labels("mse")
    if {"mse_low", "mse_high"} <= set(out.columns):
        out["iid_labels_low"], out["iid_labels_high"] = labels("mse_high"), labels("mse_low")
    out["efficiency"] = out["iid_labels"] / out["m"]
    return out


def final_errors(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean squared error of each estimator's final estimate, per surrogate and proposal (a quick look)."""
    ok = runs[runs["status"] == "ok"]
    cols = sorted(c for c in ok.columns if c.endswith("_squared_error"))
    if ok.empty or not cols:
        return runs.groupby(["surrogate", "proposal"]).size().rename("runs").reset_index().assign(runs=0)
    table = ok.groupby(["surrogate", "proposal"])[cols].mean()
    table.columns = [c.removesuffix("_squared_error") for c in cols]
    table.insert(0, "runs", ok.groupby(["surrogate", "proposal"]).size())
    return table.reset_index()
