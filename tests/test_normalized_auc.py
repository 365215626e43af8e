"""Normalised AUC (albench/analysis/normalized.py) on hand-made runs tables and on a real grid."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from albench.analysis.normalized import normalized_auc, with_normalized_auc


def _runs(rows):
    base = {"dataset": "iris", "dataset_params": "{}", "learner": "gnb", "learner_params": "{}", "batch_size": 1,
            "initial_size": "per_class", "start_point": 0, "split": 0, "test_fraction": 0.25, "budget": 5,
            "seed": 0, "strategy_params": "{}", "status": "ok"}
    return pd.DataFrame([{**base, **row} for row in rows])


def test_by_hand_per_block():
    runs = _runs([
        {"strategy": "random", "auc_accuracy": 0.6},
        {"strategy": "oracle", "auc_accuracy": 0.8},
        {"strategy": "margin", "auc_accuracy": 0.75},
        {"strategy": "entropy", "auc_accuracy": 0.55},
        {"strategy": "random", "auc_accuracy": 0.5, "seed": 1},
        {"strategy": "random", "auc_accuracy": 0.7, "seed": 1},  # two baseline runs: averaged (0.6)
        {"strategy": "oracle", "auc_accuracy": 1.0, "seed": 1},
        {"strategy": "margin", "auc_accuracy": 1.1, "seed": 1},
    ])
    out = normalized_auc(runs)
    assert out.name == "normalized_auc_accuracy"
    np.testing.assert_allclose(out, [0.0, 1.0, 0.75, -0.25, -0.25, 0.25, 1.0, 1.25])


def test_blocks_without_both_references_or_with_a_useless_oracle_give_nan():
    runs = _runs([
        {"strategy": "random", "auc_accuracy": 0.6},
        {"strategy": "margin", "auc_accuracy": 0.7},  # no oracle in this block
        {"strategy": "random", "auc_accuracy": 0.6, "learner": "logreg"},
        {"strategy": "oracle", "auc_accuracy": 0.6, "learner": "logreg"},  # the oracle did not beat random
        {"strategy": "margin", "auc_accuracy": 0.7, "learner": "logreg"},
        {"strategy": "random", "auc_accuracy": 0.6, "batch_size": 5},
        {"strategy": "oracle", "auc_accuracy": 0.9, "batch_size": 5},
        {"strategy": "margin", "auc_accuracy": None, "batch_size": 5, "status": "error"},
        {"strategy": "random", "auc_accuracy": 0.6, "seed": 3},
        {"strategy": "oracle", "auc_accuracy": 0.605, "seed": 3},  # a gap below min_span: ratios would explode
        {"strategy": "margin", "auc_accuracy": 0.62, "seed": 3},
    ])
    out = normalized_auc(runs)
    assert out.isna().tolist() == [True, True, True, True, True, False, False, True, True, True, True]
    np.testing.assert_allclose(normalized_auc(runs, min_span=0.001)[-3:], [0.0, 1.0, 4.0])


def test_component_parameters_separate_blocks_and_label_the_references():
    runs = _runs([
        {"strategy": "random", "auc_accuracy": 0.5},
        {"strategy": "oracle", "strategy_params": json.dumps({"n_candidates": 50}), "auc_accuracy": 0.9},
        {"strategy": "margin", "auc_accuracy": 0.7},
        {"strategy": "random", "auc_accuracy": 0.1, "learner_params": json.dumps({"var_smoothing": 0.1})},
    ])
    assert normalized_auc(runs).isna().all()  # no run of the default oracle
    out = normalized_auc(runs, oracle="oracle(n_candidates=50)")
    np.testing.assert_allclose(out[:3], [0.0, 1.0, 0.5])
    assert np.isnan(out[3])  # another learner configuration: another block, without an oracle


def test_missing_column_is_a_clear_error():
    with pytest.raises(ValueError, match="normalized_auc: the runs table has no column 'auc_recall'"):
        normalized_auc(_runs([{"strategy": "random", "auc_accuracy": 0.5}]), metric="auc_recall")


def test_on_a_real_grid(tmp_path):
    from albench.execute import execute_run
    from albench.spec import grid_from_dict

    grid = grid_from_dict({"name": "n", "kind": "al", "params": {
        "dataset": "iris", "learner": "gnb", "budget": 3, "start_point": {"range": [0, 2]},
        "strategy": ["random", "margin", {"name": "oracle", "n_candidates": 5}]}})
    rows = [execute_run(spec, grid.name)[0] for spec in grid.specs()]
    runs = with_normalized_auc(pd.DataFrame(rows))
    for metric in ("auc_accuracy", "auc_macro_f1", "auc_weighted_f1"):
        column = runs[f"normalized_{metric}"]
        by = runs.assign(v=column).groupby("strategy")["v"]
        defined = column.notna()
        np.testing.assert_allclose(runs.loc[defined & (runs.strategy == "random"), f"normalized_{metric}"], 0.0)
        np.testing.assert_allclose(runs.loc[defined & (runs.strategy == "oracle"), f"normalized_{metric}"], 1.0)
        assert by.count()["margin"] == defined[runs.strategy == "oracle"].sum()


def test_analysis_ranks_on_normalized_auc_and_leaves_the_oracle_out():
    from albench.analysis.summary import analyze

    rows = []
    for seed in range(6):
        for strategy, auc in (("random", 0.70), ("margin", 0.75), ("entropy", 0.72), ("oracle", 0.80)):
            rows.append({"run_id": f"{strategy}{seed}", "kind": "al", "status": "ok", "dataset": "iris",
                         "dataset_params": "{}", "learner": "logreg", "learner_params": "{}", "strategy": strategy,
                         "strategy_params": "{}", "seed": seed, "auc_accuracy": auc + 0.001 * seed})
    runs = pd.DataFrame(rows)
    a = analyze(runs, metric="normalized_auc_accuracy", n_resamples=20)
    table = a.comparison.table.set_index("strategy")
    assert "oracle" not in table.index
    assert table["mean_normalized_auc_accuracy"].to_dict() == pytest.approx({"margin": 0.5, "entropy": 0.2,
                                                                             "random": 0.0})
    with_oracle = analyze(runs, metric="auc_accuracy", n_resamples=20, include_oracles=True)
    assert with_oracle.comparison.table["strategy"].iloc[0] == "oracle"
