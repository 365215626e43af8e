"""TypiClust (Hacohen, Dekel and Weinshall 2022, "Active learning on a budget: opposite
strategies suit high and low budgets", ICML): for small budgets, label typical points
of distinct regions.

Each cycle clusters the whole pool by k-means into K = min(n_labelled + B,
``max_clusters``) clusters (B the batch size), orders the clusters by how few
labelled points they hold, then by size (largest first; remaining ties at
random), keeps only clusters of more than ``min_cluster_size`` points (the
authors' code, avihu111/TypiClust ``pycls/al/typiclust.py``: ``cluster_size >
MIN_CLUSTER_SIZE``), and takes from each cluster in turn its most typical
unlabelled point (ties at random):

    typicality(x) = 1 / (mean distance from x to its k nearest unlabelled neighbours in the cluster + 1e-5),

with k = min(``n_neighbors``, n // 2), n the cluster's unlabelled points not yet
picked, as in that code (K_NN = 20, MAX_NUM_CLUSTERS = 500, MIN_CLUSTER_SIZE
= 5). Deviations from that code, on purpose: the distance is Euclidean, as in
the paper's definition (the code's faiss ``IndexFlatL2`` averages *squared*
distances, which can rank points differently); a cluster whose unlabelled
points are used up is skipped (the code would fail); if every cluster is too
small, or the batch outgrows them, the rest of the batch is random. The paper
clusters a self-supervised embedding; here it is the features, or a torch
learner's embedding with ``space: auto``. Since K grows with the labelled set, the
clustering is redone every cycle; mini-batch k-means is used above
``minibatch_above`` points, and k-NN runs only inside the chosen clusters.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import NearestNeighbors

from albench.strategy import Strategy, random_argmax, register
from albench.strategies._common import SPACES, check_choice, check_positive_int, fill_at_random, representation, seed_of


def typicality(X: np.ndarray, n_neighbors: int) -> np.ndarray:
    """1 / (mean distance to the ``n_neighbors`` nearest other rows + 1e-5); 1e5 with no neighbours."""
    k = min(n_neighbors, len(X) - 1)
    if k < 1:
        return np.full(len(X), 1e5)
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    return 1.0 / (dist[:, 1:].mean(axis=1) + 1e-5)  # column 0 is the point itself


def typiclust_picks(X: np.ndarray, clusters: np.ndarray, labelled: np.ndarray, k: int, rng: np.random.Generator,
                    n_neighbors: int = 20, min_cluster_size: int = 5) -> np.ndarray:
    """Up to k unlabelled rows: the most typical of each cluster of more than ``min_cluster_size`` points,
    clusters in TypiClust's order; ties (between clusters and between points) at random."""
    ids, sizes = np.unique(clusters, return_counts=True)
    n_labelled = np.bincount(clusters[labelled], minlength=ids.max() + 1)[ids]
    keep = sizes > min_cluster_size  # strictly larger, as the authors' code
    ids, sizes, n_labelled = ids[keep], sizes[keep], n_labelled[keep]
    order = ids[np.lexsort((rng.permutation(len(ids)), -sizes, n_labelled))]
    unlabelled = np.flatnonzero(~labelled)
    by_cluster = unlabelled[np.argsort(clusters[unlabelled], kind="stable")]
    bounds = np.searchsorted(clusters[by_cluster], [order, order + 1])
    members = [by_cluster[lo:hi] for lo, hi in zip(*bounds)]  # unlabelled members, in `order`
    picks: list[int] = []
    while len(picks) < k and any(len(m) for m in members):  # round-robin over the clusters
        for i, cluster in enumerate(members):
            if len(picks) == k or not len(cluster):
                continue
            best = random_argmax(typicality(X[cluster], min(n_neighbors, len(cluster) // 2)), rng)
            picks.append(int(cluster[best]))
            members[i] = np.delete(cluster, best)
    return np.asarray(picks, dtype=np.intp)


@register("typiclust", "TypiClust: the most typical point of the largest uncovered k-means clusters "
          "(Hacohen et al. 2022)")
class TypiClust(Strategy):
    """TypiClust (Hacohen et al. 2022). Params: ``n_neighbors`` (20), ``max_clusters`` (500),
    ``min_cluster_size`` (5: clusters of at most 5 points are skipped; 0 keeps all), ``space`` (auto | features), ``minibatch_above`` (10000)."""

    family = "typiclust"

    def __init__(self, n_neighbors: int = 20, max_clusters: int = 500, min_cluster_size: int = 5,
                 space: str = "auto", minibatch_above: int = 10_000):
        super().__init__(n_neighbors=n_neighbors, max_clusters=max_clusters, min_cluster_size=min_cluster_size,
                         space=space, minibatch_above=minibatch_above)
        self.n_neighbors = check_positive_int("typiclust", "n_neighbors", n_neighbors)
        self.max_clusters = check_positive_int("typiclust", "max_clusters", max_clusters)
        self.min_cluster_size = check_positive_int("typiclust", "min_cluster_size", min_cluster_size, minimum=0)
        self.minibatch_above = check_positive_int("typiclust", "minibatch_above", minibatch_above)
        check_choice("typiclust", "space", space, SPACES)
        self.space = space

    def query(self, state, batch_size, rng):
        k = min(int(batch_size), len(state.unlabelled))
        Z, _ = representation(state, self.space)
        n_clusters = min(int(state.labelled.sum()) + k, self.max_clusters, len(Z))
        seed = seed_of(rng)
        algo = (MiniBatchKMeans(n_clusters=n_clusters, random_state=seed, n_init=1, batch_size=2048)
                if len(Z) > self.minibatch_above else KMeans(n_clusters=n_clusters, random_state=seed, n_init=1))
        with warnings.catch_warnings():  # fewer distinct points than clusters
            warnings.simplefilter("ignore", ConvergenceWarning)
            clusters = algo.fit_predict(Z)
        picks = typiclust_picks(Z, clusters, np.asarray(state.labelled), k, rng, self.n_neighbors,
                                self.min_cluster_size)
        return fill_at_random(picks, state.unlabelled, k, rng)
