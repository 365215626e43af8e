"""Diversity strategies: core-set greedy k-center and k-means on the pool.

``coreset``: Sener and Savarese (2018), "Active learning for convolutional
neural networks: a core-set approach" (ICLR), the greedy 2-approximation of
k-center: repeatedly pick the unlabelled point farthest from its nearest
labelled-or-picked point. The robust mixed-integer refinement of the paper is
not implemented. The distance of every pool point to its nearest labelled
point is kept between cycles and updated only with the points labelled since
(one chunked ``pairwise_distances_argmin_min`` pass); each greedy pick costs
one O(N d) product. Memory stays O(N). On a torch learner (``space: auto``)
the distances are in its embedding, which changes with every fit, so they are
then recomputed each cycle.

``kmeans``: cluster the unlabelled points into k = batch size clusters and
take the point nearest each centroid (the diversity baseline of e.g. Zhdanov
2019, without uncertainty weights). Both break ties (equally far points,
duplicates) at random with the strategy's rng, never by lowest index. Lloyd's k-means up to ``minibatch_above``
points, mini-batch k-means beyond.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import pairwise_distances_argmin_min

from albench.strategy import Strategy, random_argmax, register
from albench.strategies._common import (SPACES, check_choice, check_positive_int, fill_at_random, representation,
                               same_pool, seed_of)


def min_sq_distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Squared Euclidean distance of each row of X to its nearest row of X[centers] (inf without centers)."""
    if not len(centers):
        return np.full(len(X), np.inf)
    _, dist = pairwise_distances_argmin_min(X, X[centers])
    return dist**2


def k_center_greedy(X: np.ndarray, min_sq: np.ndarray, eligible: np.ndarray, k: int,
                    rng: np.random.Generator, sq_norms: np.ndarray | None = None) -> np.ndarray:
    """k indices of eligible rows of X, each the farthest from the centers and the picks so far.

    ``min_sq``: squared distance of every row to its nearest center (inf if none);
    ``eligible``: bool mask of the rows that may be picked. Neither is modified.
    Equally far rows are tied and broken at random with ``rng`` (so without any
    center, the first pick is a random eligible row).
    """
    sq_norms = np.einsum("ij,ij->i", X, X) if sq_norms is None else sq_norms
    dist = np.where(eligible, min_sq, -np.inf)
    picks = []
    for _ in range(min(k, int(eligible.sum()))):
        best = random_argmax(dist, rng)  # ties (duplicates, no center yet: all inf) at random
        picks.append(best)
        to_best = np.maximum(sq_norms - 2.0 * (X @ X[best]) + sq_norms[best], 0.0)
        np.minimum(dist, to_best, out=dist)  # -inf (ineligible, picked) stays -inf
        dist[best] = -np.inf
    return np.asarray(picks, dtype=np.intp)


@register("coreset", "core-set: greedy k-center on the features or embedding (Sener & Savarese 2018)")
class CoreSet(Strategy):
    """Greedy k-center (Sener and Savarese 2018). Params: ``space`` (auto | features)."""

    family = "coreset"

    def __init__(self, space: str = "auto"):
        super().__init__(space=space)
        check_choice("coreset", "space", space, SPACES)
        self.space = space
        self._pool = None

    def prepare(self, X, rng):
        self._pool = X
        self._sq_norms = np.einsum("ij,ij->i", X, X)
        self._centers = np.zeros(len(X), dtype=bool)  # the points self._min_sq measures to
        self._min_sq = np.full(len(X), np.inf)

    def _pool_min_sq(self, X, labelled) -> np.ndarray:
        """Distances to the labelled set, updated from the previous cycle's when it grew."""
        if not same_pool(self._pool, X):
            self.prepare(X, None)
        if (self._centers & ~labelled).any():  # not a superset of the last cycle's: start afresh
            self._centers[:] = False
            self._min_sq[:] = np.inf
        new = np.flatnonzero(labelled & ~self._centers)
        if len(new):
            np.minimum(self._min_sq, min_sq_distances(X, new), out=self._min_sq)
            self._centers[new] = True
        return self._min_sq

    def query(self, state, batch_size, rng):
        Z, pool_only = representation(state, self.space)
        if pool_only:
            min_sq, sq_norms = self._pool_min_sq(state.X, state.labelled), self._sq_norms
        else:
            min_sq, sq_norms = min_sq_distances(Z, np.flatnonzero(state.labelled)), None
        return k_center_greedy(Z, min_sq, ~state.labelled, batch_size, rng, sq_norms)


def nearest_to_centroids(X: np.ndarray, k: int, rng: np.random.Generator, minibatch_above: int = 10_000) -> np.ndarray:
    """Row positions of the point nearest each of k k-means centroids (at most k, distinct).

    The k-means seed comes from ``rng``; points equally near a centroid are tied and broken at random.
    """
    seed = seed_of(rng)
    algo = (MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=1, batch_size=2048)
            if len(X) > minibatch_above else KMeans(n_clusters=k, random_state=seed, n_init=1))
    with warnings.catch_warnings():  # fewer distinct points than k: handled by the caller's fill
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = algo.fit_predict(X)
    dist = np.take_along_axis(algo.transform(X), labels[:, None], axis=1).ravel()
    order = np.lexsort((rng.permutation(len(X)), dist, labels))  # by cluster, nearest first, ties at random
    _, first = np.unique(labels[order], return_index=True)
    return order[first]


@register("kmeans", "k-means on the unlabelled features, the point nearest each centroid (diversity)")
class KMeansDiversity(Strategy):
    """k-means with k = batch size on the unlabelled points; one pick per cluster.
    Params: ``minibatch_above`` (10000: mini-batch k-means on larger pools)."""

    def __init__(self, minibatch_above: int = 10_000):
        super().__init__(minibatch_above=minibatch_above)
        self.minibatch_above = check_positive_int("kmeans", "minibatch_above", minibatch_above)

    def query(self, state, batch_size, rng):
        candidates = state.unlabelled
        k = min(int(batch_size), len(candidates))
        if k == 0:
            return np.empty(0, dtype=np.intp)
        if k == len(candidates):
            return candidates.copy()
        picked = candidates[nearest_to_centroids(state.X[candidates], k, rng, self.minibatch_above)]
        return fill_at_random(picked, candidates, k, rng)
