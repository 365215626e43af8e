"""docs/: the tutorial's grid and commands work as written, and the API reference builds from the docstrings."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner

from albench.cli import app

DOCS = Path(__file__).parents[1] / "docs"
TUTORIAL = (DOCS / "tutorial.md").read_text()
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", TUTORIAL, flags=re.S)


def test_the_tutorial_grid_is_valid_and_has_the_runs_it_says(tmp_path):
    (grid_text,) = [text for lang, text in BLOCKS if lang == "yaml"]
    path = tmp_path / "first.yaml"
    path.write_text(grid_text)
    assert yaml.safe_load(grid_text)["name"] == "first"
    out = CliRunner().invoke(app, ["grid", "show", str(path)])
    assert out.exit_code == 0, out.output
    assert re.search(r"^runs: 12$", out.output, flags=re.M), out.output


def test_every_albench_command_in_the_tutorial_exists():
    commands = set()
    for lang, text in BLOCKS:
        if lang != "sh":
            continue
        for line in text.splitlines():
            words = line.split("#")[0].split()
            if words[:1] == ["albench"]:
                sub = [w for w in words[1:3] if re.fullmatch(r"[a-z][a-z-]*", w)]
                commands.add(tuple(sub[:2] if sub[:1] == ["grid"] else sub[:1]))
    assert {("grid", "run"), ("analyze",), ("report",), ("export",), ("check-strategy",)} <= commands
    for command in commands:
        out = CliRunner().invoke(app, [*command, "--help"])
        assert out.exit_code == 0, (command, out.output)


def test_api_reference_builds_from_the_docstrings(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pdoc", "albench.provenance", "albench.analysis.tables",
                           "--docformat", "markdown", "-o", str(tmp_path)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "albench" / "provenance.html").read_text()
    assert "grid file's content hash" in page  # the module docstring
    for name in ("provenance", "version", "file_sha256"):  # each public function has its section
        assert f'id="{name}"' in page


def test_the_commands_list_gives_each_command_one_sentence():
    """``albench --help`` lists each command by the first sentence of its docstring, not broken where the
    docstring's source lines break (rich help keeps single line breaks)."""
    out = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "400"})
    assert out.exit_code == 0, out.output
    rows = {line.split()[1]: line for line in out.output.splitlines() if re.match(r"│ [a-z][a-z-]+ ", line)}
    assert {"strategies", "analyze", "report", "compact", "fsck", "grid"} <= set(rows), out.output
    assert "the learners and the data sets, and the plug-ins that cannot load here, with why." in rows["strategies"]
    assert rows["compact"].split("│")[1].rstrip().endswith("atomically (every row stays stored once).")
    continuation = [line for line in out.output.splitlines() if re.match(r"│ {10,}\S", line)]
    assert not continuation, continuation
    group = CliRunner().invoke(app, ["import", "--help"], env={"COLUMNS": "400"})  # a group's commands too
    (row,) = [line for line in group.output.splitlines() if line.startswith("│ ogal ")]
    assert row.split("│")[1].rstrip().endswith("OGAL's own AUC as ogal_full_auc_*.")
