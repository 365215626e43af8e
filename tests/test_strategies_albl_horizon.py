"""ALBL's horizon T from the run's budget (QueryState.budget, filled by the AL loop): T = cycles left x
batch size, capped at the arms; the bandit's learning rate (pmin, the confidence term) and IW-ACC follow it."""

from __future__ import annotations

import numpy as np
import pytest

from albench import al_loop, checks
from albench.spec import grid_from_dict
from albench.strategies.albl import ActiveLearningByLearning, iw_accuracy
from albench.strategy import QueryState, Strategy, registry
from conftest import small_al_grid

N_EXPERTS = 3  # least_confident, coreset and uniform sampling


def _state(pool, labelled, budget=None, cycle=0):
    model = checks.AlignedClassifier(checks.make_learner("gnb"), pool.n_classes).fit(
        pool.X[labelled], pool.y_true[labelled])
    return QueryState(model=model, X=pool.X, labelled=labelled, y=np.where(labelled, pool.y_true, -1),
                      classes=np.arange(pool.n_classes), budget=budget, cycle=cycle)


def _bandit_after_first_query(budget, cycle, k, **params):
    pool = checks.make_pool("gnb", n=60)  # 6 labelled: 54 arms
    albl = ActiveLearningByLearning(**params)
    albl.prepare(pool.X, np.random.default_rng(0))
    albl.query(_state(pool, pool.labelled.copy(), budget, cycle), k, np.random.default_rng(1))
    return albl._pending[1].bandit


@pytest.mark.parametrize("budget, cycle, k, expected", [
    (7, 0, 3, 21),  # the whole run: 7 cycles of 3 labels
    (7, 2, 3, 15),  # ALBL's first query at cycle 2: 5 cycles left
    (10, 0, 1, 10),  # batches of one: T is the number of rounds, as in the paper and libact
    (100, 0, 3, 54),  # more labels than arms: the pool is exhausted first
    (None, 0, 3, 54),  # outside an AL run: as if the whole pool were to be labelled
])
def test_horizon_follows_the_budget(budget, cycle, k, expected):
    bandit = _bandit_after_first_query(budget, cycle, k)
    assert bandit.horizon == expected
    assert bandit.pmin == pytest.approx(np.sqrt(np.log(N_EXPERTS) / N_EXPERTS / expected))


def test_an_explicit_horizon_wins():
    assert _bandit_after_first_query(7, 0, 3, horizon=40).horizon == 40
    with pytest.raises(ValueError, match="albl: horizon"):
        ActiveLearningByLearning(horizon=0)


def test_the_weight_update_uses_that_horizon():
    """One round rewarded by hand: log w = sum over the round's draws of pmin/2 (r advice / q + c / p), with
    pmin, c = sqrt(ln(N / delta) / (N T)) and the IW-ACC reward r all computed with T = 4 cycles x 2."""
    pool = checks.make_pool("gnb", n=60)
    albl = ActiveLearningByLearning()
    rng = np.random.default_rng(0)
    albl.prepare(pool.X, rng)
    labelled = pool.labelled.copy()
    state = _state(pool, labelled, budget=4)
    picks = albl.query(state, 2, rng)
    albl.observe(picks, pool.y_true[picks], state)
    history, draws = list(albl._memory.history), albl._memory.awaiting
    labelled[picks] = True
    second = _state(pool, labelled, budget=4, cycle=1)
    albl.query(second, 2, rng)
    T = 8
    pmin = np.sqrt(np.log(N_EXPERTS) / N_EXPERTS / T)
    confidence = np.sqrt(np.log(N_EXPERTS / 0.1) / N_EXPERTS / T)
    reward = iw_accuracy(second.model, pool.X, history, len(pool.X), T)
    assert reward > 0
    expected = sum(pmin / 2 * (reward * d.advice / d.q + confidence / d.p) for d in draws)
    bandit = albl._pending[1].bandit
    np.testing.assert_allclose(bandit.log_w, expected, rtol=1e-12)
    assert bandit.horizon == T


def test_the_al_loop_passes_the_budget_to_every_query():
    seen = []

    class Spy(Strategy):
        def query(self, state, batch_size, rng):
            seen.append((state.budget, state.cycle))
            return state.unlabelled[:batch_size]

    registry.register("test_budget_spy")(Spy)
    try:
        spec = next(grid_from_dict(small_al_grid(params={"strategy": "test_budget_spy", "seed": 0,
                                                         "budget": 4, "batch_size": 2})).specs())
        al_loop.run(spec)
    finally:
        registry.entries.pop("test_budget_spy", None)
    assert seen == [(4, 0), (4, 1), (4, 2), (4, 3)]


def test_albl_in_a_run_takes_budget_times_batch_size(monkeypatch):
    horizons = []
    original = ActiveLearningByLearning.horizon_for

    def recording(self, state, batch_size, n_arms):
        horizons.append(original(self, state, batch_size, n_arms))
        return horizons[-1]

    monkeypatch.setattr(ActiveLearningByLearning, "horizon_for", recording)
    spec = next(grid_from_dict(small_al_grid(params={"strategy": "albl", "learner": "gnb", "seed": 0,
                                                     "budget": 5, "batch_size": 3})).specs())
    result = al_loop.run(spec)
    assert result.summary["n_queries"] == 5
    assert horizons == [15]  # fixed once, at the first query
