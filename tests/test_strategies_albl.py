"""ALBL (strategies/albl.py): the bandit against libact's Exp4.P, IW-ACC by hand, the observe hook,
and a bandit that learns to follow the expert whose picks pay."""

from __future__ import annotations

import numpy as np
import pytest

from albench import checks
from albench.strategy import QueryState, Strategy, registry
from albench.strategies.albl import ActiveLearningByLearning, Exp4P, iw_accuracy

def test_exp4p_matches_libact_round_by_round():
    """The same advice and rewards give libact's query distribution and weights, to rounding (libact is
    installed by `make test`)."""
    from libact.query_strategies.active_learning_by_learning import Exp4P as LibactExp4P

    gen = np.random.default_rng(3)
    n_arms, n_experts, horizon = 12, 3, 15
    script = gen.integers(0, n_arms, size=(horizon, n_experts))  # each expert's advised arm, per round

    class Scripted:
        def __init__(self, column):
            self.column, self.t = column, 0

        def make_query(self):
            arm = int(script[self.t, self.column])
            self.t += 1
            return arm

    theirs = LibactExp4P(query_strategies=[Scripted(0), Scripted(1)], T=horizon, delta=0.1,
                         unlabeled_invert_id_idx={i: i for i in range(n_arms)}, uniform_sampler=True)
    ours = Exp4P(n_experts, horizon, delta=0.1)
    assert ours.pmin == pytest.approx(theirs.pmin)
    q_theirs = theirs.next(-1, None, None)
    for t in range(horizon - 1):
        advice = np.zeros((n_experts, n_arms))
        advice[[0, 1], script[t, :2]] = 1.0
        advice[2] = 1.0 / n_arms
        p = ours.expert_probabilities()
        q = p @ advice
        np.testing.assert_allclose(q, q_theirs, rtol=1e-12)
        arm, reward = int(gen.integers(n_arms)), float(gen.uniform(0, 0.2))
        ours.update(reward, advice[:, arm], q[arm], p)
        q_theirs = theirs.next(reward, arm, 0)
        np.testing.assert_allclose(ours.expert_probabilities(), (1 - n_experts * theirs.pmin) * theirs.w
                                   / theirs.w.sum() + theirs.pmin, rtol=1e-12)


def test_exp4p_update_by_hand():
    bandit = Exp4P(2, horizon=4, delta=0.1)
    pmin = np.sqrt(np.log(2) / 2 / 4)
    assert bandit.pmin == pytest.approx(pmin)
    p = bandit.expert_probabilities()
    np.testing.assert_allclose(p, [0.5, 0.5])
    bandit.update(0.3, np.array([1.0, 0.25]), 0.625, p)  # expert 0 advised the arm, expert 1 is uniform over 4
    conf = np.sqrt(np.log(2 / 0.1) / 2 / 4)
    expected = pmin / 2 * (0.3 * np.array([1.0, 0.25]) / 0.625 + conf / 0.5)
    np.testing.assert_allclose(bandit.log_w, expected)


def test_pmin_is_capped_so_probabilities_stay_valid():
    bandit = Exp4P(2, horizon=1)  # sqrt(ln 2 / 2) = 0.59 > 1/2
    assert bandit.pmin == 0.5
    np.testing.assert_allclose(bandit.expert_probabilities(), [0.5, 0.5])


class _Fixed:
    def __init__(self, predictions):
        self.predictions = np.asarray(predictions)

    def predict(self, X):
        return self.predictions[X[:, 0].astype(int)]


def test_iw_accuracy_by_hand():
    X = np.arange(6, dtype=float)[:, None]
    model = _Fixed([0, 1, 1, 0, 1, 0])
    history = [(1, 1, 2.0), (2, 0, 4.0), (4, 1, 1.5)]  # right, wrong, right
    assert iw_accuracy(model, X, history, n_pool=6, horizon=5) == pytest.approx((2.0 + 1.5) / 6 / 5)
    assert iw_accuracy(model, X, [], n_pool=6, horizon=5) == 0.0


