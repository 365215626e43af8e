"""Progress of a grid's runs: a rich bar in a terminal, a plain line at a steady interval elsewhere.

Both show runs done of the total, failed and timed-out runs, and time
elapsed and left. Time left is the overall mean rate since the start applied
to the runs left, ``(total - done) * elapsed / done``: stable, unlike an
estimate over a short window of recent runs, which jumps with every slow or
fast run. Until ``MIN_DONE`` runs are done it reads ``-:--:--``.

Where stdout is no terminal (a file, a pipe, a batch job's log), a line such
as ``progress quick: 12/40 runs, 1 failed, 0 timed out, 0.41 runs/s, elapsed
0:00:29, left 0:01:08`` is printed every ``ALBENCH_PROGRESS_INTERVAL``
seconds (default 30), and once at the end.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from typing import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn
from rich.text import Text

MIN_DONE = 3  # runs done before a time left is shown: the first runs also pay for imports and warm-up
INTERVAL_ENV = "ALBENCH_PROGRESS_INTERVAL"
DEFAULT_INTERVAL_S = 30.0


def clock(seconds: float | None) -> str:
    """``h:mm:ss``, or ``-:--:--`` for an unknown time."""
    if seconds is None:
        return "-:--:--"
    return str(timedelta(seconds=max(0, int(round(seconds)))))


def time_left(done: int, total: int | None, elapsed: float | None) -> float | None:
    """Seconds left at the mean rate since the start; None until ``MIN_DONE`` runs are done."""
    if total is None or elapsed is None or done < MIN_DONE:
        return None
    return max(total - done, 0) * elapsed / done


def timing_text(done: int, total: int | None, elapsed: float | None) -> str:
    """``elapsed 0:00:17, left 0:01:27`` (``left -:--:--`` until ``MIN_DONE`` runs are done)."""
    return f"elapsed {clock(elapsed or 0.0)}, left {clock(time_left(done, total, elapsed))}"


class ElapsedAndLeftColumn(ProgressColumn):
    """A rich column with elapsed and left time, labelled, left from the mean rate since the start."""

    def render(self, task: Task) -> Text:
        return Text(timing_text(int(task.completed), None if task.total is None else int(task.total),
                                task.elapsed), style="progress.remaining", no_wrap=True)


def interval_s() -> float:
    """Seconds between two plain progress lines (``ALBENCH_PROGRESS_INTERVAL``, default 30)."""
    text = os.environ.get(INTERVAL_ENV, "")
    try:
        value = float(text) if text else DEFAULT_INTERVAL_S
    except ValueError:
        raise ValueError(f"{INTERVAL_ENV}={text!r} is not a number of seconds") from None
    if not value > 0:
        raise ValueError(f"{INTERVAL_ENV}={text!r} must be a positive number of seconds")
    return value


class Counts:
    """Runs done, failed and timed out of a total, from the rows as they arrive."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.done = self.failed = self.timed_out = 0

    def add_total(self, n_todo: int) -> None:
        self.total = (self.total or 0) + n_todo  # a budgeted grid announces each round's runs in turn

    def add(self, row: dict) -> None:
        self.done += 1
        self.failed += row.get("status") == "error"
        self.timed_out += row.get("status") == "timeout"


class BarReporter:
    """The rich progress bar (a terminal)."""

    def __init__(self, name: str, console: Console):
        self.counts = Counts()
        self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(bar_width=16), MofNCompleteColumn(),
                            TextColumn("{task.fields[failed]} failed, {task.fields[timed_out]} timed out"),
                            ElapsedAndLeftColumn(), console=console, transient=False,
                            refresh_per_second=2)
        self.task = self.bar.add_task(name, total=None, failed=0, timed_out=0, start=False)

    def __enter__(self) -> BarReporter:
        self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.stop()

    def on_start(self, n_todo: int, n_skipped: int) -> None:
        self.counts.add_total(n_todo)
        self.bar.update(self.task, total=self.counts.total)
        self.bar.start_task(self.task)  # the clock starts with the runs, not with the cluster

    def tick(self, row: dict) -> None:
        self.counts.add(row)
        self.bar.update(self.task, advance=1, failed=self.counts.failed, timed_out=self.counts.timed_out)

    def stop(self) -> None:
        self.bar.stop()


class LineReporter:
    """A plain progress line every ``interval`` seconds and at the end (no terminal: a log file, a pipe)."""

    def __init__(self, name: str, console: Console, interval: float, now: Callable[[], float] = time.monotonic):
        self.name, self.console, self.interval, self.now = name, console, interval, now
        self.counts = Counts()
        self.started: float | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> LineReporter:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def line(self) -> str:
        c = self.counts
        elapsed = 0.0 if self.started is None else self.now() - self.started
        rate = f"{c.done / elapsed:.3g} runs/s" if c.done and elapsed > 0 else "- runs/s"
        return (f"progress {self.name}: {c.done}/{c.total if c.total is not None else '?'} runs, {c.failed} failed, "
                f"{c.timed_out} timed out, {rate}, {timing_text(c.done, c.total, elapsed)}")

    def print_line(self) -> None:
        with self._lock:
            self.console.print(self.line(), markup=False, highlight=False, soft_wrap=True)

    def on_start(self, n_todo: int, n_skipped: int) -> None:
        with self._lock:
            self.counts.add_total(n_todo)
            if self.started is None:
                self.started = self.now()
        if self._thread is None:
            self._thread = threading.Thread(target=self._every_interval, name="albench-progress", daemon=True)
            self._thread.start()

    def _every_interval(self) -> None:
        while not self._stopped.wait(self.interval):
            self.print_line()

    def tick(self, row: dict) -> None:
        with self._lock:
            self.counts.add(row)

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()
            self.print_line()  # the closing line: every run accounted for


class NoReporter:
    """``--quiet``: nothing."""

    def __enter__(self) -> NoReporter:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def on_start(self, n_todo: int, n_skipped: int) -> None:
        pass

    def tick(self, row: dict) -> None:
        pass

    def stop(self) -> None:
        pass


def reporter(name: str, console: Console, quiet: bool = False):
    """The progress display for ``console``: a bar in a terminal, plain lines elsewhere, nothing if ``quiet``."""
    if quiet:
        return NoReporter()
    if console.is_terminal:
        return BarReporter(name, console)
    return LineReporter(name, console, interval_s())
