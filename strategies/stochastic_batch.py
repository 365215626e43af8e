"""Stochastic batch acquisition (Kirsch, Farquhar, Atighehchian, Jesson, Branchaud-Charron and Gal 2023,
"Stochastic Batch Acquisition: A Simple Baseline for Deep Active Learning", TMLR).

Instead of the top-k scores, draw the batch without replacement with
probabilities that grow with a base score s_i (uncertainty of the unlabelled
point i), which keeps a batch from piling onto one region:

- ``stochastic_power``:   p_i proportional to s_i ** beta (s_i >= 0);
- ``stochastic_softmax``: p_i proportional to exp(beta s_i);
- ``stochastic_softrank``: p_i proportional to r_i ** -beta, r_i the rank of s_i (1 = highest; tied
  scores share their average rank, so they are equally likely).

The draw is the Gumbel-top-k trick, as in the paper: the k largest of
log p_i + G_i with G_i standard Gumbel, which is k draws one after another
without replacement (Kool et al. 2019). ``beta`` (1) is the paper's
coldness; beta -> infinity gives the top-k strategy back. Base scores
(``base``): ``entropy`` (default), ``least_confident`` (1 - max p), ``margin``
(1 - (p_1 - p_2), so that it is >= 0 for the power rule). Points whose power
weight is 0 (s_i = 0) come last, in random order.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from albench.strategy import Strategy, register, top_k
from .uncertainty import entropy_scores, least_confident_scores, margin_scores
from ._common import check_choice

BASES = {
    "entropy": entropy_scores,
    "least_confident": least_confident_scores,
    "margin": lambda proba: 1.0 + margin_scores(proba),  # 1 - (p1 - p2) in [0, 1]
}


def log_weights(scores: np.ndarray, rule: str, beta: float) -> np.ndarray:
    """log p_i up to a constant, for the three rules of the paper."""
    scores = np.asarray(scores, dtype=float)
    if rule == "power":
        with np.errstate(divide="ignore"):
            return beta * np.log(np.maximum(scores, 0.0))
    if rule == "softmax":
        return beta * scores
    if rule == "softrank":
        return -beta * np.log(rankdata(-scores, method="average"))  # equal scores, equal rank and probability
    raise ValueError(f"unknown rule {rule!r}")


def gumbel_top_k(log_w: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k positions drawn without replacement with probabilities proportional to exp(log_w)."""
    return top_k(log_w + rng.gumbel(size=len(log_w)), k, rng)


class StochasticBatch(Strategy):
    rule = ""

    def __init__(self, base: str = "entropy", beta: float = 1.0):
        super().__init__(base=base, beta=beta)
        check_choice(f"stochastic_{self.rule}", "base", base, tuple(BASES))
        if not (isinstance(beta, (int, float)) and beta > 0):
            raise ValueError(f"stochastic_{self.rule}: beta must be a number > 0; got {beta!r}")
        self.base, self.beta = base, float(beta)

    def query(self, state, batch_size, rng):
        scores = BASES[self.base](state.proba_unlabelled())
        return state.unlabelled[gumbel_top_k(log_weights(scores, self.rule, self.beta), batch_size, rng)]


@register("stochastic_power", "stochastic batch: draw with p proportional to score ** beta (Kirsch et al. 2023)")
class StochasticPower(StochasticBatch):
    """Power acquisition (Kirsch et al. 2023). Params: ``base`` (entropy), ``beta`` (1)."""

    rule = "power"
    family = "stochastic_power"


@register("stochastic_softmax", "stochastic batch: draw with p proportional to exp(beta score) (Kirsch et al. 2023)")
class StochasticSoftmax(StochasticBatch):
    """Softmax acquisition (Kirsch et al. 2023). Params: ``base`` (entropy), ``beta`` (1)."""

    rule = "softmax"
    family = "stochastic_softmax"


@register("stochastic_softrank", "stochastic batch: draw with p proportional to rank ** -beta (Kirsch et al. 2023)")
class StochasticSoftrank(StochasticBatch):
    """Soft-rank acquisition (Kirsch et al. 2023). Params: ``base`` (entropy), ``beta`` (1)."""

    rule = "softrank"
    family = "stochastic_softrank"
