"""Sequential draws without replacement: Des Raj's and LURE's estimators after every prefix, and their variances.

The mathematics of active testing (the test points of a pool), as plain
functions of arrays usable by any finite-population question. Each estimator
is written once, for every prefix m = 1..M in O(M) over any leading batch
axes (many runs at once); the final-value forms (``lure_weights``,
``des_raj_terms``, ``martingale_variance``) are the same computations at
m = M, and the tests check that they agree.

Notation: a population of N values L_1..L_N with mean R = (1/N) sum_i L_i; M
units i_1..i_M drawn without replacement, the m-th from q_m, a distribution
over the N - m + 1 units not drawn yet that may depend on everything seen
before. Arguments, last axis = the step (leading axes are a batch):

- ``values``: (..., M) L_{i_m}, the observed values in draw order;
- ``q``: (..., M) q_m(i_m), the probability with which the m-th unit was drawn;
- ``n_pool``: N;
- ``predicted_drawn``: (..., M) a prediction g(i_m) of each drawn value;
- ``predicted_total``: (...,) sum_i g(i) over the whole population, before any draw;
- ``predicted_rest``: (..., M) sum of the current prediction over the units
  not drawn after step m (the prediction may be refitted on the draws so far).

Each estimator returns an ``Estimate``: ``curve[..., m-1]`` is the estimate
from the first m draws alone, ``std_error`` its estimated standard error (NaN
at m = 1 and where there is none), ``weights`` the weight of each draw in the
final estimate (1/M) sum_m w_m L_{i_m} (None if not of that form).

Why the corrections matter: given the history, E[L_{i_m} / q_m(i_m)] is the
sum over the units not drawn yet, not over the whole population. Plain
importance sampling therefore misses the values already drawn; PURE adds them
back (Des Raj's ordered estimator, 1956: the terms

    z_m = sum_{t<m} L_{i_t} + (L_{i_m} - f_m(i_m)) / q_m(i_m) + sum_{j not drawn before m} f_m(j)

are each unbiased for the total given the history, for any prediction f_m
fixed before step m, f = 0 for PURE; the errors z_m - T are martingale
differences, so ``martingale_variance`` is unbiased), LURE re-weights so that
each step counts equally (Farquhar et al., ICLR 2021), and the difference
estimators apply either to the residuals L - g of a prediction g (a control
variate: Särndal et al., "Model Assisted Survey Sampling", 1992;
prediction-powered and active inference: Angelopoulos et al., Science 2023;
Zrnic and Candès, 2024).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Estimate", "des_raj_terms", "difference_lure", "difference_pure", "effective_sample_size",
           "importance_ratios", "importance_sampling", "lure", "lure_weights", "martingale_covariance",
           "martingale_variance", "pure", "sample_mean", "surrogate_estimate"]


@dataclass(frozen=True)
class Estimate:
    curve: np.ndarray  # (..., M) the estimate after m draws
    weights: np.ndarray | None = None  # (..., M) w_m in the final estimate (1/M) sum w_m L_{i_m}
    std_error: np.ndarray | None = None  # (..., M) its estimated standard error; NaN where undefined


def _steps(values: np.ndarray) -> np.ndarray:
    return np.arange(1, values.shape[-1] + 1)


def _prefix_mean(terms: np.ndarray) -> np.ndarray:
    return np.cumsum(terms, axis=-1) / _steps(terms)


def _prefix_sample_variance(terms: np.ndarray) -> np.ndarray:
    """Variance (ddof 1) of terms[..., :m] for every m; NaN at m = 1."""
    m = _steps(terms)
    mean = _prefix_mean(terms)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (np.cumsum(terms ** 2, axis=-1) - m * mean ** 2) / (m - 1)
    return np.where(m > 1, np.maximum(var, 0.0), np.nan)


def _prefix_martingale_variance(terms: np.ndarray) -> np.ndarray:
    """sum_t (z_t - mean)^2 / (m (m - 1)) for every prefix m: Des Raj's unbiased variance estimator of a mean
    of per-step terms that are each unbiased given the history (uncorrelated, equal means). NaN at m = 1."""
    return _prefix_sample_variance(terms) / _steps(terms)


def _fpc_error(per_unit: np.ndarray, n_pool: int) -> np.ndarray:
    """sqrt((1 - m/N) s^2 / m), s^2 the sample variance of the m terms (0 when m = N)."""
    m = _steps(per_unit)
    return np.sqrt(_prefix_sample_variance(per_unit) * np.clip(1.0 - m / n_pool, 0.0, None) / m)


# ---------------------------------------------------------------- the draws' weights


def importance_ratios(q: np.ndarray, n_pool: int) -> np.ndarray:
    """r_m = 1 / ((N - m + 1) q_m(i_m)): how many uniform draws the m-th draw stands for."""
    q = np.asarray(q, dtype=float)
    return 1.0 / ((n_pool - _steps(q) + 1) * q)


def lure_weights(q: np.ndarray, n_pool: int) -> np.ndarray:
    """LURE's weights v_m = 1 + (N - M)/(N - m) * (r_m - 1) for a sample of M = q.shape[-1] draws.

    r_m is ``importance_ratios``. Farquhar et al., "On Statistical Bias In
    Active Learning" (ICLR 2021): (1/M) sum_m v_m y_{i_m} is unbiased for the
    population mean for any q > 0. Under uniform q every v_m = 1. Every weight
    is 1 when M = N (the 0/0 at m = N is the limit 0 of (N - M)/(N - m) as M -> N).
    """
    q = np.asarray(q, dtype=float)
    big_m = q.shape[-1]
    if big_m > n_pool:
        raise ValueError(f"lure_weights: {big_m} draws from a pool of {n_pool} without replacement")
    if big_m == n_pool:
        return np.ones_like(q)
    m = _steps(q)
    return 1.0 + (n_pool - big_m) / (n_pool - m) * (importance_ratios(q, n_pool) - 1.0)


def effective_sample_size(weights: np.ndarray) -> np.ndarray:
    """Kish's (sum w)^2 / sum w^2 over the last axis: M for equal weights, 1 if one weight dominates."""
    w = np.asarray(weights, dtype=float)
    return w.sum(axis=-1) ** 2 / (w ** 2).sum(axis=-1)


