"""The ``at`` grid kind: validation, the runner's rows, and a grid through the executor and store."""

import dataclasses

import numpy as np
import pytest

from albench.active_testing.runner import run
from albench.execute import run_grid
from albench.spec import GridError, grid_from_dict
from albench.store import Store

ESTIMATORS = ["ase", "difference", "difference_pure", "iid", "is", "lure", "pure"]
CURVE_COLUMNS = {"run_id", "m", "estimator", "estimate", "true_risk", "squared_error", "q", "weight", "pool_index",
                 "ci_low", "ci_high", "covered"}
NO_WEIGHTS = ["ase", "difference", "difference_pure"]


def at_grid(**params):
    base = {"dataset": "breast_cancer", "model": "logreg", "train_size": 40, "pool_size": 120, "budget": 6}
    return grid_from_dict({"name": "at-test", "kind": "at", "params": {**base, **params}})


def one_spec(**params):
    specs = list(at_grid(**params).specs())
    assert len(specs) == 1
    return specs[0]


def test_a_small_grid_writes_the_expected_rows(tmp_path):
    grid = at_grid(proposal=["uniform", "surrogate_loss"], surrogate=["model", {"name": "bootstrap", "n_members": 2}],
                   retrain_every=3, seed=[0, 1])
    store = Store(tmp_path / "at")
    summary = run_grid(grid, store)
    assert (summary.done, summary.failed) == (8, 0)
    runs, curves = store.read("runs"), store.read("curves")
    assert len(runs) == 8 and set(runs["status"]) == {"ok"}
    for col in ["proposal", "budget", "true_risk", "surrogate", "retrain_every", "safeguard", "safeguard_weight",
                "loss", "seed", "model", "train_size", "dataset"]:
        assert col in runs.columns, col
    for name in ESTIMATORS:
        assert {f"{name}_estimate", f"{name}_squared_error"} <= set(runs.columns)
    assert CURVE_COLUMNS <= set(curves.columns)
    assert len(curves) == 8 * 6 * len(ESTIMATORS)
    assert (curves.groupby("run_id")["m"].max() == 6).all()
    np.testing.assert_allclose(curves["squared_error"], (curves["estimate"] - curves["true_risk"]) ** 2)
    # the final curve row is the summary
    last = curves[curves["m"] == 6].merge(runs, on="run_id", suffixes=("", "_run"))
    for name in ESTIMATORS:
        rows = last[last["estimator"] == name]
        np.testing.assert_allclose(rows["estimate"], rows[f"{name}_estimate"])
        np.testing.assert_allclose(rows["true_risk"], rows["true_risk_run"])
    assert curves.loc[curves["estimator"].isin(NO_WEIGHTS), "weight"].isna().all()
    assert curves.loc[~curves["estimator"].isin(NO_WEIGHTS), "weight"].notna().all()
    # intervals: none for ASE and at m = 1; elsewhere around the estimate, and `covered` says if R is inside
    with_ci = curves[(curves["estimator"] != "ase") & (curves["m"] > 1)]
    assert with_ci["ci_low"].notna().all() and curves.loc[curves["estimator"] == "ase", "ci_low"].isna().all()
    assert ((with_ci["ci_low"] <= with_ci["estimate"]) & (with_ci["estimate"] <= with_ci["ci_high"])).all()
    inside = (with_ci["ci_low"] <= with_ci["true_risk"]) & (with_ci["true_risk"] <= with_ci["ci_high"])
    assert (with_ci["covered"].astype(bool) == inside).all()
    # the drawn pool indices are distinct within a run and the same for every estimator of a step
    per_step = curves.groupby(["run_id", "m"])["pool_index"].nunique()
    assert (per_step == 1).all()
    drawn = curves[curves["estimator"] == "lure"].groupby("run_id")["pool_index"]
    assert (drawn.nunique() == drawn.size()).all()
    uniform = runs["proposal"] == "uniform"
    np.testing.assert_allclose(runs.loc[uniform, ["max_weight", "ess"]], [[1.0, 6.0]] * int(uniform.sum()))
    ratios = curves[curves["estimator"] == "lure"].sort_values("m").groupby("run_id").apply(
        lambda g: 1.0 / ((120 - g["m"] + 1) * g["q"]), include_groups=False)
    by_run = runs.set_index("run_id")
    for run_id, r in ratios.groupby(level=0):
        assert by_run.loc[run_id, "max_weight"] == pytest.approx(r.max())
        assert by_run.loc[run_id, "ess"] == pytest.approx(r.sum() ** 2 / (r ** 2).sum())
    assert (curves["q"] > 0).all()
    # refitted every 3 labels: two refits in 6 steps (plus the first fit for the ensemble)
    fits = runs.set_index("surrogate")["n_surrogate_fits"]
    assert set(fits["model"]) == {2} and set(fits["bootstrap"]) == {3}
    # a second run of the same grid finds every run stored
    assert run_grid(grid, store).skipped == 8


