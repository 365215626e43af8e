"""The benchmark's figures: the exact iid error formula and labelling efficiency."""

import warnings

import numpy as np
import pandas as pd
import pytest

from scipy import stats

from albench.active_testing.report import (errors_by_budget, final_errors, iid_labels_matching, iid_mse,
                                           labelling_efficiency, mse_interval, reliability_warnings,
                                           selection_accuracy, truly_best, varying_keys)


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


def test_the_mse_interval_skips_missing_errors_as_the_mean_does():
    values = np.array([0.1, np.nan, 0.2, 0.3, 0.05, np.nan, 0.4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy's DegenerateDataWarning was printed under grid run's table
        assert mse_interval(values) == mse_interval(values[~np.isnan(values)])
        assert np.isnan(mse_interval(np.array([np.nan, np.nan]))).all()
    low, high = mse_interval(values)
    assert low < np.nanmean(values) < high


def test_reliability_warnings_flag_small_safeguards_and_large_weights():
    fine = _runs(model="m", safeguard_weight=[0.1, 0.1], max_weight=[3.0, 10.0])
    assert reliability_warnings(fine) == []
    bad = _runs(model="m", safeguard_weight=[0.01, 0.1], max_weight=[80.0, 10.0])
    warnings = reliability_warnings(bad)
    assert len(warnings) == 2 and "1 of 2 runs" in warnings[0] and "0.01" in warnings[1]


def test_selection_accuracy_shared_and_independent():
    # shared: one run per seed tests logreg, gnb and rf on one acquisition; the run says whether it chose right
    shared = _runs(model="logreg", rival=["gnb+rf"] * 2, proposal="loss_difference", seed=[0, 1],
                   models=[["logreg", "gnb", "rf"]] * 2, model_true_risks=[[0.1, 0.2, 0.3], [0.1, 0.1, 0.3]])
    curves = pd.DataFrame({"run_id": ["r0", "r1", "r0", "r1"], "m": [10, 10, 20, 20], "estimator": "lure",
                           "estimate": 0.1, "true_risk": 0.1, "chose_best": [True, False, True, True]})
    table = selection_accuracy(shared, curves).set_index("m")
    assert set(table["design"]) == {"shared"} and set(table["models"]) == {"gnb, logreg, rf"}
    assert table["p_correct"].to_dict() == {10: 0.5, 20: 1.0} and table["runs"].to_dict() == {10: 2, 20: 2}
    assert selection_accuracy(shared, curves, budgets=[20])["m"].tolist() == [20]
    # independent: one run per model and seed (same pool), each model's own estimate; truth by true_risk
    single = _runs(model=["logreg", "gnb", "rf"] * 2, seed=[0, 0, 0, 1, 1, 1], rival=None,
                   proposal="surrogate_loss")
    curves = pd.DataFrame({"run_id": single["run_id"], "m": 10, "estimator": "lure",
                           # seed 0: rf has the smallest estimate, logreg is best -> wrong;
                           # seed 1: logreg and gnb tie at the smallest estimate, gnb is best -> half right
                           "estimate": [0.3, 0.2, 0.1, 0.1, 0.1, 0.4],
                           "true_risk": [0.1, 0.2, 0.15, 0.2, 0.1, 0.3]})
    table = selection_accuracy(single, curves)
    assert table["design"].tolist() == ["independent"] and table["models"].tolist() == ["gnb, logreg, rf"]
    assert table["p_correct"].tolist() == [0.25] and table["runs"].tolist() == [2]
    # both designs in one folder stay apart; a group holding one model only is left out
    both = pd.concat([shared, single.assign(run_id=[f"s{i}" for i in range(6)])], ignore_index=True)
    curves_both = pd.concat([pd.DataFrame({"run_id": ["r0", "r1"], "m": 10, "estimator": "lure", "estimate": 0.1,
                                           "true_risk": 0.1, "chose_best": [True, False]}),
                             curves.assign(run_id=[f"s{i}" for i in range(6)])], ignore_index=True)
    table = selection_accuracy(both, curves_both).set_index("design")
    assert table.loc["shared", "p_correct"] == 0.5 and table.loc["independent", "p_correct"] == 0.25
    alone = selection_accuracy(single[single["model"] == "gnb"], curves)
    assert alone.empty


def test_truly_best_counts_each_pool_once_and_ties_apart():
    runs = _runs(model="logreg", rival="gnb+rf", proposal=["loss_difference", "uniform"] * 3,
                 seed=[0, 0, 1, 1, 2, 2], models=[["logreg", "gnb", "rf"]] * 6,
                 model_true_risks=[[0.1, 0.2, 0.3]] * 2 + [[0.3, 0.2, 0.1]] * 2 + [[0.1, 0.1, 0.3]] * 2)
    table = truly_best(runs).set_index("best")
    assert table["share"].to_dict() == pytest.approx({"logreg": 1 / 3, "rf": 1 / 3, "tie": 1 / 3})
    assert set(table["runs"]) == {3}  # three pools, not six runs


def test_an_unset_value_is_a_group_of_its_own():
    runs = _runs(model="m", pool_size=[None, None, 50.0], lure_squared_error=[1.0, 3.0, 7.0], true_risk=0.2)
    table = final_errors(runs).set_index("pool_size")
    assert table["mse"].to_dict() == {"none": 2.0, 50.0: 7.0}


def test_the_mse_interval_does_not_depend_on_the_order_of_the_runs():
    values = np.random.default_rng(3).pareto(1.5, size=200)
    shuffled = np.random.default_rng(0).permutation(values)
    assert mse_interval(values) == mse_interval(values[::-1]) == mse_interval(shuffled)
