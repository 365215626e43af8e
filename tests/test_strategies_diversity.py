"""Diversity strategies (core-set, k-means, TypiClust, cluster-margin) against hand-computed cases and brute force."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import pairwise_distances

from albench.learners import AlignedClassifier, make_learner
from albench.strategy import QueryState, create_strategy
from albench.strategies.cluster_margin import pool_clusters, round_robin
from albench.strategies.coreset import k_center_greedy, min_sq_distances, nearest_to_centroids
from albench.strategies.typiclust import typicality, typiclust_picks
from strategy_helpers import make_state, mask, one_thread  # noqa: F401  (one_thread: autouse)


# --- core-set ------------------------------------------------------------------------


def test_k_center_greedy_on_a_line():
    X = np.array([[0.0], [1.0], [2.0], [4.0], [10.0]])
    labelled = mask(5, [0])
    min_sq = min_sq_distances(X, np.flatnonzero(labelled))
    np.testing.assert_allclose(min_sq, [0, 1, 4, 16, 100])
    # farthest from {0} is 10; then 4 (4 from 0, 6 from 10); then 2 (2 from 0 and from 4; 1 is 1 from 0)
    picks = k_center_greedy(X, min_sq, ~labelled, 3, np.random.default_rng(0))
    assert picks.tolist() == [4, 3, 2]


def test_coreset_strategy_hand_computed_and_its_cached_distances():
    # labelled (0, 0); distances 10, 10.05, 5, 7.07: first (10, 1); then (5, 5) is 6.40 from (10, 1)
    # while (0, 5) stays 5 and (10, 0) drops to 1; then (0, 5) (5 from both); then (10, 0)
    X = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 1.0], [0.0, 5.0], [5.0, 5.0]])
    y = np.array([0, 1, 1, 0, 1])
    s = create_strategy("coreset")
    s.prepare(X, np.random.default_rng(0))
    assert s.query(make_state(X, y, mask(5, [0])), 4, np.random.default_rng(0)).tolist() == [2, 4, 3, 1]
    # the next cycle reuses the stored distances, updated with the new labels: same as a fresh strategy
    grown = make_state(X, y, mask(5, [0, 2]))
    fresh = create_strategy("coreset")
    fresh.prepare(X, np.random.default_rng(0))
    assert s.query(grown, 2, np.random.default_rng(1)).tolist() == [4, 3]
    assert fresh.query(grown, 2, np.random.default_rng(1)).tolist() == [4, 3]
    # a labelled set that is not a superset (another run's state) is recomputed, not reused
    other = make_state(X, y, mask(5, [1, 3]))  # distances: (0, 0) 5, (10, 1) 1, (5, 5) 5 -> a tie, at random
    batches = {tuple(s.query(other, 3, np.random.default_rng(seed)).tolist()) for seed in range(8)}
    assert batches == {(0, 4, 2), (4, 0, 2)}


def test_k_center_greedy_against_brute_force_on_random_points():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 5))
    labelled = mask(200, rng.choice(200, 7, replace=False))
    picks = k_center_greedy(X, min_sq_distances(X, np.flatnonzero(labelled)), ~labelled, 12, rng)
    D = pairwise_distances(X)
    centers = list(np.flatnonzero(labelled))
    for p in picks:  # each pick maximises the distance to the nearest center so far
        d = D[:, centers].min(axis=1)
        d[labelled] = -1
        d[centers] = -1
        assert d[p] == pytest.approx(d.max())
        centers.append(p)
    assert len(set(picks)) == 12 and not labelled[picks].any()


# --- k-means diversity ------------------------------------------------------------------


def test_kmeans_picks_the_point_nearest_each_blob_centre():
    X, blob = make_blobs(300, centers=[[0, 0], [20, 0], [0, 20]], cluster_std=1.0, random_state=0)
    picks = nearest_to_centroids(X, 3, np.random.default_rng(0))
    assert sorted(blob[picks]) == [0, 1, 2]
    for p in picks:
        members = X[blob == blob[p]]
        centroid = members.mean(axis=0)  # k-means recovers each blob exactly here
        assert np.linalg.norm(X[p] - centroid) == pytest.approx(np.linalg.norm(members - centroid, axis=1).min())


# --- TypiClust ------------------------------------------------------------------------------


def test_typicality_against_brute_force():
    X = np.random.default_rng(0).normal(size=(30, 3))
    D = pairwise_distances(X)
    expected = 1 / (np.sort(D, axis=1)[:, 1:6].mean(axis=1) + 1e-5)
    np.testing.assert_allclose(typicality(X, 5), expected)


def test_typiclust_cluster_order_and_round_robin():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(22, 2))
    clusters = np.array([0] * 6 + [1] * 6 + [2] * 7 + [3] * 3)  # cluster 3 is below min_cluster_size
    labelled = mask(22, [0])  # cluster 0 is covered
    picks = typiclust_picks(X, clusters, labelled, 4, rng, n_neighbors=20, min_cluster_size=5)
    # uncovered first, larger first: 2 (size 7), 1 (size 6); then covered 0; then 2 again
    assert clusters[picks].tolist() == [2, 1, 0, 2]
    first = np.flatnonzero(clusters == 2)
    assert picks[0] == first[np.argmax(typicality(X[first], 3))]  # k = min(20, 7 // 2)
    rest0 = np.flatnonzero((clusters == 0) & ~labelled)
    assert picks[2] == rest0[np.argmax(typicality(X[rest0], 2))]


def test_typiclust_picks_one_typical_point_per_blob():
    X, blob = make_blobs(300, centers=[[0, 0], [30, 0], [0, 30]], cluster_std=1.0, random_state=4)
    state = QueryState(model=AlignedClassifier(make_learner("logreg"), 3).fit(X[:1], blob[:1]), X=X,
                       labelled=mask(300, []), y=np.full(300, -1), classes=np.arange(3))
    picks = create_strategy("typiclust").query(state, 3, np.random.default_rng(0))
    assert sorted(blob[picks]) == [0, 1, 2]
    for p in picks:  # the densest point of its blob is near the blob's centre
        centre = X[blob == blob[p]].mean(axis=0)
        assert np.linalg.norm(X[p] - centre) < 0.8


# --- cluster-margin ---------------------------------------------------------------------------


def test_round_robin_smallest_cluster_first():
    clusters = np.array([0, 0, 0, 1, 1, 2])
    for seed in range(5):
        picks = round_robin(clusters, 5, np.random.default_rng(seed))
        assert clusters[picks].tolist() == [2, 1, 0, 1, 0]
        assert len(set(picks.tolist())) == 5
    assert sorted(round_robin(clusters, 10, np.random.default_rng(0)).tolist()) == list(range(6))


def test_pool_clusters_recover_blobs_with_and_without_subsampling():
    X, blob = make_blobs(900, centers=[[0, 0], [40, 0], [0, 40]], cluster_std=1.0, random_state=0)
    for max_points in (2000, 100):  # exact; subsample + nearest-point assignment
        labels = pool_clusters(X, 3, np.random.default_rng(0), max_points=max_points)
        assert len(set(zip(labels, blob))) == 3  # a one-to-one map between clusters and blobs


def test_cluster_margin_takes_small_margin_points_spread_over_clusters():
    X, y = make_blobs(400, centers=4, n_features=2, random_state=5, cluster_std=2.5)
    state = make_state(X, y, mask(400, range(0, 400, 20)))
    s = create_strategy("cluster_margin", {"margin_factor": 3, "n_clusters": 8})
    s.prepare(X, np.random.default_rng(0))
    picks = s.query(state, 6, np.random.default_rng(0))
    proba = state.model.predict_proba(X[state.unlabelled])
    top2 = -np.sort(-proba, axis=1)[:, :2]
    margin = top2[:, 0] - top2[:, 1]
    threshold = np.sort(margin)[17]  # the 3 x 6 = 18 smallest margins
    assert np.all(margin[np.searchsorted(state.unlabelled, picks)] <= threshold + 1e-12)
    clusters = s.clusters_[picks]
    cand = state.unlabelled[np.argsort(margin)[:18]]
    assert len(set(clusters)) == min(6, len(set(s.clusters_[cand])))  # a new cluster each pick until none is left
