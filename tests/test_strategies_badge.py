"""BADGE: the gradient embedding against numeric gradients, and its k-means++ seeding."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from albench.learners import AlignedClassifier
from albench.strategies.badge import gradient_embedding, gradient_embedding_dense, kmeans_pp_seeds, penultimate
from strategy_helpers import one_thread  # noqa: F401  (one_thread: autouse)


# --- BADGE ------------------------------------------------------------------------------


def numeric_last_layer_gradient(weights: np.ndarray, proba_of, x: np.ndarray, label: int, eps=1e-6) -> np.ndarray:
    """Central differences of -log p(label | x) w.r.t. every entry of ``weights`` (perturbed in place)."""
    grad = np.zeros_like(weights)
    for idx in np.ndindex(weights.shape):
        old = weights[idx]
        weights[idx] = old + eps
        up = -np.log(proba_of(x)[label])
        weights[idx] = old - eps
        down = -np.log(proba_of(x)[label])
        weights[idx] = old
        grad[idx] = (up - down) / (2 * eps)
    return grad


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", ["logreg", "mlp"])
def test_badge_embedding_is_the_last_layer_gradient(kind):
    X, y = make_blobs(90, centers=3, n_features=4, random_state=2, cluster_std=3.0)
    if kind == "logreg":
        est = LogisticRegression(max_iter=1000).fit(X, y)
        weights = est.coef_  # (C, d): logits = W x + b
        layout = lambda g: g  # (C, d)
    else:
        est = MLPClassifier(hidden_layer_sizes=(5,), activation="tanh", max_iter=300, random_state=0).fit(X, y)
        weights = est.coefs_[-1]  # (hidden, C): logits = h W + b
        layout = lambda g: g.T
    model = AlignedClassifier(est, 3)
    model.estimator_, model.columns_ = est, np.arange(3)  # fitted above, wrapped as the AL loop does
    dense = gradient_embedding_dense(model, X[:6])
    for i in range(6):
        x = X[i]
        label = int(est.predict_proba(x[None])[0].argmax())
        numeric = numeric_last_layer_gradient(weights, lambda v: est.predict_proba(v[None])[0], x, label)
        np.testing.assert_allclose(dense[i], layout(numeric).ravel(), atol=1e-6)
    if kind == "mlp":  # the penultimate layer recomputed from coefs_ and intercepts_
        np.testing.assert_allclose(penultimate(model, X[:3]), np.tanh(X[:3] @ est.coefs_[0] + est.intercepts_[0]))


def test_badge_factorised_seeding_matches_the_dense_embedding():
    rng = np.random.default_rng(0)
    A, H = rng.normal(size=(40, 3)), rng.normal(size=(40, 5))
    G = (A[:, :, None] * H[:, None, :]).reshape(40, -1)
    picks = kmeans_pp_seeds(A, H, 6, np.random.default_rng(1))
    assert picks[0] == np.argmax((G**2).sum(axis=1))  # the largest gradient norm first
    assert len(set(picks)) == 6
    # the second pick follows D^2 sampling: frequencies over seeds against the dense squared distances
    A2, H2 = np.array([[3.0], [1.0], [0.0], [-1.0]]), np.array([[1.0], [1.0], [1.0], [1.0]])
    d2 = np.array([0.0, 4.0, 9.0, 16.0])  # to the first pick, g = 3
    draws = [kmeans_pp_seeds(A2, H2, 2, np.random.default_rng(s))[1] for s in range(3000)]
    freq = np.bincount(draws, minlength=4) / len(draws)
    np.testing.assert_allclose(freq, d2 / d2.sum(), atol=0.03)


def test_badge_with_zero_gradients_still_returns_distinct_points():
    A, H = np.zeros((10, 2)), np.ones((10, 3))  # a model that saw one class: p = onehot, all g = 0
    picks = kmeans_pp_seeds(A, H, 7, np.random.default_rng(0))
    assert len(set(picks.tolist())) == 7


class EmbeddingLogReg(LogisticRegression):
    """A linear model that also offers an embedding, as a torch learner does."""

    def embed(self, X):
        return np.asarray(X)[:, :2] * 10.0


def test_badge_uses_the_model_embedding_when_there_is_one():
    X, y = make_blobs(60, centers=2, n_features=4, random_state=0)
    model = AlignedClassifier(EmbeddingLogReg(), 2).fit(X[:20], y[:20])
    A, H = gradient_embedding(model, X)
    np.testing.assert_allclose(H, X[:, :2] * 10.0)
    np.testing.assert_allclose(A.sum(axis=1), 0.0, atol=1e-12)  # p - onehot sums to zero
