"""Classifiers that adapt to labelled sets smaller than their defaults assume.

Pool-based AL starts from one labelled point per class (``initial_size:
per_class``). k-NN with k = 5 cannot predict from 3 points, and a calibrated
SVM cannot cross-validate its calibration on one point per class. These
wrappers keep the user's parameters (``get_params`` reports them) and say in
their docstrings what they do when the labelled set is too small.
"""

from __future__ import annotations

from contextlib import contextmanager
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC
from sklearn.utils._param_validation import Interval


class AdaptiveKNeighborsClassifier(KNeighborsClassifier):
    """k-NN whose k shrinks to the labelled set size: ``min(n_neighbors, n_samples)``.

    ``n_neighbors_`` is the k used by the last ``fit``; from ``n_neighbors``
    labelled points on, it is plain k-NN.
    """

    @contextmanager
    def _k(self, k: int):
        """``n_neighbors`` set to ``k`` inside the block (scikit-learn reads it in fit and predict)."""
        requested, self.n_neighbors = self.n_neighbors, k
        try:
            yield
        finally:
            self.n_neighbors = requested

    def fit(self, X, y):
        self.n_neighbors_ = min(self.n_neighbors, len(X))
        with self._k(self.n_neighbors_):
            return super().fit(X, y)

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        return super().kneighbors(X, n_neighbors or self.n_neighbors_, return_distance)

    def predict_proba(self, X):
        with self._k(self.n_neighbors_):
            return super().predict_proba(X)

    def predict(self, X):
        with self._k(self.n_neighbors_):
            return super().predict(X)


class CalibratedSVC(ClassifierMixin, BaseEstimator):
    """An SVM with Platt-scaled (sigmoid) probabilities that works from one point per class.

    scikit-learn 1.9 deprecates ``SVC(probability=True)`` for
    ``CalibratedClassifierCV(SVC(), ensemble=False)``, whose cross-validation
    needs two points of every class. With ``cv`` folds (default 5) reduced to
    the smallest class count, calibration is cross-validated as scikit-learn
    recommends; when some class has a single labelled point, the sigmoid is
    fitted on the SVM's own decision values on its training points (in-sample,
    so over-confident: ``calibration_`` says which was used).
    """

    # SVC's checks for the parameters passed on to it (``C: -1`` is refused before a grid runs), and cv's
    _parameter_constraints = {
        **{k: v for k, v in SVC._parameter_constraints.items()
           if k in ("C", "kernel", "degree", "gamma", "coef0", "shrinking", "tol", "class_weight", "max_iter",
                    "random_state")},
        "cv": [Interval(Integral, 2, None, closed="left")],
    }

    def __init__(self, C=1.0, kernel="rbf", degree=3, gamma="scale", coef0=0.0, shrinking=True, tol=1e-3,
                 class_weight=None, max_iter=-1, random_state=None, cv=5):
        self.C, self.kernel, self.degree, self.gamma, self.coef0 = C, kernel, degree, gamma, coef0
        self.shrinking, self.tol, self.class_weight, self.max_iter = shrinking, tol, class_weight, max_iter
        self.random_state, self.cv = random_state, cv

    def _svc(self) -> SVC:
        return SVC(C=self.C, kernel=self.kernel, degree=self.degree, gamma=self.gamma, coef0=self.coef0,
                   shrinking=self.shrinking, tol=self.tol, class_weight=self.class_weight,
                   max_iter=self.max_iter, random_state=self.random_state)

    def fit(self, X, y):
        y = np.asarray(y)
        _, counts = np.unique(y, return_counts=True)
        folds = int(min(self.cv, counts.min()))
        if folds >= 2:
            self.calibration_ = f"cross-validated ({folds} folds)"
            self.model_ = CalibratedClassifierCV(self._svc(), method="sigmoid", cv=folds, ensemble=False)
            self.model_.fit(X, y)
        else:
            self.calibration_ = "in-sample"
            every = np.arange(len(y))  # one "split" whose calibration rows are the training rows
            self.model_ = CalibratedClassifierCV(FrozenEstimator(self._svc().fit(X, y)), method="sigmoid",
                                                 cv=[(every, every)])
            self.model_.fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def decision_function(self, X):
        return self.model_.calibrated_classifiers_[0].estimator.decision_function(X)

    def predict_proba(self, X):
        return self.model_.predict_proba(X)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
