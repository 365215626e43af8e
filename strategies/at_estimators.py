"""Risk estimators for active testing, vectorised over steps (and over runs).

Notation: a pool of N points with losses L_1..L_N and risk R = (1/N) sum_i L_i;
M points i_1..i_M drawn without replacement, the m-th from q_m, a distribution
over the N - m + 1 points still unlabelled. Each function returns the estimate
after every prefix m = 1..M (``Estimate.curve``) and the weights of the final
estimate (see ``albench.active_testing.estimators`` for the contract).

Why the correction matters: given the history, the m-th draw satisfies
E[L_{i_m} / q_m(i_m)] = sum of L over the points still unlabelled, not over
the whole pool. Plain importance sampling (``is``) therefore misses the losses
already labelled; PURE adds them back (Des Raj's ordered estimator), and LURE
re-weights so that each step counts equally (Farquhar et al., ICLR 2021).
"""

from __future__ import annotations

import numpy as np

from albench.active_testing.estimators import Estimate, Trace, register


def _prefix_mean(terms: np.ndarray) -> np.ndarray:
    return np.cumsum(terms, axis=-1) / np.arange(1, terms.shape[-1] + 1)


@register("iid", "mean of the labelled losses (unbiased only under uniform q)")
def iid(trace: Trace) -> Estimate:
    """R_iid = (1/M) sum_m L_{i_m}; weights 1.

    The usual test-set mean. Unbiased when every q_m is uniform; an active
    proposal picks high-loss points, so it then over-estimates R.
    """
    losses = np.asarray(trace.losses, dtype=float)
    return Estimate(_prefix_mean(losses), np.ones_like(losses))


@register("is", "importance sampling (1/(NM)) sum L/q; biased without replacement")
def importance_sampling(trace: Trace) -> Estimate:
    """R_IS = (1/M) sum_m L_{i_m} / (N q_m(i_m)); weights w_m = 1/(N q_m(i_m)).

    Textbook importance sampling with the 1/N factor (the active-testing
    reference code leaves it out). Unbiased for i.i.d. draws from a fixed q
    over all N points (and for M = 1). Without replacement each term's
    conditional expectation is (1/N) sum_{j unlabelled at step m} L_j, so
    E[R_IS] = R - (1/(N M)) E[sum_m (M - m) L_{i_m}] < R: under uniform q the
    bias is -R (M - 1) / (2N). Kept as the reference that PURE corrects.
    """
    losses, q = np.asarray(trace.losses, dtype=float), np.asarray(trace.q, dtype=float)
    w = 1.0 / (trace.n_pool * q)
    return Estimate(_prefix_mean(w * losses), w)


@register("pure", "Plain Unbiased Risk Estimator (Farquhar et al. 2021)")
def pure(trace: Trace) -> Estimate:
    """R_PURE = (1/M) sum_m R_m, with R_m = (1/N) (sum_{t<m} L_{i_t} + L_{i_m} / q_m(i_m)).

    Farquhar et al., "On Statistical Bias In Active Learning" (ICLR 2021);
    Des Raj (1956) for sampling with varying probabilities without replacement.
    Each R_m is unbiased given the history (the labelled losses are known, the
    unlabelled sum is importance-sampled), so their mean is unbiased.
    Weights of the final estimate: w_m = 1/(N q_m(i_m)) + (M - m)/N.
    When q_m is proportional to the loss over the unlabelled points, every
    R_m = R exactly.
    """
    losses, q = np.asarray(trace.losses, dtype=float), np.asarray(trace.q, dtype=float)
    n, big_m, m = trace.n_pool, trace.budget, trace.m
    labelled_before = np.cumsum(losses, axis=-1) - losses
    per_step = (labelled_before + losses / q) / n
    return Estimate(_prefix_mean(per_step), 1.0 / (n * q) + (big_m - m) / n)


def lure_weights(q: np.ndarray, n_pool: int) -> np.ndarray:
    """v_m = 1 + (N - M)/(N - m) * (1/((N - m + 1) q_m(i_m)) - 1), with M = q.shape[-1].

    Every weight is 1 when M = N (the whole pool is labelled; the 0/0 at m = N
    is the limit 0 of (N - M)/(N - m) as M -> N).
    """
    q = np.asarray(q, dtype=float)
    big_m = q.shape[-1]
    if big_m >= n_pool:
        return np.ones_like(q)
    m = np.arange(1, big_m + 1)
    return 1.0 + (n_pool - big_m) / (n_pool - m) * (1.0 / ((n_pool - m + 1) * q) - 1.0)


@register("lure", "Levelled Unbiased Risk Estimator (Farquhar et al. 2021)")
def lure(trace: Trace) -> Estimate:
    """R_LURE = (1/M) sum_m v_m L_{i_m}, v_m = 1 + (N-M)/(N-m) (1/((N-m+1) q_m(i_m)) - 1).

    Farquhar et al., "On Statistical Bias In Active Learning" (ICLR 2021),
    used by Kossen et al., "Active Testing" (ICML 2021). Unbiased for
    any q > 0. Under uniform q (q_m = 1/(N-m+1)) every v_m = 1 and it equals
    the iid mean; when q_m is proportional to the loss over the unlabelled
    points it equals R exactly.

    Prefix curve in O(M): with a_t = L_{i_t} (1/((N-t+1) q_t) - 1) / (N - t),
    R_LURE after m labels = (1/m) (sum_{t<=m} L_{i_t} + (N - m) sum_{t<=m} a_t)
    (a_N is multiplied by N - N = 0 and set to 0).
    """
    losses, q = np.asarray(trace.losses, dtype=float), np.asarray(trace.q, dtype=float)
    n, m = trace.n_pool, trace.m
    rest = n - m  # N - t for the term of step t
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(rest > 0, losses * (1.0 / ((n - m + 1) * q) - 1.0) / np.maximum(rest, 1), 0.0)
    curve = (np.cumsum(losses, axis=-1) + (n - m) * np.cumsum(a, axis=-1)) / m
    return Estimate(curve, lure_weights(q, n))


@register("ase", "Active Surrogate Estimator (Kossen et al. 2022)")
def ase(trace: Trace) -> Estimate:
    """R_ASE = (1/N) (sum_{t<=m} L_{i_t} + sum_{j unlabelled} E_{y ~ pi(y|x_j)} L(f(x_j), y)).

    Kossen et al., "Active Surrogate Estimators" (NeurIPS 2022): the surrogate
    pi, refitted on the labels acquired so far, interpolates the losses of the
    points without labels instead of importance-weighting the labelled ones.
    The labelled points contribute their observed losses (the surrogate's
    expectation there would only approximate a known value), so with all N
    labelled it equals R. Not unbiased: its error is the surrogate's error on
    the unlabelled points. No per-label weights (``weights`` is None).
    """
    if trace.surrogate_rest is None:
        raise ValueError("ASE needs surrogate_rest, the surrogate's expected loss of the unlabelled points")
    losses = np.asarray(trace.losses, dtype=float)
    return Estimate((np.cumsum(losses, axis=-1) + np.asarray(trace.surrogate_rest, dtype=float)) / trace.n_pool)
