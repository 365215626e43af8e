"""Estimators of finite-population totals and means from samples drawn with known probabilities.

One library for every finite-population question albench asks: the test
points of a pool (active testing: ``strategies/at_estimators.py``) and the
blocks of a grid (active benchmarking: ``albench.active_bench``). Every
function is a plain function of arrays; values may be vectors (a trailing
axis of K quantities estimated from the same draws, e.g. one metric per
method), so covariances between the quantities come out of the same formulas.

Two designs are covered.

Sequential draws without replacement (active testing): at step m one unit is
drawn from q_m, a distribution over the units not yet drawn that may depend on
everything seen before. Des Raj's terms

    z_m = sum_{t<m} y_{i_t} + (y_{i_m} - f_m(i_m)) / q_m(i_m) + sum_{j not drawn before m} f_m(j)

are each unbiased for the population total T given the history, for any
prediction f_m fixed before step m (f = 0 gives PURE's terms times N). Their
mean is unbiased, and, since the errors z_m - T are martingale differences,
``martingale_variance`` estimates its variance without bias. LURE re-weights
the observed values instead (``lure_weights``).

Rounds of stratified simple random sampling (active benchmarking): round r
draws n_h of the N_h units left in each stratum h, so a unit's inclusion
probability in that round is n_h / N_h. The difference estimator
(``stratified_difference_total``) adds the known total of the units sampled
before, the predictions over the units left and the expanded mean residual of
each stratum; it is unbiased given the earlier rounds, with the textbook
unbiased variance estimator. Rounds combine with fixed weights
(``combine_rounds``): the round errors are again martingale differences, so
the combined variance is the weighted sum of the round variances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class TotalEstimate:
    """An estimated population total of K quantities and the estimated covariance of the estimate."""

    total: np.ndarray  # (K,)
    covariance: np.ndarray  # (K, K)

    def mean(self, n_units: int) -> "TotalEstimate":
        """The same estimate as a population mean over ``n_units`` units."""
        return TotalEstimate(self.total / n_units, self.covariance / n_units ** 2)


# ---------------------------------------------------------------- sequential draws


def lure_weights(q: np.ndarray, n_pool: int) -> np.ndarray:
    """LURE's weights v_m = 1 + (N - M)/(N - m) * (1/((N - m + 1) q_m(i_m)) - 1), M = q.shape[-1].

    Farquhar et al., "On Statistical Bias In Active Learning" (ICLR 2021):
    (1/M) sum_m v_m y_{i_m} is unbiased for the population mean for any q > 0.
    Under uniform q every v_m = 1. Every weight is 1 when M = N (the 0/0 at
    m = N is the limit 0 of (N - M)/(N - m) as M -> N).
    """
    q = np.asarray(q, dtype=float)
    big_m = q.shape[-1]
    if big_m > n_pool:
        raise ValueError(f"lure_weights: {big_m} draws from a pool of {n_pool} without replacement")
    if big_m == n_pool:
        return np.ones_like(q)
    m = np.arange(1, big_m + 1)
    return 1.0 + (n_pool - big_m) / (n_pool - m) * (1.0 / ((n_pool - m + 1) * q) - 1.0)


def des_raj_terms(values: np.ndarray, q: np.ndarray, predicted: np.ndarray | None = None,
                  predicted_rest: np.ndarray | None = None) -> np.ndarray:
    """z_m, each unbiased for the population total given the draws before step m.

    Arrays follow the active-testing convention: the step axis is last, any
    leading axes are batches (runs, or the K quantities of one run).
    ``values`` (..., M) are y_{i_m} in draw order and ``q`` (..., M) the
    probability q_m(i_m) of each draw. With a surrogate, ``predicted`` is
    f_m(i_m) and ``predicted_rest`` is sum_{j not drawn before m} f_m(j) (the
    chosen unit included), both from the prediction in force at step m.
    Without them f = 0, and z_m / N are PURE's per-step estimates.
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
    return observed_before + (y - np.asarray(predicted, dtype=float)) / q + np.asarray(predicted_rest, dtype=float)


def martingale_variance(terms: np.ndarray) -> np.ndarray:
    """Unbiased estimate of Var(mean_m z_m) for each series (..., M): sum_m (z_m - zbar)^2 / (M (M - 1)).

    Holds whenever each z_m is unbiased for the same target given z_1..z_{m-1}
    (Des Raj's terms): the errors are uncorrelated martingale differences.
    NaN for M < 2.
    """
    z = np.asarray(terms, dtype=float)
    big_m = z.shape[-1]
    if big_m < 2:
        return np.full(z.shape[:-1], np.nan)
    d = z - z.mean(axis=-1, keepdims=True)
    return (d ** 2).sum(axis=-1) / (big_m * (big_m - 1))


def martingale_covariance(terms: np.ndarray) -> np.ndarray:
    """The same for K series of one draw sequence (K, M): the (K, K) covariance of their means."""
    z = np.asarray(terms, dtype=float)
    big_m = z.shape[-1]
    if big_m < 2:
        return np.full((z.shape[0], z.shape[0]), np.nan)
    d = z - z.mean(axis=-1, keepdims=True)
    return d @ d.T / (big_m * (big_m - 1))


# ---------------------------------------------------------------- stratified rounds


