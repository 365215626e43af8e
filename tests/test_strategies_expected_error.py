"""Expected error reduction against a hand-computed case, and its ties."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from albench.learners import AlignedClassifier
from albench.strategy import QueryState, create_strategy
from albench.strategies.expected_error import expected_errors
from strategy_helpers import h, mask, one_thread  # noqa: F401  (one_thread: autouse)


# --- expected error reduction ----------------------------------------------------------------


class PriorClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the training label frequencies for every input (makes EER hand-computable)."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.prior_ = np.array([(y == c).mean() for c in self.classes_])
        return self

    def predict_proba(self, X):
        return np.tile(self.prior_, (len(X), 1))


def test_expected_error_hand_computed():
    X_lab, y_lab = np.zeros((3, 1)), np.array([0, 0, 1])  # counts (2, 1)
    X_cand = np.zeros((3, 1))
    p_cand = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    X_eval = np.zeros((4, 1))
    # adding label 0 -> (3, 1)/4; adding label 1 -> (2, 2)/4
    log = expected_errors(PriorClassifier, X_lab, y_lab, X_cand, p_cand, X_eval, "log")
    np.testing.assert_allclose(log, [h(0.75, 0.25), np.log(2), 0.5 * h(0.75, 0.25) + 0.5 * np.log(2)])
    zero_one = expected_errors(PriorClassifier, X_lab, y_lab, X_cand, p_cand, X_eval, "zero_one")
    np.testing.assert_allclose(zero_one, [0.25, 0.5, 0.375])


def test_expected_error_strategy_picks_the_smallest_expected_error():
    X = np.arange(12, dtype=float)[:, None]
    y = np.array([0, 0, 1] + [0] * 9)
    state = QueryState(model=AlignedClassifier(PriorClassifier(), 2).fit(X[:3], y[:3]), X=X,
                       labelled=mask(12, range(3)), y=np.where(np.arange(12) < 3, y, -1), classes=np.arange(2),
                       make_learner=PriorClassifier)
    # every candidate has p = (2/3, 1/3); all tie, so the strategy must return distinct random candidates
    picks = create_strategy("expected_error_reduction", {"n_candidates": 5}).query(state, 3, np.random.default_rng(0))
    assert len(set(picks)) == 3 and not state.labelled[picks].any()
