"""Active-testing proposals: which test point to label next (Kossen et al., ICML 2021).

Each returns non-negative scores over the unlabelled points; q is proportional
to them after the safeguard (``albench.active_testing.proposals``), so no
point ever gets q = 0. The q that minimises the variance of the unbiased
estimators is proportional to the true loss; the proposals approximate it.
"""

import numpy as np
from scipy.special import xlogy

from albench.active_testing.losses import (entropy, expected_abs_difference, expected_pairwise_difference,
                                           loss_per_label)
from albench.active_testing.proposals import Proposal, ProposalError, register


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


@register("xwed", "surrogate members' disagreement weighted by the model's loss, for ASE (Kossen et al. 2022)")
class XWED(Proposal):
    """Cross-entropy weighted expected disagreement: E_k sum_y w(y) pi_k(y|x) log(pi_k(y|x) / pi(y|x)).

    pi_k are the surrogate's members (``bootstrap``), pi their mean and
    w(y) = L(f(x), y) the model's loss if the label were y (cross-entropy:
    -log f(y|x)): the expected KL divergence of each member from the mean,
    label by label, weighted by what the label would cost the model; equally,
    the w-weighted entropy of pi minus the members' mean w-weighted entropy (a
    loss-weighted BALD). It labels where the surrogate is unsure about a label
    that would cost the model much, where ASE's interpolation of the loss is
    least reliable (Kossen et al., "Active Surrogate Estimators", NeurIPS
    2022; in the authors' code, ``SelfSurrogateAcquisitionSurrogateWeightedBALD2``).
    Unlike the authors, who label its argmax, albench samples from it through
    the safeguard. Every term is >= 0 (x log x is convex); a surrogate with
    one member has no disagreement: every score is 0 and q is uniform.
    """

    def scores(self, state):
        if "xwed" not in state.cache:
            members = state.surrogate_members
            if members is None:
                members = state.surrogate_proba[None]
            mean = members.mean(axis=0)
            spread = xlogy(members, members).mean(axis=0) - xlogy(mean, mean)  # E_k pi_k log pi_k - pi log pi
            weighted = (np.maximum(spread, 0.0) * loss_per_label(state.model_proba, state.loss)).sum(axis=1)
            state.cache["xwed"] = weighted
        return state.cache["xwed"][state.unlabelled]


@register("loss_difference", "the surrogate's expected loss differences of the models under test")
class LossDifference(Proposal):
    """E_{y ~ pi(y|x)} sqrt(sum_{a<b} (L(f_a(x), y) - L(f_b(x), y))^2) over the K models under test sharing
    the labels (the model and its rivals); for two models, E |L(f(x), y) - L(g(x), y)|.

    Why: estimating the pairwise differences R_a - R_b by importance sampling, the variance of one pair is
    sum_i d_i^2 / q_i - D^2 (d_i = L_a - L_b at point i, draws with replacement), minimised by q
    proportional to |d| (the target is the mean of the differences: points where both models lose the
    same tell nothing about which is better). Summed over every pair it is
    sum_i (sum_pairs d_i^2) / q_i - const, minimised (Lagrange) by q proportional to
    sqrt(sum_pairs d_i^2): the oracle for all pairwise differences at once, equal to |d| for two models.
    The surrogate's expectation over the unknown label replaces the oracle, as ``surrogate_loss`` does for
    one model. The mean or the maximum of |d| over pairs would also reduce to |d| for two models, but
    neither minimises a variance for more. sqrt(sum_pairs d^2) = sqrt(K) times the standard deviation of
    the K losses at the point: the spread of the models' losses.
    """

    min_models = 2

    def scores(self, state):
        if state.rivals_proba is None or not len(state.rivals_proba):
            raise ProposalError("proposal 'loss_difference' needs a rival model (grid key 'rival')")
        if "loss_difference" not in state.cache:
            if len(state.rivals_proba) == 1:  # the two-model form, kept bit for bit
                scores = expected_abs_difference(state.model_proba, state.rivals_proba[0], state.surrogate_proba,
                                                 state.loss)
            else:
                scores = expected_pairwise_difference(state.models_proba, state.surrogate_proba, state.loss)
            state.cache["loss_difference"] = scores
        return state.cache["loss_difference"][state.unlabelled]