# ---------------------------------------------------------------- Des Raj's terms and their variance


def des_raj_terms(values: np.ndarray, q: np.ndarray, predicted: np.ndarray | None = None,
                  predicted_rest: np.ndarray | None = None) -> np.ndarray:
    """z_m, each unbiased for the population total given the draws before step m (see the module docstring).

    With a prediction, ``predicted`` is f_m(i_m) and ``predicted_rest`` is
    sum_{j not drawn before m} f_m(j) (the chosen unit included), both from the
    prediction in force at step m. Without them f = 0, and z_m / N are PURE's
    per-step estimates.
    """
    y = np.asarray(values, dtype=float)
    q = np.asarray(q, dtype=float)
    if np.any(q <= 0):
        raise ValueError("des_raj_terms: every q must be positive (a drawn unit had probability 0)")
    observed_before = np.cumsum(y, axis=-1) - y
    if predicted is None:
        return observed_before + y / q
    if predicted_rest is None:
        raise ValueError("des_raj_terms: give predicted_rest (sum of f_m over the units left) with predicted")
    return observed_before + np.asarray(predicted_rest, dtype=float) + (y - np.asarray(predicted, dtype=float)) / q


def martingale_variance(terms: np.ndarray) -> np.ndarray:
    """Unbiased estimate of Var(mean_m z_m) for each series (..., M): sum_m (z_m - zbar)^2 / (M (M - 1)).

    Holds whenever each z_m is unbiased for the same target given z_1..z_{m-1}
    (Des Raj's terms): the errors are uncorrelated martingale differences.
    The last prefix of the per-step standard errors of ``pure`` and
    ``difference_pure``. NaN for M < 2.
    """
    z = np.asarray(terms, dtype=float)
    if z.shape[-1] < 2:
        return np.full(z.shape[:-1], np.nan)
    return _prefix_martingale_variance(z)[..., -1]


