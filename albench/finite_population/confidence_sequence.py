"""An anytime-valid confidence sequence for the mean of a finite population of values in [0, 1].

Sequential draws without replacement from a proposal q_m that may depend on
the history (active testing). The confidence sequence (CS) [low_m, high_m]
holds the population mean R at every step m = 1..M *simultaneously* with
probability at least 1 - alpha, so it stays valid when the user looks after
every label and stops whenever they like (optional stopping); a fixed-m
interval does not.

Construction: testing by betting (Waudby-Smith and Ramdas, "Estimating means
of bounded random variables by betting", JRSS-B 2023, hedged capital with
predictable plug-in bets), on Des Raj's per-step estimates
R_m = (sum_{t<m} L_{i_t} + L_{i_m} / q_m(i_m)) / N instead of the raw draws:
E[R_m | first m - 1 draws] = R for any q_m > 0, so for the true r = R both

    K+_m(r) = prod_t (1 + lambda_t (R_t - r)),    K-_m(r) = prod_t (1 - mu_t (R_t - r))

are non-negative martingales for bets lambda_t, mu_t >= 0 fixed before draw t
(they may depend on r and on the draws so far), as long as every factor
stays >= 0 for every possible outcome of draw t. That needs a bound known
before the draw: R_t lies in [S_{t-1}/N, (S_{t-1} + (N - t + 1) rho)/N],
where S_{t-1} is the sum of the values drawn so far and rho_t bounds the
importance ratio 1 / ((N - t + 1) q_t(i)) of every point i not drawn yet:
the largest ratio of q_t itself (known before the draw; 1 under uniform q),
or the safeguard's bound ``albench.active_testing.proposals.max_importance_ratio``. By
Ville's inequality, P(exists m: (K+_m(R) + K-_m(R)) / 2 >= 1/alpha) <= alpha,
so {r: (K+_m(r) + K-_m(r)) / 2 < 1/alpha} is a (1 - alpha) CS. It is
intersected with the values still possible
[S_m / N, (S_m + N - m) / N] and over time (running max/min), both of which
keep it valid.

Assumes: every value in [0, 1] (a zero-one loss; divide a loss bounded by b
by b), q_m(i) > 0 for every unlabelled point with ratio at most rho (a
safeguard weight > 0). The bets follow WSR's predictable plug-in rule,
truncated at half the largest bet that keeps the factor non-negative. The CS
is computed on candidate values r: with 0/1 values (``lattice``) R is a
multiple of 1/N and, for N < ``grid_size``, exactly those multiples are
tested; otherwise an even grid of ``grid_size`` points, whose outermost
surviving points are widened by one grid step (the surviving set is an
interval around the estimate in practice, so R's neighbours survive with it).

``difference_confidence_sequence``: the same for the mean difference of two
values per unit, each in [0, 1] (the zero-one losses of two models on the
same draws). The differences d = a - b lie in [-1, 1], and Des Raj's term
(sum of the d drawn before + d / q) / N is unbiased for the mean difference
given the history, with a range known before the draw from rho
([S_{t-1} - (N - t + 1) rho, S_{t-1} + (N - t + 1) rho] / N); betting on it
needs nothing else. Terms, range and candidates are mapped to [0, 1] by
x -> (x + 1) / 2 for the bets (WSR's priors are those of [0, 1]). This is
not the same as Des Raj's terms of the shifted values (d + 1) / 2, which
divide 1/2 by q at every point where the two models agree; neither is
narrower everywhere: betting on d is narrower when rho is small (uniform or
mildly active draws) and wider when rho is large, since the term may then
move far in both directions.
"""

from __future__ import annotations

import numpy as np

__all__ = ["betting_confidence_sequence", "difference_confidence_sequence"]

_TRUNCATION = 0.5  # of the largest admissible bet (WSR use 1/2 or 3/4)
_CHUNK = 256  # candidate values tested at once


