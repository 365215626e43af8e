"""The plug-in paths end to end: a strategy in a folder (ALBENCH_PLUGINS, ``--plugins``, a
grid's ``plugins:``) or in an installed package's entry point is found, listed, checked and
run in a grid; ``albench new-strategy`` / ``make new-strategy`` write a strategy and a test
(one test per conformance check, through ``albench.testing``) that pass as they are.

Paths that need a fresh registry (ALBENCH_PLUGINS, entry points, the generated test) run in
a child process; the others use typer's CliRunner and restore the registry afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from albench.checks import CHECKS
from albench.cli import app
from albench.store import Store
from albench.strategy import registry

ROOT = Path(__file__).resolve().parents[1]

PLUGIN = textwrap.dedent('''
    """A plug-in strategy: the unlabelled points farthest from the labelled mean."""
    import numpy as np

    from albench.strategy import Strategy, register, top_k


    @register("{name}", "plug-in: farthest from the labelled mean")
    class Farthest(Strategy):
        def query(self, state, batch_size, rng):
            centre = state.X[state.labelled].mean(axis=0)
            distance = np.linalg.norm(state.X[state.unlabelled] - centre, axis=1)
            return state.unlabelled[top_k(distance, batch_size, rng)]
''')

BROKEN_PLUGIN = textwrap.dedent('''
    from albench.strategy import Strategy, register


    @register("plugin_duplicates", "plug-in that breaks the contract")
    class Duplicates(Strategy):
        def query(self, state, batch_size, rng):
            return state.unlabelled[[0] * batch_size]
''')


def write_plugin(folder: Path, name: str, text: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(text if text is not None else PLUGIN.format(name=name))
    return folder


def albench(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The command line in a child process (fresh registry), wide enough that tables are not cut."""
    full_env = {**os.environ, "COLUMNS": "250", "PYTHONWARNINGS": "ignore", **(env or {})}
    return subprocess.run([sys.executable, "-m", "albench", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd or ROOT, timeout=300)


@pytest.fixture
def cli():
    """CliRunner on the in-process app; plug-ins loaded by a test are removed afterwards."""
    registry.names()
    entries, unavailable = dict(registry.entries), dict(registry.unavailable)
    yield CliRunner()
    registry.entries.clear()
    registry.entries.update(entries)
    registry.unavailable.clear()
    registry.unavailable.update(unavailable)


def small_grid(strategy: str, **top) -> dict:
    return {"name": "plugin_grid", "kind": "al", **top,
            "params": {"dataset": "iris", "learner": "logreg", "strategy": [strategy, "random"],
                       "batch_size": 5, "budget": 3}}


def stored_ok(out: Path, strategy: str) -> int:
    runs = Store(out).read("runs")
    return int(((runs["strategy"] == strategy) & (runs["status"] == "ok")).sum())


# --- ALBENCH_PLUGINS: found, listed, checked, run in a grid (child processes) ---------------------


def test_plugin_folder_from_the_environment(tmp_path):
    folder = write_plugin(tmp_path / "plugs", "plugin_env")
    env = {"ALBENCH_PLUGINS": str(folder)}
    listed = albench("strategies", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "plugin_env" in listed.stdout and "farthest from the labelled mean" in listed.stdout
    checked = albench("check-strategy", "plugin_env", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{len(CHECKS)} checks: {len(CHECKS)} passed, 0 failed" in checked.stdout
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump(small_grid("plugin_env")))
    ran = albench("grid", "run", str(grid), "--out", str(tmp_path / "res"), "-q", env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert stored_ok(tmp_path / "res", "plugin_env") == 1


# --- a grid's plugins: key and --plugins (in process) ---------------------------------------------


def test_plugin_folder_from_the_grid_plugins_key(cli, tmp_path):
    write_plugin(tmp_path / "my_plugins", "plugin_grid_key")
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump(small_grid("plugin_grid_key", plugins=["my_plugins"])))  # relative to the grid
    result = cli.invoke(app, ["grid", "run", str(grid), "--out", str(tmp_path / "res"), "-q"])
    assert result.exit_code == 0, result.output
    assert stored_ok(tmp_path / "res", "plugin_grid_key") == 1


def test_grid_without_its_plugins_names_the_missing_strategy(cli, tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump(small_grid("plugin_not_loaded")))
    result = cli.invoke(app, ["grid", "run", str(grid), "--out", str(tmp_path / "res"), "-q"])
    assert result.exit_code == 2
    assert "unknown strategy 'plugin_not_loaded'" in result.output
    hint = ("a plug-in in another folder is found once the grid's plugins: key (check-strategy, strategies: "
            "--plugins) or ALBENCH_PLUGINS names it")
    assert hint in " ".join(result.output.split())


def test_plugins_option_lists_and_checks(cli, tmp_path):
    folder = write_plugin(tmp_path / "plugs", "plugin_option")
    listed = cli.invoke(app, ["strategies", "--plugins", str(folder)], terminal_width=250)
    assert listed.exit_code == 0 and "plugin_option" in listed.output
    for title, name in (("learners (kind al: learner; kind at: model, rival", "svm_rbf"), ("data sets (dataset)", "moons")):
        assert title in listed.output and f" {name} " in listed.output.split(title)[1], listed.output
    checked = cli.invoke(app, ["check-strategy", "plugin_option", "--plugins", str(folder)])
    assert checked.exit_code == 0, checked.output
    assert checked.output.count("pass ") == len(CHECKS)


def test_check_strategy_exit_codes_and_reasons(cli, tmp_path):
    folder = write_plugin(tmp_path / "plugs", "plugin_duplicates", BROKEN_PLUGIN)
    broken = cli.invoke(app, ["check-strategy", "plugin_duplicates", "--plugins", str(folder)])
    assert broken.exit_code == 1
    assert "fail   check_batch_size: returned the same index twice" in broken.output
    assert "0 failed" not in broken.output
    unknown = cli.invoke(app, ["check-strategy", "margn"])
    assert unknown.exit_code == 2 and "did you mean 'margin'" in unknown.output
    unavailable = cli.invoke(app, ["check-strategy", "modal.expected_error_reduction"])
    assert unavailable.exit_code == 2 and "unavailable" in unavailable.output
    bad_learner = cli.invoke(app, ["check-strategy", "margin", "--learner", "nope"])
    assert bad_learner.exit_code == 2 and "unknown learner 'nope'" in bad_learner.output
    missing = cli.invoke(app, ["check-strategy", "margin", "--plugins", str(tmp_path / "absent")])
    assert missing.exit_code == 2 and "plug-in folder not found" in missing.output


def test_broken_plugin_file_is_listed_as_unavailable_without_breaking_the_registry(tmp_path):
    folder = tmp_path / "plugs"
    write_plugin(folder, "plugin_fine")
    write_plugin(folder, "plugin_crash", "raise ImportError('needs a package that is not installed')\n")
    listed = albench("strategies", env={"ALBENCH_PLUGINS": str(folder)})
    assert listed.returncode == 0, listed.stderr
    assert "plugin_fine" in listed.stdout and "margin" in listed.stdout
    assert "plugin_crash.py" in listed.stdout and "needs a package that is not installed" in listed.stdout


# --- an installed package's entry point -------------------------------------------------------------


def test_entry_point_strategy(tmp_path):
    site = tmp_path / "site"
    write_plugin(site, "albench_demo_ext", PLUGIN.format(name="plugin_entry_point"))
    dist = site / "albench_demo_ext-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: albench-demo-ext\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[albench.strategies]\ndemo = albench_demo_ext\n")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    listed = albench("strategies", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "plugin_entry_point" in listed.stdout and "albench_demo_ext" in listed.stdout
    checked = albench("check-strategy", "plugin_entry_point", env=env)
    assert checked.returncode == 0 and f"{len(CHECKS)} passed" in checked.stdout, checked.stdout + checked.stderr


# --- new-strategy: the template runs as it is ---------------------------------------------------------


def test_new_strategy_writes_a_strategy_and_a_test_that_pass(cli, tmp_path):
    strategies, tests = tmp_path / "strategies", tmp_path / "tests"
    strategies.mkdir()
    tests.mkdir()
    result = cli.invoke(app, ["new-strategy", "my_first", "--dir", str(strategies), "--tests", str(tests)])
    assert result.exit_code == 0, result.output
    assert (strategies / "my_first.py").exists() and (tests / "test_strategy_my_first.py").exists()
    assert "class MyFirst(ScoreStrategy)" in (strategies / "my_first.py").read_text()
    run = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-W", "ignore",
                          str(tests / "test_strategy_my_first.py")], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path, env={**os.environ, "ALBENCH_PLUGINS": str(strategies)})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert f"{len(CHECKS) + 1} passed" in run.stdout  # one test per conformance check, plus its own
    assert "test_my_first_conformance[check_random_tie_breaking] PASSED" in run.stdout