def martingale_covariance(terms: np.ndarray) -> np.ndarray:
    """The same for K series of one draw sequence (K, M): the (K, K) covariance of their means."""
    z = np.asarray(terms, dtype=float)
    big_m = z.shape[-1]
    if big_m < 2:
        return np.full((z.shape[0], z.shape[0]), np.nan)
    d = z - z.mean(axis=-1, keepdims=True)
    return d @ d.T / (big_m * (big_m - 1))


# ---------------------------------------------------------------- estimators after every prefix


def sample_mean(values: np.ndarray, n_pool: int) -> Estimate:
    """(1/m) sum_{t<=m} L_{i_t}, weights 1; unbiased only when every q_m is uniform.

    Standard error: the simple-random-sampling one with the finite-population
    correction, sqrt((1 - m/N) s^2 / m) (Cochran 1977, thm. 2.2 and eq. 2.17).
    """
    values = np.asarray(values, dtype=float)
    return Estimate(_prefix_mean(values), np.ones_like(values), _fpc_error(values, n_pool))


def importance_sampling(values: np.ndarray, q: np.ndarray, n_pool: int) -> Estimate:
    """(1/m) sum_t L_{i_t} / (N q_t(i_t)); weights 1/(N q_m(i_m)).

    Unbiased for draws with replacement from a fixed q (and for m = 1);
    without replacement E = R - (1/(N m)) E[sum_t (m - t) L_{i_t}] < R.
    Standard error: sample standard deviation of the terms over sqrt(m).
    """
    values, q = np.asarray(values, dtype=float), np.asarray(q, dtype=float)
    w = 1.0 / (n_pool * q)
    terms = w * values
    return Estimate(_prefix_mean(terms), w, np.sqrt(_prefix_sample_variance(terms) / _steps(terms)))


def pure(values: np.ndarray, q: np.ndarray, n_pool: int) -> Estimate:
    """(1/m) sum_t R_t with R_t = z_t / N, Des Raj's terms without a prediction (Des Raj 1956).

    Each R_t is unbiased given the history, so their mean is unbiased and
    Des Raj's variance estimator sum_t (R_t - mean)^2 / (m (m - 1)) is
    unbiased for its variance. Weights of the final estimate:
    w_m = 1/(N q_m(i_m)) + (M - m)/N. Exact at every step when q_m is
    proportional to the values not drawn yet; not exact at M = N otherwise
    (it averages R_1..R_N, and R_1 is one importance-sampled draw).
    """
    values, q = np.asarray(values, dtype=float), np.asarray(q, dtype=float)
    m, big_m = _steps(values), values.shape[-1]
    per_step = des_raj_terms(values, q) / n_pool
    return Estimate(_prefix_mean(per_step), 1.0 / (n_pool * q) + (big_m - m) / n_pool,
                    np.sqrt(_prefix_martingale_variance(per_step)))


