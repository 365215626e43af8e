"""The ORACLE baseline (strategies/oracle.py) against brute force on hand-made pools, its marking,
and the AL loop handing test labels to oracles only."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from albench import checks
from albench.al_loop import evaluate
from albench.analysis.normalized import is_oracle
from albench.execute import execute_run
from albench.learners import AlignedClassifier, make_learner
from albench.spec import grid_from_dict
from albench.strategy import QueryState, Strategy, registry
from albench.strategies.oracle import GreedyOracle, true_class_probability


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield


def _oracle_state(X, y, labelled, X_test, y_test, learner="gnb", params=None):
    def fresh():
        return make_learner(learner, params, random_state=0)

    n_classes = int(max(y.max(), y_test.max())) + 1
    model = AlignedClassifier(fresh(), n_classes).fit(X[labelled], y[labelled])
    return QueryState(model=model, X=X, labelled=labelled, y=np.where(labelled, y, -1),
                      classes=np.arange(n_classes), make_learner=fresh, y_true=y, test=(X_test, y_test))


def _score(state, rows):
    model = AlignedClassifier(state.make_learner(), len(state.classes)).fit(state.X[rows], state.y_true[rows])
    X_test, y_test = state.test
    return evaluate(y_test, model.predict(X_test))["accuracy"], true_class_probability(model, X_test, y_test)


def _best_additions(state, rows):
    """Brute force: every unlabelled point not in ``rows`` whose addition gives the best score."""
    rest = [int(c) for c in state.unlabelled if c not in rows]
    scores = {c: _score(state, list(rows) + [c]) for c in rest}
    return [c for c in rest if scores[c] == max(scores.values())]


def test_picks_the_point_that_fixes_the_test_error():
    """1-D, two classes split at 0, 1-nearest neighbour. The start set {-3, 0.5} puts the boundary at
    -1.25: the 13 test points in [-1.2, 0] are wrong. Adding -0.2 moves it to 0.15 (one error left, 0.1);
    adding any other point changes nothing."""
    X = np.array([-3.0, 0.5, -0.2, -2.5, 2.0, 3.0])[:, None]
    y = (X[:, 0] > 0).astype(int)
    labelled = np.array([True, True, False, False, False, False])
    X_test = np.linspace(-3, 3, 61)[:, None]
    y_test = (X_test[:, 0] > 0).astype(int)
    state = _oracle_state(X, y, labelled, X_test, y_test, "knn", {"n_neighbors": 1})
    assert _score(state, [0, 1])[0] == pytest.approx(48 / 61)
    assert _score(state, [0, 1, 2])[0] == pytest.approx(60 / 61)
    pick = GreedyOracle(n_candidates=10).query(state, 1, np.random.default_rng(0))
    assert pick.tolist() == [2]
    assert _best_additions(state, [0, 1]) == [2]


@pytest.mark.parametrize("seed", range(4))
def test_greedy_batch_equals_brute_force(seed):
    gen = np.random.default_rng(seed)
    X = gen.normal(size=(16, 2))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    X_test = gen.normal(size=(40, 2))
    y_test = (X_test[:, 0] + 0.5 * X_test[:, 1] > 0).astype(int)
    labelled = np.zeros(16, dtype=bool)
    labelled[[int(np.flatnonzero(y == 0)[0]), int(np.flatnonzero(y == 1)[0])]] = True
    state = _oracle_state(X, y, labelled, X_test, y_test)
    picks = GreedyOracle(n_candidates=100).query(state, 3, np.random.default_rng(seed))
    rows = list(np.flatnonzero(labelled))
    for pick in picks.tolist():  # each pick is a best addition given the picks before it
        assert pick in _best_additions(state, rows)
        rows.append(pick)


class _CountingLearner:
    fits = 0

    def __init__(self):
        from sklearn.naive_bayes import GaussianNB

        self.inner = GaussianNB()

    def fit(self, X, y):
        type(self).fits += 1
        self.inner.fit(X, y)
        self.classes_ = self.inner.classes_
        return self

    def predict_proba(self, X):
        return self.inner.predict_proba(X)

    def predict(self, X):
        return self.inner.predict(X)

    def get_params(self, deep=True):
        return {}


def test_the_candidate_subset_has_its_documented_size():
    """k picks from c candidates: c + (c - 1) + ... fits, and only candidates can be picked."""
    pool = checks.make_pool("gnb", n=60)
    X_test, y_test = pool.X[:20], pool.y_true[:20]
    state = QueryState(model=None, X=pool.X, labelled=pool.labelled, y=np.where(pool.labelled, pool.y_true, -1),
                       classes=np.arange(pool.n_classes), make_learner=_CountingLearner, y_true=pool.y_true,
                       test=(X_test, y_test))
    _CountingLearner.fits = 0
    picks = GreedyOracle(n_candidates=7).query(state, 3, np.random.default_rng(0))
    assert _CountingLearner.fits == 7 + 6 + 5
    _CountingLearner.fits = 0
    GreedyOracle(n_candidates=2).query(state, 4, np.random.default_rng(0))  # at least the batch size
    assert _CountingLearner.fits == 4 + 3 + 2 + 1
    assert len(set(picks.tolist())) == 3 and not pool.labelled[picks].any()


def test_without_test_labels_it_refuses_with_a_clear_error():
    pool = checks.make_pool("gnb")
    with pytest.raises(ValueError, match="oracle: needs the pool's true labels and the test split"):
        GreedyOracle().query(pool.state(), 2, np.random.default_rng(0))


def test_bad_parameters():
    with pytest.raises(ValueError, match="oracle: metric must be one of accuracy, macro_f1"):
        GreedyOracle(metric="auc")
    with pytest.raises(ValueError, match="oracle: n_candidates must be an integer >= 1"):
        GreedyOracle(n_candidates=0)


def test_conformance_with_the_labels_the_checks_hand_to_oracles():
    """albench.checks gives a class with needs_test_labels the pool's labels, as the AL loop does."""
    results = checks.check_strategy("oracle", learner="gnb")
    assert results and all(r.status == "pass" for r in results), [(r.check, r.reason) for r in results]


