"""Learner registry: scikit-learn classifiers by short name or import path.

Every learner the AL loop fits is wrapped in ``AlignedClassifier`` so that
``predict_proba`` always has one column per class of the data set, even when
the labelled set has seen only some classes (or a single one).
"""

from __future__ import annotations

import importlib
import sys
from functools import lru_cache

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier

from albench import params as params_module
from albench.deep import register_if_installed
from albench.registry import Registry, UnknownName, is_import_path

registry = Registry("learner")
register = registry.register


def _classifier(name: str, description: str, target: str, **defaults) -> None:
    """Register the scikit-learn classifier ``target`` (``"module:Class"``) under ``name``.

    Its parameters are the class's (``albench.params``); ``defaults`` are albench's own.
    """

    def factory(**params):
        return params_module._resolve(target)(**{**defaults, **params})

    factory.passes_params_to = target
    factory.param_defaults = defaults
    register(name, description)(factory)


_classifier("logreg", "logistic regression (lbfgs, L2)", "sklearn.linear_model:LogisticRegression", max_iter=1000)
_classifier("svm_rbf", "RBF-kernel SVM, sigmoid-calibrated probabilities (cross-validated from 2 points per class, "
            "in-sample below)", "albench.adaptive_learners:CalibratedSVC")
_classifier("rf", "random forest", "sklearn.ensemble:RandomForestClassifier", n_estimators=100)
_classifier("knn", "k-nearest neighbours (k shrinks to the labelled set size while it is smaller)",
            "albench.adaptive_learners:AdaptiveKNeighborsClassifier")
_classifier("gnb", "Gaussian naive Bayes", "sklearn.naive_bayes:GaussianNB")
_classifier("mlp", "multi-layer perceptron (scikit-learn)", "sklearn.neural_network:MLPClassifier", max_iter=500)
_classifier("gbdt", "histogram gradient boosting", "sklearn.ensemble:HistGradientBoostingClassifier")


@register_if_installed(registry, "torch_mlp", "PyTorch MLP: embedding, MC dropout, GPU when present (extra: deep)",
                       needs=("torch",))
def _torch_mlp(**params):
    from albench.deep.torch_learners import TorchMLPClassifier  # imports torch only now

    return TorchMLPClassifier(**params)


_torch_mlp.passes_params_to = "albench.deep.torch_learners:TorchMLPClassifier"


@register_if_installed(registry, "torch_cnn", "PyTorch small CNN on flattened images: embedding, MC dropout "
                       "(extra: deep)", needs=("torch",))
def _torch_cnn(**params):
    from albench.deep.torch_learners import TorchCNNClassifier

    return TorchCNNClassifier(**params)


_torch_cnn.passes_params_to = "albench.deep.torch_learners:TorchCNNClassifier"