def test_common_random_numbers_and_distinct_draws():
    uniform, active = run(one_spec(proposal="uniform")), run(one_spec(proposal="entropy"))
    assert uniform.summary["true_risk"] == active.summary["true_risk"]  # same model, same pool
    other_seed = run(one_spec(proposal="uniform", seed=1))
    assert other_seed.summary["true_risk"] != uniform.summary["true_risk"]
    again = run(one_spec(proposal="uniform"))
    assert again.summary["iid_estimate"] == uniform.summary["iid_estimate"]
    assert again.curves == uniform.curves
    # same stream keys except the budget: the draws differ (no shared stream between runs)
    longer = run(one_spec(proposal="uniform", budget=7))
    first = [r["observed_loss"] for r in uniform.curves if r["estimator"] == "iid"]
    assert [r["observed_loss"] for r in longer.curves if r["estimator"] == "iid"][:6] != first


def test_uniform_proposal_makes_lure_the_iid_mean_in_a_real_run():
    result = run(one_spec(proposal="uniform", loss="zero_one", budget=20))
    assert result.summary["lure_estimate"] == pytest.approx(result.summary["iid_estimate"], rel=1e-12)


def test_labelling_the_whole_pool_gives_the_true_risk():
    result = run(one_spec(proposal="surrogate_loss", pool_size=30, budget=50,
                          surrogate={"name": "rf", "n_estimators": 10}, retrain_every=10))
    s = result.summary
    assert s["n_labelled"] == 30
    for name in ("iid", "lure", "ase"):
        assert s[f"{name}_estimate"] == pytest.approx(s["true_risk"], rel=1e-12)
    weights = [r["weight"] for r in result.curves if r["estimator"] == "lure"]
    assert weights == [1.0] * 30


def test_oracle_proposal_beats_uniform_on_average():
    def lure_error(proposal):
        return np.mean([run(one_spec(proposal=proposal, safeguard_weight=0.05, seed=s, budget=10))
                        .summary["lure_squared_error"] for s in range(6)])

    assert lure_error("true_loss") < lure_error("uniform")


@pytest.mark.parametrize("params, message", [
    ({"proposal": "surogate_loss"}, "did you mean 'surrogate_loss'"),
    ({"surrogate": "nope"}, "unknown surrogate 'nope'"),
    ({"surrogate": {"name": "bootstrap", "members": 3}}, "takes ['learner', 'n_members']"),
    # a learner surrogate, or the bootstrap's learner, is checked as the model is
    ({"surrogate": {"name": "rf", "n_estimator": 5}}, "unknown parameter 'n_estimator' for learner 'rf'"),
    ({"surrogate": {"name": "logreg", "C": -1}}, "The 'C' parameter of LogisticRegression"),
    ({"surrogate": {"name": "bootstrap", "learner": {"name": "rf", "max_dept": 2}}}, "did you mean 'max_depth'"),
    ({"surrogate": {"name": "bootstrap", "learner": "sklearn.svm.SVC"}}, "SVC has no predict_proba"),
    ({"safeguard_weight": 0}, "safeguard_weight"),
    ({"safeguard": "floor"}, "safeguard"),
    ({"loss": "hinge"}, "loss"),
])
def test_bad_grid_values_stop_before_running(params, message):
    with pytest.raises(GridError) as info:
        at_grid(**params)
    assert message in str(info.value)