# --- the strategy on the observe hook --------------------------------------------------------------


def _state(pool, labelled, model=None):
    y = np.where(labelled, pool.y_true, -1)
    if model is None:
        model = checks.AlignedClassifier(checks.make_learner("gnb"), pool.n_classes).fit(
            pool.X[labelled], pool.y_true[labelled])
    return QueryState(model=model, X=pool.X, labelled=labelled, y=y, classes=np.arange(pool.n_classes))


def test_a_query_without_observe_leaves_no_trace():
    pool = checks.make_pool("gnb", n=80)
    albl = ActiveLearningByLearning()
    albl.prepare(pool.X, np.random.default_rng(0))
    first = albl.query(_state(pool, pool.labelled), 3, np.random.default_rng(1))
    again = albl.query(_state(pool, pool.labelled), 3, np.random.default_rng(1))
    assert first.tolist() == again.tolist()
    assert albl._memory is None


def test_observe_commits_the_draws_and_the_next_query_rewards_them():
    pool = checks.make_pool("gnb", n=80)
    albl = ActiveLearningByLearning(strategies=["least_confident", "margin"], horizon=10)
    rng = np.random.default_rng(0)
    albl.prepare(pool.X, rng)
    labelled = pool.labelled.copy()
    state = _state(pool, labelled)
    picks = albl.query(state, 2, rng)
    albl.observe(picks, pool.y_true[picks], state)
    memory = albl._memory
    assert [h[0] for h in memory.history] == picks.tolist()
    assert [h[1] for h in memory.history] == pool.y_true[picks].tolist()
    assert all(h[2] >= 1.0 for h in memory.history)  # W = 1 / q
    assert np.all(memory.bandit.log_w == 0)  # not rewarded before the refit
    labelled[picks] = True
    albl.query(_state(pool, labelled), 2, rng)
    _, next_memory, _ = albl._pending
    assert np.all(next_memory.bandit.log_w != 0)  # the refitted model's reward, applied at this query
    albl.observe(np.array([0]), np.array([0]), _state(pool, labelled))  # another batch's labels
    assert albl._memory is memory and np.all(memory.bandit.log_w == 0)  # so that query is not committed


def test_draws_of_labelled_points_are_free_and_use_their_known_label():
    """With uniform sampling the only expert, a round draws labelled arms too: those join the history
    (label from state.y) without being returned."""
    pool = checks.make_pool("gnb", n=20, n_labelled=3)
    registry.register("test_albl_none")(type("NoAdvice", (Strategy,), {
        "query": lambda self, s, k, r: s.unlabelled[:k]}))
    try:
        albl = ActiveLearningByLearning(strategies=["test_albl_none"], horizon=5)
        rng = np.random.default_rng(0)
        albl.prepare(pool.X, rng)
        labelled = pool.labelled.copy()
        for _ in range(12):  # label most of the arms
            state = _state(pool, labelled)
            picks = albl.query(state, 1, rng)
            albl.observe(picks, pool.y_true[picks], state)
            labelled[picks] = True
        returned = np.flatnonzero(labelled & ~pool.labelled)
        history = albl._memory.history
        free = [h for h in history if h[0] in set(returned.tolist())]
        assert len(history) > len(returned)  # some draws were free
        assert len(set(h[0] for h in history)) == len(returned)  # only arms ever returned are drawn again
        assert all(pool.y_true[i] == label for i, label, _ in free)
    finally:
        registry.entries.pop("test_albl_none", None)


@pytest.fixture
def even_odd_experts():
    """Two experts: one advises even pool indices, the other odd ones."""
    for parity in (0, 1):
        registry.register(f"test_albl_parity{parity}")(type(f"Parity{parity}", (Strategy,), {
            "query": lambda self, s, k, r, parity=parity: r.choice(
                s.unlabelled[s.unlabelled % 2 == parity], size=k, replace=False)}))
    yield
    for parity in (0, 1):
        registry.entries.pop(f"test_albl_parity{parity}", None)


