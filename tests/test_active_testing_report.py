"""The benchmark's figures: the exact iid error formula and labelling efficiency."""

import numpy as np
import pandas as pd
import pytest

from scipy import stats

from albench.active_testing.report import (errors_by_budget, final_errors, iid_labels_matching, iid_mse,
                                           labelling_efficiency, mse_interval, reliability_warnings,
                                           selection_accuracy, varying_keys)


def test_iid_mse_formula_matches_simulation():
    gen = np.random.default_rng(0)
    losses = gen.gamma(0.5, 2.0, size=30)
    runs = pd.DataFrame({"pool_loss_variance": [losses.var()], "n_pool": [30]})
    draws = gen.permuted(np.tile(np.arange(30), (40000, 1)), axis=1)
    for m in (1, 5, 20, 30):
        simulated = ((losses[draws[:, :m]].mean(axis=1) - losses.mean()) ** 2).mean()
        assert iid_mse(runs, np.array([m]))[0] == pytest.approx(simulated, rel=0.03, abs=1e-12)


def test_iid_labels_matching_inverts_the_formula():
    runs = pd.DataFrame({"pool_loss_variance": [0.5, 0.2], "n_pool": [200, 300]})
    target = iid_mse(runs, np.array([37]))[0]
    assert iid_labels_matching(runs, target) == 37
    assert iid_labels_matching(runs, target * 1.0001) == 37
    assert iid_labels_matching(runs, 0.0) == 200  # only the whole (smallest) pool is exact


def test_errors_and_efficiency_from_stored_rows():
    runs = pd.DataFrame({"run_id": ["a", "b"], "status": ["ok", "ok"], "dataset": "d", "loss": "zero_one",
                         "surrogate": "model", "proposal": "p", "pool_loss_variance": [0.1, 0.1],
                         "n_pool": [100, 100]})
    curves = pd.DataFrame({"run_id": ["a", "b", "a", "b"], "m": [10, 10, 20, 20], "estimator": "lure",
                           "squared_error": [1e-3, 3e-3, 1e-4, 2e-4]})
    errors = errors_by_budget(runs, curves)
    assert errors["mse"].tolist() == pytest.approx([2e-3, 1.5e-4])
    eff = labelling_efficiency(runs, errors)
    for _, row in eff.iterrows():
        assert iid_mse(runs, np.array([row["iid_labels"]]))[0] <= row["mse"]
        assert iid_mse(runs, np.array([row["iid_labels"] - 1]))[0] > row["mse"]
    assert eff["efficiency"].tolist() == pytest.approx((eff["iid_labels"] / eff["m"]).tolist())
    assert (errors["mse_low"] <= errors["mse"]).all() and (errors["mse"] <= errors["mse_high"]).all()
    assert (eff["iid_labels_low"] <= eff["iid_labels"]).all() and (eff["iid_labels"] <= eff["iid_labels_high"]).all()


def _runs(**columns):
    n = max(len(v) if isinstance(v, list) else 1 for v in columns.values())
    base = {"run_id": [f"r{i}" for i in range(n)], "status": ["ok"] * n, "dataset": "d", "loss": "zero_one",
            "surrogate": "model", "proposal": "p", "seed": list(range(n)), "pool_loss_variance": 0.1,
            "n_pool": 100}
    return pd.DataFrame({**base, **columns})


def test_grouping_never_mixes_two_values_of_a_varying_hyperparameter():
    runs = _runs(model=["logreg", "logreg", "gnb", "gnb", "rf", "rf"],
                 model_params=["{}", "{}", "{}", "{}", "{}", '{"n_estimators": 20}'],
                 safeguard_weight=0.1, lure_squared_error=[1.0, 3.0, 10.0, 30.0, 100.0, 300.0],
                 true_risk=0.2, lure_ci_low=[0.1, 0.3, 0.1, 0.1, 0.1, 0.1], lure_ci_high=0.5)
    assert varying_keys(runs) == ["model"]  # seeds are replicates; a constant key is not varying
    table = final_errors(runs).set_index("model")
    assert table.loc["logreg", "mse"] == 2.0 and table.loc["gnb", "mse"] == 20.0
    assert table.loc["rf", "mse"] == 100.0 and table.loc["rf(n_estimators=20)", "mse"] == 300.0  # params apart
    assert table.loc["logreg", "coverage"] == 0.5 and table.loc["gnb", "coverage"] == 1.0
    assert table["runs"].to_dict() == {"gnb": 2, "logreg": 2, "rf": 1, "rf(n_estimators=20)": 1}
    curves = pd.DataFrame({"run_id": runs["run_id"], "m": 5, "estimator": "lure",
                           "squared_error": runs["lure_squared_error"], "covered": [True, False] * 3})
    errors = errors_by_budget(runs, curves).set_index("model")
    assert errors.loc["gnb", "mse"] == 20.0 and errors.loc["gnb", "runs"] == 2
    assert "model" in errors.attrs["keys"]


def test_mse_interval_is_bca_and_holds_the_mean():
    values = np.random.default_rng(0).pareto(1.5, size=300)  # heavy tail
    low, high = mse_interval(values)
    assert low < values.mean() < high
    percentile = stats.bootstrap((values,), np.mean, n_resamples=2000, method="percentile",
                                 rng=np.random.default_rng(0)).confidence_interval
    assert high > percentile.high  # BCa moves the interval towards the long tail


def test_reliability_warnings_flag_small_safeguards_and_large_weights():
    fine = _runs(model="m", safeguard_weight=[0.1, 0.1], max_weight=[3.0, 10.0])
    assert reliability_warnings(fine) == []
    bad = _runs(model="m", safeguard_weight=[0.01, 0.1], max_weight=[80.0, 10.0])
    warnings = reliability_warnings(bad)
    assert len(warnings) == 2 and "1 of 2 runs" in warnings[0] and "0.01" in warnings[1]


def test_selection_accuracy_paired_and_independent():
    # paired: one run per seed compares logreg with its rival gnb; truth: logreg is better (difference < 0)
    paired = _runs(model="logreg", rival="gnb", proposal="loss_difference")
    paired = pd.concat([paired] * 2, ignore_index=True).head(2).assign(run_id=["a", "b"], seed=[0, 1])
    curves = pd.DataFrame({"run_id": ["a", "b"], "m": 10, "estimator": "lure", "estimate": 0.1, "true_risk": 0.1,
                           "difference_estimate": [-0.02, 0.01], "true_difference": -0.05})
    table = selection_accuracy(paired, curves)
    assert table.set_index("design")["p_correct"].to_dict() == {"paired": 0.5}
    assert table["models"].tolist() == ["gnb vs logreg"]
    # independent: separate runs of each model, matched by seed
    single = _runs(model=["logreg", "gnb", "logreg", "gnb"], seed=[0, 0, 1, 1], rival=None)
    curves = pd.DataFrame({"run_id": single["run_id"], "m": 10, "estimator": "lure",
                           "estimate": [0.1, 0.2, 0.3, 0.2], "true_risk": [0.1, 0.15, 0.1, 0.15]})
    table = selection_accuracy(single, curves)
    assert table["design"].tolist() == ["independent"] and table["p_correct"].tolist() == [0.5]
    assert table["models"].tolist() == ["gnb vs logreg"]


def test_an_unset_value_is_a_group_of_its_own():
    runs = _runs(model="m", pool_size=[None, None, 50.0], lure_squared_error=[1.0, 3.0, 7.0], true_risk=0.2)
    table = final_errors(runs).set_index("pool_size")
    assert table["mse"].to_dict() == {"none": 2.0, 50.0: 7.0}
