"""Component parameters are declared and checked at grid load; excludes are validated and cheap."""

from __future__ import annotations

import itertools
import random
import subprocess
import sys

import pandas as pd
import pytest

from albench import spec as spec_module
from albench.spec import GridError, grid_from_dict
from conftest import small_al_grid


def _error(params=None, **doc) -> str:
    with pytest.raises(GridError) as err:
        grid_from_dict(small_al_grid(params=params or {}, **doc), "g.yaml")
    return str(err.value)


@pytest.mark.parametrize("value, expected", [
    ({"name": "margin", "bata": 2}, "unknown parameter 'bata' for strategy 'margin'; accepted: (none)"),
    ({"name": "random", "sead": 3}, "unknown parameter 'sead' for strategy 'random'; accepted: (none)"),
    ({"name": "information_density", "bata": 2}, "unknown parameter 'bata' for strategy 'information_density'; "
                                                 "did you mean 'beta'? accepted: beta, base, similarity, n_neighbors"),
    ({"name": "information_density", "beta": "high"}, "strategy 'information_density': parameter 'beta' = 'high': "
                                                      "input should be a valid number"),
    ({"name": "information_density", "base": "gini"}, "strategy 'information_density': information_density: base "
                                                      "must be one of"),
    ({"name": "bald", "n_samples": True}, "parameter 'n_samples' = True: input should be a valid integer"),
    ({"name": "information_density", "beta": [1, 10]}, "input should be a valid number; a component's parameter "
                                                       "takes one value: to try several, list one component per "
                                                       "value ([{name: information_density, beta: 1}, "
                                                       "{name: information_density, beta: 10}, ...])"),
])
def test_strategy_parameters(value, expected):
    msg = _error({"strategy": value})
    assert msg.startswith("g.yaml: params.strategy: bad value ")
    assert expected in msg


@pytest.mark.parametrize("value, expected", [
    ({"name": "rf", "n_estimatorz": 5}, "unknown parameter 'n_estimatorz' for learner 'rf'; did you mean "
                                        "'n_estimators'? accepted: n_estimators, criterion"),
    ({"name": "rf", "n_estimators": "5"}, "The 'n_estimators' parameter of RandomForestClassifier must be an int"),
    ({"name": "rf", "n_estimators": [10, 50]}, "Got [10, 50] instead; a component's parameter takes one value: to "
                                               "try several, list one component per value ([{name: rf, "
                                               "n_estimators: 10}, {name: rf, n_estimators: 50}, ...])"),
    ({"name": "logreg", "C": -1}, "The 'C' parameter of LogisticRegression must be a float in the range (0.0, inf]"),
    ({"name": "sklearn.tree.DecisionTreeClassifier", "max_dept": 3}, "unknown parameter 'max_dept' for learner "
                                                                      "'sklearn.tree.DecisionTreeClassifier'; did "
                                                                      "you mean 'max_depth'?"),
    ("sklearn.linear_model.LinearRegression", "is not a scikit-learn classifier class"),
    ("this.Zen", "learner 'this.Zen' is not a classifier class: 'this' is a standard-library module"),
    ("os.system", "learner 'os.system' is not a classifier class: 'os' is a standard-library module"),
    ("sklearn.multiclass.OneVsRestClassifier", "learner 'sklearn.multiclass.OneVsRestClassifier': missing required "
                                               "parameter 'estimator'"),
    ("sklearn.nothing.Here", "cannot import learner 'sklearn.nothing.Here'"),
])
def test_learner_parameters_and_import_paths(value, expected):
    msg = _error({"learner": value})
    assert msg.startswith("g.yaml: params.learner: bad value ")
    assert expected in msg