def test_the_reward_goes_to_the_expert_that_advised_a_point_the_model_gets_right(even_odd_experts):
    """A model right on even points and wrong on odd ones. After one round, the next query rewards the
    drawn expert with IW-ACC / q: positive after an even draw (a hit), zero after an odd one (a miss),
    so only the even expert's weight gains beyond the exploration term. Both cases occur over the seeds."""
    n = 40
    X = np.arange(n, dtype=float)[:, None]
    y = np.zeros(n, dtype=int)
    model = _Fixed(np.where(np.arange(n) % 2 == 0, 0, 1))
    seen = set()
    for seed in range(12):
        rng = np.random.default_rng(seed)
        albl = ActiveLearningByLearning(strategies=["test_albl_parity0", "test_albl_parity1"], uniform=False,
                                        horizon=10)
        labelled = np.zeros(n, dtype=bool)
        labelled[:2] = True
        albl.prepare(X, rng)
        state = QueryState(model=model, X=X, labelled=labelled.copy(), y=np.where(labelled, y, -1),
                           classes=np.arange(2))
        pick = albl.query(state, 1, rng)
        albl.observe(pick, y[pick], state)
        (_, _, weight), = albl._memory.history
        assert weight == pytest.approx(2.0)  # W = 1 / q, q = 1/2: each expert advises its own point
        labelled[pick] = True
        albl.query(QueryState(model=model, X=X, labelled=labelled, y=np.where(labelled, y, -1),
                              classes=np.arange(2)), 1, rng)
        bandit = albl._pending[1].bandit
        exploration = bandit.pmin / 2 * np.sqrt(np.log(2 / 0.1) / 2 / 10) / 0.5
        hit = int(pick[0]) % 2 == 0
        reward = weight / n / 10 if hit else 0.0  # IW-ACC = W [hit] / (n T)
        expected = exploration + bandit.pmin / 2 * np.array([reward / 0.5 if hit else 0.0, 0.0])
        np.testing.assert_allclose(bandit.log_w, expected)
        seen.add(hit)
    assert seen == {True, False}


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="albl: strategies: each entry"):
        ActiveLearningByLearning(strategies=[3])
    with pytest.raises(ValueError, match="cannot be one of its own experts"):
        ActiveLearningByLearning(strategies=["albl"])
    with pytest.raises(ValueError, match=r"pmin must be in \(0, 1/3\]"):
        ActiveLearningByLearning(pmin=0.5)
    with pytest.raises(Exception, match="unknown strategy 'marign'"):
        ActiveLearningByLearning(strategies=["marign"])


def test_albl_runs_in_the_al_loop_and_its_experts_can_take_parameters(monkeypatch):
    from albench.execute import execute_run
    from albench.spec import grid_from_dict

    committed = []
    observe = ActiveLearningByLearning.observe

    def recording(self, idx, y, state):
        observe(self, idx, y, state)
        committed.append(len(self._memory.history))

    monkeypatch.setattr(ActiveLearningByLearning, "observe", recording)

    grid = grid_from_dict({"name": "albl", "kind": "al", "params": {
        "dataset": "iris", "learner": "gnb", "budget": 6, "batch_size": [1, 4],
        "strategy": {"name": "albl", "strategies": ["margin", {"name": "coreset", "space": "features"}],
                     "horizon": 6}}})
    for spec in grid.specs():
        row, curves = execute_run(spec, grid.name)
        assert row["status"] == "ok", row["error"]
        assert row["n_queries"] == 6
    # the loop reported every batch, and each one joined the bandit's history (free draws can add more)
    assert len(committed) == 12
    assert all(b > a for a, b in zip(committed[:5], committed[1:6])) and committed[5] >= 6
    assert all(b > a for a, b in zip(committed[6:11], committed[7:12])) and committed[11] >= 24
