"""Learners: the registry, import paths, and probability alignment."""

from __future__ import annotations

from numbers import Real

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils._param_validation import Interval

from albench import learners
from albench.learners import AlignedClassifier, make_learner, registry
from albench.registry import UnknownName
from albench.spec import GridError, grid_from_dict

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


@pytest.mark.parametrize("name", registry.names())
def test_every_registered_learner_passes_the_grid_check_at_its_defaults(name):
    grid = grid_from_dict({"name": "g", "kind": "al",
                           "params": {"dataset": "iris", "learner": name, "strategy": "random"}}, "g.yaml")
    assert [spec.params["learner"]["name"] for spec in grid.specs()] == [name]


@pytest.mark.parametrize(("params", "refused"), [({"C": -1}, "'C' parameter"), ({"cv": 1}, "'cv' parameter"),
                                                 ({"kernel": "rbff"}, "'kernel' parameter")])
def test_svm_rbf_parameters_are_checked_before_a_grid_runs(params, refused):
    with pytest.raises(GridError, match=f"learner 'svm_rbf': The {refused} of CalibratedSVC"):
        grid_from_dict({"name": "g", "kind": "al", "params": {
            "dataset": "iris", "learner": {"name": "svm_rbf", **params}, "strategy": "random"}}, "g.yaml")


class UndeclaredClassifier(ClassifierMixin, BaseEstimator):
    """A third-party classifier in scikit-learn's style that declares no ``_parameter_constraints``."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def predict_proba(self, X):
        return np.full((len(X), 2), 0.5)


class DeclaredClassifier(UndeclaredClassifier):
    _parameter_constraints = {"alpha": [Interval(Real, 0, None, closed="neither")]}


def test_declared_constraints_are_checked_and_a_classifier_declaring_none_passes(monkeypatch):
    monkeypatch.setattr(learners, "resolve", lambda name: UndeclaredClassifier)
    learners.preflight("vendor.UndeclaredClassifier", {"alpha": -2.0})  # nothing declared: no AttributeError
    monkeypatch.setattr(learners, "resolve", lambda name: DeclaredClassifier)
    learners.preflight("vendor.DeclaredClassifier", {"alpha": 2.0})
    with pytest.raises(ValueError, match="The 'alpha' parameter of DeclaredClassifier must be a float"):
        learners.preflight("vendor.DeclaredClassifier", {"alpha": -2.0})


class BrokenClassifier(UndeclaredClassifier):
    def __init__(self, alpha=1.0):
        raise RuntimeError("license server unreachable")


def test_a_classifier_whose_constructor_fails_is_one_grid_error(monkeypatch):
    monkeypatch.setattr(learners, "resolve", lambda name: BrokenClassifier)
    with pytest.raises(GridError, match="^g.yaml: params.learner: .*learner 'vendor.BrokenClassifier': building it "
                                        "failed: RuntimeError: license server unreachable$"):
        grid_from_dict({"name": "g", "kind": "al", "params": {
            "dataset": "iris", "learner": "vendor.BrokenClassifier", "strategy": "random"}}, "g.yaml")


@pytest.mark.parametrize(("learner", "refused"), [
    ({"name": "sklearn.linear_model.SGDClassifier", "loss": "hinge"}, "SGDClassifier"),
    ("sklearn.svm.SVC", "SVC"), ("sklearn.linear_model.RidgeClassifier", "RidgeClassifier")])
def test_a_learner_without_probabilities_is_refused_before_a_grid_runs(learner, refused):
    with pytest.raises(GridError, match=f"{refused} has no predict_proba \\(with these parameters\\), and every run "
                                        "predicts from class probabilities"):
        grid_from_dict({"name": "g", "kind": "al", "params": {
            "dataset": "iris", "learner": learner, "strategy": "random"}}, "g.yaml")
    with_them = {"name": "sklearn.linear_model.SGDClassifier", "loss": "log_loss"}
    grid_from_dict({"name": "g", "kind": "al", "params": {"dataset": "iris", "learner": with_them,
                                                         "strategy": "random"}}, "g.yaml")


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


BUNDLED = ("iris", "wine", "breast_cancer", "digits")


@pytest.mark.parametrize("dataset", BUNDLED)
def test_every_learner_fits_and_predicts_from_one_point_per_class(dataset):
    """The default start set (``per_class``) of every bundled data set, for every registered learner."""
    from albench import datasets
    from albench.al_loop import initial_indices, split_indices

    data = datasets.load(dataset)
    ref = {"name": dataset, "params": {}}
    pool, test = split_indices(data.y, ref, 0, 0.25)
    start = initial_indices(data.y[pool], "per_class", np.random.default_rng(0))
    X, y = data.X[pool][start], data.y[pool][start]
    assert len(start) == data.n_classes
    side = int(round(np.sqrt(data.X.shape[1])))
    for name in registry.names():
        params = {"epochs": 2} if name.startswith("torch_") else {}
        model = AlignedClassifier(make_learner(name, params, random_state=0), data.n_classes)
        if name == "torch_cnn" and side * side != data.X.shape[1]:  # a CNN needs images: it says so
            with pytest.raises(ValueError, match="cannot infer an image shape from"):
                model.fit(X, y)
            continue
        model.fit(X, y)
        proba = model.predict_proba(data.X[test])
        assert proba.shape == (len(test), data.n_classes), name
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, err_msg=name)
        assert np.isfinite(proba).all(), name


def test_knn_shrinks_k_to_the_labelled_set_and_is_plain_knn_beyond():
    from sklearn.neighbors import KNeighborsClassifier

    y = np.repeat([0, 1, 2], 1)
    small = make_learner("knn").fit(X[:3], y)
    assert small.n_neighbors == 5 and small.n_neighbors_ == 3
    yy = np.arange(40) % 3
    ours, plain = make_learner("knn").fit(X, yy), KNeighborsClassifier().fit(X, yy)
    np.testing.assert_array_equal(ours.predict_proba(X), plain.predict_proba(X))


def test_svm_calibration_is_cross_validated_when_possible_and_in_sample_below():
    import warnings

    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    yy = np.arange(40) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # no deprecated SVC(probability=True)
        ours = make_learner("svm_rbf", random_state=0).fit(X, yy)
        tiny = make_learner("svm_rbf").fit(X[:2], [0, 1])
    assert ours.calibration_ == "cross-validated (5 folds)" and tiny.calibration_ == "in-sample"
    reference = CalibratedClassifierCV(SVC(random_state=0), method="sigmoid", cv=5, ensemble=False).fit(X, yy)
    np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X))
    three = make_learner("svm_rbf").fit(X[:6], [0, 1, 0, 1, 0, 1])
    assert three.calibration_ == "cross-validated (3 folds)"
    assert tiny.predict_proba(X).shape == (40, 2)