def resolve(name: str):
    """The factory for a registered short name or a ``module.Class`` path.

    An import path must name a scikit-learn classifier class outside the
    standard library; its module is imported (which runs its code: a grid
    file is code), the class is not built here.
    """
    if not is_import_path(name):
        return registry.get(name).factory
    module, _, attr = name.rpartition(".")
    top = module.partition(".")[0]
    if top in sys.stdlib_module_names or top in ("albench", "builtins"):
        raise UnknownName(f"learner '{name}' is not a classifier class: '{top}' is "
                          f"{'part of albench' if top == 'albench' else 'a standard-library module'}")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise UnknownName(f"cannot import learner '{name}': {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator) and issubclass(cls, ClassifierMixin)):
        raise UnknownName(f"learner '{name}' is not a scikit-learn classifier class")
    return cls


@lru_cache(maxsize=None)
def import_path_implementation(name: str) -> str:
    """``module.Class distribution==version`` of an import-path learner (``albench.registry``'s counterpart)."""
    from importlib.metadata import PackageNotFoundError, packages_distributions, version

    top = name.partition(".")[0]
    dists = packages_distributions().get(top, [])
    try:
        return f"{name} {dists[0]}=={version(dists[0])}" if dists else name
    except PackageNotFoundError:
        return name


def preflight(name: str, params: dict) -> None:
    """Build the learner and run scikit-learn's own parameter checks, as ``fit`` would."""
    est = make_learner(name, params)
    if not is_classifier(est):
        raise ValueError("not a classifier")
    if not hasattr(est, "predict_proba"):  # scikit-learn hides it where the parameters give none
        raise ValueError(f"{type(est).__name__} has no predict_proba (with these parameters), and every run "
                         f"predicts from class probabilities")
    # scikit-learn's own classes declare their constraints; a third-party BaseEstimator often declares none
    if hasattr(est, "_validate_params") and hasattr(est, "_parameter_constraints"):
        est._validate_params()


def make_learner(name: str, params: dict | None = None, random_state: int | None = None):
    """A fresh, unfitted estimator; ``random_state`` is set when it takes one."""
    est = resolve(name)(**(params or {}))
    if random_state is not None and "random_state" in est.get_params():
        if (params or {}).get("random_state") is None:
            est.set_params(random_state=random_state)
    return est


class AlignedClassifier(ClassifierMixin, BaseEstimator):
    """Wraps a classifier so probabilities cover ``n_classes`` classes 0..C-1.

    Classes missing from the training labels get probability 0; with a single
    class seen, the wrapper predicts that class with probability 1 (most
    scikit-learn classifiers refuse to fit one class).

    Network learners may offer ``embed(X)`` (penultimate layer) and
    ``sample_proba(X, n_samples)`` (MC dropout); strategies check
    ``supports_embedding`` / ``supports_sampling`` before using them. The fitted
    inner model is ``estimator_`` (None while only one class has been seen).

    Each ``fit`` trains a fresh clone, except for a learner whose
    ``continues_training`` is true (a torch learner with ``warm_start=True``):
    that one is refitted in place and continues from its weights. scikit-learn's
    own ``warm_start`` is not used, since it refuses new classes or only adds trees.
    """

    def __init__(self, estimator, n_classes: int):
        self.estimator = estimator
        self.n_classes = n_classes

    def fit(self, X, y, **fit_params):
        y = np.asarray(y)
        self.classes_ = np.arange(self.n_classes)
        self.seen_ = np.unique(y)
        if len(self.seen_) > 1:
            previous = getattr(self, "estimator_", None)
            keep = previous is not None and getattr(previous, "continues_training", False)
            self.estimator_ = (previous if keep else clone(self.estimator)).fit(X, y, **fit_params)
            self.columns_ = np.asarray(self.estimator_.classes_, dtype=int)
        else:
            self.estimator_ = None
            self.columns_ = self.seen_.astype(int)
        return self

    def predict_proba(self, X):
        if self.estimator_ is None:
            out = np.zeros((len(X), self.n_classes))
            out[:, self.columns_[0]] = 1.0
        else:
            out = self._align(np.asarray(self.estimator_.predict_proba(X)))
        return out

    def predict(self, X):
        return self.predict_proba(X).argmax(axis=1)

    def _align(self, proba: np.ndarray) -> np.ndarray:
        out = np.zeros((*proba.shape[:-1], self.n_classes))
        out[..., self.columns_] = proba
        return out

    @property
    def supports_embedding(self) -> bool:
        return hasattr(self.estimator_, "embed")

    def embed(self, X) -> np.ndarray:
        """Penultimate-layer embedding (n, d) of a network learner that has one."""
        if not self.supports_embedding:
            raise AttributeError(f"{type(self.estimator).__name__} has no embedding")
        return self.estimator_.embed(X)

    @property
    def supports_sampling(self) -> bool:
        return hasattr(self.estimator_, "sample_proba")

    def sample_proba(self, X, n_samples: int) -> np.ndarray:
        """(n_samples, n, C) stochastic predictions (MC dropout), aligned to all classes."""
        if not self.supports_sampling:
            raise AttributeError(f"{type(self.estimator).__name__} cannot sample predictions")
        return self._align(np.asarray(self.estimator_.sample_proba(X, n_samples)))
