"""``albench analyze`` and ``albench report`` on real results of small AL and active-testing grids."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
import yaml
from matplotlib.image import imread
from typer.testing import CliRunner

import albench.results
from albench.analysis.report import write_report
from albench.cli import app
from albench.execute import run_grid
from albench.spec import grid_from_dict
from albench.store import Store

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EMBEDDED = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def quick_grid_shrunk() -> dict:
    """grids/quick.yaml with every axis kept but fewer values and a short budget."""
    doc = yaml.safe_load((Path(__file__).parents[1] / "grids" / "quick.yaml").read_text())
    doc["params"].update(dataset=["iris", "wine"], learner=["logreg", "gnb"], budget=3, seed={"range": [0, 2]})
    return doc


AT_GRID = {"name": "at-small", "kind": "at", "params": {
    "dataset": "iris", "model": "logreg", "train_size": 30, "loss": ["cross_entropy", "zero_one"],
    "proposal": ["uniform", "surrogate_loss"], "budget": 12, "seed": {"range": [0, 3]}}}


@pytest.fixture(scope="module")
def al_results(tmp_path_factory):
    root = tmp_path_factory.mktemp("al") / "quick"
    summary = run_grid(grid_from_dict(quick_grid_shrunk()), Store(root))
    assert summary.failed == 0
    return root


@pytest.fixture(scope="module")
def at_results(tmp_path_factory):
    root = tmp_path_factory.mktemp("at") / "at-small"
    run_grid(grid_from_dict(AT_GRID), Store(root))
    return root


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def check_report(html_path: Path, plots: list[Path], expected: set[str]) -> None:
    html = html_path.read_text()
    assert {p.stem for p in plots} == expected
    embedded = [base64.b64decode(data) for data in EMBEDDED.findall(html)]
    assert len(embedded) == len(plots)
    for plot, data in zip(plots, embedded):
        assert plot.is_file() and plot.read_bytes() == data  # the page holds the same images
        assert data.startswith(PNG_SIGNATURE)
        image = imread(plot)  # decodes: a valid PNG
        assert image.shape[0] > 100 and image.shape[1] > 100
    assert "<table" in html and "Friedman" in html


def test_al_report_from_the_quick_grid(al_results, tmp_path):
    out = invoke("report", al_results, "--out", tmp_path / "rep", "--resamples", 100, "--json")
    assert out.exit_code == 0, out.output
    paths = json.loads(out.output)
    check_report(Path(paths["html"]), [Path(p) for p in paths["plots"]],
                 {"leaderboard", "critical_difference", "learning_curves", "influence", "minimal_design"})
    html = Path(paths["html"]).read_text()
    for strategy in ("random", "least_confident", "margin", "entropy"):
        assert strategy in html


def test_at_report_plots_squared_error_against_m(at_results, tmp_path):
    report = write_report(albench.results.open(at_results), tmp_path / "rep", n_resamples=100)
    check_report(report.html, report.plots,
                 {"leaderboard", "critical_difference", "squared_error_vs_m", "influence", "minimal_design"})
    frame = report.analysis.frame
    assert frame.block == "task"  # two losses: ranked within (data set, loss)
    assert set(report.analysis.comparison.table["method"]) == {
        f"{p} / {e}" for p in ("uniform", "surrogate_loss") for e in ("ase", "iid", "is", "lure", "pure")}


def test_report_defaults_to_a_folder_inside_the_results(al_results):
    out = invoke("report", al_results, "--resamples", 50)
    assert out.exit_code == 0, out.output
    assert (al_results / "report" / "report.html").is_file()
    assert len(Store(al_results).parts("runs")) == 1  # the report is not mistaken for results


def test_analyze_json_matches_the_printed_tables(al_results):
    out = invoke("analyze", al_results, "--json", "--resamples", 100)
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["kind"] == "al" and data["metric"] == "auc_accuracy" and data["ok_runs"] == 64
    board = data["leaderboard"]
    assert {row["strategy"] for row in board} == {"random", "least_confident", "margin", "entropy"}
    assert [row["mean_rank"] for row in board] == sorted(row["mean_rank"] for row in board)
    assert sum(row["mean_rank"] for row in board) == pytest.approx(1 + 2 + 3 + 4)
    assert {row["hyperparameter"] for row in data["influence"]} == set(data["hyperparameters"]) == {
        "dataset", "learner", "strategy", "batch_size", "seed"}
    assert {row["factor"] for row in data["design"]["minimal"]} == {"dataset", "seed"}
    text = invoke("analyze", al_results, "--metric", "auc_macro_f1", "--resamples", 100)
    assert text.exit_code == 0, text.output
    assert "leaderboard" in text.output and "minimal study design" in text.output and "Friedman" in text.output


def test_analyze_unknown_metric_is_a_clean_error(al_results):
    out = invoke("analyze", al_results, "--metric", "auc_nope")
    assert out.exit_code == 2
    assert "unknown metric 'auc_nope'" in out.output and "auc_accuracy" in out.output
    assert "Traceback" not in out.output


def test_results_without_successful_runs_are_a_clean_error(tmp_path):
    Store(tmp_path).write([{"run_id": "a", "kind": "al", "status": "error", "dataset": "iris", "strategy": "x",
                            "error": "ValueError: boom"}], [])
    for command in ("analyze", "report"):
        out = invoke(command, tmp_path)
        assert out.exit_code == 2
        assert out.output.strip() == "error: no successful runs to analyse (1 error)"
