"""Intervals from an estimate and its estimated variance: normal, or Student-t with given degrees of freedom.

Student-t serves every prefix of a sequential estimate (m - 1 degrees of
freedom) and the stratified totals of rounds (their effective degrees of
freedom, ``stratified.TotalEstimate.df``); infinite degrees of freedom are
the normal interval.

The anytime-valid confidence sequence for bounded values is in ``confidence_sequence``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from albench.finite_population.sequential import Estimate

__all__ = ["contrast_variances", "interval", "normal_interval", "student_interval", "t_quantile"]


def normal_interval(estimate: np.ndarray, variance: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided normal interval estimate -/+ z sqrt(variance) at confidence ``level``."""
    return student_interval(estimate, variance, None, level)


def t_quantile(level: float, df: np.ndarray | float | None = None) -> np.ndarray | float:
    """The two-sided quantile t_{(1+level)/2, df}; the normal one where ``df`` is None or infinite.

    NaN degrees of freedom (a variance that could not be estimated) give NaN.
    """
    if not 0 < level < 1:
        raise ValueError(f"confidence level {level} must be between 0 and 1")
    if df is None:
        return float(stats.norm.ppf(0.5 + level / 2))
    q = stats.t.ppf(0.5 + level / 2, np.asarray(df, dtype=float))  # df = inf is the normal quantile
    return q if np.ndim(q) else float(q)


def student_interval(estimate: np.ndarray, variance: np.ndarray, df: np.ndarray | float | None,
                     level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided interval estimate -/+ t_{(1+level)/2, df} sqrt(variance); normal where ``df`` is None or inf."""
    half = t_quantile(level, df) * np.sqrt(np.maximum(np.asarray(variance, dtype=float), 0.0))
    est = np.asarray(estimate, dtype=float)
    return est - half, est + half


def contrast_variances(covariance: np.ndarray) -> np.ndarray:
    """Var(theta_i - theta_j) = C_ii + C_jj - 2 C_ij for every pair, as a (K, K) matrix."""
    c = np.asarray(covariance, dtype=float)
    d = np.diag(c)
    return d[:, None] + d[None, :] - 2 * c


def interval(estimate: Estimate, level: float) -> tuple[np.ndarray, np.ndarray]:
    """curve -/+ t_{(1+level)/2, m-1} std_error; NaN where there is no standard error (or m = 1)."""
    t_quantile(level)  # a bad level is refused even without a standard error
    curve = np.asarray(estimate.curve, dtype=float)
    if estimate.std_error is None:
        nan = np.full_like(curve, np.nan)
        return nan, nan.copy()
    m = np.arange(1, curve.shape[-1] + 1)
    se = np.where(m > 1, estimate.std_error, np.nan)
    return student_interval(curve, se ** 2, np.maximum(m - 1, 1), level)