def test_a_surrogate_learner_at_its_defaults_is_the_same_run():
    def run_ids(surrogate):
        return [spec.run_id for spec in at_grid(surrogate=surrogate).specs()]

    assert run_ids({"name": "rf", "n_estimators": 100}) == run_ids("rf") != run_ids({"name": "rf", "n_estimators": 9})
    assert (run_ids({"name": "bootstrap", "learner": {"name": "rf", "n_estimators": 100}})
            == run_ids({"name": "bootstrap", "learner": "rf"}))


def test_a_pool_larger_than_the_data_becomes_an_error_row(tmp_path):
    """The grid check refuses this pool for a data set whose size it knows; the runner's own check is what
    data of unknown size (OpenML, images) meet, so the grid is given the value past the check."""
    with pytest.raises(GridError, match="params.pool_size: 5000 exceeds the at most 529 rows"):
        at_grid(pool_size=5000)
    grid = at_grid()
    store = Store(tmp_path / "at")
    summary = run_grid(dataclasses.replace(grid, axes={**grid.axes, "pool_size": [5000]}), store)
    assert summary.failed == 1
    assert "pool_size 5000 exceeds" in store.read("runs")["error"].iloc[0]


def _all_losses(model, pool_size=80, seed=0, loss="cross_entropy"):
    """Every pool loss of ``model``, read from a run that labels the whole pool (by pool index)."""
    result = run(one_spec(model=model, proposal="uniform", pool_size=pool_size, budget=pool_size, seed=seed,
                          loss=loss))
    rows = sorted((r["pool_index"], r["observed_loss"]) for r in result.curves if r["estimator"] == "iid")
    return np.array([loss for _, loss in rows]), result.summary["true_risk"]


def test_a_rival_shares_the_draws_and_every_difference_is_estimated_from_them():
    from albench import finite_population as fp

    model_losses, model_risk = _all_losses("logreg")
    rival_losses, rival_risk = _all_losses("gnb")
    result = run(one_spec(rival="gnb", proposal="loss_difference", pool_size=80, budget=12))
    s = result.summary
    assert s["true_risk"] == pytest.approx(model_risk) and s["rival_true_risk"] == pytest.approx(rival_risk)
    assert s["true_difference"] == pytest.approx(model_risk - rival_risk)
    lure = [r for r in result.curves if r["estimator"] == "lure"]
    chosen = np.array([r["pool_index"] for r in lure])
    q = np.array([r["q"] for r in lure])
    np.testing.assert_allclose([r["observed_loss"] for r in lure], model_losses[chosen])
    expected = fp.lure(model_losses[chosen] - rival_losses[chosen], q, 80)
    np.testing.assert_allclose([r["difference_estimate"] for r in lure], expected.curve, rtol=1e-10)
    low, high = fp.interval(expected, 0.95)
    assert lure[-1]["difference_ci_low"] == pytest.approx(low[-1])
    assert lure[-1]["difference_ci_high"] == pytest.approx(high[-1])
    assert s["lure_difference_estimate"] == pytest.approx(expected.curve[-1])
    # the difference of the two models' own estimates, for every estimator (they are linear in the losses)
    for name in ("pure", "difference", "difference_pure", "ase"):
        rows = [r for r in result.curves if r["estimator"] == name]
        assert np.isfinite([r["difference_estimate"] for r in rows]).all()


