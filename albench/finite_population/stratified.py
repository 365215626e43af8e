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

Degrees of freedom: the covariance is kept as a sum of independent pieces,
one per stratum with n_h >= 2 sampled units (n_h - 1 degrees of freedom)
and one for the group of collapsed singleton strata (G - 1), each scaled by
its round's squared weight. Any quantity's variance, or that of a linear
combination of quantities (``TotalEstimate.delta``), is a sum of those
pieces, and its effective degrees of freedom are Satterthwaite's,
(sum_c v_c)^2 / sum_c v_c^2 / df_c (Cochran, Sampling Techniques, 1977,
section 5.4), for Student-t intervals. They lie between the smallest
piece's df and their sum (the survey rule n - H): few units per stratum, or
one stratum dominating the variance, give few.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TotalEstimate", "combine_rounds", "round_weights", "satterthwaite_df",
           "stratified_difference_total"]


@dataclass(frozen=True)
class TotalEstimate:
    """An estimated population total of K quantities and the estimated covariance of the estimate.

    ``parts`` (C, K, K), if given, are independent pieces summing to
    ``covariance``, with ``parts_df`` (C,) degrees of freedom each (see the
    module docstring); without them the degrees of freedom are infinite
    (normal intervals).
    """

    total: np.ndarray  # (K,)
    covariance: np.ndarray  # (K, K)
    parts: np.ndarray | None = None  # (C, K, K)
    parts_df: np.ndarray | None = None  # (C,)

    @property
    def df(self) -> np.ndarray:
        """(K,) Satterthwaite's effective degrees of freedom of each quantity's variance."""
        if self.parts is None:
            return np.full(len(self.total), np.inf)
        return satterthwaite_df(np.diagonal(self.parts, axis1=1, axis2=2), self.parts_df)

    def mean(self, n_units: int) -> "TotalEstimate":
        """The same estimate as a population mean over ``n_units`` units."""
        return self.delta(self.total / n_units, np.eye(len(self.total)) / n_units)

    def delta(self, value: np.ndarray, jacobian: np.ndarray) -> "TotalEstimate":
        """The estimate ``value`` = g(total) with Jacobian J (M, K): covariance J C J^T, each piece mapped alike.

        Exact for a linear g (J @ total); the delta method otherwise.
        """
        jac = np.asarray(jacobian, dtype=float)
        parts = None if self.parts is None else np.einsum("mk,ckl,nl->cmn", jac, self.parts, jac)
        return TotalEstimate(np.asarray(value, dtype=float), jac @ self.covariance @ jac.T, parts, self.parts_df)


def satterthwaite_df(variances: np.ndarray, df: np.ndarray) -> np.ndarray:
    """(sum_c v_c)^2 / sum_c v_c^2 / df_c over the first axis of ``variances`` (C, ...), pieces of df ``df`` (C,).

    Infinite where the variance is 0 (the quantity is known exactly), NaN
    where a piece is NaN (the variance could not be estimated).
    """
    v = np.asarray(variances, dtype=float)
    d = np.asarray(df, dtype=float).reshape((-1,) + (1,) * (v.ndim - 1))
    if not len(v):
        return np.full(v.shape[1:], np.inf)
    total = v.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        effective = total ** 2 / (v ** 2 / d).sum(axis=0)
    return np.where(np.isnan(total), np.nan, np.where(total > 0, effective, np.inf))


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
    covariance of the other strata (its share joins their pieces). The
    covariance comes in pieces with degrees of freedom (module docstring).
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

    replicated = np.flatnonzero(counts >= 2)
    s_h = []  # each replicated stratum's sample covariance, with n_h - 1 degrees of freedom
    for h in replicated:
        d = e[strata == h] - means[h]
        s_h.append(d.T @ d / (counts[h] - 1))
    coef = sizes[replicated] ** 2 * (1 - counts[replicated] / sizes[replicated]) / counts[replicated]
    parts_df = counts[replicated] - 1
    singles = np.flatnonzero((counts == 1) & (sizes > 1))
    group = []
    if len(singles) >= 2:
        t = strata_totals[singles]
        share = sizes[singles] / sizes[singles].sum()
        dev = t - share[:, None] * t.sum(axis=0)
        group.append(len(singles) / (len(singles) - 1) * dev.T @ dev)
    elif len(singles) == 1:  # N_h^2 (1 - 1/N_h) times the pooled covariance sum_h (n_h - 1) S_h / sum_h (n_h - 1)
        h = singles[0]
        if parts_df.sum() > 0:
            coef = coef + sizes[h] ** 2 * (1 - 1 / sizes[h]) * parts_df / parts_df.sum()
        else:
            group.append(np.full((k, k), np.nan))
    parts = [c * s for c, s in zip(coef, s_h)] + group
    parts_df = np.r_[parts_df, np.full(len(group), len(singles) - 1.0 if len(singles) >= 2 else np.nan)]
    parts = np.array(parts).reshape(-1, k, k)
    cov = parts.sum(axis=0) if len(parts) else np.zeros((k, k))
    return TotalEstimate(total, cov, parts, parts_df)


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
    """sum_r a_r Z_r and its covariance sum_r a_r^2 V_r (round errors are martingale differences).

    The pieces of every round's covariance are kept (scaled by a_r^2), so the
    combined degrees of freedom are Satterthwaite's over all of them.
    """
    a = np.asarray(weights, dtype=float)
    if len(rounds) != len(a) or not len(a):
        raise ValueError(f"combine_rounds: {len(rounds)} rounds but {len(a)} weights")
    used = [(w, r) for w, r in zip(a, rounds) if w > 0]  # a zero weight ignores even an undefined variance
    total = sum(w * r.total for w, r in used)
    cov = sum(w ** 2 * r.covariance for w, r in used)
    if any(r.parts is None for _, r in used):  # a round without degrees of freedom: normal
        return TotalEstimate(np.asarray(total, dtype=float), np.asarray(cov, dtype=float))
    parts = np.concatenate([w ** 2 * r.parts for w, r in used])
    parts_df = np.concatenate([r.parts_df for _, r in used])
    return TotalEstimate(np.asarray(total, dtype=float), np.asarray(cov, dtype=float), parts, parts_df)
