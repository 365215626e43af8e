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
"""

from __future__ import annotations

import numpy as np

__all__ = ["betting_confidence_sequence"]

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
    y, q = np.asarray(values, dtype=float), np.asarray(q, dtype=float)
    if y.ndim != 1 or y.shape != q.shape:
        raise ValueError(f"betting_confidence_sequence: values {y.shape} and q {q.shape} must be equal 1-d shapes")
    big_m = len(y)
    if big_m > n_pool:
        raise ValueError(f"betting_confidence_sequence: {big_m} draws from a pool of {n_pool}")
    if np.any((y < 0) | (y > 1)):
        raise ValueError("betting_confidence_sequence: values must lie in [0, 1] (divide a bounded loss by its bound)")
    if not 0 < alpha < 1:
        raise ValueError(f"betting_confidence_sequence: alpha {alpha} must be between 0 and 1")
    left = n_pool - np.arange(big_m)  # N - t + 1 units available at step t
    rho = np.broadcast_to(np.asarray(max_ratio, dtype=float), (big_m,))
    if np.any(q <= 0) or np.any(1.0 / (left * q) > rho * (1 + 1e-9)):
        shown = max_ratio if np.ndim(max_ratio) == 0 else "of its step"
        raise ValueError(f"betting_confidence_sequence: a draw's importance ratio exceeds max_ratio {shown} "
                         "(or q <= 0): the bound does not hold")

    before = np.cumsum(y) - y  # S_{t-1}
    terms = (before + y / q) / n_pool  # Des Raj's R_t
    low_t, high_t = before / n_pool, (before + left * rho) / n_pool  # R_t's range, known before draw t

    # WSR's predictable variance estimate and plug-in bet, from R_1..R_{t-1}
    t = np.arange(1, big_m + 1)
    mean_hat = (0.5 + np.cumsum(terms)) / (t + 1)
    var_hat = (0.25 + np.cumsum((terms - mean_hat) ** 2)) / (t + 1)
    var_before = np.concatenate([[0.25], var_hat[:-1]])
    plug_in = np.sqrt(2 * np.log(2 / alpha) / (var_before * t * np.log(t + 1)))

    if lattice and np.any((y != 0) & (y != 1)):
        raise ValueError("betting_confidence_sequence: lattice=True needs 0/1 values")
    exact = lattice and n_pool < grid_size
    r = (np.arange(n_pool + 1) / n_pool if exact else np.linspace(0.0, 1.0, grid_size))[:, None]  # (G, 1)
    drawn_sum = np.cumsum(y)
    alive = np.concatenate([_survivors(r[i:i + _CHUNK], terms, low_t, high_t, plug_in, drawn_sum, n_pool, alpha)
                            for i in range(0, len(r), _CHUNK)])  # in chunks: memory O(chunk x M)

    step = 0.0 if exact else 1.0 / (grid_size - 1)
    any_alive = alive.any(axis=0)
    first = np.where(any_alive, alive.argmax(axis=0), 0)
    last = np.where(any_alive, len(r) - 1 - alive[::-1].argmax(axis=0), 0)
    low = np.where(any_alive, np.maximum(r[first, 0] - step, drawn_sum / n_pool), np.nan)
    high = np.where(any_alive, np.minimum(r[last, 0] + step, (drawn_sum + n_pool - t) / n_pool), np.nan)
    return low, high


def _survivors(r, terms, low_t, high_t, plug_in, drawn_sum, n_pool, alpha) -> np.ndarray:
    """(G, M) bool: candidate r[g] not yet rejected after step m (rejected once: rejected for good)."""
    t = np.arange(1, terms.shape[-1] + 1)
    with np.errstate(divide="ignore"):
        lam = np.minimum(plug_in, _TRUNCATION / np.maximum(r - low_t, 0.0))  # factor >= 1 - truncation > 0
        mu = np.minimum(plug_in, _TRUNCATION / np.maximum(high_t - r, 0.0))
    log_up = np.cumsum(np.log1p(lam * (terms - r)), axis=1)
    log_down = np.cumsum(np.log1p(-mu * (terms - r)), axis=1)
    capital = np.logaddexp(log_up, log_down) - np.log(2)  # hedged: (K+ + K-) / 2
    possible = (r >= drawn_sum / n_pool - 1e-12) & (r <= (drawn_sum + n_pool - t) / n_pool + 1e-12)
    return np.logical_and.accumulate((capital < np.log(1 / alpha)) & possible, axis=1)
