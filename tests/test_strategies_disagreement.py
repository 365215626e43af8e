"""Disagreement strategies (query by committee, BALD) against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression

from albench.learners import AlignedClassifier, make_learner
from albench.strategy import QueryState, create_strategy
from albench.strategies.bald import bald_scores, ensemble_member_proba
from albench.strategies.committee import committee_proba, consensus_entropy, kl_to_consensus, vote_entropy
from strategy_helpers import h, make_state, mask, one_thread  # noqa: F401  (one_thread: autouse)


# --- query by committee -------------------------------------------------------------------


def test_committee_measures_hand_computed():
    # 3 members, 2 points, 3 classes
    P = np.array([
        [[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]],
        [[0.5, 0.4, 0.1], [0.1, 0.8, 0.1]],
        [[0.2, 0.7, 0.1], [0.3, 0.3, 0.4]],
    ])
    # votes: point 0 -> 0, 0, 1; point 1 -> 2, 1, 2
    np.testing.assert_allclose(vote_entropy(P), [h(2 / 3, 1 / 3), h(2 / 3, 1 / 3)])
    mean = P.mean(axis=0)
    kl = lambda p, q: sum(a * np.log(a / b) for a, b in zip(p, q) if a > 0)
    np.testing.assert_allclose(kl_to_consensus(P), [np.mean([kl(P[k, i], mean[i]) for k in range(3)]) for i in range(2)])
    np.testing.assert_allclose(consensus_entropy(P), [h(*mean[0]), h(*mean[1])])
    agree = np.repeat(P[:1], 3, axis=0)  # identical members: no disagreement at all
    np.testing.assert_allclose(vote_entropy(agree), 0.0)
    np.testing.assert_allclose(kl_to_consensus(agree), 0.0, atol=1e-12)
    # two members, [0.8, 0.2] and [0.2, 0.8]: consensus [.5, .5], each KL = .8 ln 1.6 + .2 ln .4
    two = np.array([[[0.8, 0.2]], [[0.2, 0.8]]])
    np.testing.assert_allclose(kl_to_consensus(two), [0.8 * np.log(1.6) + 0.2 * np.log(0.4)])
    np.testing.assert_allclose(vote_entropy(two), [np.log(2)])


def test_committees_are_bootstrapped_or_heterogeneous_and_deterministic():
    X, y = make_blobs(120, centers=3, n_features=4, random_state=3, cluster_std=4.0)
    state = make_state(X, y, mask(120, range(0, 120, 6)))
    a = committee_proba(state, np.random.default_rng(0), 4)
    b = committee_proba(state, np.random.default_rng(0), 4)
    assert a.shape == (4, 100, 3) and np.array_equal(a, b)
    assert not np.allclose(a[0], a[1])  # different bootstrap samples
    # member k is the learner fitted on the k-th bootstrap draw of the labelled set
    rng, lab = np.random.default_rng(0), np.flatnonzero(state.labelled)
    for k in range(4):
        rows = lab[rng.integers(0, len(lab), len(lab))]
        ref = AlignedClassifier(make_learner("logreg", random_state=0), 3).fit(X[rows], y[rows])
        np.testing.assert_allclose(a[k], ref.predict_proba(X[state.unlabelled]))
    mixed = committee_proba(state, np.random.default_rng(0), learners=[("gnb", {}), ("logreg", {"C": 0.1})])
    gnb = AlignedClassifier(make_learner("gnb"), 3).fit(X[lab], y[lab])
    np.testing.assert_allclose(mixed[0], gnb.predict_proba(X[state.unlabelled]))
    with pytest.raises(ValueError, match="unknown learner"):
        create_strategy("vote_entropy", {"learners": ["logreg", "nosuchlearner"]})


# --- BALD -------------------------------------------------------------------------------


def test_bald_hand_computed():
    samples = np.array([
        [[1.0, 0.0], [0.5, 0.5], [0.9, 0.1]],
        [[0.0, 1.0], [0.5, 0.5], [0.9, 0.1]],
    ])
    # point 0: confident members that disagree -> ln 2; point 1: agree on 50/50 -> 0; point 2: agree -> 0
    np.testing.assert_allclose(bald_scores(samples), [np.log(2), 0.0, 0.0], atol=1e-12)
    s = np.array([[[0.7, 0.3]], [[0.1, 0.9]], [[0.4, 0.6]]])
    mean = s.mean(axis=0)[0]
    np.testing.assert_allclose(bald_scores(s), [h(*mean) - np.mean([h(*p[0]) for p in s])])


def test_bald_forest_members_average_to_the_forest():
    X, y = make_blobs(150, centers=4, n_features=3, random_state=0, cluster_std=3.0)
    labelled = mask(150, np.flatnonzero(y != 2)[:40])  # class 2 unseen: columns must still align
    state = make_state(X, y, labelled, "rf", n_classes=4, n_estimators=15)
    members = np.stack(list(ensemble_member_proba(state.model, X)))
    assert members.shape == (15, 150, 4) and np.all(members[:, :, 2] == 0)
    np.testing.assert_allclose(members.mean(axis=0), state.model.predict_proba(X))


class SamplingLogReg(LogisticRegression):
    """MC-dropout stand-in: members agree everywhere except on points whose first feature is > 100."""

    def sample_proba(self, X, n_samples):
        p = self.predict_proba(X)
        out = np.repeat(p[None], n_samples, axis=0)
        odd = np.asarray(X)[:, 0] > 100
        out[0::2, odd] = np.eye(p.shape[1])[0]
        out[1::2, odd] = np.eye(p.shape[1])[1]
        return out


def test_bald_uses_mc_dropout_samples_when_the_model_offers_them():
    X, y = make_blobs(80, centers=2, n_features=3, random_state=0)
    X[57, 0] = 500.0
    model = AlignedClassifier(SamplingLogReg(), 2).fit(X[:10], y[:10])
    state = QueryState(model=model, X=X, labelled=mask(80, range(10)), y=np.where(np.arange(80) < 10, y, -1),
                       classes=np.arange(2))
    assert create_strategy("bald").query(state, 1, np.random.default_rng(0)).tolist() == [57]
    with pytest.raises(ValueError, match="source 'trees'"):
        create_strategy("bald", {"source": "trees"}).query(state, 1, np.random.default_rng(0))
