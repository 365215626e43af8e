"""``albench compare``: paired statistics against synthetic results whose truth is known."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from albench.analysis.compare import compare_groups, compare_runs
from albench.analysis.frame import AnalysisError
from albench.store import Store
from conftest import invoke


def _runs(shift: dict[str, float], seed: int, n_seeds: int = 12, drop: int = 0) -> pd.DataFrame:
    """AL runs of 2 strategies x 2 learners x n_seeds; ``shift`` adds to a strategy's AUC."""
    gen = np.random.default_rng(seed)
    rows = []
    for strategy in ("random", "margin"):
        for learner in ("logreg", "rf"):
            for s in range(n_seeds):
                base = 0.7 + 0.01 * s + (0.05 if learner == "rf" else 0.0)  # the cell's truth
                rows.append({"run_id": f"{strategy}-{learner}-{s}", "kind": "al", "status": "ok", "grid": "g",
                             "dataset": "iris", "dataset_params": "{}", "strategy": strategy, "strategy_params": "{}",
                             "learner": learner, "learner_params": "{}", "seed": s,
                             "auc_accuracy": base + shift.get(strategy, 0.0) + gen.normal(0, 0.002)})
    return pd.DataFrame(rows[drop:])


def test_folders_are_paired_by_run_id_and_the_shift_is_found():
    a, b = _runs({}, 0), _runs({"margin": 0.03}, 1, drop=3)
    result = compare_runs(a, b, rope=0.01)
    t = result.table.set_index("method")
    assert result.paired_on == "run_id" and result.unpaired == (3, 0)
    assert t.loc["margin", "pairs"] == 24 and t.loc["random", "pairs"] == 21 and t.loc["all", "pairs"] == 45
    assert t.loc["margin", "effect"] == pytest.approx(0.03, abs=0.002)
    assert t.loc["margin", "effect_low"] > 0.02 and t.loc["margin", "p_better"] > 0.95
    assert t.loc["margin", "wins"] == 24 and t.loc["margin", "wilcoxon_p"] < 1e-4
    assert abs(t.loc["random", "effect"]) < 0.003 and t.loc["random", "p_equivalent"] > 0.95
    assert t.loc["random", "ties"] == 21


def test_two_groups_of_one_folder_are_matched_on_every_other_hyperparameter():
    runs = _runs({"margin": 0.02}, 0)
    result = compare_groups(runs, "learner", "logreg", "rf", rope=0.0)
    t = result.table.set_index("method")
    assert result.paired_on == "seed"  # strategy is the method: rows per strategy
    assert t.loc["all", "pairs"] == 24 and t.loc["all", "effect"] == pytest.approx(0.05, abs=0.002)
    both = compare_groups(runs, "strategy", "random", "margin")
    assert both.table["method"].tolist() == ["all"]
    assert both.table.loc[0, "effect"] == pytest.approx(0.02, abs=0.002)
    with pytest.raises(AnalysisError, match="learner has no value 'svm'; its values: logreg, rf"):
        compare_groups(runs, "learner", "logreg", "svm")
    with pytest.raises(AnalysisError, match="learner has no value 'rff'; did you mean 'rf'\\? its values"):
        compare_groups(runs, "learner", "logreg", "rff")
    with pytest.raises(AnalysisError, match="--by lerner: not a hyperparameter of these runs; did you mean 'learner'"):
        compare_groups(runs, "lerner", "logreg", "rf")


def test_folders_without_common_runs_say_so():
    a, b = _runs({}, 0), _runs({}, 1).assign(run_id=lambda d: "x" + d["run_id"])
    with pytest.raises(AnalysisError, match="share no successful run"):
        compare_runs(a, b)


def test_cli_compare_json_and_errors(tmp_path):
    for name, runs in (("a", _runs({}, 0)), ("b", _runs({"margin": 0.03}, 1))):
        Store(tmp_path / name).write(runs.to_dict(orient="records"), [])
    args = ["compare", tmp_path / "a", tmp_path / "b", "--json"]
    done = invoke(*args)
    assert done.exit_code == 0, done.output
    table = {r["method"]: r for r in json.loads(done.stdout)["table"]}
    assert table["margin"]["effect"] == pytest.approx(0.03, abs=0.002)
    done = invoke(*args[:2], "--by", "learner")
    assert done.exit_code == 2 and "--by and --groups go together" in done.stderr
    done = invoke(*args[:3], "--by", "learner", "--groups", "logreg,rf")
    assert done.exit_code == 2 and "give a second results folder B, or --by" in done.stderr
    done = invoke(*args[:2], "--by", "learner", "--groups", "logreg,rf", "--json")
    assert done.exit_code == 0 and json.loads(done.stdout)["b"] == "learner=rf", done.output
    done = invoke(*args[:3], "--metric", "auc_accuracy")
    assert done.exit_code == 0 and "B - A" in done.stdout, done.output


def test_one_part_of_an_active_testing_method_is_compared_within_each_value_of_the_other():
    """AT methods are proposal / estimator: --by proposal pairs the runs of each estimator (one row each),
    instead of finding no cell where "uniform / lure" meets "entropy / lure"."""
    rng = np.random.default_rng(0)
    rows = [{"run_id": f"{p}-{s}", "kind": "at", "status": "ok", "dataset": "iris", "model": "logreg",
             "loss": "cross_entropy", "proposal": p, "seed": s,
             **{f"{e}_{field}": (0.01 if p == "entropy" else 0.02) * (1 + 0.1 * rng.random())
                for e in ("lure", "pure") for field in ("estimate", "squared_error")}}
            for p in ("uniform", "entropy") for s in range(6)]
    result = compare_groups(pd.DataFrame(rows), "proposal", "uniform", "entropy")
    t = result.table.set_index("method")
    assert list(t.index) == ["lure", "pure", "all"] and (t.loc[["lure", "pure"], "pairs"] == 6).all()
    assert (t["effect"] > 0).all() and (t["wins"] == t["pairs"]).all()  # entropy's error is lower: B better
    assert result.paired_on == "seed"  # estimator is the row, not a key to match on
