"""The risk-estimator contract and its registry.

An estimator is a pure, vectorised function ``f(trace) -> Estimate``:

- ``trace`` holds what M sequential draws left behind (``Trace``); its arrays
  may carry leading batch axes (many runs at once), the last axis is the step.
- ``Estimate.curve[..., m-1]`` is the estimate of the pool risk
  R = (1/N) sum_i L_i from the first m labels alone, for m = 1..M.
- ``Estimate.weights[..., m-1]`` is the weight w_m of the m-th label in the
  final estimate written as (1/M) sum_m w_m L_{i_m}; ``None`` for estimators
  that are not of that form (ASE).

Every registered estimator is computed in every ``at`` run. Implementations
live in ``strategies/at_estimators.py`` (``@register("name", "description")``);
the registry loads the strategy plug-ins on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from albench.registry import Registry


@dataclass(frozen=True)
class Trace:
    """The labels of one run (or a batch of runs) in draw order."""

    n_pool: int  # N
    losses: np.ndarray  # (..., M) L_{i_m}
    q: np.ndarray  # (..., M) q_m(i_m), the proposal probability of the m-th draw
    surrogate_rest: np.ndarray | None = None  # (..., M) sum over points unlabelled after step m of E_surrogate[L]

    @property
    def budget(self) -> int:
        return self.losses.shape[-1]

    @property
    def m(self) -> np.ndarray:
        """1, 2, ..., M (broadcasts against the step axis)."""
        return np.arange(1, self.budget + 1)


@dataclass(frozen=True)
class Estimate:
    curve: np.ndarray  # (..., M) the estimate after m labels
    weights: np.ndarray | None = None  # (..., M) w_m in the final estimate (1/M) sum w_m L_{i_m}


Estimator = Callable[[Trace], Estimate]


def _load_plugins() -> None:
    from albench.strategy import registry as strategies

    strategies.names()  # imports strategies/ (and plug-in folders), which register estimators too


registry = Registry("estimator", loader=_load_plugins)
register = registry.register


def estimate_all(trace: Trace) -> dict[str, Estimate]:
    """Every registered estimator on ``trace``, by name (sorted)."""
    return {name: registry.get(name).factory(trace) for name in registry.names()}
