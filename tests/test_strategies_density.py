"""Information density against hand-computed cases, dense formulas and modAL."""

from __future__ import annotations

import numpy as np
import pytest
from modAL.density import information_density as modal_information_density
from sklearn.datasets import make_blobs
from sklearn.metrics import pairwise_distances

from albench.strategy import create_strategy
from albench.strategies.density import cosine_density, euclidean_density
from albench.strategies.uncertainty import entropy_scores
from strategy_helpers import make_state, mask, one_thread  # noqa: F401  (one_thread: autouse)


# --- information density --------------------------------------------------------------


def test_information_density_hand_computed():
    # unit vectors e1, e2 and (1,1)/sqrt 2: cos = [[1, 0, r], [0, 1, r], [r, r, 1]] with r = 1/sqrt 2
    X = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
    r = 1 / np.sqrt(2)
    expected = [(1 + 0 + r) / 3, (0 + 1 + r) / 3, (r + r + 1) / 3]  # Settles & Craven: the plain mean
    np.testing.assert_allclose(cosine_density(X), expected)
    # Euclidean, whole pool: distances [[0, sqrt 13, sqrt 2], [sqrt 13, 0, sqrt 5], [sqrt 2, sqrt 5, 0]]
    s13, s2, s5 = np.sqrt(13), np.sqrt(2), np.sqrt(5)
    sim = lambda d: 1 / (1 + d)
    np.testing.assert_allclose(euclidean_density(X, None), [(1 + sim(s13) + sim(s2)) / 3,
                                                            (sim(s13) + 1 + sim(s5)) / 3,
                                                            (sim(s2) + sim(s5) + 1) / 3])
    np.testing.assert_allclose(euclidean_density(X, 1), [sim(s2), sim(s5), sim(s2)])


def test_information_density_against_dense_formulas_and_modal():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6))
    X[7] = 0.0  # a zero row has cosine 0 to everything
    unit = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-300)
    np.testing.assert_allclose(cosine_density(X), np.maximum((unit @ unit.T).mean(axis=1), 0.0))
    assert (cosine_density(X) == 0).sum() > 10  # signed features: some means are negative, clipped at 0
    D = pairwise_distances(X)
    np.testing.assert_allclose(euclidean_density(X, None), modal_information_density(X, "euclidean"))
    knn = np.sort(D, axis=1)[:, 1:6]
    np.testing.assert_allclose(euclidean_density(X, 5), (1 / (1 + knn)).mean(axis=1))


@pytest.mark.parametrize("params", [{}, {"beta": 2.0, "similarity": "euclidean", "n_neighbors": None}])
def test_information_density_picks_the_top_of_the_dense_score(params):
    X, y = make_blobs(150, centers=3, n_features=4, random_state=1)
    state = make_state(X, y, mask(150, [0, 1, 2, 3, 4, 5]))
    s = create_strategy("information_density", params)
    s.prepare(X, np.random.default_rng(0))
    picks = s.query(state, 5, np.random.default_rng(0))
    if params.get("similarity") == "euclidean":
        density = (1 / (1 + pairwise_distances(X))).mean(axis=1)
    else:
        unit = X / np.linalg.norm(X, axis=1, keepdims=True)
        density = ((1 + unit @ unit.T) / 2).mean(axis=1)
    score = entropy_scores(state.model.predict_proba(X)) * density ** params.get("beta", 1.0)
    score[state.labelled] = -np.inf
    np.testing.assert_allclose(np.sort(score[picks]), np.sort(score)[-5:])
