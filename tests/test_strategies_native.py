"""Native strategies against hand-computed cases and brute-force (dense) references."""

from __future__ import annotations

import numpy as np
import pytest
from modAL.density import information_density as modal_information_density
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import pairwise_distances
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from albench.learners import AlignedClassifier, make_learner
from albench.strategy import QueryState, create_strategy
from albench.strategies.badge import gradient_embedding, gradient_embedding_dense, kmeans_pp_seeds, penultimate
from albench.strategies.bald import bald_scores, ensemble_member_proba
from albench.strategies.cluster_margin import pool_clusters, round_robin
from albench.strategies.committee import committee_proba, consensus_entropy, kl_to_consensus, vote_entropy
from albench.strategies.coreset import k_center_greedy, min_sq_distances, nearest_to_centroids
from albench.strategies.density import cosine_density, euclidean_density
from albench.strategies.expected_error import expected_errors
from albench.strategies.typiclust import typicality, typiclust_picks
from albench.strategies.uncertainty import entropy_scores


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


# --- query by committee -------------------------------------------------------------------


def test_committee_measures_hand_computed():
    # 3 members, 2 points, 3 classes
    P = np.array([
        [[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]],
        [[0.5, 0.4, 0.1], [0.1, 0.8, 0.1]],
        [[0.2, 0.7, 0.1], [0.3, 0.3, 0.4]],
    ])
    # votes: point 0 -> 0, 0, 1; point 1 -> 2, 1, 2
    np.testing.assert_allclose(vote_entropy(P), [h(2 / 3, 1 / 3), h(2 / 3, 1 / 3)])
    mean = P.mean(axis=0)
    kl = lambda p, q: sum(a * np.log(a / b) for a, b in zip(p, q) if a > 0)
    np.testing.assert_allclose(kl_to_consensus(P), [np.mean([kl(P[k, i], mean[i]) for k in range(3)]) for i in range(2)])
    np.testing.assert_allclose(consensus_entropy(P), [h(*mean[0]), h(*mean[1])])
    agree = np.repeat(P[:1], 3, axis=0)  # identical members: no disagreement at all
    np.testing.assert_allclose(vote_entropy(agree), 0.0)
    np.testing.assert_allclose(kl_to_consensus(agree), 0.0, atol=1e-12)
    # two members, [0.8, 0.2] and [0.2, 0.8]: consensus [.5, .5], each KL = .8 ln 1.6 + .2 ln .4
    two = np.array([[[0.8, 0.2]], [[0.2, 0.8]]])
    np.testing.assert_allclose(kl_to_consensus(two), [0.8 * np.log(1.6) + 0.2 * np.log(0.4)])
    np.testing.assert_allclose(vote_entropy(two), [np.log(2)])


def test_committees_are_bootstrapped_or_heterogeneous_and_deterministic():
    X, y = make_blobs(120, centers=3, n_features=4, random_state=3, cluster_std=4.0)
    state = make_state(X, y, mask(120, range(0, 120, 6)))
    a = committee_proba(state, np.random.default_rng(0), 4)
    b = committee_proba(state, np.random.default_rng(0), 4)
    assert a.shape == (4, 100, 3) and np.array_equal(a, b)
    assert not np.allclose(a[0], a[1])  # different bootstrap samples
    # member k is the learner fitted on the k-th bootstrap draw of the labelled set
    rng, lab = np.random.default_rng(0), np.flatnonzero(state.labelled)
    for k in range(4):
        rows = lab[rng.integers(0, len(lab), len(lab))]
        ref = AlignedClassifier(make_learner("logreg", random_state=0), 3).fit(X[rows], y[rows])
        np.testing.assert_allclose(a[k], ref.predict_proba(X[state.unlabelled]))
    mixed = committee_proba(state, np.random.default_rng(0), learners=[("gnb", {}), ("logreg", {"C": 0.1})])
    gnb = AlignedClassifier(make_learner("gnb"), 3).fit(X[lab], y[lab])
    np.testing.assert_allclose(mixed[0], gnb.predict_proba(X[state.unlabelled]))
    with pytest.raises(ValueError, match="unknown learner"):
        create_strategy("vote_entropy", {"learners": ["logreg", "nosuchlearner"]})


# --- BALD -------------------------------------------------------------------------------


