"""Every script under examples/ runs as a user would run it, and prints or writes what its docstring says."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[1] / "examples"


def run(script: str, *args) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=EXAMPLES.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_every_example_is_tested():
    tested = {"first_grid.py", "custom_strategy.py", "report_for_a_paper.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_first_grid(tmp_path):
    out = run("first_grid.py", "--out", tmp_path / "first")
    assert "12 done, 0 skipped" in out
    rows = [r for line in out.splitlines() if (r := line.split())[:1] in (["margin"], ["random"]) and len(r) == 6]
    assert {r[0] for r in rows} == {"margin", "random"} and all(r[3] == "6" for r in rows)  # 6 runs each
    again = run("first_grid.py", "--out", tmp_path / "first")
    assert "0 done, 12 skipped" in again  # stored runs are not run twice


def test_custom_strategy():
    out = run("custom_strategy.py")
    row = next(line.split() for line in out.splitlines() if line.strip().startswith("example_smallest_margin_gap"))
    assert row[3:5] == ["3", "0"]  # 3 runs, no failure


@pytest.mark.timeout(400)
def test_report_for_a_paper(tmp_path):
    out = run("report_for_a_paper.py", "--out", tmp_path)
    html = tmp_path / "results" / "report" / "report.html"
    assert f"report: {html}" in out and "Plotly.newPlot" in html.read_text()
    svg = tmp_path / "paper" / "figures" / "learning_curves.svg"
    assert ET.parse(svg).getroot().tag.endswith("svg")
    assert (tmp_path / "paper" / "figures" / "critical_difference.pdf").read_bytes().startswith(b"%PDF-")
    assert r"\begin{tabular}" in (tmp_path / "paper" / "tables" / "leaderboard.tex").read_text()
