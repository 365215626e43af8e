"""``albench report`` on a budgeted results folder shows the full-grid estimate that ``albench analyze`` prints."""

from __future__ import annotations

import html
import re

import numpy as np
import pytest

import albench.results
from albench.active_bench import records
from albench.active_bench.report_section import HEADING, full_grid_section
from albench.active_bench.sampler import estimate_folder, sample
from albench.analysis import tables
from albench.execute import run_grid
from albench.spec import grid_from_dict
from albench.store import Store

TINY = {"name": "tiny-ab-report", "kind": "al", "params": {
    "dataset": ["iris", "wine"], "learner": "logreg", "strategy": ["random", "margin", "entropy"],
    "batch_size": [1, 2], "budget": 2, "start_point": {"range": [0, 2]}}}  # 8 blocks of 3 runs


@pytest.fixture(scope="module")
def budgeted(tmp_path_factory):
    root = tmp_path_factory.mktemp("budgeted")
    sample(grid_from_dict(TINY), root, 4, lambda sub: run_grid(sub, Store(root)))
    return root


def _cells(page: str, table_id: str) -> tuple[list[str], list[list[tuple[str, str]]]]:
    """Header and (raw sort value, shown text) of every cell of the table ``table_id``."""
    table = re.search(rf'<table class="sortable" id="{table_id}">(.*?)</table>', page, re.S).group(1)
    head = [html.unescape(h) for h in re.findall(r"<th class=[^>]*>(.*?)</th>", table)]
    rows = [[(html.unescape(k), html.unescape(v)) for k, v in re.findall(r'<td[^>]*data-sort="([^"]*)">(.*?)</td>', r)]
            for r in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1])]
    return head, rows


def _check_section(page: str, root) -> None:
    est = estimate_folder(root)
    assert HEADING in page and est.usage() in page  # runs done against the full grid's count
    assert "12 of 24 runs (50.0%); 4 of 8 blocks in 1 round" in page
    table, pairs = est.table(), est.pairwise()
    mean = f"mean_{est.metric}"
    head, rows = _cells(page, "full-grid-leaderboard")
    assert head[:3] == ["rank", "method", mean]
    for row, (_, want) in zip(rows, table.iterrows()):
        cell = dict(zip(head, row))
        assert cell["method"][1] == want["method"]
        assert float(cell[mean][0]) == pytest.approx(want[mean], rel=1e-12)
        assert cell[mean][1] == tables.interval(want[mean], want["ci95_low"], want["ci95_high"])
        assert float(cell["se"][0]) == pytest.approx(want["se"], rel=1e-12)
        assert float(cell["p_rank_right"][0]) == pytest.approx(want["p_rank_right"], rel=1e-12)
    p_best = est.rank_probabilities()[1]
    assert f"P(the estimated best, {table['method'].iloc[0]}, is the best) = {tables.number(p_best)}" in page
    head, rows = _cells(page, "full-grid-pairwise")
    assert len(rows) == len(pairs) == 3
    for row, (_, want) in zip(rows, pairs.iterrows()):
        cell = dict(zip(head, row))
        assert (cell["method"][1], cell["versus"][1]) == (want["method"], want["versus"])
        assert float(cell["difference"][0]) == pytest.approx(want["difference"], rel=1e-12, abs=1e-15)
        assert cell["difference"][1] == tables.interval(want["difference"], want["ci_low"], want["ci_high"])
        assert float(cell["p_value"][0]) == pytest.approx(want["p_value"], rel=1e-12)


def test_the_section_shows_the_estimate_functions_figures(budgeted):
    _check_section("".join(full_grid_section(budgeted)), budgeted)


def test_a_folder_that_is_not_budgeted_has_no_section(tmp_path):
    run_grid(grid_from_dict({**TINY, "params": {**TINY["params"], "start_point": 0}}), Store(tmp_path))
    assert full_grid_section(tmp_path) == []


def test_a_round_whose_runs_are_not_stored_says_why_there_is_no_estimate(tmp_path):
    grid = grid_from_dict(TINY)
    sample(grid, tmp_path, 2, lambda sub: run_grid(sub, Store(tmp_path)))

    def interrupted_once_round_two_is_drawn(sub):
        if records.read_design(tmp_path)["round"].nunique() > 1:
            raise KeyboardInterrupt
        return run_grid(sub, Store(tmp_path))

    with pytest.raises(KeyboardInterrupt):
        sample(grid, tmp_path, 4, interrupted_once_round_two_is_drawn)
    page = "".join(full_grid_section(tmp_path))
    assert "No full-grid estimate: 6 runs of the sampled blocks are not stored yet" in page


def test_the_html_report_of_a_budgeted_folder_holds_the_full_grid_estimate(budgeted, tmp_path):
    from albench.analysis.report import write_report

    report = write_report(albench.results.open(budgeted), tmp_path / "rep", n_resamples=20)
    page = report.html.read_text(encoding="utf-8")
    assert report.analysis.metric == "auc_accuracy"
    _check_section(page, budgeted)
    assert all(part in page for part in full_grid_section(budgeted, report.analysis.metric))
    assert page.index("<h2>Leaderboard</h2>") < page.index(HEADING) < page.index("<h2>Hyperparameter influence</h2>")
    np.testing.assert_allclose(estimate_folder(budgeted).mean, estimate_folder(budgeted, "auc_accuracy").mean)


def test_a_new_design_file_makes_the_report_stale(budgeted):
    from albench.analysis.report import fingerprint

    results = albench.results.open(budgeted)
    before = fingerprint(results)
    extra = budgeted / records.TABLE / "part-zz-test.parquet"
    extra.write_bytes((budgeted / records.TABLE / records.BLOCKS).read_bytes())
    try:
        assert fingerprint(albench.results.open(budgeted)) != before
    finally:
        extra.unlink()
    assert fingerprint(albench.results.open(budgeted)) == before
