"""The benchmark's figures: the exact iid error formula and labelling efficiency."""

import numpy as np
import pandas as pd
import pytest

from albench.active_testing.report import errors_by_budget, iid_labels_matching, iid_mse, labelling_efficiency


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
