"""Learners: the registry, import paths, and probability alignment."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from albench.learners import AlignedClassifier, make_learner, registry
from albench.registry import UnknownName

X = np.random.default_rng(0).normal(size=(40, 3))


@pytest.mark.parametrize("name", ["logreg", "svm_rbf", "rf", "knn", "gnb", "mlp", "gbdt"])
def test_every_registered_learner_fits_with_aligned_probabilities(name):
    y = np.repeat([0, 2], 20)  # class 1 of 3 never seen
    est = make_learner(name, {"n_neighbors": 3} if name == "knn" else {}, random_state=0)
    model = AlignedClassifier(est, n_classes=3).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (40, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba[:, 1] == 0).all()
    assert set(model.predict(X)) <= {0, 2}


def test_single_class_is_a_constant_prediction():
    model = AlignedClassifier(make_learner("logreg"), n_classes=4).fit(X[:3], [2, 2, 2])
    assert (model.predict_proba(X)[:, 2] == 1).all() and (model.predict(X) == 2).all()


def test_random_state_is_set_unless_given_and_clone_works():
    assert make_learner("rf", random_state=7).random_state == 7
    assert make_learner("rf", {"random_state": 3}, random_state=7).random_state == 3
    clone(AlignedClassifier(make_learner("rf"), 3))


def test_import_path_and_unknown_names():
    est = make_learner("sklearn.tree.DecisionTreeClassifier", {"max_depth": 2}, random_state=0)
    assert est.max_depth == 2 and est.random_state == 0
    with pytest.raises(UnknownName, match="not a scikit-learn classifier"):
        make_learner("sklearn.linear_model.LinearRegression")
    with pytest.raises(UnknownName, match="did you mean 'logreg'"):
        registry.get("logre")


def test_no_embedding_for_plain_learners():
    model = AlignedClassifier(make_learner("logreg"), 2).fit(X, np.arange(40) % 2)
    assert not model.supports_embedding and not model.supports_sampling
    with pytest.raises(AttributeError):
        model.embed(X)
