"""Ranking stability: would a study reach other conclusions under another value
of a hyperparameter? Three measures per hyperparameter H, each with a
percentile bootstrap confidence interval over the blocks (data sets):

- ``kendall_tau``: Kendall's tau between the leaderboard (mean rank of each
  method over data sets) built from the runs with H = v and the full
  leaderboard, averaged over the values v. Undefined for the hyperparameters
  that make up the compared methods. For H = the block itself, the leaderboard
  of each data set against the full one.
- ``pearson_r``: Pearson's r between the metric of matched runs (identical in
  every other hyperparameter) under two values of H, over the matched runs of
  one data set; averaged over pairs of values, then over data sets.
- ``jaccard``: Jaccard overlap of the pool indices queried by matched runs,
  compared at equal numbers of labels (the first n queried by each), averaged
  the same way. Needs the ``queried`` column of the curves (AL runs).

High values mean stable conclusions: H matters little. The measures follow
the AL hyperparameter study this project reproduces (Gonsior et al., "Survey
of Active Learning Hyperparameters: Insights from a Large-Scale Experimental
Grid", 2025), which found conclusions flipping with start set, batch size,
learner and implementation.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats as sstats

from albench.analysis.frame import Frame
from albench.analysis.stats import block_ranks, kendall_tau_rows

MEASURES = ("kendall_tau", "pearson_r", "jaccard")


def bootstrap_ci(n_units: int, statistic: Callable[[np.ndarray], np.ndarray], n_resamples: int,
                 confidence: float, seed: int) -> tuple[float, float, float]:
    """(statistic on all units, CI low, CI high), resampling the units with replacement.

    ``statistic(idx)`` takes unit indices of shape (..., n) and reduces the
    last axis; scipy's bootstrap calls it on whole batches of resamples.
    """
    units = np.arange(n_units)
    point = float(statistic(units))
    if n_units < 2 or not np.isfinite(point):
        return point, math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sstats.bootstrap((units,), lambda idx, axis=-1: statistic(idx), vectorized=True,
                               n_resamples=n_resamples, confidence_level=confidence, method="percentile",
                               rng=np.random.default_rng(seed))
    return point, float(res.confidence_interval.low), float(res.confidence_interval.high)


def _nanmean(values, axis=None):
    """Mean of the finite values (NaN when there are none), without warnings."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    total = np.where(finite, values, 0.0).sum(axis=axis)
    count = finite.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = total / count
    return float(out) if np.ndim(out) == 0 else out


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(sstats.pearsonr(x, y).statistic)


def _jaccard_first(a, b) -> float:
    """Jaccard overlap of the first n indices of two query sequences, n the shorter length."""
    n = min(len(a), len(b))
    if n == 0:
        return math.nan
    sa, sb = set(a[:n]), set(b[:n])
    return len(sa & sb) / len(sa | sb)


def _rank_matrix(frame: Frame, rows: pd.DataFrame, metric: str, blocks: list) -> np.ndarray:
    """blocks x methods ranks (1 best) of the mean metric of ``rows``; NaN where a method has no run."""
    means = rows.groupby([frame.block, frame.method])[metric].mean().unstack(frame.method)
    means = means.reindex(index=blocks, columns=frame.values(frame.method))
    return block_ranks(means, frame.higher_is_better(metric)).to_numpy(dtype=float)


