"""``split`` and ``start_point`` really change the split and the start set of a run."""

from __future__ import annotations

import numpy as np

from albench import datasets
from albench.al_loop import run, split_indices
from albench.spec import grid_from_dict
from conftest import small_al_grid


def _runs(axis: str, values, **fixed):
    """``axis`` -> (spec, result) of runs that differ only in ``axis``."""
    grid = grid_from_dict(small_al_grid(params={"strategy": "random", "seed": 0, "budget": 4, "batch_size": 3,
                                                "learner": "gnb", axis: values, **fixed}))
    return {spec.params[axis]: (spec, run(spec)) for spec in grid.specs()}


def test_split_changes_the_held_out_rows_and_the_pool():
    data = datasets.load("iris")
    queried_by_split = {}
    for split, (spec, result) in _runs("split", {"range": [0, 4]}).items():
        _, test = split_indices(data.y, spec.params["dataset"], split, spec.params["test_fraction"])
        queried = np.concatenate([r["queried"] for r in result.curves])
        assert not np.isin(queried, test).any()  # only pool rows of *this* split are ever queried
        queried_by_split[split] = frozenset(queried.tolist())
    tests = [frozenset(split_indices(data.y, {"name": "iris", "params": {}}, s, 0.25)[1].tolist()) for s in range(4)]
    assert len(set(tests)) == 4
    # a run that ignored `split` would query rows of split 0's test set under some other split
    assert len(set(queried_by_split.values())) == 4


def test_start_point_changes_the_start_set():
    first_cycle = {sp: result.curves[0]["accuracy"]
                   for sp, (_, result) in _runs("start_point", {"range": [0, 6]}, initial_size=4).items()}
    # the model of cycle 0 is fitted on the start set alone: six start sets, not all the same model
    assert len(set(first_cycle.values())) > 1, first_cycle
    again = {sp: result.curves[0]["accuracy"]
             for sp, (_, result) in _runs("start_point", {"range": [0, 6]}, initial_size=4).items()}
    assert again == first_cycle
