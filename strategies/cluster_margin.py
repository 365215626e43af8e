"""Cluster-margin (Citovsky et al. 2021, "Batch active learning at scale", NeurIPS).

Once per run, the pool is clustered by hierarchical agglomerative clustering
(average linkage in the paper). Each cycle takes the ``margin_factor`` x batch
unlabelled points of smallest margin, groups them by cluster, and fills the
batch round-robin over those groups, smallest group first, a random member of
each group per round: uncertain points, spread over the pool.

Memory: agglomerative clustering needs the pairwise distances of the points it
clusters, so it runs on a random subsample of at most ``max_cluster_points``
points (exact below that) and every other point joins the cluster of its
nearest subsampled point (one k-NN query, linear memory). The number of
clusters is ``n_clusters`` (default sqrt(N)); the paper sets a distance
threshold instead. The clustering is on the input features, not a network
embedding, so it can be done once before the first model exists.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.neighbors import NearestNeighbors

from albench.strategy import Strategy, register, top_k
from albench.strategies._common import check_choice, check_positive_int, same_pool
from albench.strategies.uncertainty import margin_scores

LINKAGES = ("average", "complete", "single", "ward")


def pool_clusters(X: np.ndarray, n_clusters: int, rng: np.random.Generator, max_points: int = 2000,
                  linkage: str = "average") -> np.ndarray:
    """A cluster label for every row of X (agglomerative on a subsample, nearest subsample point for the rest)."""
    n = len(X)
    sample = np.sort(rng.choice(n, size=max_points, replace=False)) if n > max_points else np.arange(n)
    n_clusters = max(1, min(n_clusters, len(sample)))
    if n_clusters == 1:
        return np.zeros(n, dtype=np.intp)
    labels = AgglomerativeClustering(n_clusters=n_clusters, linkage=linkage).fit_predict(X[sample])
    if len(sample) == n:
        return labels
    nearest = NearestNeighbors(n_neighbors=1).fit(X[sample]).kneighbors(X, return_distance=False)[:, 0]
    return labels[nearest]


def round_robin(clusters: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of k items taken round-robin over their clusters: smallest cluster first
    (ties at random), a random not-yet-taken member of each cluster per round."""
    n = len(clusters)
    perm = rng.permutation(n)
    ids, inv, counts = np.unique(clusters[perm], return_inverse=True, return_counts=True)
    cluster_rank = np.empty(len(ids), dtype=np.intp)
    cluster_rank[np.lexsort((rng.permutation(len(ids)), counts))] = np.arange(len(ids))
    by_cluster = np.argsort(inv, kind="stable")  # random order within each cluster, from perm
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    round_of = np.empty(n, dtype=np.intp)
    round_of[by_cluster] = np.arange(n) - starts[inv[by_cluster]]
    order = np.lexsort((cluster_rank[inv], round_of))
    return perm[order[:k]]


@register("cluster_margin", "smallest-margin candidates, round-robin over pool clusters (Citovsky et al. 2021)")
class ClusterMargin(Strategy):
    """Cluster-margin (Citovsky et al. 2021). Params: ``margin_factor`` (10: candidates per batch slot),
    ``n_clusters`` (null: sqrt(N)), ``linkage`` (average), ``max_cluster_points`` (2000)."""

    known_failures = {"check_memory_linear_in_pool": "agglomerative clustering needs the pairwise distances of the "
                      "points it clusters: quadratic up to max_cluster_points (2000: about 17 MiB), constant above"}

    def __init__(self, margin_factor: int = 10, n_clusters: int | None = None, linkage: str = "average",
                 max_cluster_points: int = 2000):
        super().__init__(margin_factor=margin_factor, n_clusters=n_clusters, linkage=linkage,
                         max_cluster_points=max_cluster_points)
        self.margin_factor = check_positive_int("cluster_margin", "margin_factor", margin_factor)
        self.n_clusters = None if n_clusters is None else check_positive_int("cluster_margin", "n_clusters",
                                                                             n_clusters)
        check_choice("cluster_margin", "linkage", linkage, LINKAGES)
        self.linkage = linkage
        self.max_cluster_points = check_positive_int("cluster_margin", "max_cluster_points", max_cluster_points,
                                                     minimum=2)
        self._pool = None

    def prepare(self, X, rng):
        n_clusters = self.n_clusters or max(2, round(np.sqrt(len(X))))
        self.clusters_ = pool_clusters(np.asarray(X, dtype=float), n_clusters, rng, self.max_cluster_points,
                                       self.linkage)
        self._pool = X

    def query(self, state, batch_size, rng):
        if not same_pool(self._pool, state.X):  # queried without prepare, or on another pool
            self.prepare(state.X, rng)
        n_candidates = min(len(state.unlabelled), self.margin_factor * int(batch_size))
        candidates = state.unlabelled[top_k(margin_scores(state.proba_unlabelled()), n_candidates, rng)]
        return candidates[round_robin(self.clusters_[candidates], batch_size, rng)]
