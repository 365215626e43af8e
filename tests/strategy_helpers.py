"""Helpers shared by the native strategies' tests: a fitted query state, masks, entropy, one BLAS thread."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from albench.learners import AlignedClassifier, make_learner
from albench.strategy import QueryState


@pytest.fixture(autouse=True)
def one_thread():
    """One BLAS thread, as the executors run: on pools this small, threads only cost."""
    with threadpool_limits(limits=1):
        yield


def h(*p):
    """Shannon entropy, natural log."""
    return -sum(x * np.log(x) for x in p if x > 0)


def make_state(X, y, labelled, learner="logreg", n_classes=None, **params):
    labelled = np.asarray(labelled, dtype=bool)
    n_classes = n_classes or int(y.max()) + 1
    model = AlignedClassifier(make_learner(learner, params, random_state=0), n_classes)
    model.fit(X[labelled], y[labelled])
    return QueryState(model=model, X=X, labelled=labelled, y=np.where(labelled, y, -1), classes=np.arange(n_classes),
                      make_learner=lambda: make_learner(learner, params, random_state=0))


def mask(n, idx):
    m = np.zeros(n, dtype=bool)
    m[list(idx)] = True
    return m
