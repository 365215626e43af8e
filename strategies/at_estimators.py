"""Risk estimators for active testing: the registered names over ``albench.finite_population``.

Each wrapper reads what it needs from a ``Trace`` (losses in draw order, their
q, the pool size N, the surrogate's expected losses) and calls one plain array
function, which holds the mathematics, the references and the standard error.
The estimate after every prefix m = 1..M is ``Estimate.curve`` (see
``albench.active_testing.estimators`` for the contract).
"""

from __future__ import annotations

from albench import finite_population as fp
from albench.active_testing.estimators import Estimate, Trace, register
from albench.finite_population import lure_weights  # noqa: F401  (re-exported for callers)


def _need(trace: Trace, name: str, *fields: str) -> None:
    missing = [f for f in fields if getattr(trace, f) is None]
    if missing:
        raise ValueError(f"{name} needs the surrogate's expected losses: {', '.join(missing)}")


@register("iid", "mean of the labelled losses (unbiased only under uniform q)")
def iid(trace: Trace) -> Estimate:
    """The usual test-set mean; an active proposal picks high-loss points, so it then over-estimates R."""
    return fp.sample_mean(trace.losses, trace.n_pool)


@register("is", "importance sampling (1/(NM)) sum L/q; biased without replacement")
def importance_sampling(trace: Trace) -> Estimate:
    """Textbook importance sampling with the 1/N factor (the reference code leaves it out).

    Kept as the reference that PURE corrects: without replacement it misses
    the losses already labelled (under uniform q the bias is -R (M - 1) / (2N)).
    """
    return fp.importance_sampling(trace.losses, trace.q, trace.n_pool)


@register("pure", "Plain Unbiased Risk Estimator (Farquhar et al. 2021)")
def pure(trace: Trace) -> Estimate:
    """Des Raj's ordered estimator (Farquhar et al., ICLR 2021); interval from Des Raj's variance estimator."""
    return fp.pure(trace.losses, trace.q, trace.n_pool)


@register("lure", "Levelled Unbiased Risk Estimator (Farquhar et al. 2021)")
def lure(trace: Trace) -> Estimate:
    """Farquhar et al. (ICLR 2021), used by Kossen et al., "Active Testing" (ICML 2021); unbiased for any q > 0."""
    return fp.lure(trace.losses, trace.q, trace.n_pool)


@register("ase", "Active Surrogate Estimator (Kossen et al. 2022)")
def ase(trace: Trace) -> Estimate:
    """Observed losses plus the (refitted) surrogate's expected loss of the unlabelled rest (NeurIPS 2022).

    Not unbiased: its error is the surrogate's error on the unlabelled points;
    no weights and no interval.
    """
    _need(trace, "ASE", "surrogate_rest")
    return fp.surrogate_estimate(trace.losses, trace.surrogate_rest, trace.n_pool)


@register("difference", "surrogate's pool risk + LURE mean of the residuals (unbiased control variate)")
def difference(trace: Trace) -> Estimate:
    """(1/N) sum_i g(i) + LURE mean of L - g, with g the surrogate's expected loss before the first draw.

    Unbiased for any surrogate (g is fixed before any draw, so refits during
    the run do not enter it); exact for a perfect one.
    """
    _need(trace, "the difference estimator", "surrogate_total", "surrogate_first_drawn")
    return fp.difference_lure(trace.losses, trace.q, trace.n_pool, trace.surrogate_first_drawn,
                              trace.surrogate_total)


@register("difference_pure", "PURE-form difference estimator with the current (refitted) surrogate")
def difference_pure(trace: Trace) -> Estimate:
    """Per-step terms (labelled losses + current surrogate on the rest + importance-weighted residual) / N.

    Unbiased whatever the surrogate and however it is refitted on the labels
    so far; uses every refit, unlike ``difference``.
    """
    _need(trace, "difference_pure", "surrogate_total", "surrogate_drawn", "surrogate_rest")
    return fp.difference_pure(trace.losses, trace.q, trace.n_pool, trace.surrogate_drawn, trace.surrogate_total,
                              trace.surrogate_rest)