def test_bald_hand_computed():
    samples = np.array([
        [[1.0, 0.0], [0.5, 0.5], [0.9, 0.1]],
        [[0.0, 1.0], [0.5, 0.5], [0.9, 0.1]],
    ])
    # point 0: confident members that disagree -> ln 2; point 1: agree on 50/50 -> 0; point 2: agree -> 0
    np.testing.assert_allclose(bald_scores(samples), [np.log(2), 0.0, 0.0], atol=1e-12)
    s = np.array([[[0.7, 0.3]], [[0.1, 0.9]], [[0.4, 0.6]]])
    mean = s.mean(axis=0)[0]
    np.testing.assert_allclose(bald_scores(s), [h(*mean) - np.mean([h(*p[0]) for p in s])])


def test_bald_forest_members_average_to_the_forest():
    X, y = make_blobs(150, centers=4, n_features=3, random_state=0, cluster_std=3.0)
    labelled = mask(150, np.flatnonzero(y != 2)[:40])  # class 2 unseen: columns must still align
    state = make_state(X, y, labelled, "rf", n_classes=4, n_estimators=15)
    members = np.stack(list(ensemble_member_proba(state.model, X)))
    assert members.shape == (15, 150, 4) and np.all(members[:, :, 2] == 0)
    np.testing.assert_allclose(members.mean(axis=0), state.model.predict_proba(X))


class SamplingLogReg(LogisticRegression):
    """MC-dropout stand-in: members agree everywhere except on points whose first feature is > 100."""

    def sample_proba(self, X, n_samples):
        p = self.predict_proba(X)
        out = np.repeat(p[None], n_samples, axis=0)
        odd = np.asarray(X)[:, 0] > 100
        out[0::2, odd] = np.eye(p.shape[1])[0]
        out[1::2, odd] = np.eye(p.shape[1])[1]
        return out


def test_bald_uses_mc_dropout_samples_when_the_model_offers_them():
    X, y = make_blobs(80, centers=2, n_features=3, random_state=0)
    X[57, 0] = 500.0
    model = AlignedClassifier(SamplingLogReg(), 2).fit(X[:10], y[:10])
    state = QueryState(model=model, X=X, labelled=mask(80, range(10)), y=np.where(np.arange(80) < 10, y, -1),
                       classes=np.arange(2))
    assert create_strategy("bald").query(state, 1, np.random.default_rng(0)).tolist() == [57]
    with pytest.raises(ValueError, match="source 'trees'"):
        create_strategy("bald", {"source": "trees"}).query(state, 1, np.random.default_rng(0))


# --- expected error reduction ----------------------------------------------------------------


class PriorClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the training label frequencies for every input (makes EER hand-computable)."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.prior_ = np.array([(y == c).mean() for c in self.classes_])
        return self

    def predict_proba(self, X):
        return np.tile(self.prior_, (len(X), 1))


def test_expected_error_hand_computed():
    X_lab, y_lab = np.zeros((3, 1)), np.array([0, 0, 1])  # counts (2, 1)
    X_cand = np.zeros((3, 1))
    p_cand = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    X_eval = np.zeros((4, 1))
    # adding label 0 -> (3, 1)/4; adding label 1 -> (2, 2)/4
    log = expected_errors(PriorClassifier, X_lab, y_lab, X_cand, p_cand, X_eval, "log")
    np.testing.assert_allclose(log, [h(0.75, 0.25), np.log(2), 0.5 * h(0.75, 0.25) + 0.5 * np.log(2)])
    zero_one = expected_errors(PriorClassifier, X_lab, y_lab, X_cand, p_cand, X_eval, "zero_one")
    np.testing.assert_allclose(zero_one, [0.25, 0.5, 0.375])


def test_expected_error_strategy_picks_the_smallest_expected_error():
    X = np.arange(12, dtype=float)[:, None]
    y = np.array([0, 0, 1] + [0] * 9)
    state = QueryState(model=AlignedClassifier(PriorClassifier(), 2).fit(X[:3], y[:3]), X=X,
                       labelled=mask(12, range(3)), y=np.where(np.arange(12) < 3, y, -1), classes=np.arange(2),
                       make_learner=PriorClassifier)
    # every candidate has p = (2/3, 1/3); all tie, so the strategy must return distinct random candidates
    picks = create_strategy("expected_error_reduction", {"n_candidates": 5}).query(state, 3, np.random.default_rng(0))
    assert len(set(picks)) == 3 and not state.labelled[picks].any()


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
