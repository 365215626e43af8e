"""Learner registry: scikit-learn classifiers by short name or import path.

Every learner the AL loop fits is wrapped in ``AlignedClassifier`` so that
``predict_proba`` always has one column per class of the data set, even when
the labelled set has seen only some classes (or a single one).
"""

from __future__ import annotations

import importlib

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier

from albench.deep import register_if_installed
from albench.registry import Registry, UnknownName

registry = Registry("learner")
register = registry.register


@register("logreg", "logistic regression (lbfgs, L2)")
def _logreg(**params):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(**{"max_iter": 1000, **params})


@register("svm_rbf", "RBF-kernel SVM with Platt-scaled probabilities")
def _svm_rbf(**params):
    from sklearn.svm import SVC

    return SVC(**{"kernel": "rbf", "probability": True, **params})


@register("rf", "random forest")
def _rf(**params):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(**{"n_estimators": 100, **params})


@register("knn", "k-nearest neighbours")
def _knn(**params):
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(**params)


@register("gnb", "Gaussian naive Bayes")
def _gnb(**params):
    from sklearn.naive_bayes import GaussianNB

    return GaussianNB(**params)


@register("mlp", "multi-layer perceptron (scikit-learn)")
def _mlp(**params):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(**{"max_iter": 500, **params})


@register("gbdt", "histogram gradient boosting")
def _gbdt(**params):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(**params)


@register_if_installed(registry, "torch_mlp", "PyTorch MLP: embedding, MC dropout, GPU when present (extra: deep)",
                       needs=("torch",))
def _torch_mlp(**params):
    from albench.deep.torch_learners import TorchMLPClassifier  # imports torch only now

    return TorchMLPClassifier(**params)


@register_if_installed(registry, "torch_cnn", "PyTorch small CNN on flattened images: embedding, MC dropout "
                       "(extra: deep)", needs=("torch",))
def _torch_cnn(**params):
    from albench.deep.torch_learners import TorchCNNClassifier

    return TorchCNNClassifier(**params)


def is_import_path(name: str) -> bool:
    return "." in name


def resolve(name: str):
    """The factory for a registered short name or a ``module.Class`` path."""
    if not is_import_path(name):
        return registry.get(name).factory
    module, _, attr = name.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise UnknownName(f"cannot import learner '{name}': {exc}") from None
    if not (isinstance(cls, type) and is_classifier(cls())):
        raise UnknownName(f"learner '{name}' is not a scikit-learn classifier")
    return cls


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
