"""ProbCover (strategies/probcover.py) against the paper's definition and the authors' selection loop
on hand-made pools; the purity radius against a brute-force search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from albench.strategies.probcover import ProbCover, ball_graph, probcover_picks, purity_radius


def authors_degrees(X, delta, labelled_idx, selected):
    """The authors' select_samples step (edge list x -> y iff ||x - y|| < delta, incoming edges of
    covered points removed), written out with pandas as there: the degrees for the next pick."""
    d = np.linalg.norm(X[:, None] - X[None], axis=2)
    xs, ys = np.nonzero(d < delta)
    graph = pd.DataFrame({"x": xs, "y": ys})
    covered = graph.y[np.isin(graph.x, labelled_idx)].unique()
    cur = graph[~np.isin(graph.y, covered)]
    for cur_pick in selected:
        new_covered = cur.y[cur.x == cur_pick].values
        cur = cur[~np.isin(cur.y, new_covered)]
    return np.bincount(cur.x, minlength=len(X))


def test_hand_made_line():
    """Points 0, 1, 2, 3, 10, 11, 20 with delta 1.5: balls {0,1} {0,1,2} {1,2,3} {2,3} {10,11} {10,11} {20}."""
    X = np.array([0, 1, 2, 3, 10, 11, 20], dtype=float)[:, None]
    graph = ball_graph(X, 1.5, max_edges=100)
    assert graph.sum(axis=1).A1.tolist() == [2, 3, 3, 2, 2, 2, 1]
    labelled = np.zeros(7, dtype=bool)
    seen = set()
    for seed in range(20):
        picks = probcover_picks(graph, labelled, 3, np.random.default_rng(seed)).tolist()
        assert picks[0] in (1, 2)  # three uncovered points each
        assert picks[1] in (4, 5)  # the pair 10, 11
        # then the uncovered are 3 (or 0) and 20: one each for every candidate
        left = {0, 3} - set(np.flatnonzero(graph[picks[0]].toarray().ravel())) | {6}
        assert any(picks[2] in np.flatnonzero(graph[:, j].toarray().ravel()) for j in left)
        seen.add(tuple(picks[:2]))
    assert len(seen) > 1  # ties broken at random, not by index
    labelled[[1]] = True  # a labelled point covers its ball first
    picks = probcover_picks(graph, labelled, 7, np.random.default_rng(0)).tolist()
    assert picks[0] in (4, 5) and len(picks) == 3  # 10/11, then 3 or 2, then 20: all covered after three


@pytest.mark.parametrize("seed", range(3))
def test_every_pick_is_a_maximum_of_the_authors_degrees(seed):
    gen = np.random.default_rng(seed)
    X = np.vstack([gen.normal(0, 1, (40, 2)), gen.normal(4, 0.5, (20, 2))])
    labelled = np.zeros(len(X), dtype=bool)
    labelled[gen.choice(len(X), 3, replace=False)] = True
    delta = 0.8
    picks = probcover_picks(ball_graph(X, delta, 10**6), labelled, 8, np.random.default_rng(seed))
    assert len(picks) == 8
    for j, pick in enumerate(picks):
        degrees = authors_degrees(X, delta, np.flatnonzero(labelled), picks[:j])
        assert degrees[pick] == degrees.max() > 0


def test_purity_radius_is_the_largest_pure_enough_radius():
    gen = np.random.default_rng(1)
    X = np.vstack([gen.normal(0, 1, (30, 2)), gen.normal(2.5, 1, (30, 2))])
    clusters = np.repeat([0, 1], 30)
    d = np.linalg.norm(X[:, None] - X[None], axis=2)

    def purity(delta):
        ball = d < delta
        return np.mean([(clusters[ball[i]] == clusters[i]).all() for i in range(len(X))])

    delta = purity_radius(X, clusters, 0.9)
    assert purity(delta) >= 0.9
    assert purity(np.nextafter(delta, np.inf) * (1 + 1e-9)) < 0.9  # any larger radius is not pure enough


def test_strategy_uses_the_purity_radius_and_covers_the_pool():
    gen = np.random.default_rng(0)
    X = np.vstack([gen.normal(0, 0.3, (30, 2)), gen.normal(5, 0.3, (30, 2))])
    from albench.strategy import QueryState

    labelled = np.zeros(60, dtype=bool)
    labelled[0] = True
    y = np.repeat([0, 1], 30)
    state = QueryState(model=None, X=X, labelled=labelled, y=np.where(labelled, y, -1), classes=np.arange(2))
    strategy = ProbCover(space="features")
    strategy.prepare(X, np.random.default_rng(0))
    picks = strategy.query(state, 1, np.random.default_rng(0))
    assert picks[0] >= 30  # the uncovered blob first
    assert strategy.radius_ > 1.0  # the two blobs are far apart: a wide pure radius


def test_bad_parameters_and_too_many_edges():
    with pytest.raises(ValueError, match="probcover: radius must be > 0"):
        ProbCover(radius=0)
    with pytest.raises(ValueError, match="probcover: purity must be in"):
        ProbCover(purity=1.5)
    with pytest.raises(ValueError, match="above max_edges=10"):
        ball_graph(np.zeros((5, 2)), 1.0, max_edges=10)
