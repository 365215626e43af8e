"""Sequential sampling without replacement from a proposal recomputed at every step.

At step m (1-based) the proposal scores the N - m + 1 unlabelled points, the
safeguard turns the scores into q_m, and one point i_m is drawn from q_m. The
estimators need exactly (L_{i_m}, q_m(i_m)) in draw order, which is what this
module records.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from albench.active_testing.proposals import ProposalError, distribution

ScoresOf = Callable[[np.ndarray, int], np.ndarray]  # (read-only labelled mask, step) -> scores of unlabelled
AfterLabel = Callable[[int, int, np.ndarray], None]  # (step, chosen pool index, labelled mask)
OnDistribution = Callable[[int, np.ndarray], None]  # (step, q over the unlabelled points), before the draw


def draw(q: np.ndarray, rng: np.random.Generator) -> int:
    """One index drawn from the distribution ``q`` (inverse CDF, O(n))."""
    cdf = np.cumsum(q)
    j = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
    return min(j, len(q) - 1)  # u * total can round up to the last boundary


def acquire(scores_of: ScoresOf, n: int, budget: int, rng: np.random.Generator, safeguard: str,
            weight: float, after_label: AfterLabel | None = None,
            on_distribution: OnDistribution | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``min(budget, n)`` distinct points; return their pool indices and q, in draw order.

    ``after_label`` runs after each draw (refit a surrogate, record a running sum);
    ``on_distribution`` sees each step's whole q before its draw (e.g. its smallest value).
    """
    budget = min(budget, n)
    labelled = np.zeros(n, dtype=bool)
    view = labelled.view()  # what callers see: read-only, always current
    view.flags.writeable = False
    chosen = np.empty(budget, dtype=np.int64)
    q_chosen = np.empty(budget)
    for m in range(1, budget + 1):
        unlabelled = np.flatnonzero(~labelled)
        scores = scores_of(view, m)
        if np.shape(scores) != unlabelled.shape:
            raise ProposalError(f"step {m}: expected {len(unlabelled)} scores, got shape {np.shape(scores)}")
        q = distribution(scores, safeguard, weight)
        if on_distribution is not None:
            on_distribution(m, q)
        j = draw(q, rng)
        chosen[m - 1], q_chosen[m - 1] = unlabelled[j], q[j]
        labelled[unlabelled[j]] = True
        if after_label is not None:
            after_label(m, int(unlabelled[j]), view)
    return chosen, q_chosen
