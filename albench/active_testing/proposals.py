"""The proposal contract, its registry, and the safeguard that keeps q away from 0.

Contract (every proposal):

- ``Proposal(**params)`` only stores its parameters.
- ``scores(state)`` returns one finite, non-negative score per unlabelled point
  (``state.unlabelled`` order), deterministic given ``state``. It must not
  modify ``state``. The proposal distribution before the safeguard is
  p = scores / sum(scores) (uniform when every score is 0); Kossen et al.
  (ICML 2021) take scores = the expected loss, the optimal q being proportional
  to the true loss.
- ``min_models = k`` (class attribute, default 1) for a proposal that needs k
  models under test (the model and k - 1 rivals, ``state.rivals_proba``); a
  grid that would run it with fewer is refused when it is read
  (``albench.kinds``), not at run time. ``needs_rival = True`` (older
  spelling) means ``min_models = 2``.

The safeguard is applied here, not by each proposal, so no proposal (plug-ins
included) can give an unlabelled point q = 0, and importance weights stay finite:

- ``mixture`` (defensive mixture, Hesterberg 1995): q = (1 - a) p + a / n,
  so q >= a / n;
- ``clip`` (uniform clip): q = max(p, c / n), renormalised, so q >= c / (n (1 + c)).

Either way the importance ratio 1 / (n q) is bounded (``max_importance_ratio``),
which the anytime-valid confidence sequence relies on.

Implementations live in ``strategies/at_proposals.py`` and register with
``@register("name", "description")``; the registry loads the strategy
plug-ins (strategies/, ALBENCH_PLUGINS, entry points) on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from albench.active_testing.losses import expected_loss
from albench.registry import PLUGIN_HINT, Registry

SAFEGUARDS = ("mixture", "clip")


class ProposalError(RuntimeError):
    """A proposal broke the contract (bad shape, negative or non-finite scores)."""


@dataclass
class ProposalState:
    """What a proposal sees before draw ``step`` (1-based) of a run.

    ``true_losses`` are the oracle's losses on the whole pool: only reference
    proposals (``true_loss``) may read them; a real proposal never can.
    """

    model_proba: np.ndarray  # (N, C) the model under test on the whole pool
    surrogate_proba: np.ndarray  # (N, C) the current surrogate on the whole pool
    surrogate_loss: np.ndarray  # (N,) E_{y ~ surrogate} L(model, y)
    labelled: np.ndarray  # (N,) bool
    loss: str
    true_losses: np.ndarray  # (N,) oracle, for reference proposals only
    step: int = 1
    cache: dict = field(default_factory=dict, repr=False)  # shared while the surrogate is unchanged
    surrogate_members: np.ndarray | None = None  # (K, N, C) the surrogate's members (their mean is surrogate_proba)
    rival_proba: np.ndarray | None = None  # (N, C) the first other model under test sharing the labels, if any
    rivals_proba: np.ndarray | None = None  # (R, N, C) every other model under test (rival_proba is the first)

    def __post_init__(self):
        if self.rivals_proba is None and self.rival_proba is not None:
            self.rivals_proba = np.asarray(self.rival_proba)[None]
        if self.rival_proba is None and self.rivals_proba is not None and len(self.rivals_proba):
            self.rival_proba = self.rivals_proba[0]

    @classmethod
    def build(cls, model_proba, surrogate_proba, labelled, loss, true_losses, step=1, surrogate_members=None,
              rival_proba=None, rivals_proba=None) -> "ProposalState":
        """A state with ``surrogate_loss`` computed from the two predictive distributions."""
        return cls(model_proba, surrogate_proba, expected_loss(model_proba, surrogate_proba, loss),
                   labelled, loss, true_losses, step, surrogate_members=surrogate_members, rival_proba=rival_proba,
                   rivals_proba=rivals_proba)

    @property
    def models_proba(self) -> np.ndarray:
        """(K, N, C): every model under test, the model first, then its rivals."""
        rivals = [] if self.rivals_proba is None else list(self.rivals_proba)
        return np.stack([self.model_proba, *rivals])

    @cached_property
    def unlabelled(self) -> np.ndarray:
        return np.flatnonzero(~self.labelled)


def max_importance_ratio(safeguard: str, weight: float) -> float:
    """The largest importance ratio 1 / (n q(i)) that ``distribution`` can give any of n points.

    Mixture: q >= weight / n, so 1/weight. Clip: q = max(p, weight/n) / Z with
    Z <= 1 + weight, so (1 + weight) / weight. What an anytime-valid bound
    needs to know before each draw.
    """
    if not 0.0 < weight <= 1.0:
        raise ValueError(f"safeguard weight {weight} must be in (0, 1] to bound the importance ratios")
    if safeguard == "mixture":
        return 1.0 / weight
    if safeguard == "clip":
        return (1.0 + weight) / weight
    raise ValueError(f"unknown safeguard '{safeguard}'; allowed: {', '.join(SAFEGUARDS)}")


class Proposal:
    """Base class; see the module docstring for the contract."""

    min_models = 1  # models under test the scores need (model + rivals); a grid giving fewer is refused at load
    needs_rival = False  # the older spelling of min_models = 2

    def __init__(self, **params):
        self.params = params

    def scores(self, state: ProposalState) -> np.ndarray:
        raise NotImplementedError


def distribution(scores: np.ndarray, safeguard: str, weight: float) -> np.ndarray:
    """q over the unlabelled points from non-negative ``scores`` and the safeguard.

    ``weight`` is the mixture weight a or the clip floor c, in (0, 1]. A weight
    of 0 (no safeguard) is accepted for reference computations only; a q of 0
    for any point is refused either way.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 1 or len(scores) == 0:
        raise ProposalError(f"expected one score per unlabelled point, got shape {scores.shape}")
    if not np.isfinite(scores).all() or (scores < 0).any():
        raise ProposalError("scores must be finite and non-negative")
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"safeguard weight {weight} is outside [0, 1]")
    n = len(scores)
    top = scores.max()
    p = scores / top / (scores / top).sum() if top > 0 else np.full(n, 1.0 / n)  # scaled: no overflow
    if safeguard == "mixture":
        q = (1.0 - weight) * p + weight / n
    elif safeguard == "clip":
        q = np.maximum(p, weight / n)
        q = q / q.sum()
    else:
        raise ValueError(f"unknown safeguard '{safeguard}'; allowed: {', '.join(SAFEGUARDS)}")
    if not (q > 0).all():
        raise ProposalError("q = 0 for an unlabelled point: use a safeguard weight > 0")
    return q


def _load_plugins() -> None:
    from albench.strategy import registry as strategies

    strategies.names()  # imports strategies/ (and plug-in folders), which register proposals too


registry = Registry("proposal", loader=_load_plugins, unknown_hint=PLUGIN_HINT)
register = registry.register


def create_proposal(name: str, params: dict | None = None) -> Proposal:
    return registry.create(name, **(params or {}))
