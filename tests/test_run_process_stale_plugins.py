"""Plug-in folders of killed processes: left behind by kill -9, removed by the next run process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from albench.execute import run_grid
from albench.spec import load_grid
from albench.stale_plugin_dirs import PREFIX, remove_stale
from albench.store import Store
from executor_helpers import FAULTY_PLUGIN, registry_restored

# appended to the faulty plug-ins: each process that imports them from a private folder says where
RECORDER = '''
if os.environ.get("ALBENCH_TEST_LOADED") and "albench-plugins-" in __file__:
    with open(os.environ["ALBENCH_TEST_LOADED"], "a") as log:
        log.write(__file__ + "\\n")
'''


def dead_pid() -> int:
    """The id of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_folders_of_this_users_dead_processes_are_removed(tmp_path):
    pid = dead_pid()
    dead = tmp_path / f"{PREFIX}{pid}-abc_123"
    (dead / "0123456789abcdef").mkdir(parents=True)
    (dead / "0123456789abcdef" / "000_probe.py").write_text("x = 1\n")
    live = tmp_path / f"{PREFIX}{os.getpid()}-def456"
    live.mkdir()
    other_form = tmp_path / f"{PREFIX}{pid}"  # no mkdtemp suffix: not ours
    other_form.mkdir()
    plain_file = tmp_path / f"{PREFIX}{pid}-file0001"
    plain_file.write_text("")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("kept")
    link = tmp_path / f"{PREFIX}{pid}-link0001"
    link.symlink_to(outside, target_is_directory=True)
    huge = tmp_path / f"{PREFIX}{10**30}-huge0001"  # no process can have this id
    huge.mkdir()

    assert sorted(remove_stale(tmp_path)) == sorted([dead, huge])
    assert not dead.exists() and not huge.exists()
    assert live.is_dir() and other_form.is_dir() and plain_file.is_file() and link.is_symlink()
    assert (outside / "keep.txt").read_text() == "kept"  # a symlink is never followed
    assert remove_stale(tmp_path) == []  # nothing left to remove
    assert remove_stale(tmp_path / "missing") == []  # no folder: nothing to do, no error


@pytest.fixture
def plugin_grid(tmp_path, monkeypatch):
    """A grid writer for the faulty plug-ins with a time limit (so runs go to a run process), and the list of
    private plug-in files loaded by run processes whose temporary folder is ``tmp_path / "tmp"``."""
    tmp, log = tmp_path / "tmp", tmp_path / "loaded.txt"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))  # the run processes' tempfile.gettempdir()
    monkeypatch.setenv("ALBENCH_TEST_LOADED", str(log))
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "faulty.py").write_text(FAULTY_PLUGIN + RECORDER)

    def write(name: str, strategies: list) -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"name: {name}\nkind: al\ntimeout_s: 60\nplugins: [plugins]\nparams:\n"
                        f"  dataset: iris\n  learner: gnb\n  budget: 2\n  strategy: {strategies}\n")
        return path

    def loaded() -> list[Path]:
        return [Path(line) for line in log.read_text().splitlines()] if log.exists() else []

    with registry_restored():
        yield write, loaded, tmp


def test_a_run_process_killed_with_kill_9_leaves_its_folder_and_the_next_run_removes_it(tmp_path, plugin_grid):
    write, loaded, tmp = plugin_grid
    store = Store(tmp_path / "out")
    run_grid(load_grid(write("killed", ["test_kills_process"])), store)
    row = store.read("runs").iloc[0]
    assert row["status"] == "error" and "signal 9" in row["error"]
    [first] = loaded()
    killed_folder = first.parents[1]  # <tmp>/albench-plugins-<pid>-<suffix>/<bundle key>/faulty.py
    assert killed_folder.parent == tmp and killed_folder.name.startswith(PREFIX)
    assert killed_folder.is_dir()  # SIGKILL: its exit handler never ran

    run_grid(load_grid(write("next", ["random"])), store)
    assert set(store.read("runs")["status"]) == {"error", "ok"}
    [_, second] = loaded()
    assert second.parents[1] != killed_folder
    assert not killed_folder.exists()  # removed by the next run process when it started
    assert not second.parents[1].exists()  # the idle child was closed, not killed: it removed its own
    assert not [p for p in tmp.iterdir() if p.name.startswith(PREFIX)]
