"""Native strategies break ties at random with their rng, never by lowest index.

The pool is sorted by class and every point has exact copies in both halves (the same
10 locations, 20 copies each, labelled 0 in the first half and 1 in the second): every
pick ties between a point of the first half and its copies in the second. Breaking
ties by position (argmax, stable sort) takes all picks from the first half; random
tie-breaking about half, as random sampling does.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import albench.strategies.coreset as coreset_module
import albench.strategies.typiclust as typiclust_module
from albench.learners import AlignedClassifier, make_learner
from albench.strategy import QueryState, create_strategy

SEEDS = range(10)
BATCH = 10


def tied_pool():
    base = np.random.default_rng(0).integers(-5, 6, size=(10, 2)).astype(float)
    half = np.repeat(base, 20, axis=0)
    X, y = np.vstack([half, half]), np.repeat([0, 1], len(half))
    labelled = np.zeros(len(X), dtype=bool)
    labelled[[0, len(half)]] = True  # one per class, at the same location
    model = AlignedClassifier(make_learner("logreg"), 2).fit(X[labelled], y[labelled])
    return QueryState(model=model, X=X, labelled=labelled, y=np.where(labelled, y, -1), classes=np.arange(2))


def first_half_share(name: str) -> float:
    state = tied_pool()
    picks = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # k-means on 10 distinct points
        for seed in SEEDS:
            strategy, rng = create_strategy(name), np.random.default_rng(seed)
            strategy.prepare(state.X, rng)
            picks.append(strategy.query(state, BATCH, rng))
    return float((np.concatenate(picks) < len(state.X) // 2).mean())


@pytest.mark.parametrize("name", ["coreset", "typiclust", "kmeans", "random"])
def test_picks_are_not_concentrated_in_the_first_half(name):
    share = first_half_share(name)
    assert 0.3 <= share <= 0.7, f"{name} took {share:.0%} of {len(SEEDS) * BATCH} picks from the first half"


@pytest.mark.parametrize("module", [coreset_module, typiclust_module])
def test_the_pool_exposes_tie_breaking_by_position(monkeypatch, module):
    """The test above can fail: with argmax (lowest index wins) the same strategies take every pick from the
    first half."""
    monkeypatch.setattr(module, "random_argmax", lambda values, rng: int(np.argmax(values)))
    name = "coreset" if module is coreset_module else "typiclust"
    assert first_half_share(name) == 1.0


def test_n_tied_counts_the_candidates_left_out_at_the_last_picks_score():
    from albench.strategy import n_tied

    scores = np.array([0.9, 0.5, 0.5, 0.5, 0.1])
    assert n_tied(scores, np.array([0, 1])) == 2  # two more points score 0.5 like the last pick
    assert n_tied(scores, np.array([0, 1, 2, 3])) == 0
    assert n_tied(scores, np.array([0])) == 0
    assert n_tied(scores, np.arange(5)) == 0 and n_tied(scores, np.array([], dtype=int)) == 0


def test_the_al_loop_records_ties_per_cycle():
    from albench.al_loop import run
    from albench.spec import grid_from_dict
    from conftest import small_al_grid

    grid = grid_from_dict(small_al_grid(params={"strategy": ["margin", "random"], "learner": "rf", "seed": 0}))
    for spec in grid.specs():
        rows = run(spec).curves[:-1]
        ties = [r["n_tied"] for r in rows]
        if spec.params["strategy"]["name"] == "random":
            assert ties == [None] * len(rows)
        else:
            assert all(isinstance(t, int) and t >= 0 for t in ties)