def test_dataset_parameters_and_file_checked_at_load(tmp_path):
    assert "unknown parameter 'n_sample' for dataset 'moons'; did you mean 'n_samples'?" in _error(
        {"dataset": {"name": "moons", "n_sample": 100}})
    assert "dataset 'file': missing required parameter 'target'" in _error(
        {"dataset": {"name": "file", "path": "x.csv"}})
    # make_classification's own parameters pass through; its random_state is albench's (data_seed)
    grid_from_dict(small_al_grid(params={"dataset": {"name": "classification", "flip_y": 0.1}}))
    assert "unknown parameter 'random_state' for dataset 'classification'" in _error(
        {"dataset": {"name": "classification", "random_state": 1}})
    missing = tmp_path / "missing.csv"
    assert f"data file not found: {missing}" in _error({"dataset": {"name": "file", "path": str(missing),
                                                                    "target": "y"}})
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert f"data file {empty} is empty" in _error({"dataset": {"name": "file", "path": str(empty), "target": "y"}})
    binary = tmp_path / "table.parquet"
    binary.write_bytes(b"not a parquet file at all")
    assert f"data file {binary} does not read as a Parquet table" in _error(
        {"dataset": {"name": "file", "path": str(binary), "target": "y"}})
    table = tmp_path / "ok.csv"
    table.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n")
    assert "has no target column 'target'; columns: a, b, label" in _error(
        {"dataset": {"name": "file", "path": str(table), "target": "target"}})
    grid_from_dict(small_al_grid(params={"dataset": {"name": "file", "path": str(table), "target": "label"}}))
    # a target no run can learn from: one class, or an id column (no class has two rows); Parquet alike
    assert ("target column 'a' has fewer than two classes with two or more rows (4 distinct values; "
            in _error({"dataset": {"name": "file", "path": str(table), "target": "a"}}))
    one_class = tmp_path / "one.parquet"
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "label": ["x", "x", None]}).to_parquet(one_class)
    assert (f"data file {one_class}: target column 'label' has fewer than two classes with two or more rows "
            f"(1 distinct value; 'x': 2)") in _error(
        {"dataset": {"name": "file", "path": str(one_class), "target": "label"}})


def test_explicit_defaults_do_not_change_the_run_id():
    implicit = [s.run_id for s in grid_from_dict(small_al_grid(params={
        "learner": ["logreg", "rf"], "strategy": ["information_density", "bald"]})).specs()]
    explicit = [s.run_id for s in grid_from_dict(small_al_grid(params={
        "learner": [{"name": "logreg", "max_iter": 1000}, {"name": "rf", "n_estimators": 100}],
        "strategy": [{"name": "information_density", "beta": 1, "base": "entropy"},
                     {"name": "bald", "source": "auto", "n_samples": 10}]})).specs()]
    assert explicit == implicit
    other = [s.run_id for s in grid_from_dict(small_al_grid(params={
        "learner": ["logreg", "rf"], "strategy": [{"name": "information_density", "beta": 2}, "bald"]})).specs()]
    assert len(set(other) & set(implicit)) == len(implicit) // 2  # only the beta=2 runs are new


def test_every_mistake_is_reported_together():
    msg = _error({"dataset": "irs", "learner": {"name": "rf", "n_estimatorz": 5}, "strategy": ["margin", "entropyy"],
                  "batch_size": 0, "budgett": 3}, exclude=[{"strat": "margin"}], timeout_s=float("nan"))
    lines = msg.splitlines()
    assert len(lines) == 7, msg
    assert all(line.startswith("g.yaml: ") for line in lines)
    for part in ("params.dataset", "n_estimatorz", "entropyy", "params.batch_size", "params.budgett",
                 "exclude[0].strat", "timeout_s: nan"):
        assert sum(part in line for line in lines) == 1, (part, msg)


def test_the_number_of_mistakes_shown_is_bounded():
    msg = _error({"strategy": [f"nope{i}" for i in range(50)]})
    lines = msg.splitlines()
    assert len(lines) == spec_module.MAX_ERRORS + 1 and lines[-1] == "g.yaml: ... and 30 more"


