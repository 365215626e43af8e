"""The AL loop: invariants, pool exhaustion, missing classes, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from albench import al_loop
from albench.execute import execute_run
from albench.spec import grid_from_dict
from conftest import small_al_grid


def one_spec(**params):
    return next(grid_from_dict(small_al_grid(params={"strategy": "margin", "seed": 0, **params})).specs())


def queried_rows(result):
    return [r["queried"] for r in result.curves]


@pytest.mark.parametrize("dataset", ["iris", "breast_cancer"])  # multiclass and binary
def test_invariants(dataset):
    spec = one_spec(dataset=dataset, batch_size=4, budget=6)
    result = al_loop.run(spec)
    curves = result.curves
    assert len(curves) == 6 + 1
    assert [r["cycle"] for r in curves] == list(range(7))
    n_classes = result.summary["n_classes"]
    assert curves[0]["n_labelled"] == n_classes  # initial_size per_class
    for prev, cur in zip(curves, curves[1:]):
        assert cur["n_labelled"] - prev["n_labelled"] == 4 == len(prev["queried"])
    picked = np.concatenate([q for q in queried_rows(result) if q])
    assert len(picked) == len(set(picked)) == 24
    assert curves[-1]["queried"] == []
    for r in curves:
        assert 0.0 <= r["accuracy"] <= 1.0 and 0.0 <= r["macro_f1"] <= 1.0
    s = result.summary
    assert s["n_queries"] == 6 and s["n_labelled_final"] == n_classes + 24
    assert 0.0 <= s["auc_accuracy"] <= 1.0
    assert s["final_accuracy"] == curves[-1]["accuracy"]


def test_queried_points_are_pool_points_never_test_points():
    spec = one_spec(batch_size=5, budget=4)
    p = spec.params
    data_y = np.asarray(__import__("albench.datasets", fromlist=["load"]).load("iris").y)
    pool, test = al_loop.split_indices(data_y, p["dataset"], p["split"], p["test_fraction"])
    picked = np.concatenate([q for q in queried_rows(al_loop.run(spec)) if q])
    assert np.isin(picked, pool).all() and not np.isin(picked, test).any()


def test_pool_exhaustion_stops_early_with_a_short_last_batch():
    # iris: 150 points, 25% test -> pool of 112; 3 start points leave 109 = 10*10 + 9
    spec = one_spec(batch_size=10, budget=50)
    result = al_loop.run(spec)
    sizes = [len(q) for q in queried_rows(result)]
    assert sizes[:-2] == [10] * 10 and sizes[-2] == 9 and sizes[-1] == 0
    assert result.curves[-1]["n_labelled"] == 112
    assert result.summary["n_queries"] == 11


def test_start_set_missing_classes_and_single_class():
    # one random labelled point: only one class seen; probabilities still cover all classes
    result = al_loop.run(one_spec(initial_size=1, batch_size=1, budget=5))
    assert result.curves[0]["n_labelled"] == 1
    assert len(result.curves) == 6


def test_same_runspec_gives_identical_rows():
    spec = one_spec(learner={"name": "rf", "n_estimators": 10}, strategy="entropy", budget=5)
    a, b = al_loop.run(spec), al_loop.run(spec)
    drop = {"fit_s", "eval_s", "query_s", "prepare_s", "fit_cpu_s", "eval_cpu_s", "query_cpu_s"}
    strip = lambda rows: [{k: v for k, v in r.items() if k not in drop} for r in rows]
    assert strip(a.curves) == strip(b.curves)
    assert strip([a.summary]) == strip([b.summary])


def test_split_and_start_set_do_not_depend_on_strategy_or_seed():
    a = al_loop.run(one_spec(strategy="random", seed=0, budget=1))
    b = al_loop.run(one_spec(strategy="margin", seed=3, budget=1))
    assert a.curves[0]["accuracy"] == b.curves[0]["accuracy"]  # same start set, same learner
    c = al_loop.run(one_spec(start_point=1, budget=1))
    d = al_loop.run(one_spec(split=1, budget=1))
    assert (c.summary["n_pool"], d.summary["n_pool"]) == (a.summary["n_pool"],) * 2


def test_auc_is_normalised_trapezoid():
    assert al_loop.area_under_curve([0.5]) == 0.5
    assert al_loop.area_under_curve([0.0, 1.0]) == pytest.approx(0.5)
    assert al_loop.area_under_curve([0.2, 0.4, 0.6]) == pytest.approx(0.4)


def test_contract_violations_are_caught():
    labelled = np.array([True, False, False, False])
    with pytest.raises(RuntimeError, match="same index twice"):
        al_loop.check_batch([1, 1], labelled, 2, "s")
    with pytest.raises(RuntimeError, match="already labelled"):
        al_loop.check_batch([0, 1], labelled, 2, "s")
    with pytest.raises(RuntimeError, match="expected 2"):
        al_loop.check_batch([1], labelled, 2, "s")
    with pytest.raises(RuntimeError, match="outside the pool"):
        al_loop.check_batch([1, 9], labelled, 2, "s")


def test_a_failing_run_becomes_an_error_row():
    from albench.spec import make_runspec

    # larger than iris' pool: the grid check refuses it, the run spec (as data of unknown size meet it) fails
    spec = make_runspec("al", {**one_spec().params, "initial_size": 500})
    row, curves = execute_run(spec, "g")
    assert row["status"] == "error" and "initial_size 500" in row["error"]
    assert row["run_id"] == spec.run_id and row["dataset"] == "iris" and curves == []
    assert "Traceback" not in row["error"] and "al_loop.py" in row["error_traceback"]
