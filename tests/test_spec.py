"""Grid files: expansion, run_ids, and every validation error."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from albench.spec import GridError, grid_from_dict, load_grid
from conftest import small_al_grid


def test_expansion_counts_product_range_and_exclude():
    doc = small_al_grid(params={
        "dataset": ["iris", "wine"],
        "strategy": ["random", "margin", "entropy"],
        "batch_size": [1, 5],
        "seed": {"range": [0, 3]},
    })
    grid = grid_from_dict(doc)
    assert len(grid) == 2 * 3 * 2 * 3
    assert len(list(grid.specs())) == 36
    assert grid.axes["seed"] == [0, 1, 2]
    doc["exclude"] = [{"dataset": "wine", "strategy": ["margin", "entropy"]}]
    grid = grid_from_dict(doc)
    specs = list(grid.specs())
    assert len(grid) == len(specs) == 36 - 1 * 2 * 2 * 3
    assert not any(s.params["dataset"]["name"] == "wine" and s.params["strategy"]["name"] != "random"
                   for s in specs)


def test_range_with_step_and_duplicates_collapse():
    grid = grid_from_dict(small_al_grid(params={"seed": {"range": [0, 10, 5]}, "strategy": ["margin", "margin"]}))
    assert grid.axes["seed"] == [0, 5]
    assert len(grid.axes["strategy"]) == 1
    assert len(grid.notes) == 1 and "params.strategy: margin is listed 2 times" in grid.notes[0]


def test_two_spellings_of_one_value_are_one_value_and_a_note():
    grid = grid_from_dict(small_al_grid(params={
        "learner": ["knn", {"name": "rf", "n_estimators": 100}, "rf"], "dataset": ["iris", "wine"]}))
    assert [v["name"] for v in grid.axes["learner"]] == ["knn", "rf"]
    assert [n.split(": ", 1)[1] for n in grid.notes] == [
        "params.learner: rf is listed 2 times (as itself or as another spelling of it); it is one value, "
        "and its runs are run once"]
    assert grid_from_dict(small_al_grid(params={"dataset": ["iris", "wine"]})).notes == []


def test_run_ids_are_stable_distinct_and_fully_defaulted():
    a = [s.run_id for s in grid_from_dict(small_al_grid()).specs()]
    b = [s.run_id for s in grid_from_dict(small_al_grid()).specs()]
    assert a == b
    assert len(set(a)) == len(a)
    # writing a default explicitly, or a component as a mapping, changes nothing
    explicit = small_al_grid(params={"test_fraction": 0.25, "initial_size": "per_class",
                                     "learner": {"name": "logreg"}})
    assert [s.run_id for s in grid_from_dict(explicit).specs()] == a
    # the grid's name is not part of a run's identity
    assert [s.run_id for s in grid_from_dict(small_al_grid(name="other")).specs()] == a
    changed = small_al_grid(params={"test_fraction": 0.3})
    assert set(s.run_id for s in grid_from_dict(changed).specs()).isdisjoint(a)


def test_component_params_and_columns():
    grid = grid_from_dict(small_al_grid(params={"learner": {"name": "rf", "n_estimators": 7}}))
    spec = next(grid.specs())
    cols = spec.columns()
    assert cols["learner"] == "rf" and cols["learner_params"] == '{"n_estimators": 7}'
    assert cols["dataset"] == "iris" and cols["batch_size"] == 5 and cols["initial_size"] == "per_class"


def test_import_path_learner_is_accepted():
    grid = grid_from_dict(small_al_grid(params={"learner": "sklearn.tree.DecisionTreeClassifier"}))
    assert next(grid.specs()).params["learner"]["name"] == "sklearn.tree.DecisionTreeClassifier"


@pytest.mark.parametrize("params, expected", [
    ({"dataset": "irs"}, ["params.dataset", "'irs'", "did you mean 'iris'", "allowed:"]),
    ({"learner": "logregg"}, ["params.learner", "did you mean 'logreg'"]),
    ({"learner": "sklearn.nothing.Here"}, ["params.learner", "cannot import learner"]),
    ({"strategy": ["margin", "entropyy"]}, ["params.strategy", "did you mean 'entropy'"]),
    ({"batch_size": -3}, ["params.batch_size", "-3", "greater than 0"]),
    ({"batch_size": "ten"}, ["params.batch_size", "'ten'", "integer"]),
    ({"test_fraction": 1.5}, ["params.test_fraction", "less than 1"]),
    ({"initial_size": "some"}, ["params.initial_size", "per_class"]),
    ({"seed": {"range": [0]}}, ["params.seed", "range"]),
    ({"seed": {"range": [3, 3]}}, ["params.seed", "empty"]),
    ({"budgett": 3}, ["params.budgett", "unknown hyperparameter", "did you mean 'budget'"]),
    ({"strategy": []}, ["params.strategy", "empty list"]),
])
def test_validation_errors_name_key_value_and_allowed(params, expected):
    with pytest.raises(GridError) as err:
        grid_from_dict(small_al_grid(params=params), "g.yaml")
    msg = str(err.value)
    assert msg.startswith("g.yaml: ")
    for part in expected:
        assert part in msg, msg


def test_missing_required_key_and_top_level_errors():
    doc = small_al_grid()
    del doc["params"]["learner"]
    with pytest.raises(GridError, match="missing key 'learner'"):
        grid_from_dict(doc, "g.yaml")
    with pytest.raises(GridError, match="missing key 'params'"):
        grid_from_dict({"name": "x", "kind": "al"}, "g.yaml")
    without_kind = {k: v for k, v in small_al_grid().items() if k != "kind"}
    with pytest.raises(GridError, match="missing key 'kind': 'al' for pool-based active learning or 'at' for"):
        grid_from_dict(without_kind, "g.yaml")
    with pytest.raises(GridError, match="unknown kind 'active'"):
        grid_from_dict({**small_al_grid(), "kind": "active"}, "g.yaml")
    with pytest.raises(GridError, match="unknown top-level key 'parms'.*did you mean 'params'"):
        grid_from_dict({**small_al_grid(), "parms": {}}, "g.yaml")
    with pytest.raises(GridError, match="exclude\\[0\\].strat"):
        grid_from_dict({**small_al_grid(), "exclude": [{"strat": "margin"}]}, "g.yaml")


def test_malformed_yaml_names_line(write_grid):
    path = write_grid("name: x\nkind: al\nparams:\n  dataset: [iris\n  learner: logreg\n")
    with pytest.raises(GridError) as err:
        load_grid(path)
    assert str(path) in str(err.value) and "malformed YAML" in str(err.value) and "line" in str(err.value)


def test_cli_bad_grid_exits_2_without_traceback_and_writes_nothing(write_grid, tmp_path):
    path = write_grid(small_al_grid(params={"dataset": "irs"}))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "albench", "grid", "run", str(path), "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "params.dataset" in proc.stderr and "did you mean 'iris'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 6
    assert not out.exists()


def test_cli_grid_show_prints_axes_and_count(write_grid):
    path = write_grid(small_al_grid(params={"dataset": ["iris", "wine"]}))
    proc = subprocess.run([sys.executable, "-m", "albench", "grid", "show", str(path)],
                          capture_output=True, text=True, check=True)
    assert "runs: 8" in proc.stdout
    assert "dataset" in proc.stdout and "wine" in proc.stdout and "note:" not in proc.stdout
    path = write_grid(small_al_grid(params={"dataset": ["iris", "wine", "iris"]}))
    proc = subprocess.run([sys.executable, "-m", "albench", "grid", "show", str(path)],
                          capture_output=True, text=True, check=True)
    assert "runs: 8" in proc.stdout
    assert proc.stdout.startswith(f"note: {path}: params.dataset: iris is listed 2 times"), proc.stdout


def test_streamed_run_ids_equal_the_canonical_hash():
    from albench.spec import run_id_of

    grid = grid_from_dict(small_al_grid(params={
        "dataset": ["iris", {"name": "moons", "noise": 0.3}], "learner": ["logreg", {"name": "rf", "max_depth": 3}],
        "initial_size": ["per_class", 6], "test_fraction": [0.2, 0.25]}, exclude=[{"initial_size": 6, "seed": 1}]))
    specs = list(grid.specs())
    assert len(specs) == len(grid) == 2 * 2 * 2 * 2 * 2 * 2 - 2 * 2 * 2 * 2
    assert all(s.run_id == run_id_of(s.kind, s.params) for s in specs)
    assert list(grid.run_ids()) == [s.run_id for s in specs]  # the ids alone, in the same order
    from albench.active_bench.sampler import restrict

    some = {s.run_id for s in specs[::3]}
    sub = restrict(grid, some)
    assert list(sub.run_ids()) == [s.run_id for s in sub.specs()] == [s.run_id for s in specs if s.run_id in some]


def test_null_is_a_value_of_an_axis():
    grid = grid_from_dict({"name": "at", "kind": "at", "params": {"dataset": "iris", "model": "logreg",
                                                                  "pool_size": [None, 60]}})
    assert grid.axes["pool_size"] == [None, 60] and len(grid) == 2


def test_a_start_set_as_large_as_the_pool_is_refused_before_anything_runs(tmp_path):
    """iris: 150 rows, a test share of 0.25 rounds up to 38, so the pool holds 112 and a start set of 112
    leaves nothing to query (the run itself fails with "initial_size 112 leaves nothing to query in a pool
    of 112"); the check sees the exclude rules, and a data set's own size (a file's rows, n_samples)."""
    from albench.al_loop import initial_indices, split_indices

    y = np.repeat([0, 1, 2], 50)
    pool, _ = split_indices(y, {"name": "iris", "params": {}}, 0, 0.25)
    assert len(pool) == 112  # the figure the check must give
    with pytest.raises(ValueError, match="leaves nothing to query in a pool of 112"):
        initial_indices(y[pool], 112, np.random.default_rng(0))
    assert len(grid_from_dict(small_al_grid(params={"initial_size": 111}))) == 4
    with pytest.raises(GridError) as info:
        grid_from_dict(small_al_grid(params={"initial_size": [5, 112, 200], "dataset": ["iris", "digits"]}))
    assert str(info.value) == ("<grid>: params.initial_size: 112, 200 leaves nothing to query in data set iris: "
                               "its pool holds at most 112 of its 150 rows (test_fraction 0.25); use a smaller "
                               "start set or exclude those runs")
    excluded = small_al_grid(params={"initial_size": [5, 200], "dataset": ["iris", "digits"]},
                             exclude=[{"dataset": "iris", "initial_size": 200}])
    assert len(grid_from_dict(excluded)) == 3 * 2 * 2
    with pytest.raises(GridError, match=r"data set blobs\{\"n_samples\": 40\}: its pool holds at most 20 of its "
                                        r"40 rows \(test_fraction 0.5\)"):
        grid_from_dict(small_al_grid(params={"dataset": {"name": "blobs", "n_samples": 40}, "initial_size": 20,
                                             "test_fraction": 0.5}))
    path = tmp_path / "d.csv"
    path.write_text("a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(10)))
    with pytest.raises(GridError, match="its pool holds at most 7 of its 10 rows"):
        grid_from_dict(small_al_grid(params={"dataset": {"name": "file", "path": str(path), "target": "y"},
                                             "initial_size": 7}))


def test_a_training_set_of_every_row_is_refused_for_active_testing():
    doc = {"name": "t", "kind": "at", "params": {"dataset": ["iris", "wine"], "model": "gnb",
                                                "train_size": [50, 160], "budget": 5}}
    with pytest.raises(GridError) as info:
        grid_from_dict(doc)
    assert str(info.value) == ("<grid>: params.train_size: 160 leaves no test pool in data set iris of 150 rows; "
                               "use a smaller training set or exclude those runs")
    assert len(grid_from_dict({**doc, "exclude": [{"dataset": "iris", "train_size": 160}]})) == 3
    pooled = {**doc, "params": {**doc["params"], "train_size": 50, "pool_size": [100, 101, None]}}
    with pytest.raises(GridError) as info:
        grid_from_dict(pooled)
    assert str(info.value) == ("<grid>: params.pool_size: 101 exceeds the at most 100 rows of data set iris left "
                               "after a training set of 50; use a smaller pool or exclude those runs")
