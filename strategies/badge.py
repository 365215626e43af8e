"""BADGE: Batch Active learning by Diverse Gradient Embeddings (Ash et al. 2020, ICLR,
"Deep batch active learning by diverse, uncertain gradient lower bounds").

Each unlabelled point is represented by the gradient of the cross-entropy
loss, at the model's own predicted label y^, with respect to the weights of
the last linear layer: g(x) = (p(x) - e_y^) (outer) h(x), where h(x) is that
layer's input. The batch is seeded by k-means++ on these vectors, as in the
paper's code: the first point has the largest gradient norm, each further
point is drawn with probability proportional to its squared distance to the
nearest point already chosen. Large gradients mean uncertainty, spread means
diversity.

h(x) is the penultimate activation of a torch learner (``embed``) or of
scikit-learn's ``MLPClassifier`` (recomputed from ``coefs_`` and
``intercepts_``), and the features x themselves for linear models (logistic
regression: its only layer is linear). Any other learner has no last linear
layer; the features stand in for h(x) there. The bias's gradient is left out,
as in the paper's code.

The (n, C d) embedding is never materialised: with g_i = a_i (outer) h_i,
<g_i, g_j> = <a_i, a_j> <h_i, h_j>, so norms and distances cost O(n (C + d))
per chosen point.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from sklearn.neural_network import MLPClassifier

from albench.learners import AlignedClassifier
from albench.strategy import Strategy, register, top_k

ACTIVATIONS = {
    "identity": lambda z: z,
    "logistic": expit,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
}


def penultimate(model, X: np.ndarray) -> np.ndarray:
    """h(x), the input of the model's last linear layer (the features when there is none)."""
    if getattr(model, "supports_embedding", False):
        return np.asarray(model.embed(X), dtype=float)
    est = model.estimator_ if isinstance(model, AlignedClassifier) else model
    h = np.asarray(X, dtype=float)
    if isinstance(est, MLPClassifier):
        act = ACTIVATIONS[est.activation]
        for W, b in zip(est.coefs_[:-1], est.intercepts_[:-1]):
            h = act(h @ W + b)
    return h


def gradient_embedding(model, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The factors (A, H) of the gradient embedding: g_i = A_i (outer) H_i.

    A = p - onehot(argmax p), shape (n, C); H = ``penultimate(model, X)``, shape (n, d).
    """
    A = np.array(model.predict_proba(X), dtype=float)
    A[np.arange(len(A)), A.argmax(axis=1)] -= 1.0
    return A, penultimate(model, X)


def gradient_embedding_dense(model, X: np.ndarray) -> np.ndarray:
    """The (n, C d) gradient embeddings, row i = vec(A_i H_i^T); for small n and tests."""
    A, H = gradient_embedding(model, X)
    return (A[:, :, None] * H[:, None, :]).reshape(len(A), -1)


def kmeans_pp_seeds(A: np.ndarray, H: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k distinct rows by k-means++ on g_i = A_i (outer) H_i, first the largest norm (ties at random).

    When every remaining point coincides with a chosen one (all distances 0,
    e.g. a model that has seen one class has all-zero gradients), the rest are
    drawn uniformly from the points not chosen.
    """
    n = len(A)
    k = min(int(k), n)
    if k <= 0:
        return np.empty(0, dtype=np.intp)
    sq_a, sq_h = np.einsum("ij,ij->i", A, A), np.einsum("ij,ij->i", H, H)
    sq_norm = sq_a * sq_h
    chosen = np.zeros(n, dtype=bool)
    dist = np.full(n, np.inf)
    picks = [int(top_k(sq_norm, 1, rng)[0])]
    while True:
        c = picks[-1]
        chosen[c] = True
        to_c = np.maximum(sq_norm + sq_norm[c] - 2.0 * (A @ A[c]) * (H @ H[c]), 0.0)
        np.minimum(dist, to_c, out=dist)
        dist[chosen] = 0.0
        if len(picks) == k:
            return np.asarray(picks, dtype=np.intp)
        total = dist.sum()
        if total > 0 and np.isfinite(total):
            picks.append(int(rng.choice(n, p=dist / total)))
        else:
            picks.append(int(rng.choice(np.flatnonzero(~chosen))))


@register("badge", "BADGE: k-means++ on last-layer gradient embeddings (Ash et al. 2020)")
class Badge(Strategy):
    family = "badge"

    """BADGE (Ash et al. 2020); linear models, scikit-learn MLPs and torch learners' embeddings."""

    def query(self, state, batch_size, rng):
        A, H = gradient_embedding(state.model, state.X[state.unlabelled])
        return state.unlabelled[kmeans_pp_seeds(A, H, batch_size, rng)]
