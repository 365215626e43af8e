"""Active-testing proposals: which test point to label next (Kossen et al., ICML 2021).

Each returns non-negative scores over the unlabelled points; q is proportional
to them after the safeguard (``albench.active_testing.proposals``), so no
point ever gets q = 0. The q that minimises the variance of the unbiased
estimators is proportional to the true loss; the proposals approximate it.
"""

import numpy as np

from albench.active_testing.losses import entropy
from albench.active_testing.proposals import Proposal, register


@register("uniform", "every unlabelled point equally likely (the iid baseline)")
class Uniform(Proposal):
    def scores(self, state):
        return np.ones(len(state.unlabelled))


@register("true_loss", "oracle: q proportional to the true loss (a reference, not a method)")
class TrueLoss(Proposal):
    """The variance-optimal proposal; it reads labels no real method has."""

    def scores(self, state):
        return state.true_losses[state.unlabelled]


@register("surrogate_loss", "the surrogate's expected loss of the model (Kossen et al. 2021)")
class SurrogateLoss(Proposal):
    """E_{y ~ pi(y|x)} L(f(x), y): expected cross-entropy -sum_c pi(c|x) log f(c|x),
    or expected 0-1 loss 1 - pi(argmax f(x) | x), under the surrogate pi."""

    def scores(self, state):
        return state.surrogate_loss[state.unlabelled]


@register("entropy", "the model's own predictive entropy")
class Entropy(Proposal):
    """-sum_c f(c|x) log f(c|x): the expected cross-entropy if the model were its own surrogate."""

    def scores(self, state):
        if "model_entropy" not in state.cache:
            state.cache["model_entropy"] = entropy(state.model_proba)
        return state.cache["model_entropy"][state.unlabelled]