@pytest.mark.parametrize("doc, expected", [
    ({"name": ".."}, "name: '..' is not a usable grid name"),
    ({"name": "."}, "name: '.' is not a usable grid name"),
    ({"name": "a\0b"}, "is not a usable grid name"),
    ({"name": "x" * 300}, "is not a usable grid name"),
    ({"name": "a/b"}, "is not a usable grid name"),
    ({"plugins": 5}, "plugins: expected a folder or a list of folders, got 5"),
    ({"timeout_s": True}, "timeout_s: True must be a positive, finite number of seconds"),
    ({"timeout_s": float("inf")}, "timeout_s: inf must be a positive, finite number of seconds"),
    ({"params": {"seed": {"range": [0, 5, 0]}}}, "params.seed: range [0, 5, 0] has step 0"),
    ({"params": {"seed": 10**20}}, "params.seed: bad value 100000000000000000000: Input should be less than or "
                                   "equal to 9223372036854775807"),
    ({"params": {"budget": 2**70}}, "params.budget: bad value"),
    ({"params": {"seed": {"range": [0, 10**9]}}}, "gives 1,000,000,000 values; at most 1,000,000 per axis"),
    ({"exclude": [{"seed": [0, 1]}]}, "exclude: the rules remove every run of the grid"),
    ({"exclude": [{"learner": "knn"}]}, "exclude[0].learner: 'knn' matches no value of the grid; its values: logreg"),
    ({"exclude": [{"batch_size": 7}]}, "exclude[0].batch_size: 7 matches no value of the grid; its values: 5"),
    ({"exclude": [{"strategy": "margn"}]}, "exclude[0].strategy: bad value 'margn'"),
])
def test_grid_level_mistakes(doc, expected):
    params = doc.pop("params", {})
    msg = _error(params, **doc)
    assert expected in msg, msg
    assert "\n" not in msg


def test_exclude_rules_are_canonicalised_like_params():
    doc = small_al_grid(params={"learner": ["logreg", "rf", {"name": "rf", "n_estimators": 5}]})
    n = len(grid_from_dict(doc))
    by_default = grid_from_dict({**doc, "exclude": [{"learner": {"name": "rf"}}]})
    spelled = grid_from_dict({**doc, "exclude": [{"learner": {"name": "rf", "n_estimators": 100}}]})
    by_name = grid_from_dict({**doc, "exclude": [{"learner": "rf"}]})
    assert len(by_default) == len(spelled) == n - n // 3
    assert [s.run_id for s in by_default.specs()] == [s.run_id for s in spelled.specs()]
    assert {s.params["learner"]["params"].get("n_estimators") for s in by_default.specs()
            if s.params["learner"]["name"] == "rf"} == {5}
    assert len(by_name) == n // 3  # a bare name: every rf, whatever its parameters


def test_an_exclude_rule_takes_a_range_as_params_do():
    doc = small_al_grid(params={"dataset": ["iris", "wine"], "seed": {"range": [0, 6]}})
    ranged = grid_from_dict({**doc, "exclude": [{"seed": {"range": [1, 6, 2]}, "strategy": "margin"}]})
    listed = grid_from_dict({**doc, "exclude": [{"seed": [1, 3, 5], "strategy": "margin"}]})
    assert len(ranged) == len(listed) == 2 * 2 * 6 - 2 * 3
    assert [s.run_id for s in ranged.specs()] == [s.run_id for s in listed.specs()]
    with pytest.raises(GridError, match=r"exclude\[0\]\.seed: 7 matches no value of the grid"):
        grid_from_dict({**doc, "exclude": [{"seed": {"range": [5, 8]}}]})
    with pytest.raises(GridError, match=r"exclude\[0\]\.seed: range \[3, 3\] is empty"):
        grid_from_dict({**doc, "exclude": [{"seed": {"range": [3, 3]}}]})


def test_counting_with_excludes_builds_no_spec_and_matches_enumeration(monkeypatch):
    rng = random.Random(0)
    sizes = {"seed": 6, "split": 4, "start_point": 3}
    for _ in range(40):
        rules = []
        for _ in range(rng.randint(1, 5)):
            rule = {k: rng.sample(range(n), rng.randint(1, n)) for k, n in sizes.items() if rng.random() < 0.6}
            if rule:
                rules.append(rule)
        doc = small_al_grid(params={k: {"range": [0, n]} for k, n in sizes.items()}, exclude=rules)
        try:
            grid = grid_from_dict(doc)
        except GridError as exc:
            assert "remove every run" in str(exc)
            continue
        brute = sum(1 for combo in itertools.product(*(range(n) for n in sizes.values()))
                    if not any(all(dict(zip(sizes, combo))[k] in v for k, v in r.items()) for r in rules))
        assert len(grid) == brute * 2  # two strategies
        assert len(list(grid.specs())) == len(grid)
    big = grid_from_dict(small_al_grid(params={"seed": {"range": [0, 2000]}, "split": {"range": [0, 100]}},
                                       exclude=[{"split": 3}, {"seed": [1, 2], "strategy": "margin"}]))

    def no_spec(*_):
        raise AssertionError("counting built a RunSpec")

    monkeypatch.setattr(spec_module, "make_runspec", no_spec)
    assert len(big) == 2 * 2000 * 100 - 2 * 2000 - 2 * 99


