"""Fault injection: runs that raise or overstay, workers and clients killed mid-grid."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import dask
import distributed  # noqa: F401  (its config defaults must exist before dask.config.set restores them)
import psutil
import pytest
from typer.testing import CliRunner

from albench.cli import app
from albench.dask_executor import connect, run_grid_dask
from albench.execute import run_grid
from albench.run_process import grace_s
from albench.spec import load_grid
from albench.store import Store
from executor_helpers import registry_restored, run_ids, sleepy_grid_doc, write_grid

ALBENCH = str(Path(sys.executable).parent / "albench")
LIMIT_S = 3.0
SLOW = {"name": "test_sleeps", "seconds": 0.2}  # 20 queries: 4 s, stopped between cycles at 3 s
STUCK = {"name": "test_sleeps", "seconds": 120}  # one query that never ends in time: killed
FAULTS = ["random", "test_raises", SLOW, STUCK, "test_kills_process"]


def faults_doc(strategies) -> dict:
    return {"name": "faults", "kind": "al", "timeout_s": LIMIT_S, "params": {
        "dataset": "iris", "learner": "gnb", "strategy": strategies, "budget": 20}}


@pytest.fixture(autouse=True)
def _no_test_strategies_left_behind():
    with registry_restored():
        yield


@pytest.fixture(scope="module")
def client():
    with connect(workers=2) as c:
        yield c


def _by_strategy(root: Path) -> dict:
    runs = Store(root).read("runs")
    assert runs["run_id"].is_unique
    return {(r.strategy, r.strategy_params): r for r in runs.itertuples()}


def check_fault_rows(root: Path) -> None:
    rows = _by_strategy(root)
    assert len(rows) == 5
    assert rows["random", "{}"].status == "ok"
    raised = rows["test_raises", "{}"]
    assert raised.status == "error" and raised.error == "ValueError: broken on purpose"
    assert "raise ValueError" in raised.error_traceback
    stuck = rows["test_sleeps", '{"seconds": 120}']
    assert stuck.status == "timeout" and stuck.error.startswith("killed after")
    # the kill's delay is measured from the moment the limit expired in the child, so a loaded machine that
    # is slow to start the run (total_s) does not widen it; 1.5 s covers the parent's wake-up under load
    late = float(re.search(r", ([0-9.]+) s past its time limit", stuck.error).group(1))
    assert grace_s(LIMIT_S) <= late + 0.05 < grace_s(LIMIT_S) + 1.5, stuck.error
    assert stuck.total_s >= LIMIT_S
    slow = rows["test_sleeps", '{"seconds": 0.2}']
    assert slow.status == "timeout" and slow.error.startswith("stopped after")
    assert LIMIT_S <= slow.total_s < LIMIT_S + 2
    killer = rows["test_kills_process", "{}"]
    assert killer.status == "error" and "died (signal 9" in killer.error
    curves = Store(root).read("curves")
    assert set(curves["run_id"]) == {rows["random", "{}"].run_id}  # failed runs leave no curves


def test_runs_that_raise_overstay_or_kill_their_process_are_recorded_as_such_in_process(tmp_path):
    grid_path = write_grid(tmp_path, faults_doc(FAULTS), plugin=True)
    summary = run_grid(load_grid(grid_path), Store(tmp_path / "out"))
    assert (summary.done, summary.failed, summary.timed_out) == (1, 2, 2)
    check_fault_rows(tmp_path / "out")

    # --rerun-failed with a longer --timeout: the slow run now finishes, the broken one fails again,
    # and the failed runs that are not in this grid file keep their rows
    rerun_path = write_grid(tmp_path, faults_doc(["random", "test_raises", SLOW]), name="rerun.yaml", plugin=True)
    result = CliRunner().invoke(app, ["grid", "run", str(rerun_path), "--out", str(tmp_path / "out"),
                                      "--rerun-failed", "--timeout", "60", "-q"])
    assert result.exit_code == 0, result.output
    assert "1 done, 1 skipped (already stored), 1 failed, 0 timed out" in result.output
    rows = _by_strategy(tmp_path / "out")
    assert len(rows) == 5
    assert rows["test_sleeps", '{"seconds": 0.2}'].status == "ok"
    assert rows["test_raises", "{}"].status == "error"
    assert rows["test_sleeps", '{"seconds": 120}'].status == "timeout"
    assert rows["test_kills_process", "{}"].status == "error"


def test_runs_that_raise_overstay_or_kill_their_process_are_recorded_as_such_on_dask(tmp_path, client):
    grid_path = write_grid(tmp_path, faults_doc(FAULTS), plugin=True)
    summary = run_grid_dask(load_grid(grid_path), Store(tmp_path / "out"), client)
    assert (summary.done, summary.failed, summary.timed_out) == (1, 2, 2)
    check_fault_rows(tmp_path / "out")


def test_a_run_that_keeps_killing_its_worker_becomes_an_error_row(tmp_path):
    grid_path = write_grid(tmp_path, {**faults_doc(["random", "test_kills_process"]), "timeout_s": None},
                           plugin=True)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), connect(workers=1) as one:
        summary = run_grid_dask(load_grid(grid_path), Store(tmp_path / "out"), one)
    stored = Store(tmp_path / "out").read("runs")
    assert (summary.done, summary.failed) == (1, 1), stored[["strategy", "status", "error"]].to_dict("records")
    killer = _by_strategy(tmp_path / "out")["test_kills_process", "{}"]
    assert "worker running it kept dying" in killer.error


def test_a_worker_killed_mid_grid_loses_no_run(tmp_path, client):
    grid_path = write_grid(tmp_path, sleepy_grid_doc("killworker", n_seeds=24, seconds=0.03), plugin=True)
    killed = []

    def kill_a_busy_worker(row: dict) -> None:
        if killed:
            return
        busy = [addr for addr, keys in client.processing().items() if keys]
        if busy:
            pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    summary = run_grid_dask(load_grid(grid_path), Store(tmp_path / "out"), client, progress=kill_a_busy_worker)
    assert killed, "no worker was busy when the first run finished"
    runs = Store(tmp_path / "out").read("runs")
    assert runs["run_id"].is_unique and set(runs["run_id"]) == run_ids(grid_path)
    assert (runs["status"] == "ok").all() and summary.done == 24
    curves = Store(tmp_path / "out").read("curves")
    assert not curves.duplicated(["run_id", "cycle"]).any()


def _wait_for(condition, what: str, proc: subprocess.Popen, log: Path, limit_s: float = 180) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        assert proc.poll() is None, f"the client exited before {what}:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"no {what} within {limit_s:g} s"
        time.sleep(0.05)


def _parts(out: Path) -> set[str]:
    return {p.name for p in (out / "runs").glob("part-*.parquet")}


def test_client_stopped_mid_grid_by_ctrl_c_or_kill_9_then_resumed_stores_every_run_once(tmp_path):
    started = tmp_path / "started"  # touched by every query: the grid is under way
    grid_path = write_grid(tmp_path, sleepy_grid_doc("stopclient", n_seeds=40, seconds=0.03, touch=started),
                           plugin=True)
    out, total, log = tmp_path / "out", 40, tmp_path / "client.log"
    command = [ALBENCH, "grid", "run", str(grid_path), "--workers", "2", "--out", str(out), "-q"]
    env = {**os.environ, "ALBENCH_PART_RUNS": "10"}  # parts are written by size: small ones, to see one mid-grid

    def launch() -> subprocess.Popen:
        # its own process group, as a shell job: Ctrl-C in a terminal reaches the client and its workers;
        # SIGINT handled as a terminal's job has it, even when this test process inherited it ignored
        with open(log, "w") as f:
            return subprocess.Popen(command, stdout=f, stderr=f, start_new_session=True, env=env,
                                    preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    # 1. Ctrl-C once runs are under way: a short message, exit status 130, the finished runs stored
    first = launch()
    try:
        _wait_for(started.exists, "query", first, log)
        time.sleep(1.0)
        cluster = psutil.Process(first.pid).children(recursive=True)
        os.killpg(first.pid, signal.SIGINT)
        assert first.wait(timeout=60) == 130, log.read_text()
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert log.read_text().strip().splitlines() == [  # and nothing else: no traceback, no log noise
        "error: interrupted; finished runs are stored: run the same command again to finish the grid"]
    assert not psutil.wait_procs(cluster, timeout=30)[1]  # the cluster closed with its client
    after_ctrl_c = Store(out).finished()
    assert len(after_ctrl_c) < total

    # 2. kill -9 once a batch of this second attempt is written (every 10 runs): nothing is flushed
    parts_before = _parts(out)
    second = launch()
    try:
        _wait_for(lambda: _parts(out) - parts_before, "new batch", second, log)
        cluster = psutil.Process(second.pid).children(recursive=True)
        second.send_signal(signal.SIGKILL)
        second.wait()
    finally:
        if second.poll() is None:
            second.kill()
    stored = Store(out).finished()
    assert after_ctrl_c < stored and len(stored) < total, "the client was not killed mid-grid"
    assert not psutil.wait_procs(cluster, timeout=30)[1]  # the local cluster goes with its client

    # 3. the same command finishes the grid: every run once, no noise at shutdown
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{total - len(stored)} done, {len(stored)} skipped" in resumed.stdout
    assert "Traceback" not in resumed.stderr and not resumed.stderr.strip(), resumed.stderr
    runs, curves = Store(out).read("runs"), Store(out).read("curves")
    assert runs["run_id"].is_unique and set(runs["run_id"]) == run_ids(grid_path)
    assert (runs["status"] == "ok").all()
    assert not curves.duplicated(["run_id", "cycle"]).any() and set(curves["run_id"]) == set(runs["run_id"])


def test_a_runs_own_sys_exit_or_keyboard_interrupt_is_its_failure_not_the_grids(tmp_path):
    doc = {**faults_doc(["test_exits", "test_interrupts", "random"]), "timeout_s": None}
    summary = run_grid(load_grid(write_grid(tmp_path, doc, plugin=True)), Store(tmp_path / "out"))
    assert (summary.done, summary.failed) == (1, 2)
    rows = _by_strategy(tmp_path / "out")
    assert rows["test_exits", "{}"].error == "SystemExit: the run called sys.exit(3)"
    assert rows["test_interrupts", "{}"].error == "KeyboardInterrupt: raised by the run itself, not by Ctrl-C"
    assert "sys.exit(3)" in rows["test_exits", "{}"].error_traceback
    # with a time limit the runs execute in a run process: the same rows
    summary = run_grid(load_grid(write_grid(tmp_path, {**doc, "timeout_s": 60}, plugin=True)),
                       Store(tmp_path / "limited"))
    assert (summary.done, summary.failed) == (1, 2)
    limited = _by_strategy(tmp_path / "limited")
    assert limited["test_interrupts", "{}"].error == rows["test_interrupts", "{}"].error


def test_with_ctrl_c_ignored_a_runs_own_keyboard_interrupt_is_still_its_failure(tmp_path):
    """A grid started in the background by a script inherits an ignored SIGINT: no Ctrl-C can come, so a
    KeyboardInterrupt can only be the run's own."""
    doc = {**faults_doc(["test_interrupts", "random"]), "timeout_s": None}
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        summary = run_grid(load_grid(write_grid(tmp_path, doc, plugin=True)), Store(tmp_path / "out"))
    finally:
        signal.signal(signal.SIGINT, before)
    assert (summary.done, summary.failed) == (1, 1)
    rows = _by_strategy(tmp_path / "out")
    assert rows["test_interrupts", "{}"].error == "KeyboardInterrupt: raised by the run itself, not by Ctrl-C"


