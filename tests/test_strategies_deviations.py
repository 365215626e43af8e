"""Where native strategies follow their papers (or the authors' code) and where they deviate on
purpose: information density's cosine density, BALD's ensemble members, TypiClust's minimum cluster
size."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from albench.learners import AlignedClassifier, make_learner
from albench.strategies.bald import ensemble_member_proba, has_members
from albench.strategies.density import cosine_density
from albench.strategies.typiclust import typicality, typiclust_picks
from albench.strategies.uncertainty import entropy_scores
from albench.strategy import QueryState, create_strategy


def fitted_state(X, y, labelled, learner="logreg", params=None, n_classes=None):
    n_classes = n_classes or int(y.max()) + 1
    model = AlignedClassifier(make_learner(learner, params or {}, random_state=0), n_classes)
    model.fit(X[labelled], y[labelled])
    return QueryState(model=model, X=X, labelled=labelled, y=np.where(labelled, y, -1), classes=np.arange(n_classes))


# --- information density: Settles & Craven 2008 --------------------------------------------------


def test_cosine_information_density_is_the_papers_formula_on_non_negative_features():
    rng = np.random.default_rng(3)
    X = rng.random((60, 4))  # non-negative, as the paper's feature vectors
    y = (X[:, 0] > 0.5).astype(int)
    labelled = np.zeros(60, dtype=bool)
    labelled[[np.argmax(y == 0), np.argmax(y == 1)]] = True
    state = fitted_state(X, y, labelled)
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    density = (unit @ unit.T).mean(axis=1)  # dense reference: mean cosine over the whole pool
    np.testing.assert_allclose(cosine_density(X), density)
    for beta in (0.5, 1.0, 3.0):
        strategy = create_strategy("information_density", {"beta": beta})
        strategy.prepare(X, np.random.default_rng(0))
        expected = entropy_scores(state.proba_unlabelled()) * density[state.unlabelled] ** beta
        np.testing.assert_allclose(strategy.scores(state), expected)


def test_the_old_rescaling_would_change_the_ranking():
    """(1 + cos) / 2 is monotone in cos, but phi * ((1 + d) / 2) ** beta does not rank like phi * d ** beta:
    hence the paper's plain mean (a hand-made case)."""
    phi, d = np.array([1.0, 0.5]), np.array([0.2, 0.6])
    assert np.argmax(phi * d) == 1 and np.argmax(phi * (1 + d) / 2) == 0


def test_negative_mean_cosine_is_clipped_at_zero():
    X = np.array([[1.0, 0.0], [1.0, 0.1], [1.0, -0.1], [-1.0, 0.0]])
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    raw = (unit @ unit.T).mean(axis=1)
    np.testing.assert_allclose(cosine_density(X), np.maximum(raw, 0.0))
    assert raw[3] < 0 and cosine_density(X)[3] == 0.0


# --- BALD: members that are samples of one posterior ----------------------------------------------


def blobs():
    X, y = make_blobs(120, centers=3, n_features=4, random_state=0, cluster_std=3.0)
    labelled = np.zeros(120, dtype=bool)
    labelled[:30] = True
    return X, y, labelled


def test_bald_trees_refuses_boosting():
    X, y, labelled = blobs()
    state = fitted_state(X, y, labelled, "sklearn.ensemble.AdaBoostClassifier", {"n_estimators": 5})
    assert not has_members(state.model.estimator_)
    with pytest.raises(ValueError, match="source 'trees' needs a fitted random forest, extra-trees or bagging "
                                         "ensemble .boosting stages are not posterior samples.; "
                                         "AdaBoostClassifier is not one"):
        create_strategy("bald", {"source": "trees"}).query(state, 3, np.random.default_rng(0))
    # auto falls back to a bootstrap committee
    assert len(create_strategy("bald").query(state, 3, np.random.default_rng(0))) == 3


def test_bald_trees_on_bagging_with_feature_subsets():
    X, y, labelled = blobs()
    state = fitted_state(X, y, labelled, "sklearn.ensemble.BaggingClassifier",
                         {"n_estimators": 6, "max_features": 0.5})
    assert has_members(state.model.estimator_)
    members = np.stack(list(ensemble_member_proba(state.model, X)))
    assert members.shape == (6, 120, 3)
    np.testing.assert_allclose(members.mean(axis=0), state.model.predict_proba(X))  # bagging averages them
    picks = create_strategy("bald", {"source": "trees"}).query(state, 4, np.random.default_rng(0))
    assert len(set(picks.tolist())) == 4 and not labelled[picks].any()


def test_bald_trees_accepts_extra_trees():
    X, y, labelled = blobs()
    state = fitted_state(X, y, labelled, "sklearn.ensemble.ExtraTreesClassifier", {"n_estimators": 5})
    assert has_members(state.model.estimator_)
    assert len(create_strategy("bald", {"source": "trees"}).query(state, 2, np.random.default_rng(0))) == 2


# --- TypiClust: the authors' minimum cluster size -------------------------------------------------


def test_typiclust_skips_clusters_of_exactly_min_cluster_size_as_the_authors_code():
    """avihu111/TypiClust keeps clusters with ``cluster_size > MIN_CLUSTER_SIZE``: a cluster of exactly 5
    points is skipped, one of 6 is used."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(11, 2))
    clusters = np.array([0] * 5 + [1] * 6)
    labelled = np.zeros(11, dtype=bool)
    picks = typiclust_picks(X, clusters, labelled, 3, rng, n_neighbors=20, min_cluster_size=5)
    assert clusters[picks].tolist() == [1, 1, 1]
    members = np.flatnonzero(clusters == 1)
    assert picks[0] == members[np.argmax(typicality(X[members], 3))]
    with_all = typiclust_picks(X, clusters, labelled, 2, rng, n_neighbors=20, min_cluster_size=0)
    assert sorted(clusters[with_all].tolist()) == [0, 1]  # 0 keeps every cluster