def test_cli_reports_every_mistake_with_exit_2(write_grid):
    path = write_grid(small_al_grid(params={"dataset": "irs", "strategy": {"name": "margin", "bata": 2}}))
    proc = subprocess.run([sys.executable, "-m", "albench", "grid", "show", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "params.dataset" in proc.stderr and "unknown parameter 'bata' for strategy 'margin'" in proc.stderr


PLUGIN = '''
from pathlib import Path
from albench.strategy import Strategy, register

Path(__file__).with_name("ran.txt").write_text("executed")


@register("{name}", "a plug-in that records that it ran")
class Recorder(Strategy):
    def __init__(self, spread: int = 1):
        super().__init__(spread=spread)

    def query(self, state, batch_size, rng):
        return rng.choice(state.unlabelled, size=batch_size, replace=False)
'''


def test_showing_a_grid_reads_its_plugins_without_running_them(tmp_path):
    from albench.spec import load_grid

    folder = tmp_path / "plugs"
    folder.mkdir()
    (folder / "recorder.py").write_text(PLUGIN.format(name="recorder_shown"))
    doc = small_al_grid(params={"strategy": ["margin", {"name": "recorder_shown", "spread": 2}]}, plugins=["plugs"])
    path = tmp_path / "g.yaml"
    import yaml

    path.write_text(yaml.safe_dump(doc))
    grid = load_grid(path, run_plugins=False)
    assert len(grid) == 4 and not (folder / "ran.txt").exists()
    with pytest.raises(GridError, match="params.strategy: bad value 'recorderr'"):
        grid_from_dict({**doc, "params": {**doc["params"], "strategy": "recorderr"}}, str(path), run_plugins=False)
    proc = subprocess.run([sys.executable, "-m", "albench", "grid", "show", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "runs: 4" in proc.stdout and not (folder / "ran.txt").exists()
    grid = load_grid(path)  # running (validating for a run) executes them, and checks their parameters
    assert (folder / "ran.txt").exists()
    bad = {**doc, "params": {**doc["params"], "strategy": {"name": "recorder_shown", "sprad": 2}}}
    with pytest.raises(GridError, match="did you mean 'spread'"):
        grid_from_dict(bad, str(path))


def test_showing_a_grid_names_a_plugin_file_that_does_not_parse(tmp_path):
    """Names are read without running the files: one that does not parse registers none, and says why."""
    import yaml

    from albench.spec import load_grid

    folder = tmp_path / "plugs"
    folder.mkdir()
    (folder / "recorder.py").write_text(PLUGIN.format(name="recorder_parsed"))
    (folder / "broken.py").write_text('from albench.strategy import register\n\n'
                                      '@register("broken_one"\nclass B: pass\n')
    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump(small_al_grid(params={"strategy": ["recorder_parsed", "broken_one"]},
                                                 plugins=["plugs"])))
    with pytest.raises(GridError) as info:
        grid_from_dict(yaml.safe_load(path.read_text()), str(path), run_plugins=False)
    lines = str(info.value).splitlines()
    assert "unknown strategy 'broken_one'" in lines[0] and len(lines) == 2
    assert lines[1] == (f"note: {path}: plugins: {folder / 'broken.py'}: SyntaxError: '(' was never closed (line 3); "
                        "the strategies it registers are unknown")
    path.write_text(yaml.safe_dump(small_al_grid(params={"strategy": "recorder_parsed"}, plugins=["plugs"])))
    grid = load_grid(path, run_plugins=False)  # the file that parses still counts; the broken one is a note
    assert len(grid) == 2 and len(grid.notes) == 1 and "broken.py: SyntaxError" in grid.notes[0]
