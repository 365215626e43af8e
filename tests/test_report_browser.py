"""The interactive report in a real browser (headless Chromium at 1400 px): it loads without console
errors, every chart is drawn, colours agree across charts, tables sort and the curve controls work.

Where Chromium is missing the tests fail with the install hint: ``make test`` installs it. ``ALBENCH_SCREENSHOTS=DIR`` keeps the
screenshots for a look.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from matplotlib.image import imread

import albench.results
from albench.analysis.report import write_report
from albench.execute import run_grid
from albench.spec import grid_from_dict
from albench.store import Store
from chromium import INSTALL_HINT, Browser, find
from test_analysis_report import AT_GRID, quick_grid_shrunk

WIDTH = 1400
# marks a chart really drew: a bar, line or band with a path, or a heatmap's image
DRAWN_MARKS = """Array.from(document.querySelectorAll('.chart')).map(c => [c.id,
  Array.from(c.querySelectorAll('g.trace path')).filter(p => (p.getAttribute('d') || '').length > 2).length
  + c.querySelectorAll('.heatmaplayer image, .hm image').length])"""


@pytest.fixture(scope="module")
def chromium_binary():
    binary = find()
    if binary is None:
        pytest.fail(INSTALL_HINT)
    return binary


def _report(tmp_path_factory, grid: dict, name: str) -> Path:
    root = tmp_path_factory.mktemp(name) / grid["name"]
    run_grid(grid_from_dict(grid), Store(root))
    return write_report(albench.results.open(root), root / "report", n_resamples=20).html


@pytest.fixture(scope="module")
def al_page(tmp_path_factory, chromium_binary):
    html = _report(tmp_path_factory, quick_grid_shrunk(), "al-browser")
    with Browser(chromium_binary, width=WIDTH) as browser:
        browser.open(html)
        browser.wait_for("document.body.getAttribute('data-charts-drawn')")
        yield browser


def _keep(path: Path) -> None:
    folder = os.environ.get("ALBENCH_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(folder) / path.name)


def test_report_loads_without_errors_and_draws_every_chart(al_page, tmp_path):
    assert al_page.errors() == []
    charts = al_page.evaluate("document.querySelectorAll('.chart').length")
    assert int(al_page.evaluate("document.body.getAttribute('data-charts-drawn')")) == charts >= 5
    for chart_id, marks in al_page.evaluate(DRAWN_MARKS):
        assert marks > 0, f"{chart_id} has nothing drawn"
    # the critical difference diagram is inline SVG with its lines
    assert al_page.evaluate("document.querySelectorAll('#figure-critical_difference svg path').length") > 10
    shot = al_page.screenshot(tmp_path / "al-report.png")
    _keep(shot)
    image = imread(shot)
    assert image.shape[1] == WIDTH and image.shape[0] > 2000
    # nothing wider than the window: no table or chart runs off the page
    assert al_page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_a_method_has_the_same_colour_in_the_bars_and_the_curves(al_page):
    colours = al_page.evaluate("""(() => {
      const bars = document.getElementById('leaderboard-chart');
      const names = Array.from(bars.querySelectorAll('.ytick text')).map(t => t.textContent);
      const fills = Array.from(bars.querySelectorAll('g.point path')).map(p => p.style.fill);
      const gd = document.getElementById('learning-curves');
      const lines = {};
      gd.data.forEach(t => { if (t.name && t.line) lines[t.name] = t.line.color; });
      const barData = bars.data[0];
      return {names: barData.y, fills: barData.marker.color, lines: lines, drawn: fills.length};
    })()""")
    assert colours["drawn"] == len(colours["names"]) == 4
    assert {n: colours["lines"][n] for n in colours["names"]} == dict(zip(colours["names"], colours["fills"]))
    assert len(set(colours["fills"])) == 4


def test_tables_sort_on_a_click(al_page):
    read = """Array.from(document.querySelectorAll('#leaderboard tbody tr'))
              .map(r => parseFloat(r.cells[COL].getAttribute('data-sort')))"""
    column = al_page.evaluate("""Array.from(document.querySelectorAll('#leaderboard th'))
                                 .findIndex(th => th.textContent === 'runs')""")
    rank = al_page.evaluate("""Array.from(document.querySelectorAll('#leaderboard th'))
                               .findIndex(th => th.textContent === 'mean_rank')""")
    assert column >= 0 and rank >= 0
    header = f"document.querySelectorAll('#leaderboard th')[{rank}]"
    al_page.evaluate(f"{header}.click()")
    ascending = al_page.evaluate(read.replace("COL", str(rank)))
    al_page.evaluate(f"{header}.click()")
    descending = al_page.evaluate(read.replace("COL", str(rank)))
    assert ascending == sorted(ascending) and descending == sorted(ascending, reverse=True)
    assert al_page.evaluate(f"{header}.getAttribute('aria-sort')") == "descending"


def test_learning_curves_split_and_filter(al_page):
    panels = "document.getElementById('learning-curves').layout.annotations.map(a => a.text)"
    controls = "document.querySelector('.controls[data-chart=\"learning-curves\"]')"
    assert sorted(al_page.evaluate(panels)) == ["iris, batch_size 1", "iris, batch_size 10", "wine, batch_size 1",
                                                "wine, batch_size 10"]
    al_page.evaluate(f"""(() => {{ const c = {controls}; const s = c.querySelector('select.split');
                         s.value = 'learner'; c.dispatchEvent(new Event('change')); }})()""")
    assert sorted(al_page.evaluate(panels)) == ["iris, learner gnb", "iris, learner logreg", "wine, learner gnb",
                                                "wine, learner logreg"]
    al_page.evaluate(f"""(() => {{ const c = {controls}; c.querySelector('input.filter[value="wine"]').checked = false;
                         c.querySelector('select.split').value = 'none'; c.dispatchEvent(new Event('change')); }})()""")
    assert al_page.evaluate(panels) == ["iris"]
    # each remaining line averages every run of iris and its strategy: 2 learners x 2 batch sizes x 2 seeds
    hover = al_page.evaluate("""document.getElementById('learning-curves').data
                                .filter(t => t.name === 'margin')[0].customdata[0]""")
    assert hover == "8 runs"
    assert al_page.errors() == []


def test_active_testing_report_in_the_browser(tmp_path_factory, chromium_binary, tmp_path):
    html = _report(tmp_path_factory, AT_GRID, "at-browser")
    with Browser(chromium_binary, width=WIDTH) as browser:
        browser.open(html)
        browser.wait_for("document.body.getAttribute('data-charts-drawn')")
        assert browser.errors() == []
        for chart_id, marks in browser.evaluate(DRAWN_MARKS):
            assert marks > 0, f"{chart_id} has nothing drawn"
        assert browser.evaluate("document.getElementById('squared-error').layout.xaxis.type") == "log"
        assert browser.evaluate("document.documentElement.scrollWidth") <= WIDTH
        _keep(browser.screenshot(tmp_path / "at-report.png"))
