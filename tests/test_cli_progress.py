"""Progress of ``albench grid run``: plain lines without a terminal, a labelled, stable time left."""

from __future__ import annotations

import io
import subprocess
import sys
import time

from rich.console import Console
from rich.progress import Progress
from typer.testing import CliRunner

from albench.cli import app
from albench.cli.progress import (MIN_DONE, BarReporter, ElapsedAndLeftColumn, LineReporter, NoReporter, clock,
                                  reporter, time_left)
from conftest import small_al_grid


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_time_left_is_the_mean_rate_since_the_start_applied_to_the_runs_left():
    assert time_left(4, 10, 20.0) == 30.0  # 5 s a run, 6 runs left
    assert time_left(MIN_DONE - 1, 10, 20.0) is None  # too few runs to say
    assert time_left(10, 10, 20.0) == 0.0
    assert clock(None) == "-:--:--" and clock(3725.4) == "1:02:05"


def test_the_bar_column_labels_elapsed_and_left_and_stays_stable_when_run_times_alternate():
    fake = FakeClock()
    progress = Progress(get_time=fake)
    task_id = progress.add_task("grid", total=100)
    column = ElapsedAndLeftColumn()
    task = progress.tasks[0]
    assert str(column.render(task)) == "elapsed 0:00:00, left -:--:--"
    lefts = []
    for i in range(40):  # alternately 0.2 s and 3.8 s: 2 s a run on average
        fake.t += 0.2 if i % 2 == 0 else 3.8
        progress.advance(task_id)
        text = str(column.render(task))
        assert text.startswith("elapsed ") and ", left " in text
        if i % 2 == 1 and i >= 5:
            lefts.append((100 - (i + 1)) * 2.0)
            shown = text.split(", left ")[1]
            h, m, s = map(int, shown.split(":"))
            assert abs(h * 3600 + m * 60 + s - lefts[-1]) <= 1  # the truth: runs left x 2 s, to the second


def test_plain_lines_at_every_interval_and_at_the_end():
    out = io.StringIO()
    console = Console(file=out, width=200)
    fake = FakeClock()
    shown = LineReporter("quick", console, interval=0.05, now=fake)
    with shown:
        shown.on_start(5, 0)
        for status in ("ok", "error", "timeout", "ok"):
            fake.t += 10
            shown.tick({"status": status})
        time.sleep(0.3)  # several intervals pass with no run finishing: lines still come
    lines = out.getvalue().splitlines()
    assert len(lines) >= 3, lines
    assert lines[-1] == ("progress quick: 4/5 runs, 1 failed, 1 timed out, 0.1 runs/s, elapsed 0:00:40, "
                         "left 0:00:10")


def test_a_terminal_gets_the_bar_a_file_the_lines_quiet_nothing(monkeypatch):
    monkeypatch.delenv("ALBENCH_PROGRESS_INTERVAL", raising=False)
    assert isinstance(reporter("g", Console(file=io.StringIO(), force_terminal=True)), BarReporter)
    plain = reporter("g", Console(file=io.StringIO()))
    assert isinstance(plain, LineReporter) and plain.interval == 30.0
    assert isinstance(reporter("g", Console(file=io.StringIO()), quiet=True), NoReporter)


def test_grid_run_into_a_pipe_prints_progress_lines(write_grid, tmp_path):
    path = write_grid(small_al_grid())
    proc = subprocess.run([sys.executable, "-m", "albench", "grid", "run", str(path), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, env={**_env(), "ALBENCH_PROGRESS_INTERVAL": "0.2"})
    assert proc.returncode == 0, proc.stderr
    assert "progress small: 4/4 runs, 0 failed, 0 timed out, " in proc.stdout
    assert "elapsed 0:00:0" in proc.stdout and "left 0:00:00" in proc.stdout


def test_a_bad_interval_is_a_one_line_error(write_grid, tmp_path, monkeypatch):
    monkeypatch.setenv("ALBENCH_PROGRESS_INTERVAL", "soon")
    result = CliRunner().invoke(app, ["grid", "run", str(write_grid(small_al_grid())), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "ALBENCH_PROGRESS_INTERVAL='soon' is not a number of seconds" in result.output


def test_the_cluster_start_is_announced_before_connecting(write_grid, tmp_path, monkeypatch):
    import albench.dask_executor as dask_executor

    asked = []

    def refuse(workers, scheduler):
        asked.append((workers, scheduler))
        raise dask_executor.DaskSetupError("no cluster in this test")

    monkeypatch.setattr(dask_executor, "connect", refuse)
    path = str(write_grid(small_al_grid()))
    result = CliRunner().invoke(app, ["grid", "run", path, "--out", str(tmp_path / "o"), "--workers", "3"])
    assert result.exit_code == 2 and asked == [(3, None)]
    assert "starting a local Dask cluster of 3 worker processes ..." in result.output
    assert "no cluster in this test" in result.output
    result = CliRunner().invoke(app, ["grid", "run", path, "--out", str(tmp_path / "o"),
                                      "--scheduler", "tcp://127.0.0.1:8786"])
    assert "connecting to the Dask scheduler at tcp://127.0.0.1:8786 ..." in result.output


def _env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "FORCE_TERMINAL", "TTY_COMPATIBLE")}