def betting_confidence_sequence(values: np.ndarray, q: np.ndarray, n_pool: int, max_ratio,
                                alpha: float = 0.05, lattice: bool = False,
                                grid_size: int = 2001) -> tuple[np.ndarray, np.ndarray]:
    """(low, high), each (M,): the (1 - alpha) confidence sequence of the population mean after every step.

    ``values`` (M,) in [0, 1] in draw order, ``q`` (M,) the probability of
    each draw, ``max_ratio`` rho_m >= the importance ratio 1/((N - m + 1) q_m(i))
    of every point that could have been drawn at step m (a number, or (M,)
    one per step, fixed before that step's draw; checked on the drawn ones);
    ``lattice``: every population value is 0 or 1 (a zero-one loss).
    A step where no candidate survives (probability <= alpha over the whole
    sequence) gives NaN from there on.
    """
    name = "betting_confidence_sequence"
    y, q = _checked(values, q, n_pool, alpha, name)
    if np.any((y < 0) | (y > 1)):
        raise ValueError(f"{name}: values must lie in [0, 1] (divide a bounded loss by its bound)")
    _check_ratios(q, n_pool, max_ratio, name)
    if lattice and np.any((y != 0) & (y != 1)):
        raise ValueError(f"{name}: lattice=True needs 0/1 values")
    return _sequence(y, q, n_pool, max_ratio, alpha, 0.0, lattice, grid_size)


def difference_confidence_sequence(values_a: np.ndarray, values_b: np.ndarray, q: np.ndarray, n_pool: int,
                                   max_ratio, alpha: float = 0.05, lattice: bool = False,
                                   grid_size: int = 2001) -> tuple[np.ndarray, np.ndarray]:
    """(low, high), each (M,): the (1 - alpha) confidence sequence of the population mean of a - b in [-1, 1].

    ``values_a``, ``values_b`` (M,) in [0, 1]: the two values of each drawn unit (two models' zero-one
    losses on the same draws ``q``); ``lattice``: both are 0/1, so the mean difference is a multiple of
    1/N. The other arguments as for ``betting_confidence_sequence``.
    """
    name = "difference_confidence_sequence"
    a, q = _checked(values_a, q, n_pool, alpha, name)
    b = np.asarray(values_b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"{name}: values_a {a.shape} and values_b {b.shape} differ")
    if np.any((a < 0) | (a > 1) | (b < 0) | (b > 1)):
        raise ValueError(f"{name}: both values must lie in [0, 1] (divide a bounded loss by its bound)")
    _check_ratios(q, n_pool, max_ratio, name)
    if lattice and np.any(((a != 0) & (a != 1)) | ((b != 0) & (b != 1))):
        raise ValueError(f"{name}: lattice=True needs 0/1 values")
    return _sequence(a - b, q, n_pool, max_ratio, alpha, -1.0, lattice, grid_size)


def _checked(values, q, n_pool, alpha, name) -> tuple[np.ndarray, np.ndarray]:
    y, q = np.asarray(values, dtype=float), np.asarray(q, dtype=float)
    if y.ndim != 1 or y.shape != q.shape:
        raise ValueError(f"{name}: values {y.shape} and q {q.shape} must be equal 1-d shapes")
    if len(y) > n_pool:
        raise ValueError(f"{name}: {len(y)} draws from a pool of {n_pool}")
    if not 0 < alpha < 1:
        raise ValueError(f"{name}: alpha {alpha} must be between 0 and 1")
    return y, q


def _check_ratios(q, n_pool, max_ratio, name) -> None:
    left = n_pool - np.arange(len(q))
    rho = np.broadcast_to(np.asarray(max_ratio, dtype=float), (len(q),))
    if np.any(q <= 0) or np.any(1.0 / (left * q) > rho * (1 + 1e-9)):
        shown = max_ratio if np.ndim(max_ratio) == 0 else "of its step"
        raise ValueError(f"{name}: a draw's importance ratio exceeds max_ratio {shown} "
                         "(or q <= 0): the bound does not hold")


