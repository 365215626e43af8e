"""Uncertainty sampling (Lewis and Gale, 1994; Settles, 2009, section 3.1).

Scores come from the model's class probabilities on the unlabelled pool; the
batch is the top-k scores with ties broken at random (``albench.strategy.top_k``).
The score functions are public so other strategies can reuse them.
"""

import numpy as np

from albench.strategy import ScoreStrategy, register


def least_confident_scores(proba: np.ndarray) -> np.ndarray:
    """1 - max_c p(c|x)."""
    return 1.0 - proba.max(axis=1)


def margin_scores(proba: np.ndarray) -> np.ndarray:
    """-(p_1 - p_2), the negated gap between the two most probable classes."""
    if proba.shape[1] < 2:
        return np.zeros(len(proba))
    top2 = -np.partition(-proba, 1, axis=1)[:, :2]
    return -(top2[:, 0] - top2[:, 1])


def entropy_scores(proba: np.ndarray) -> np.ndarray:
    """Shannon entropy -sum_c p log p (0 log 0 = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logp = np.where(proba > 0, np.log(proba), 0.0)
    return -(proba * logp).sum(axis=1)


@register("least_confident", "least confident: 1 - max class probability (Lewis & Gale 1994)")
class LeastConfident(ScoreStrategy):
    family = "least_confident"

    def scores(self, state):
        return least_confident_scores(state.proba_unlabelled())


@register("margin", "margin: smallest gap between the two top class probabilities (Scheffer et al. 2001)")
class Margin(ScoreStrategy):
    family = "margin"

    def scores(self, state):
        return margin_scores(state.proba_unlabelled())


@register("entropy", "entropy of the predicted class distribution (Shannon; Settles 2009)")
class Entropy(ScoreStrategy):
    family = "entropy"

    def scores(self, state):
        return entropy_scores(state.proba_unlabelled())
