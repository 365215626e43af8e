"""Uncertainty strategies: hand-computed scores, tie breaking, and modAL as reference."""

from __future__ import annotations

import numpy as np
import pytest
from modAL.uncertainty import entropy_sampling, margin_sampling, uncertainty_sampling

from albench.datasets import load
from albench.learners import AlignedClassifier, make_learner
from albench.strategy import QueryState, create_strategy, top_k
from albench.strategies.uncertainty import entropy_scores, least_confident_scores, margin_scores

P = np.array([[0.7, 0.2, 0.1],
              [0.4, 0.4, 0.2],
              [1.0, 0.0, 0.0],
              [0.5, 0.3, 0.2]])


def test_hand_computed_scores():
    np.testing.assert_allclose(least_confident_scores(P), [0.3, 0.6, 0.0, 0.5])
    np.testing.assert_allclose(margin_scores(P), [-0.5, 0.0, -1.0, -0.2])
    h = lambda *p: -sum(x * np.log(x) for x in p if x > 0)
    np.testing.assert_allclose(entropy_scores(P), [h(.7, .2, .1), h(.4, .4, .2), 0.0, h(.5, .3, .2)])


def test_top_k_picks_largest_and_breaks_ties_at_random():
    rng = np.random.default_rng(0)
    assert sorted(top_k(np.array([0.1, 0.9, 0.5, 0.7]), 2, rng)) == [1, 3]
    assert len(top_k(np.array([1.0, 2.0]), 5, rng)) == 2
    ties = np.array([0.0, 1.0, 1.0, 1.0, 1.0, 0.5])
    picks = {int(top_k(ties, 1, np.random.default_rng(s))[0]) for s in range(40)}
    assert picks == {1, 2, 3, 4}  # every tied maximum gets picked by some seed
    assert top_k(np.array([np.nan, 0.2, 0.1]), 1, rng).tolist() == [1]


@pytest.fixture(scope="module")
def fitted_state():
    data = load("digits")
    rng = np.random.default_rng(1)
    labelled = np.zeros(len(data.y), dtype=bool)
    labelled[rng.choice(len(data.y), 40, replace=False)] = True
    model = AlignedClassifier(make_learner("logreg", random_state=0), data.n_classes)
    model.fit(data.X[labelled], data.y[labelled])
    return QueryState(model=model, X=data.X, labelled=labelled, y=np.where(labelled, data.y, -1),
                      classes=np.arange(data.n_classes))


@pytest.mark.parametrize("name, modal_fn", [
    ("least_confident", uncertainty_sampling),
    ("margin", margin_sampling),
    ("entropy", entropy_sampling),
])
def test_same_picks_as_modal(fitted_state, name, modal_fn):
    state = fitted_state
    pool = state.X[state.unlabelled]
    for k in (1, 10, 50):
        ours = create_strategy(name).query(state, k, np.random.default_rng(0))
        modal_idx = np.asarray(modal_fn(state.model, pool, n_instances=k)[0]).ravel()
        theirs = state.unlabelled[modal_idx]
        if set(ours) != set(theirs):  # ties aside: the differing picks must score the same
            proba = state.model.predict_proba(state.X)
            score = {"least_confident": least_confident_scores, "margin": margin_scores,
                     "entropy": entropy_scores}[name](proba)
            np.testing.assert_allclose(np.sort(score[ours]), np.sort(score[theirs]))
        else:
            assert set(ours) == set(theirs)


def test_strategies_are_deterministic_under_their_rng(fitted_state):
    for name in ("random", "least_confident", "margin", "entropy"):
        s = create_strategy(name)
        a = s.query(fitted_state, 7, np.random.default_rng(5))
        b = s.query(fitted_state, 7, np.random.default_rng(5))
        assert a.tolist() == b.tolist()
        assert not fitted_state.labelled[a].any() and len(set(a)) == 7
