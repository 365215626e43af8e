"""Information density (Settles and Craven 2008, "An analysis of active learning
strategies for sequence labeling tasks", EMNLP): uncertainty weighted by how
representative a point is of the pool,

    ID(x) = phi(x) * (mean_u sim(x, x_u)) ** beta.

phi is a base uncertainty (entropy, least confident, or the margin as
1 - (p1 - p2), all non-negative). The density depends on the pool only, so it
is computed once in ``prepare``, in memory linear in N:

- ``similarity: cosine`` (the paper's): exact mean over the whole pool in
  O(N d), since mean_u cos(x, x_u) = x^ . mean_u x_u^ for unit vectors x^.
  For non-negative features (the paper's) the mean is in [0, 1] and the
  score is exactly the paper's. For features of any sign the mean can be
  negative, where ``** beta`` is undefined for fractional beta, so it is
  clipped at 0: a point dissimilar to the pool on average gets score 0, and
  such points tie (broken at random) instead of being ordered by
  uncertainty. (An earlier version rescaled to (1 + cos) / 2; that changes the
  ranking of phi * density ** beta, since it adds a constant inside the
  power, so it was dropped.) A zero row has cosine 0 to everything;
- ``similarity: euclidean``: 1 / (1 + ||x - x_u||) as in modAL, averaged over
  the ``n_neighbors`` nearest pool points (a k-NN density, O(N k) memory), or
  over the whole pool when ``n_neighbors`` is null (exact, computed in row
  chunks: linear memory, quadratic time).

The mean runs over the whole pool (labelled points included), as modAL does.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import pairwise_distances_chunked
from sklearn.neighbors import NearestNeighbors

from albench.strategy import ScoreStrategy, register
from albench.strategies._common import check_choice, check_positive_int, same_pool
from albench.strategies.uncertainty import entropy_scores, least_confident_scores, margin_scores

BASES = {
    "entropy": entropy_scores,
    "least_confident": least_confident_scores,
    "margin": lambda proba: 1.0 + margin_scores(proba),  # 1 - (p1 - p2) >= 0
}
SIMILARITIES = ("cosine", "euclidean")
WORKING_MEMORY_MB = 64  # size of one chunk of the exact N x N pass


def cosine_density(X: np.ndarray) -> np.ndarray:
    """max(0, mean_u cos(x, x_u)) over every pool point u (x itself included); zero rows have cos 0."""
    norms = np.linalg.norm(X, axis=1)
    unit = X / np.where(norms > 0, norms, 1.0)[:, None]
    return np.maximum(unit @ unit.mean(axis=0), 0.0)


def euclidean_density(X: np.ndarray, n_neighbors: int | None = 10) -> np.ndarray:
    """mean of 1 / (1 + distance) to the ``n_neighbors`` nearest other points, or to all N points."""
    if n_neighbors is None:
        chunks = pairwise_distances_chunked(X, reduce_func=lambda D, start: (1.0 / (1.0 + D)).mean(axis=1),
                                            working_memory=WORKING_MEMORY_MB)
        return np.concatenate(list(chunks))
    k = min(n_neighbors, len(X) - 1)
    if k < 1:
        return np.ones(len(X))
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    return (1.0 / (1.0 + dist[:, 1:])).mean(axis=1)  # column 0 is the point itself


@register("information_density", "uncertainty x mean similarity to the pool ** beta (Settles & Craven 2008)")
class InformationDensity(ScoreStrategy):
    """Density-weighted uncertainty (Settles and Craven 2008). Params: ``beta`` (1.0),
    ``base`` (entropy | least_confident | margin), ``similarity`` (cosine | euclidean),
    ``n_neighbors`` (10, euclidean only; null: the whole pool)."""

    family = "information_density"

    def __init__(self, beta: float = 1.0, base: str = "entropy", similarity: str = "cosine",
                 n_neighbors: int | None = 10):
        super().__init__(beta=beta, base=base, similarity=similarity, n_neighbors=n_neighbors)
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta < 0:
            raise ValueError(f"information_density: beta must be a number >= 0; got {beta!r}")
        check_choice("information_density", "base", base, BASES)
        check_choice("information_density", "similarity", similarity, SIMILARITIES)
        if n_neighbors is not None:
            check_positive_int("information_density", "n_neighbors", n_neighbors)
        self.beta, self.base, self.similarity, self.n_neighbors = float(beta), base, similarity, n_neighbors
        self._pool = None

    def prepare(self, X, rng):
        Xf = np.asarray(X, dtype=float)
        self.density_ = cosine_density(Xf) if self.similarity == "cosine" else euclidean_density(Xf, self.n_neighbors)
        self._pool = X

    def scores(self, state):
        if not same_pool(self._pool, state.X):  # queried without prepare, or on another pool
            self.prepare(state.X, None)
        phi = BASES[self.base](state.proba_unlabelled())
        return phi * self.density_[state.unlabelled] ** self.beta
