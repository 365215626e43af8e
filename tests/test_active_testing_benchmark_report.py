"""benchmarks/active_testing_report.py on a tiny stored grid: every section, panels kept apart."""

from albench.execute import run_grid
from albench.spec import grid_from_dict
from albench.store import Store
from benchmarks import active_testing_report


def test_the_benchmark_report_prints_every_section_per_varying_key(tmp_path, capsys):
    grid = grid_from_dict({"name": "at-bench", "kind": "at", "params": {
        "dataset": "wine", "model": ["logreg", "gnb"], "rival": ["gnb", "logreg"], "train_size": 40,
        "pool_size": 60, "proposal": ["uniform", "loss_difference"], "safeguard_weight": [0.1, 0.02],
        "budget": 12, "seed": [0, 1, 2]},
        "exclude": [{"model": "logreg", "rival": "logreg"}, {"model": "gnb", "rival": "gnb"},
                    {"model": "gnb", "proposal": "loss_difference"}]})
    store = Store(tmp_path / "at")
    assert run_grid(grid, store).failed == 0
    active_testing_report.main([str(tmp_path / "at"), "--budgets", "5", "12"])
    out = capsys.readouterr().out
    assert "tables keep apart: dataset, loss, surrogate, proposal, model, safeguard_weight, rival" in out
    assert "> warning: safeguard_weight 0.02" in out
    for section in ("Labelling efficiency at M=12", "mean (median) squared error", "Heavy tails",
                    "coverage of the 95% intervals", "Model selection", "exact formula"):
        assert section in out, section
    # one error table per (model, rival) x safeguard_weight panel: never merged
    assert out.count(": mean (median) squared error") == 2 * 2
    for model, rival in (("logreg", "gnb"), ("gnb", "logreg")):
        for weight in ("0.02", "0.1"):
            assert f"model {model}, safeguard_weight {weight}, rival {rival}: mean (median)" in out


def test_the_optional_stopping_table_counts_runs_whose_bounds_ever_exclude_the_risk(tmp_path):
    grid = grid_from_dict({"name": "at-cs", "kind": "at", "params": {
        "dataset": "breast_cancer", "model": "logreg", "train_size": 40, "pool_size": 60, "loss": "zero_one",
        "proposal": ["uniform", "surrogate_loss"], "budget": 15, "seed": [0, 1, 2, 3]}})
    store = Store(tmp_path / "at")
    assert run_grid(grid, store).failed == 0
    runs, curves = store.read("runs"), store.read("curves")
    table = active_testing_report.sequence_table(str(tmp_path / "at"), runs, ["dataset", "loss", "surrogate",
                                                                              "proposal", "estimator"], 0.95)
    lure = curves[curves["estimator"] == "lure"].merge(runs[["run_id", "proposal"]], on="run_id")
    for proposal, group in lure.groupby("proposal"):  # the table's shares, recounted from the curve rows
        out = (group["cs_low"] > group["true_risk"]) | (group["cs_high"] < group["true_risk"])
        t_out = (group["m"] > 1) & ~group["covered"].astype("boolean").fillna(True)
        cs_share = out.groupby(group["run_id"]).any().mean()
        t_share = t_out.groupby(group["run_id"]).any().mean()
        row = next(line for line in table.splitlines() if f"| {proposal} " in line)
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert [float(c) for c in cells[-4:-1]] == [4, round(cs_share, 3), round(t_share, 3)], row
    assert "EVER exclude the true risk" in table


def test_the_difference_and_selection_tables_of_a_grid_with_several_models(tmp_path, capsys):
    grid = grid_from_dict({"name": "at-sel", "kind": "at", "params": {
        "dataset": "wine", "model": ["logreg", "gnb", "rf"], "rival": [None, ["gnb", "rf"]], "train_size": 40,
        "pool_size": 60, "loss": "zero_one", "proposal": ["uniform", "loss_difference", "surrogate_loss"],
        "budget": 12, "seed": [0, 1, 2]},
        "exclude": [{"rival": None, "proposal": ["uniform", "loss_difference"]},
                    {"rival": "gnb+rf", "proposal": "surrogate_loss"}, {"rival": "gnb+rf", "model": ["gnb", "rf"]}]})
    store = Store(tmp_path / "at")
    assert run_grid(grid, store).failed == 0
    runs, curves = store.read("runs"), store.read("curves")
    keys = ["dataset", "loss", "surrogate", "proposal", "model", "rival", "estimator"]
    table = active_testing_report.difference_sequence_table(str(tmp_path / "at"), runs, keys, 0.95)
    lure = curves[curves["estimator"] == "lure"].merge(runs[["run_id", "proposal", "rival"]], on="run_id")
    lure = lure[lure["rival"].notna()]
    for proposal, group in lure.groupby("proposal"):  # the table's shares, recounted from the curve rows
        out = (group["difference_cs_low"] > group["true_difference"]) | \
              (group["difference_cs_high"] < group["true_difference"])
        t_out = (group["m"] > 1) & ((group["difference_ci_low"] > group["true_difference"])
                                    | (group["difference_ci_high"] < group["true_difference"]))
        row = next(line for line in table.splitlines() if f"| {proposal} " in line)
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert [float(c) for c in cells[-4:-1]] == [3, round(out.groupby(group["run_id"]).any().mean(), 3),
                                                     round(t_out.groupby(group["run_id"]).any().mean(), 3)], row
    active_testing_report.main([str(tmp_path / "at"), "--budgets", "5", "12"])
    out = capsys.readouterr().out
    assert "Optional stopping for the difference" in out and "choose the truly best model" in out
    assert "| shared      | gnb, logreg, rf |" in out and "| independent | gnb, logreg, rf |" in out
    assert "Truly best model" in out
