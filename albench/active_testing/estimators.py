"""The risk-estimator contract and its registry.

An estimator is a pure, vectorised function ``f(trace) -> Estimate``:

- ``trace`` holds what M sequential draws left behind (``Trace``); its arrays
  may carry leading batch axes (many runs at once), the last axis is the step.
- ``Estimate.curve[..., m-1]`` is the estimate of the pool risk
  R = (1/N) sum_i L_i from the first m labels alone, for m = 1..M.
- ``Estimate.weights[..., m-1]`` is the weight w_m of the m-th label in the
  final estimate written as (1/M) sum_m w_m L_{i_m}; ``None`` for estimators
  that are not of that form (ASE, the difference estimators).
- ``Estimate.std_error`` is the estimated standard error of each prefix
  estimate (NaN at m = 1), ``None`` for estimators without one (ASE).

Every registered estimator is computed in every ``at`` run. Implementations
live in ``strategies/at_estimators.py`` (``@register("name", "description")``)
as thin wrappers of the plain array functions of
``albench.finite_population``; the registry loads the
strategy plug-ins on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from albench.finite_population import Estimate
from albench.registry import Registry

__all__ = ["Estimate", "Estimator", "Trace", "estimate_all", "register", "registry"]


@dataclass(frozen=True)
class Trace:
    """The labels of one run (or a batch of runs) in draw order."""

    n_pool: int  # N
    losses: np.ndarray  # (..., M) L_{i_m}
    q: np.ndarray  # (..., M) q_m(i_m), the proposal probability of the m-th draw
    # The surrogate's expected loss E_surrogate[L] (None without a surrogate):
    surrogate_rest: np.ndarray | None = None  # (..., M) its sum over the points unlabelled after step m
    surrogate_total: np.ndarray | float | None = None  # (...,) its sum over the pool before the first draw
    surrogate_drawn: np.ndarray | None = None  # (..., M) at i_m, from the surrogate in use at step m
    surrogate_first_drawn: np.ndarray | None = None  # (..., M) at i_m, from the surrogate before any draw

    @property
    def budget(self) -> int:
        return self.losses.shape[-1]

    @property
    def m(self) -> np.ndarray:
        """1, 2, ..., M (broadcasts against the step axis)."""
        return np.arange(1, self.budget + 1)


Estimator = Callable[[Trace], Estimate]


def _load_plugins() -> None:
    from albench.strategy import registry as strategies

    strategies.names()  # imports strategies/ (and plug-in folders), which register estimators too


registry = Registry("estimator", loader=_load_plugins)
register = registry.register


def estimate_all(trace: Trace) -> dict[str, Estimate]:
    """Every registered estimator on ``trace``, by name (sorted)."""
    return {name: registry.get(name).factory(trace) for name in registry.names()}