def stratified_difference_total(residuals: np.ndarray, strata: np.ndarray, stratum_sizes: np.ndarray,
                                known_total: np.ndarray | float = 0.0,
                                predicted_rest_total: np.ndarray | float = 0.0) -> TotalEstimate:
    """Total over a population from one round of stratified simple random sampling without replacement.

    ``residuals`` (n, K): y - f of the n units sampled this round (f = 0:
    plain stratified expansion); ``strata`` (n,): their stratum codes
    0..H-1; ``stratum_sizes`` (H,): N_h, the units left in each stratum
    before the round (every stratum has at least one sampled unit, so every
    unit's inclusion probability n_h / N_h is positive); ``known_total`` (K,):
    the total of units sampled in earlier rounds; ``predicted_rest_total``
    (K,): sum of f over the units left before this round.

    Estimate: known + predicted_rest + sum_h N_h mean_h(residual). Variance:
    sum_h N_h^2 (1 - n_h/N_h) S_h / n_h with S_h the sample covariance of the
    residuals in stratum h (unbiased for n_h >= 2; 0 for a census stratum).
    Strata with a single sampled unit (and N_h > 1) are collapsed into one
    group (Hansen, Hurwitz and Madow): v = G/(G-1) sum_h (t_h - N_h t_G/N_G)^2,
    which over-estimates by the spread of the strata's own totals, so
    intervals stay conservative. A lone singleton borrows the pooled relative
    covariance of the other strata.
    """
    e = np.asarray(residuals, dtype=float)
    if e.ndim == 1:
        e = e[:, None]
    strata = np.asarray(strata, dtype=int)
    sizes = np.asarray(stratum_sizes, dtype=float)
    n_strata, k = len(sizes), e.shape[1]
    counts = np.bincount(strata, minlength=n_strata).astype(float)
    if len(strata) != len(e):
        raise ValueError(f"stratified_difference_total: {len(e)} residuals but {len(strata)} strata codes")
    if np.any(counts == 0):
        empty = np.flatnonzero(counts == 0).tolist()
        raise ValueError(f"stratified_difference_total: strata {empty} have no sampled unit, so their "
                         "units had inclusion probability 0")
    if np.any(counts > sizes):
        raise ValueError("stratified_difference_total: a stratum has more sampled units than units")
    sums = np.zeros((n_strata, k))
    np.add.at(sums, strata, e)
    means = sums / counts[:, None]
    strata_totals = sizes[:, None] * means  # t_h
    total = np.broadcast_to(np.asarray(known_total, dtype=float), (k,)) \
        + np.broadcast_to(np.asarray(predicted_rest_total, dtype=float), (k,)) + strata_totals.sum(axis=0)

    cov = np.zeros((k, k))
    pooled, pooled_df = np.zeros((k, k)), 0.0
    for h in np.flatnonzero(counts >= 2):
        d = e[strata == h] - means[h]
        s_h = d.T @ d / (counts[h] - 1)
        cov += sizes[h] ** 2 * (1 - counts[h] / sizes[h]) * s_h / counts[h]
        pooled += d.T @ d
        pooled_df += counts[h] - 1
    singles = np.flatnonzero((counts == 1) & (sizes > 1))
    if len(singles) >= 2:
        t = strata_totals[singles]
        share = sizes[singles] / sizes[singles].sum()
        dev = t - share[:, None] * t.sum(axis=0)
        cov += len(singles) / (len(singles) - 1) * dev.T @ dev
    elif len(singles) == 1:
        h = singles[0]
        s = pooled / pooled_df if pooled_df > 0 else np.full((k, k), np.nan)
        cov += sizes[h] ** 2 * (1 - 1 / sizes[h]) * s
    return TotalEstimate(total, cov)


def round_weights(sampled: np.ndarray, remaining: np.ndarray) -> np.ndarray:
    """Fixed weights of R rounds that sampled n_r of the N_r units left: proportional to n_r / (N_r (N_r - n_r)).

    The variance of a round's estimate of what is left scales as
    N_r^2 (1 - n_r/N_r) / n_r times the residual variance, so these are the
    inverse-variance weights under a constant residual variance. They depend
    only on the round sizes, never on the values, so the combination stays
    unbiased. A census round (n_r = N_r) knows the total exactly and takes
    all the weight.
    """
    n = np.asarray(sampled, dtype=float)
    big_n = np.asarray(remaining, dtype=float)
    if np.any(n < 1) or np.any(n > big_n):
        raise ValueError(f"round_weights: each round needs 1 <= n_r <= N_r, got n={n.tolist()}, N={big_n.tolist()}")
    census = n == big_n
    if census.any():
        w = census.astype(float)
    else:
        w = n / (big_n * (big_n - n))
    return w / w.sum()


def combine_rounds(rounds: list[TotalEstimate], weights: np.ndarray) -> TotalEstimate:
    """sum_r a_r Z_r and its covariance sum_r a_r^2 V_r (round errors are martingale differences)."""
    a = np.asarray(weights, dtype=float)
    if len(rounds) != len(a) or not len(a):
        raise ValueError(f"combine_rounds: {len(rounds)} rounds but {len(a)} weights")
    used = [(w, r) for w, r in zip(a, rounds) if w > 0]  # a zero weight ignores even an undefined variance
    total = sum(w * r.total for w, r in used)
    cov = sum(w ** 2 * r.covariance for w, r in used)
    return TotalEstimate(np.asarray(total, dtype=float), np.asarray(cov, dtype=float))


# ---------------------------------------------------------------- intervals


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