@pytest.fixture
def terminal_sigint():
    """SIGINT as a terminal's foreground job has it, even when this test process inherited it ignored."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_a_real_ctrl_c_still_stops_the_grid_after_writing_what_finished(tmp_path, terminal_sigint):
    doc = sleepy_grid_doc("ctrlc", n_seeds=6, seconds=0.01, budget=2)
    grid = load_grid(write_grid(tmp_path, doc, plugin=True))
    stored = []

    def press_ctrl_c(row: dict) -> None:
        stored.append(row["run_id"])
        if len(stored) == 2:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        run_grid(grid, Store(tmp_path / "out"), progress=press_ctrl_c)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    assert Store(tmp_path / "out").finished() == set(stored) and len(stored) == 2


def test_a_plugin_calling_sys_exit_on_a_worker_is_an_error_row_and_the_worker_lives(tmp_path, client):
    """sys.exit in a task would end its worker's thread or process; it is the run's failure instead.
    (A run that kills its worker outright: test_a_run_that_keeps_killing_its_worker_becomes_an_error_row;
    a cluster left with no worker: test_dask_executor's test_a_cluster_left_without_workers_...)"""
    doc = {**faults_doc(["random", "test_exits", "test_interrupts"]), "timeout_s": None}
    workers_before = set(client.nthreads())
    summary = run_grid_dask(load_grid(write_grid(tmp_path, doc, plugin=True)), Store(tmp_path / "out"), client)
    assert (summary.done, summary.failed) == (1, 2)
    rows = _by_strategy(tmp_path / "out")
    assert rows["test_exits", "{}"].error == "SystemExit: the run called sys.exit(3)"
    assert rows["test_interrupts", "{}"].error == "KeyboardInterrupt: raised by the run itself, not by Ctrl-C"
    assert set(client.nthreads()) == workers_before  # no worker died or restarted


def test_a_planted_plugin_cache_is_never_loaded(tmp_path):
    import tempfile

    from albench.run_context import RunContext, _private_dir, ensure_plugins
    from albench.strategy import registry

    genuine = ('from albench.strategy import Strategy, register\n\n\n@register("test_cache_probe", "genuine")\n'
               'class Probe(Strategy):\n    def query(self, state, batch_size, rng):\n'
               '        return state.unlabelled[:1]\n')
    ctx = RunContext("g", None, (("000_probe.py", genuine),))
    planted = Path(tempfile.gettempdir()) / "albench-plugins" / ctx.plugins_key  # where workers used to look
    planted.mkdir(parents=True, exist_ok=True)
    (planted / "000_probe.py").write_text(genuine.replace('"genuine"', '"planted"'))
    (planted / "001_extra.py").write_text(genuine.replace('"genuine"', '"extra"').replace("_probe", "_extra"))
    try:
        ensure_plugins(ctx)
        assert registry.get("test_cache_probe").description == "genuine"
        assert "test_cache_extra" not in registry.names()
        private = _private_dir()
        assert private.stat().st_mode & 0o777 == 0o700 and private.stat().st_uid == os.getuid()
        assert sorted(p.name for p in (private / ctx.plugins_key).iterdir()) == ["000_probe.py"]
    finally:
        for f in planted.iterdir():
            f.unlink()
        planted.rmdir()
