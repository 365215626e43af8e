"""The Dask executor: the rows of in-process runs, task sizing, connecting to a running cluster."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import dask
import pandas as pd
import pytest
from typer.testing import CliRunner

from albench import dask_executor
from albench.cli import app
from albench.dask_executor import TaskSizer, connect, run_grid_dask
from albench.execute import run_grid
from albench.spec import grid_from_dict, load_grid
from albench.store import Store
from executor_helpers import registry_restored, results, run_ids, sleepy_grid_doc, tiny_grid_doc, write_grid

DASK = str(Path(sys.executable).parent / "dask")


@pytest.fixture(scope="module")
def client():
    with connect(workers=2) as c:
        yield c


def test_two_workers_give_the_rows_of_in_process_in_any_order(tmp_path, client):
    grid_path = write_grid(tmp_path, tiny_grid_doc())
    grid = load_grid(grid_path)
    local = run_grid(grid, Store(tmp_path / "local"))
    batched = run_grid_dask(grid, Store(tmp_path / "batched"), client)
    single = run_grid_dask(grid, Store(tmp_path / "single"), client, task_s=0.0)  # one run per task
    assert local.done == batched.done == single.done == len(grid) == 32
    ref_runs, ref_curves = results(tmp_path / "local")
    assert set(ref_runs["run_id"]) == run_ids(grid_path)
    for other in ("batched", "single"):
        runs, curves = results(tmp_path / other)
        pd.testing.assert_frame_equal(runs, ref_runs)
        pd.testing.assert_frame_equal(curves, ref_curves)
    again = run_grid_dask(grid, Store(tmp_path / "batched"), client)
    assert (again.done, again.skipped) == (0, 32)


def test_task_sizer_aims_at_task_seconds_and_shrinks_towards_the_end():
    sizer = TaskSizer(task_s=2.0, first=3)
    assert sizer.size(remaining=1000, threads=2) == 3  # nothing measured yet
    for _ in range(10):
        sizer.observe(0.1)
    assert sizer.size(remaining=1000, threads=2) == 20  # 2 s of 0.1 s runs
    assert sizer.size(remaining=40, threads=2) == 10  # the rest split over twice the threads
    assert sizer.size(remaining=3, threads=2) == 1
    sizer.observe(100.0)  # long runs: one per task, never zero
    assert sizer.size(remaining=1000, threads=2) == 1


def test_data_key_names_the_data_set_only():
    specs = list(grid_from_dict(tiny_grid_doc()).specs())
    keys = {dask_executor.data_key(s) for s in specs}
    assert len(keys) == 2  # iris and wine, whatever the learner, strategy or seed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def scheduler_address(tmp_path):
    """A scheduler and two worker processes started as a user would, on loopback; yielded once connected."""
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = open(tmp_path / "cluster.log", "w")
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=log, stderr=log)]
    try:
        procs.append(subprocess.Popen([DASK, "worker", address, "--nworkers", "2", "--nthreads", "1",
                                       "--no-dashboard"], stdout=log, stderr=log))
        with Client(address, timeout="120s") as c:  # a loaded machine can take a while to start them
            c.wait_for_workers(2, timeout=120)
        yield address, procs[0]
    finally:
        for p in reversed(procs):  # the workers first; their processes exit with their nanny
            p.kill()
            p.wait()
        log.close()


def test_runs_on_a_scheduler_given_by_address_or_by_dask_config(tmp_path, scheduler_address, monkeypatch):
    scheduler_address, scheduler = scheduler_address
    grid_path = write_grid(tmp_path, tiny_grid_doc(datasets=["wine"], seeds=1))
    cli = CliRunner()
    by_flag = cli.invoke(app, ["grid", "run", str(grid_path), "--scheduler", scheduler_address,
                               "--out", str(tmp_path / "flag"), "-q"])
    assert by_flag.exit_code == 0, by_flag.output
    assert "8 done, 0 skipped" in by_flag.output
    with dask.config.set({"scheduler-address": scheduler_address}):  # no flag: Dask's own setting
        by_config = cli.invoke(app, ["grid", "run", str(grid_path), "--out", str(tmp_path / "config"), "-q"])
    assert by_config.exit_code == 0, by_config.output
    assert "8 done, 0 skipped" in by_config.output
    runs, curves = results(tmp_path / "flag")
    assert set(runs["run_id"]) == run_ids(grid_path)
    assert (runs["status"] == "ok").all()
    pd.testing.assert_frame_equal(results(tmp_path / "config")[0], runs)
    # and the same rows as in this process
    local = cli.invoke(app, ["grid", "run", str(grid_path), "--workers", "0", "--out", str(tmp_path / "local"), "-q"])
    assert local.exit_code == 0, local.output
    local_runs, local_curves = results(tmp_path / "local")
    pd.testing.assert_frame_equal(local_runs, runs)
    pd.testing.assert_frame_equal(local_curves, curves)

    # the scheduler goes away mid-grid: a short error once Dask gives up reconnecting, finished runs kept
    started = tmp_path / "started"
    sleepy = write_grid(tmp_path / "sleepy", sleepy_grid_doc("lost", n_seeds=40, seconds=0.03, touch=started),
                        plugin=True)

    def kill_the_scheduler_once_runs_are_under_way():
        deadline = time.monotonic() + 120
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        scheduler.kill()

    killer = threading.Thread(target=kill_the_scheduler_once_runs_are_under_way, daemon=True)
    killer.start()
    monkeypatch.setattr(dask_executor, "CONNECT_TIMEOUT", "3s")  # how long the client tries to reconnect
    with registry_restored():
        lost = cli.invoke(app, ["grid", "run", str(sleepy), "--scheduler", scheduler_address,
                                "--out", str(tmp_path / "lost"), "-q"])
        all_ids = run_ids(sleepy)
    killer.join()
    assert lost.exit_code == 2, lost.output
    assert "lost the connection to the Dask scheduler" in lost.output and "Traceback" not in lost.output
    store = Store(tmp_path / "lost")
    assert store.finished() < all_ids  # some, maybe none, and never all
    assert not store.finished(statuses=("error", "timeout"))  # no run is blamed for the lost scheduler


def test_bad_executor_options_are_short_errors(tmp_path, monkeypatch):
    grid_path = write_grid(tmp_path, tiny_grid_doc())
    cli = CliRunner()

    def run(*args):
        return cli.invoke(app, ["grid", "run", str(grid_path), "--out", str(tmp_path / "out"), *args])

    both = run("--workers", "2", "--scheduler", "tcp://127.0.0.1:1")
    assert both.exit_code == 2 and "not both" in both.output
    assert run("--timeout", "0").exit_code == 2
    assert run("--workers", "-1").exit_code == 2
    monkeypatch.setattr(dask_executor, "CONNECT_TIMEOUT", "2s")
    t0 = time.monotonic()
    nobody = run("--scheduler", f"tcp://127.0.0.1:{_free_port()}")
    assert nobody.exit_code == 2
    assert "cannot reach the Dask scheduler" in nobody.output and "Traceback" not in nobody.output
    assert time.monotonic() - t0 < 30
    assert not (tmp_path / "out" / "runs").exists()


def test_cli_help_documents_the_executor_options():
    out = CliRunner().invoke(app, ["grid", "run", "--help"], env={"COLUMNS": "200"}).output
    for option in ("--workers", "--scheduler", "--timeout", "--rerun-failed"):
        assert option in out
    assert "0: run in this process" in out


def test_context_ships_plugin_sources_not_paths(tmp_path):
    plugin_dir = tmp_path / "p"
    plugin_dir.mkdir()
    (plugin_dir / "mine.py").write_text("X = 1\n")
    (plugin_dir / "_private.py").write_text("Y = 2\n")
    grid_path = write_grid(tmp_path, {**tiny_grid_doc(), "plugins": ["p"], "timeout_s": 9})
    from albench.run_context import context_for

    ctx = context_for(load_grid(grid_path))
    assert ctx.timeout_s == 9 and context_for(load_grid(grid_path), 3).timeout_s == 3
    assert [(name.split("_", 1)[1], src) for name, src in ctx.plugins] == [("mine.py", "X = 1\n")]
    assert json.dumps(ctx.plugins)  # plain text: nothing refers to the client's filesystem


def test_a_cluster_left_without_workers_stops_the_grid_with_a_clear_error(tmp_path):
    from albench.dask_executor import DaskSetupError

    with registry_restored():  # the faulty plug-ins must not stay registered for later tests
        grid = load_grid(write_grid(tmp_path, sleepy_grid_doc("noworkers", n_seeds=12, seconds=0.05, budget=4),
                                    plugin=True))
    stored = []
    with connect(workers=1) as one:
        def stop_every_worker(row: dict) -> None:
            stored.append(row["run_id"])
            if len(stored) == 1:
                one.cluster.scale(0)  # as when the nannies give up: no worker, nothing restarts them

        t0 = time.monotonic()
        with pytest.raises(DaskSetupError, match="^no Dask worker left for [0-9]+ s: .*finished runs are stored"):
            run_grid_dask(grid, Store(tmp_path / "out"), one, progress=stop_every_worker, no_workers_s=3)
        assert time.monotonic() - t0 < 90
    runs = Store(tmp_path / "out").read("runs")
    assert set(stored) <= set(runs["run_id"]) and len(runs) < 12  # what finished is stored
    assert runs["run_id"].is_unique
