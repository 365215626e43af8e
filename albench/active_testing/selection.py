"""Several models under test on one acquisition: every pairwise risk difference, and the model chosen.

With ``rival`` (one learner, or a list: ``rival: [[gnb, rf]]``) a run tests K >= 2
models, the ``model`` first, on the same pool and the same drawn points. Every
estimator is linear in the losses and in the surrogate's sums, so the
difference of two models' traces (``difference_trace``) is the trace of the
loss difference L_a - L_b, and each estimator of it is unbiased whenever the
estimator is (LURE, PURE, the difference estimators; not IS, iid, ASE). Its
interval comes from the difference's own terms, not from the two intervals.

The model chosen after m labels is the argmin of the K estimated risks (by each
estimator); ties, as when no model has lost anything yet under the zero-one
loss, are broken by a random priority fixed per step (``choose``), so no model
wins them by its position. The choice is right when the chosen model has the
smallest true risk over the whole pool (any of them, if several tie).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from albench.active_testing.estimators import Trace, estimate_all
from albench.finite_population import difference_confidence_sequence, interval

__all__ = ["Comparison", "choose", "chose_best", "compare", "difference_trace", "pairs"]


def pairs(k: int) -> list[tuple[int, int]]:
    """Every pair (a, b), a < b, of k models, in order: (0, 1), (0, 2), ..., (1, 2), ..."""
    return [(a, b) for a in range(k) for b in range(a + 1, k)]


def difference_trace(a: Trace, b: Trace) -> Trace:
    """The trace of L_a - L_b on the same draws: every estimator is linear in the losses and the surrogate's sums."""
    return Trace(a.n_pool, a.losses - b.losses, a.q, a.surrogate_rest - b.surrogate_rest,
                 a.surrogate_total - b.surrogate_total, a.surrogate_drawn - b.surrogate_drawn,
                 a.surrogate_first_drawn - b.surrogate_first_drawn)


def choose(estimates: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """(..., M) the index of the smallest of K estimates (..., M, K); a tie goes to the smallest ``priority``."""
    return np.lexsort((priority, estimates), axis=-1)[..., 0]


def chose_best(chosen: np.ndarray, true_risks: np.ndarray) -> np.ndarray:
    """Whether each chosen index has the smallest true risk (ties in the truth: any of the best is right)."""
    risks = np.asarray(true_risks, dtype=float)
    return risks[np.asarray(chosen)] == risks.min()


@dataclass(frozen=True)
class Comparison:
    """K models under test on one draw sequence of M labels, per estimator name."""

    true_risks: np.ndarray  # (K,)
    estimates: dict[str, np.ndarray]  # (K, M) each model's risk estimate after every step
    differences: dict[str, np.ndarray]  # (P, M) R_a - R_b for each pair of ``pairs(K)``
    low: dict[str, np.ndarray]  # (P, M) its interval at the run's level (NaN where none)
    high: dict[str, np.ndarray]
    chosen: dict[str, np.ndarray]  # (M,) index of the model with the smallest estimate
    right: dict[str, np.ndarray]  # (M,) bool: the chosen model is truly best
    sequence: tuple[np.ndarray, np.ndarray] | None  # (P, M) each pair's confidence sequence (0-1 losses)

    @property
    def true_differences(self) -> np.ndarray:
        return np.array([self.true_risks[a] - self.true_risks[b] for a, b in pairs(len(self.true_risks))])


def compare(traces: list[Trace], true_risks: np.ndarray, level: float, priority: np.ndarray,
            max_ratio: np.ndarray | None = None) -> Comparison:
    """Every estimator on each model's trace and on each pair's difference, and the model chosen.

    ``traces``: one per model, the same draws (``q``); ``priority`` (M, K) breaks ties in ``choose``;
    ``max_ratio`` (M,): each step's largest importance ratio, for the confidence sequence of each pair's
    difference, given only for 0/1 losses (``difference_confidence_sequence``; each pair's sequence holds
    at level ``level`` on its own, not jointly with the other pairs').
    """
    per_model = [estimate_all(t) for t in traces]
    names = list(per_model[0])
    estimates = {n: np.stack([e[n].curve for e in per_model]) for n in names}
    differences, low, high = {n: [] for n in names}, {n: [] for n in names}, {n: [] for n in names}
    for a, b in pairs(len(traces)):
        for n, est in estimate_all(difference_trace(traces[a], traces[b])).items():
            differences[n].append(est.curve)
            lo, hi = interval(est, level)
            low[n].append(lo)
            high[n].append(hi)
    chosen = {n: choose(estimates[n].T, priority) for n in names}
    right = {n: chose_best(chosen[n], true_risks) for n in names}
    sequence = None
    if max_ratio is not None:
        bounds = [difference_confidence_sequence(traces[a].losses, traces[b].losses, traces[a].q, traces[a].n_pool,
                                                 max_ratio, alpha=1 - level, lattice=True)
                  for a, b in pairs(len(traces))]
        sequence = (np.stack([lo for lo, _ in bounds]), np.stack([hi for _, hi in bounds]))
    return Comparison(np.asarray(true_risks, dtype=float), estimates,
                      {n: np.stack(v) for n, v in differences.items()}, {n: np.stack(v) for n, v in low.items()},
                      {n: np.stack(v) for n, v in high.items()}, chosen, right, sequence)