@pytest.mark.parametrize("name, message", [
    ("My-Strategy", "not a valid strategy name"),
    ("2fast", "not a valid strategy name"),
    ("_hidden", "not a valid strategy name"),
    ("class", "Python keyword"),
    ("margin", "already registered"),
])
def test_new_strategy_refuses_bad_names(cli, tmp_path, name, message):
    result = cli.invoke(app, ["new-strategy", name, "--dir", str(tmp_path), "--tests", str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.output
    assert list(tmp_path.iterdir()) == []


def test_new_strategy_creates_the_folders_it_is_given_but_not_the_default_ones(cli, tmp_path, monkeypatch):
    mine, theirs = tmp_path / "new" / "strategies", tmp_path / "new" / "tests"
    made = cli.invoke(app, ["new-strategy", "made_here", "--dir", str(mine), "--tests", str(theirs)])
    assert made.exit_code == 0, made.output
    assert (mine / "made_here.py").exists() and (theirs / "test_strategy_made_here.py").exists()
    monkeypatch.chdir(tmp_path)  # not the project root: no strategies/ here
    default = cli.invoke(app, ["new-strategy", "made_there"])
    assert default.exit_code == 2 and "strategy folder strategies does not exist (run from the project root" \
        in default.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new"]
    (tmp_path / "afile").write_text("")
    blocked = cli.invoke(app, ["new-strategy", "made_there", "--dir", "afile", "--tests", str(theirs)])
    assert blocked.exit_code == 2 and "strategy folder afile is a file" in blocked.output


def test_new_strategy_never_overwrites(cli, tmp_path):
    (tmp_path / "test_strategy_taken.py").write_text("# mine\n")
    result = cli.invoke(app, ["new-strategy", "taken", "--dir", str(tmp_path), "--tests", str(tmp_path)])
    assert result.exit_code == 2 and "refusing to overwrite" in result.output
    assert not (tmp_path / "taken.py").exists()  # nothing half-written
    assert (tmp_path / "test_strategy_taken.py").read_text() == "# mine\n"


def test_make_new_strategy(tmp_path):
    albench_bin = Path(sys.executable).with_name("albench")
    # -o: take the environment as built (this test must not reinstall it)
    make = ["make", "-s", "-o", ".venv/.core", f"ALBENCH={albench_bin}"]
    done = subprocess.run([*make, "new-strategy", "NAME=made_by_make", f"STRATEGY_DIR={tmp_path}",
                           f"TEST_DIR={tmp_path}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "made_by_make.py").exists() and (tmp_path / "test_strategy_made_by_make.py").exists()
    usage = subprocess.run([*make, "new-strategy"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert usage.returncode != 0 and "usage: make new-strategy NAME=my_strategy" in usage.stdout