def test_marked_as_an_oracle_everywhere():
    entry = registry.get("oracle")
    assert entry.factory.oracle is True and entry.factory.needs_test_labels is True
    assert entry.description.startswith("ORACLE:")
    assert is_oracle("oracle") and not is_oracle("margin") and not is_oracle("no_such_strategy")


@pytest.fixture
def recorders():
    seen = {}

    def make(name, needs):
        def query(self, state, k, rng):
            seen.setdefault(name, []).append((state.test is not None, state.y_true is not None))
            return state.unlabelled[:k]

        registry.register(name)(type(name, (Strategy,), {"query": query, "needs_test_labels": needs}))

    make("test_oracle_reader", True)
    make("test_oracle_plain", False)
    yield seen
    for name in ("test_oracle_reader", "test_oracle_plain"):
        registry.entries.pop(name, None)


def test_the_loop_hands_test_labels_to_oracles_only(recorders):
    grid = grid_from_dict({"name": "o", "kind": "al", "params": {
        "dataset": "iris", "learner": "gnb", "budget": 2,
        "strategy": ["test_oracle_reader", "test_oracle_plain"]}})
    for spec in grid.specs():
        row, _ = execute_run(spec, grid.name)
        assert row["status"] == "ok", row["error"]
    assert recorders["test_oracle_reader"] == [(True, True)] * 2
    assert recorders["test_oracle_plain"] == [(False, False)] * 2


def test_the_oracle_beats_random_sampling_in_the_loop():
    """On iris with naive Bayes the greedy oracle's AUC is clearly above random sampling's, on average over
    start sets (it is myopic: one start set can still favour random)."""
    grid = grid_from_dict({"name": "o", "kind": "al", "params": {
        "dataset": "iris", "learner": "gnb", "budget": 5, "start_point": {"range": [0, 4]},
        "strategy": ["random", {"name": "oracle", "n_candidates": 10}]}})
    auc = {}
    for spec in grid.specs():
        row, _ = execute_run(spec, grid.name)
        assert row["status"] == "ok", row["error"]
        auc[(spec.params["strategy"]["name"], spec.params["start_point"])] = row["auc_accuracy"]
    oracle, random = (np.mean([auc[(name, start)] for start in range(4)]) for name in ("oracle", "random"))
    assert oracle > random + 0.03
