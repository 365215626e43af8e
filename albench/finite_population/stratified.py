"""Rounds of stratified simple random sampling without replacement (active benchmarking: blocks of a grid).

Round r draws n_h of the N_h units left in each stratum h, so a unit's
inclusion probability in that round is n_h / N_h. The difference estimator
(``stratified_difference_total``) adds the known total of the units sampled
before, the predictions over the units left and the expanded mean residual of
each stratum; it is unbiased given the earlier rounds, with the textbook
unbiased variance estimator. Rounds combine with fixed weights
(``combine_rounds``): the round errors are martingale differences (as Des
Raj's terms of ``sequential`` are), so the combined variance is the weighted
sum of the round variances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TotalEstimate", "combine_rounds", "round_weights", "stratified_difference_total"]


@dataclass(frozen=True)
class TotalEstimate:
    """An estimated population total of K quantities and the estimated covariance of the estimate."""

    total: np.ndarray  # (K,)
    covariance: np.ndarray  # (K, K)

    def mean(self, n_units: int) -> "TotalEstimate":
        """The same estimate as a population mean over ``n_units`` units."""
        return TotalEstimate(self.total / n_units, self.covariance / n_units ** 2)


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