def lure(values: np.ndarray, q: np.ndarray, n_pool: int) -> Estimate:
    """(1/m) sum_{t<=m} v_t L_{i_t} with ``lure_weights`` for a sample of size m (Farquhar et al., ICLR 2021).

    Unbiased for any q > 0 and any fixed values (negative ones included, so it
    also estimates the mean of residuals or of loss differences). Equals the
    sample mean under uniform q and R itself at m = N.

    O(M) for every prefix: the weight of draw t in a sample of size m is
    1 + (N - m) (r_t - 1)/(N - t), so with a_t = L_{i_t} (r_t - 1) / (N - t)
    (0 at t = N) the m-th term is L_{i_t} + (N - m) a_t, and prefix sums of
    L, a, L^2, L a and a^2 give the curve and the terms' sample variance.
    Standard error: sqrt((1 - m/N) s^2 / m) over the m weighted terms (the
    simple-random-sampling form, exact under uniform q; an approximation
    otherwise, whose coverage the benchmark measures).
    """
    values, q = np.asarray(values, dtype=float), np.asarray(q, dtype=float)
    m = _steps(values)
    rest = n_pool - m  # N - t for the term of step t
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(rest > 0, values * (importance_ratios(q, n_pool) - 1.0) / np.maximum(rest, 1), 0.0)
    k = n_pool - m  # N - m for the prefix of size m
    s_l, s_a = np.cumsum(values, axis=-1), np.cumsum(a, axis=-1)
    curve = (s_l + k * s_a) / m
    sum_sq = (np.cumsum(values ** 2, axis=-1) + 2 * k * np.cumsum(values * a, axis=-1)
              + k ** 2 * np.cumsum(a ** 2, axis=-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(m > 1, np.maximum((sum_sq - m * curve ** 2) / (m - 1), 0.0), np.nan)
    error = np.sqrt(var * np.clip(1.0 - m / n_pool, 0.0, None) / m)
    return Estimate(curve, lure_weights(q, n_pool), error)


def surrogate_estimate(values: np.ndarray, predicted_rest: np.ndarray, n_pool: int) -> Estimate:
    """(1/N) (sum_{t<=m} L_{i_t} + predicted_rest[m]): the ASE form (Kossen et al., NeurIPS 2022).

    The drawn values plus the prediction of the rest; biased by the
    prediction's error on the rest; no weights and no standard error.
    """
    values = np.asarray(values, dtype=float)
    return Estimate((np.cumsum(values, axis=-1) + np.asarray(predicted_rest, dtype=float)) / n_pool)


def difference_lure(values: np.ndarray, q: np.ndarray, n_pool: int, predicted_drawn: np.ndarray,
                    predicted_total) -> Estimate:
    """(1/N) sum_i g(i) + LURE mean of the residuals L_{i_t} - g(i_t): the difference estimator.

    Unbiased for any prediction g fixed before the first draw (LURE is unbiased
    for any fixed values, the residuals included); exact when g = L. Its
    standard error is LURE's on the residuals, so a good g narrows the interval.
    ``predicted_drawn`` must be that same fixed g at the drawn units.
    """
    residual = np.asarray(values, dtype=float) - np.asarray(predicted_drawn, dtype=float)
    on_residuals = lure(residual, q, n_pool)
    offset = np.asarray(predicted_total, dtype=float)[..., None] / n_pool
    return Estimate(offset + on_residuals.curve, None, on_residuals.std_error)


def difference_pure(values: np.ndarray, q: np.ndarray, n_pool: int, predicted_drawn: np.ndarray,
                    predicted_total, predicted_rest: np.ndarray) -> Estimate:
    """Mean of D_t = z_t / N, Des Raj's terms with the prediction g_t in use at step t.

    g_t may have been refitted on the first t - 1 draws; the sum of g_t over
    the units not drawn before step t is ``predicted_total`` for t = 1 and
    ``predicted_rest[t-2]`` after; ``predicted_drawn[t-1]`` = g_t(i_t). Each
    D_t is unbiased given the history whatever g_t is, so the mean is
    unbiased, exact at every step when g_t = L, and Des Raj's variance
    estimator applies.
    """
    total = np.asarray(predicted_total, dtype=float)[..., None]
    rest = np.asarray(predicted_rest, dtype=float)
    before = np.concatenate([total, rest[..., :-1]], axis=-1)
    per_step = des_raj_terms(values, q, predicted_drawn, before) / n_pool
    return Estimate(_prefix_mean(per_step), None, np.sqrt(_prefix_martingale_variance(per_step)))