def test_loss_difference_without_a_rival_is_refused_at_grid_load_unless_excluded():
    with pytest.raises(GridError, match=r"params.proposal: 'loss_difference' needs a rival model.*rival is null"):
        at_grid(proposal="loss_difference")
    with pytest.raises(GridError, match="needs a rival model"):  # one of the two rivals is null
        at_grid(proposal=["uniform", "loss_difference"], rival=[None, "gnb"])
    excluded = grid_from_dict({"name": "at-test", "kind": "at",
                               "exclude": [{"proposal": "loss_difference", "rival": None}],
                               "params": {"dataset": "breast_cancer", "model": "logreg", "rival": [None, "gnb"],
                                          "proposal": ["uniform", "loss_difference"]}})
    assert len(excluded) == 3
    assert len(at_grid(proposal="loss_difference", rival="gnb")) == 1
    spec = one_spec(proposal="uniform")
    without_rival = dataclasses.replace(spec, params={**spec.params, "proposal": {"name": "loss_difference",
                                                                                  "params": {}}})
    with pytest.raises(ValueError, match="needs a rival model"):  # run() called directly, without a grid
        run(without_rival)


def test_draw_seed_repeats_the_draws_on_one_pool_and_model():
    first, second = run(one_spec(draw_seed=0)), run(one_spec(draw_seed=1))
    assert first.summary["true_risk"] == second.summary["true_risk"]
    drawn = [[r["pool_index"] for r in res.curves if r["estimator"] == "lure"] for res in (first, second)]
    assert drawn[0] != drawn[1]


def test_xwed_with_a_bootstrap_surrogate_gives_a_non_uniform_q():
    result = run(one_spec(proposal="xwed", surrogate={"name": "bootstrap", "n_members": 3}, budget=10,
                          safeguard_weight=0.1))
    assert result.summary["min_q"] > 0
    assert result.summary["max_weight"] > 1.0  # q is not uniform: some drawn point is under-sampled


def test_the_stored_draws_recompute_every_lure_estimate(tmp_path):
    """From a run's stored (drawn, drawn_q, drawn_loss) lists alone, LURE by its paper formula (Farquhar et al.
    2021, eq. 3, written out here) gives the stored estimate to 1e-12; the losses are the pool's at those indices."""
    store = Store(tmp_path / "at")
    grid = at_grid(proposal=["surrogate_loss", "entropy"], loss="zero_one", seed=[0, 1], budget=15, pool_size=80,
                   rival=[None, "gnb"])
    assert run_grid(grid, store).failed == 0
    runs = store.read("runs")
    assert len(runs) == 8
    for _, row in runs.iterrows():
        pool_losses, _ = _all_losses("logreg", 80, row["seed"], "zero_one")
        drawn, q, loss = (np.asarray(row[c]) for c in ("drawn", "drawn_q", "drawn_loss"))
        assert len(set(drawn.tolist())) == 15 and np.array_equal(loss, pool_losses[drawn])
        n, big_m = int(row["n_pool"]), len(q)
        lure = sum((1 + (n - big_m) / (n - m) * (1 / ((n - m + 1) * q[m - 1]) - 1)) * loss[m - 1]
                   for m in range(1, big_m + 1)) / big_m
        assert lure == pytest.approx(row["lure_estimate"], abs=1e-12, rel=0)
        if isinstance(row["rival"], str):
            rival_losses, _ = _all_losses("gnb", 80, row["seed"], "zero_one")
            assert np.array_equal(np.asarray(row["drawn_rival_loss"]), rival_losses[drawn])
        assert 0 <= row["cs_low"] <= row["true_risk"] <= row["cs_high"] <= 1  # for these seeds; valid w.p. 0.95
    curves = store.read("curves")
    assert curves[["cs_low", "cs_high"]].notna().all().all()
    assert (curves.groupby(["run_id", "m"])["cs_low"].nunique() == 1).all()  # one sequence per step


def test_an_unbounded_loss_has_no_confidence_sequence():
    result = run(one_spec(loss="cross_entropy"))
    assert result.summary["cs_low"] is None and all(r["cs_high"] is None for r in result.curves)