def _mean_rank(ranks: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Leaderboard (mean rank per method) of the blocks ``idx`` (..., n) -> (..., methods)."""
    return _nanmean(ranks[idx], axis=-2)


def _tau_statistic(frame: Frame, ok: pd.DataFrame, metric: str, h: str, blocks: list):
    """idx (..., n) -> mean over the values of H of tau(leaderboard under H = v, full leaderboard)."""
    full = _rank_matrix(frame, ok, metric, blocks)
    if h == frame.block:  # each chosen data set's own ranking against the leaderboard of all chosen
        return lambda idx: _nanmean(kendall_tau_rows(full[idx], _mean_rank(full, idx)[..., None, :]), axis=-1)
    per_value = [_rank_matrix(frame, ok[ok[h] == v], metric, blocks) for v in frame.values(h)]
    return lambda idx: _nanmean(np.stack([kendall_tau_rows(_mean_rank(r, idx), _mean_rank(full, idx))
                                          for r in per_value]), axis=0)


def _wide(frame: Frame, ok: pd.DataFrame, h: str, values: str, aggfunc: str) -> pd.DataFrame:
    """Matched runs side by side: one row per (block, other hyperparameters), one column per value of H."""
    context = frame.context((h, frame.block))
    index = ([] if h == frame.block else [frame.block]) + (context or ["_one"])
    return ok.assign(_one=0).pivot_table(index=index, columns=h, values=values, aggfunc=aggfunc)


def _pairs_mean(columns: np.ndarray, pair_value: Callable) -> float:
    """Mean over pairs of columns (values of H) of ``pair_value(column a, column b)``."""
    return _nanmean([pair_value(columns[:, a], columns[:, b])
                     for a, b in itertools.combinations(range(columns.shape[1]), 2)])


def _per_block(wide: pd.DataFrame, frame: Frame, blocks: list, pair_value: Callable) -> np.ndarray:
    """``pair_value`` averaged over pairs of values of H, within each block."""
    rows = wide.index.get_level_values(frame.block) if frame.block in wide.index.names else None
    values = wide.to_numpy()
    if rows is None:  # H is the block: each block against every other one
        out = []
        for b in blocks:
            if b not in wide.columns:
                out.append(math.nan)
                continue
            i = wide.columns.get_loc(b)
            out.append(_nanmean([pair_value(values[:, i], values[:, j]) for j in range(values.shape[1]) if j != i]))
        return np.array(out, dtype=float)
    return np.array([_pairs_mean(values[np.asarray(rows == b)], pair_value) for b in blocks], dtype=float)


def _per_block_pearson(frame: Frame, ok: pd.DataFrame, metric: str, h: str, blocks: list) -> np.ndarray:
    wide = _wide(frame, ok, h, metric, "mean").astype(float)
    return _per_block(wide, frame, blocks, _pearson)


def _per_block_jaccard(frame: Frame, ok: pd.DataFrame, h: str, blocks: list, queried: pd.Series) -> np.ndarray:
    if h == frame.block or queried is None:
        return np.full(len(blocks), math.nan)  # indices of different data sets are not comparable
    wide = _wide(frame, ok.drop_duplicates("run_id"), h, "run_id", "first")
    sequences = queried.to_dict()

    def overlap(x, y):
        return _nanmean([_jaccard_first(sequences[i], sequences[j]) for i, j in zip(x, y)
                         if i in sequences and j in sequences])

    return _per_block(wide, frame, blocks, overlap)


def query_sequences(curves: pd.DataFrame | None) -> pd.Series | None:
    """run_id -> the pool indices queried by the run, in query order (None without a ``queried`` column)."""
    if curves is None or curves.empty or "queried" not in curves.columns:
        return None
    c = curves[["run_id", "cycle", "queried"]].sort_values(["run_id", "cycle"])
    c = c.explode("queried").dropna(subset=["queried"])
    return c.groupby("run_id")["queried"].agg(lambda s: [int(v) for v in s])


def stability(frame: Frame, metric: str, curves: pd.DataFrame | None = None, n_resamples: int = 1000,
              confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """One row per varying hyperparameter: each measure and its bootstrap CI (``<measure>_low/_high``)."""
    ok = frame.ok[frame.ok[metric].notna()]
    blocks = frame.values(frame.block)
    queried = query_sequences(curves)
    rows = []
    for h in frame.hyperparameters:
        row = {"hyperparameter": h}
        if h in frame.method_parts:
            row.update(kendall_tau=math.nan, kendall_tau_low=math.nan, kendall_tau_high=math.nan)
        else:
            tau = _tau_statistic(frame, ok, metric, h, blocks)
            row.update(zip(("kendall_tau", "kendall_tau_low", "kendall_tau_high"),
                           bootstrap_ci(len(blocks), tau, n_resamples, confidence, seed)))
        for name, per_block in (("pearson_r", _per_block_pearson(frame, ok, metric, h, blocks)),
                                ("jaccard", _per_block_jaccard(frame, ok, h, blocks, queried))):
            finite = per_block[np.isfinite(per_block)]
            row.update(zip((name, f"{name}_low", f"{name}_high"),
                           bootstrap_ci(len(finite), lambda idx, v=finite: _nanmean(v[idx], axis=-1),
                                        n_resamples, confidence, seed)))
        rows.append(row)
    columns = ["hyperparameter"] + [f"{m}{s}" for m in MEASURES for s in ("", "_low", "_high")]
    return pd.DataFrame(rows, columns=columns).set_index("hyperparameter")
