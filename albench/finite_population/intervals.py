"""Intervals from an estimate and its estimated variance: normal (totals of rounds), Student-t (every prefix).

The anytime-valid confidence sequence for bounded values is in ``confidence_sequence``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from albench.finite_population.sequential import Estimate

__all__ = ["contrast_variances", "interval", "normal_interval"]


def normal_interval(estimate: np.ndarray, variance: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided normal interval estimate -/+ z sqrt(variance) at confidence ``level``."""
    if not 0 < level < 1:
        raise ValueError(f"normal_interval: level {level} must be between 0 and 1")
    z = stats.norm.ppf(0.5 + level / 2)
    half = z * np.sqrt(np.maximum(np.asarray(variance, dtype=float), 0.0))
    est = np.asarray(estimate, dtype=float)
    return est - half, est + half


def contrast_variances(covariance: np.ndarray) -> np.ndarray:
    """Var(theta_i - theta_j) = C_ii + C_jj - 2 C_ij for every pair, as a (K, K) matrix."""
    c = np.asarray(covariance, dtype=float)
    d = np.diag(c)
    return d[:, None] + d[None, :] - 2 * c


def interval(estimate: Estimate, level: float) -> tuple[np.ndarray, np.ndarray]:
    """curve -/+ t_{(1+level)/2, m-1} std_error; NaN where there is no standard error (or m = 1)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level {level} is outside (0, 1)")
    curve = np.asarray(estimate.curve, dtype=float)
    if estimate.std_error is None:
        nan = np.full_like(curve, np.nan)
        return nan, nan.copy()
    m = np.arange(1, curve.shape[-1] + 1)
    with np.errstate(invalid="ignore"):
        half = stats.t.ppf(0.5 + level / 2, np.maximum(m - 1, 1)) * np.where(m > 1, estimate.std_error, np.nan)
    return curve - half, curve + half