def _sequence(y, q, n_pool, max_ratio, alpha, lower, lattice, grid_size) -> tuple[np.ndarray, np.ndarray]:
    """The sequence for values in [lower, 1] (lower = 0 or -1), computed in units of [0, 1].

    Des Raj's term R_t = (S_{t-1} + y / q_t) / N lies in [(S_{t-1} + lower (N - t + 1) rho_t) / N,
    (S_{t-1} + (N - t + 1) rho_t) / N]; every quantity is mapped by x -> (x - lower) / (1 - lower), which
    leaves each betting factor 1 + lambda (R_t - r) unchanged up to the scale of lambda, so WSR's priors
    (mean 1/2, variance 1/4) are those of a value in [0, 1]. With lower = 0 this is the identity.
    """
    big_m, scale = len(y), 1.0 - lower
    left = n_pool - np.arange(big_m)  # N - t + 1 units available at step t
    rho = np.broadcast_to(np.asarray(max_ratio, dtype=float), (big_m,))
    before = np.cumsum(y) - y  # S_{t-1}
    terms = ((before + y / q) / n_pool - lower) / scale  # Des Raj's R_t
    low_t = ((before + lower * left * rho) / n_pool - lower) / scale  # R_t's range, known before draw t
    high_t = ((before + left * rho) / n_pool - lower) / scale

    # WSR's predictable variance estimate and plug-in bet, from R_1..R_{t-1}
    t = np.arange(1, big_m + 1)
    mean_hat = (0.5 + np.cumsum(terms)) / (t + 1)
    var_hat = (0.25 + np.cumsum((terms - mean_hat) ** 2)) / (t + 1)
    var_before = np.concatenate([[0.25], var_hat[:-1]])
    plug_in = np.sqrt(2 * np.log(2 / alpha) / (var_before * t * np.log(t + 1)))

    # the values still possible: the drawn ones plus N - m values in [lower, 1]
    drawn_sum = np.cumsum(y)
    possible_low = ((drawn_sum + lower * (n_pool - t)) / n_pool - lower) / scale
    possible_high = ((drawn_sum + n_pool - t) / n_pool - lower) / scale
    # with 0/1 values (or differences of them) the mean is a multiple of 1/N: (N + 1) or (2N + 1) candidates
    n_lattice = int(round(n_pool * scale))
    exact = bool(lattice) and n_lattice < grid_size
    r = (np.arange(n_lattice + 1) / n_lattice if exact else np.linspace(0.0, 1.0, grid_size))[:, None]  # (G, 1)
    alive = np.concatenate([_survivors(r[i:i + _CHUNK], terms, low_t, high_t, plug_in, possible_low,
                                       possible_high, alpha)
                            for i in range(0, len(r), _CHUNK)])  # in chunks: memory O(chunk x M)

    step = 0.0 if exact else 1.0 / (grid_size - 1)
    any_alive = alive.any(axis=0)
    first = np.where(any_alive, alive.argmax(axis=0), 0)
    last = np.where(any_alive, len(r) - 1 - alive[::-1].argmax(axis=0), 0)
    low = np.where(any_alive, np.maximum(r[first, 0] - step, possible_low), np.nan)
    high = np.where(any_alive, np.minimum(r[last, 0] + step, possible_high), np.nan)
    return low * scale + lower, high * scale + lower


def _survivors(r, terms, low_t, high_t, plug_in, possible_low, possible_high, alpha) -> np.ndarray:
    """(G, M) bool: candidate r[g] not yet rejected after step m (rejected once: rejected for good)."""
    with np.errstate(divide="ignore"):
        lam = np.minimum(plug_in, _TRUNCATION / np.maximum(r - low_t, 0.0))  # factor >= 1 - truncation > 0
        mu = np.minimum(plug_in, _TRUNCATION / np.maximum(high_t - r, 0.0))
    log_up = np.cumsum(np.log1p(lam * (terms - r)), axis=1)
    log_down = np.cumsum(np.log1p(-mu * (terms - r)), axis=1)
    capital = np.logaddexp(log_up, log_down) - np.log(2)  # hedged: (K+ + K-) / 2
    possible = (r >= possible_low - 1e-12) & (r <= possible_high + 1e-12)
    return np.logical_and.accumulate((capital < np.log(1 / alpha)) & possible, axis=1)
