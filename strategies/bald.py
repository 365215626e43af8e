"""BALD: Bayesian Active Learning by Disagreement (Houlsby et al. 2011, "Bayesian active
learning for classification and preference learning", arXiv:1112.5745).

Score: the mutual information between the label and the model parameters,
I(y; w | x) = H[mean_k p_k(y|x)] - mean_k H[p_k(y|x)], estimated from K
samples p_k of the predictive distribution:

- ``mc_dropout``: K stochastic forward passes of a torch learner with dropout
  on (Gal, Islam and Ghahramani 2017, "Deep Bayesian active learning with
  image data");
- ``trees``: the members of a fitted random forest, extra-trees or bagging
  ensemble (scikit-learn's ``RandomForestClassifier``, ``ExtraTreesClassifier``,
  ``BaggingClassifier`` or subclasses): members fitted independently on
  resamples, a stand-in for posterior samples. A bagging member trained on a
  subset of the features (``max_features`` < 1) sees only those columns.
  Boosting (AdaBoost, gradient boosting) and voting ensembles are refused:
  their members are stages or different models, not samples of one
  posterior;
- ``bootstrap``: K copies of the learner fitted on bootstrap samples of the
  labelled set (``albench.strategies.committee``).

``auto`` takes the first that the model offers, in that order. The batch is
the top k scores; BatchBALD (Kirsch et al. 2019), which scores the batch
jointly, is ``batchbald`` (``batchbald.py``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy.special import entr
from sklearn.ensemble import BaggingClassifier, ExtraTreesClassifier, RandomForestClassifier

from albench.strategy import Strategy, register, top_k
from albench.strategies._common import check_choice, check_positive_int
from albench.strategies.committee import committee_proba

SOURCES = ("auto", "mc_dropout", "trees", "bootstrap")


def bald_from_members(member_proba: Iterable[np.ndarray]) -> np.ndarray:
    """BALD scores from an iterable of (n, C) member probabilities, one pass, O(n C) memory."""
    total, total_entropy, k = 0.0, 0.0, 0
    for p in member_proba:
        total = total + p
        total_entropy = total_entropy + entr(p).sum(axis=1)
        k += 1
    return np.maximum(entr(total / k).sum(axis=1) - total_entropy / k, 0.0)


def bald_scores(samples: np.ndarray) -> np.ndarray:
    """BALD from a (K, n, C) array of sampled class probabilities."""
    return bald_from_members(iter(samples))


POSTERIOR_ENSEMBLES = (RandomForestClassifier, ExtraTreesClassifier, BaggingClassifier)


def has_members(est) -> bool:
    """Whether ``est`` is a fitted forest or bagging ensemble of probabilistic members (``trees`` mode)."""
    members = getattr(est, "estimators_", None)
    return (isinstance(est, POSTERIOR_ENSEMBLES) and isinstance(members, list) and len(members) > 1
            and all(hasattr(m, "predict_proba") for m in members))


def ensemble_member_proba(model, X: np.ndarray):
    """Each ensemble member's probabilities, aligned to the data set's classes (a generator).

    scikit-learn ensembles fit their members on labels encoded 0..C_seen-1, so a
    member's ``classes_`` index the ensemble's ``classes_`` (``model.columns_``).
    A bagging member fitted on a subset of the features gets only those columns.
    """
    ensemble = model.estimator_
    features = getattr(ensemble, "estimators_features_", None)
    for i, member in enumerate(ensemble.estimators_):
        out = np.zeros((len(X), model.n_classes))
        X_member = X if features is None else X[:, features[i]]
        out[:, model.columns_[np.asarray(member.classes_, dtype=int)]] = member.predict_proba(X_member)
        yield out


@register("bald", "BALD: mutual information over MC dropout, a forest's trees or a bootstrap committee "
          "(Houlsby et al. 2011)")
class Bald(Strategy):
    """BALD (Houlsby et al. 2011). Params: ``source`` (auto | mc_dropout | trees | bootstrap),
    ``n_samples`` (10: dropout passes or bootstrapped members; a forest uses all its trees)."""

    family = "bald"

    def __init__(self, source: str = "auto", n_samples: int = 10):
        super().__init__(source=source, n_samples=n_samples)
        check_choice("bald", "source", source, SOURCES)
        self.source = source
        self.n_samples = check_positive_int("bald", "n_samples", n_samples, minimum=2)

    def _source(self, model) -> str:
        offered = {"mc_dropout": model.supports_sampling, "trees": has_members(model.estimator_), "bootstrap": True}
        if self.source == "auto":
            return next(name for name, ok in offered.items() if ok)
        if not offered[self.source]:
            needs = {"mc_dropout": "a torch learner with dropout",
                     "trees": "a fitted random forest, extra-trees or bagging ensemble (boosting stages are not "
                              "posterior samples)"}[self.source]
            raise ValueError(f"bald: source '{self.source}' needs {needs}; {type(model.estimator_).__name__} "
                             f"is not one (use source: auto or bootstrap)")
        return self.source

    def query(self, state, batch_size, rng):
        if state.model.estimator_ is None:  # one class seen: every sample agrees, BALD is 0 everywhere
            scores = np.zeros(len(state.unlabelled))
        else:
            X_unl = state.X[state.unlabelled]
            source = self._source(state.model)
            if source == "mc_dropout":
                members = state.model.sample_proba(X_unl, self.n_samples)
            elif source == "trees":
                members = ensemble_member_proba(state.model, X_unl)
            else:
                members = committee_proba(state, rng, self.n_samples)
            scores = bald_from_members(members)
        return state.unlabelled[top_k(scores, batch_size, rng)]
