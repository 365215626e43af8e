"""Tests for comparing several methods over several blocks (data sets).

Demšar, "Statistical Comparisons of Classifiers over Multiple Data Sets"
(JMLR 7, 2006): rank the methods within each block, average the ranks, test
them with the Friedman test and, post hoc, with the Nemenyi test, whose
critical difference (CD) is the smallest difference in mean rank that is
significant. The tests come from scipy and scikit-posthocs.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import scikit_posthocs as sp
from scipy import stats

from albench.wording import counted


# a percentile bootstrap over fewer units than this is printed as unreliable
MIN_RELIABLE_UNITS = 5


def blocks(n: int) -> str:
    """'1 block', '24 blocks': the count every verdict and table title states."""
    return counted(n, "block")


BOOTSTRAP_CELLS = 20_000_000  # values one vectorised call of a bootstrap statistic may touch


def bootstrap_ci(n_units: int, statistic: Callable[[np.ndarray], np.ndarray], n_resamples: int,
                 confidence: float, seed: int, unit_size: int = 1) -> tuple[float, float, float]:
    """(statistic on all units, CI low, CI high), resampling the units with replacement.

    ``statistic(idx)`` takes unit indices of shape (..., n) and reduces the
    last axis; scipy's bootstrap calls it on batches of resamples, of at most
    ``BOOTSTRAP_CELLS / (n * unit_size)`` resamples, ``unit_size`` being the
    values the statistic reads per unit (a block's ranks of every method under
    every value: 1000 blocks x 20 values x 10 methods at once would take GiBs).
    The resamples drawn are the same whatever the batch size.
    """
    units = np.arange(n_units)
    point = float(statistic(units)) if n_units else math.nan
    if n_units < 2 or not np.isfinite(point):
        return point, math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.bootstrap((units,), lambda idx, axis=-1: statistic(idx), vectorized=True,
                              n_resamples=n_resamples, confidence_level=confidence, method="percentile",
                              batch=max(1, BOOTSTRAP_CELLS // (n_units * max(unit_size, 1))),
                              rng=np.random.default_rng(seed))
    return point, float(res.confidence_interval.low), float(res.confidence_interval.high)


def nanmean(values, axis=None):
    """Mean of the finite values (NaN when there are none), without warnings."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    total = np.where(finite, values, 0.0).sum(axis=axis)
    count = finite.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = total / count
    return float(out) if np.ndim(out) == 0 else out


@dataclass
class Friedman:
    statistic: float
    p_value: float
    n_blocks: int
    n_methods: int


def group_means(values: pd.Series, by: list) -> pd.Series:
    """The mean of ``values`` per group of ``by`` (columns of the same rows), summed in ascending order
    within each group: the same values give the same mean to the bit, whatever order their rows are in,
    so two methods identical in every run (margin and entropy on binary data) tie in every block however
    their run_ids interleave. NaN is skipped, as by pandas."""
    order = np.argsort(values.to_numpy(dtype=float), kind="stable")
    return values.iloc[order].groupby([b.iloc[order] for b in by]).mean()


def block_ranks(matrix: pd.DataFrame, higher_is_better: bool = True) -> pd.DataFrame:
    """Ranks within each row (block) of a blocks x methods matrix; 1 is best, ties share."""
    return matrix.rank(axis=1, ascending=not higher_is_better, method="average")


def friedman(matrix: pd.DataFrame) -> Friedman:
    """Friedman's chi-square test on a complete blocks x methods matrix (NaN when undefined)."""
    n, k = matrix.shape
    if k < 3 or n < 2:  # scipy needs three groups; one block tests nothing
        return Friedman(math.nan, math.nan, n, k)
    columns = [matrix[c].to_numpy(dtype=float) for c in matrix.columns]
    if np.allclose(matrix.to_numpy(dtype=float), matrix.to_numpy(dtype=float)[:, :1]):
        return Friedman(0.0, 1.0, n, k)  # every method ties in every block
    res = stats.friedmanchisquare(*columns)
    return Friedman(float(res.statistic), float(res.pvalue), n, k)


def nemenyi(matrix: pd.DataFrame) -> pd.DataFrame:
    """Nemenyi post-hoc p-values (methods x methods) after a Friedman test."""
    k = matrix.shape[1]
    if k < 2 or matrix.shape[0] < 2:
        return pd.DataFrame(np.ones((k, k)), index=matrix.columns, columns=matrix.columns)
    p = sp.posthoc_nemenyi_friedman(matrix.to_numpy(dtype=float))
    p.index = p.columns = matrix.columns
    return p.astype(float)


def critical_difference(n_methods: int, n_blocks: int, alpha: float = 0.05) -> float:
    """Nemenyi's CD = q_alpha * sqrt(k (k + 1) / (6 N)), q_alpha from the studentized range."""
    if n_methods < 2 or n_blocks < 1:
        return math.nan
    q_alpha = stats.studentized_range.ppf(1 - alpha, n_methods, np.inf) / math.sqrt(2)
    return float(q_alpha * math.sqrt(n_methods * (n_methods + 1) / (6.0 * n_blocks)))


def blocks_to_separate(n_methods: int, alpha: float = 0.05) -> int:
    """The fewest blocks whose critical difference is below k - 1, the largest possible mean-rank gap."""
    q_alpha = stats.studentized_range.ppf(1 - alpha, n_methods, np.inf) / math.sqrt(2)
    bound = q_alpha ** 2 * n_methods * (n_methods + 1) / (6.0 * (n_methods - 1) ** 2)
    return int(math.floor(bound)) + 1


def kendall_tau(a, b) -> float:
    """Kendall's tau-b between two score vectors over the same items (NaN entries dropped)."""
    return float(kendall_tau_rows(np.asarray(a, dtype=float)[None], np.asarray(b, dtype=float)[None])[0])


def kendall_tau_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of each row of ``a`` (..., k) against the same row of ``b``, vectorised.

    The same figure as ``scipy.stats.kendalltau`` (variant b, ties counted
    once per vector), computed for thousands of bootstrap leaderboards at once
    without scipy's per-call overhead. Items NaN in either row are left out;
    a row with fewer than two items, or whose items all tie, gives NaN.
    """
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    i, j = np.triu_indices(a.shape[-1], k=1)
    da, db = a[..., i] - a[..., j], b[..., i] - b[..., j]
    valid = np.isfinite(da) & np.isfinite(db)
    sa, sb = np.where(valid, np.sign(da), 0.0), np.where(valid, np.sign(db), 0.0)
    pairs = valid.sum(axis=-1)
    untied_a = (sa != 0).sum(axis=-1)  # pairs minus pairs tied in a
    untied_b = (sb != 0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = (sa * sb).sum(axis=-1) / np.sqrt(untied_a.astype(float) * untied_b)
    return np.where((pairs > 0) & (untied_a > 0) & (untied_b > 0), tau, np.nan)
