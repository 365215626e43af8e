"""The distributed executor: a grid's runs as Dask tasks, results written by the client.

The same code runs on a laptop (``connect(workers=N)`` starts a LocalCluster of
N single-threaded worker processes) and on a cluster (``connect(scheduler=
"tcp://host:8786")``, or Dask's ``scheduler-address`` configuration). Workers
need albench installed but no shared filesystem: tasks carry RunSpecs (and the
grid's plug-in sources), workers load data sets from the registry themselves
(cached per process), and finished rows come back to the client, which writes
them to the Store in batches.

Tasks: runs are sorted by data set, so each worker loads each data set about
once, and cut into tasks of about ``task_s`` seconds of measured run time
(Dask costs about a millisecond per task; a task should take well over 100 ms).
Tasks shrink towards the end so the workers finish together (guided
self-scheduling: Polychronopoulos and Kuck, 1987). Only a few tasks per worker
thread are in flight at once, so a grid of millions of runs never floods the
scheduler and a stopped client loses little work.

Failures: a run that raises or times out is a row (``albench.execute``). A
worker that dies has its tasks rerun by Dask elsewhere; a task whose workers
keep dying is split into single runs. Dask blames every task a dying worker
held, so a single run that still fails is tried once more at the end, with no
other task on the cluster: only a run that kills its worker even then becomes
an error row. A run arriving twice is stored once. When the
client loses its scheduler, Dask cancels every task and tries to reconnect:
the tasks are submitted again if it succeeds; otherwise the grid stops with
``DaskSetupError`` after writing what has finished.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import signal
import threading
import time
import uuid
from collections import deque
from contextlib import contextmanager, suppress
from importlib.metadata import PackageNotFoundError, version
from typing import Callable, Iterator

from albench.execute import GridRecorder, Progress, base_row, finish_row, now, run_batch, start, warm_up
from albench.run_context import context_for
from albench.spec import Grid, RunSpec
from albench.store import Store

TASK_S = 2.0  # target measured run time per task
FIRST_TASK_RUNS = 2  # runs per task until run times have been measured
CONNECT_TIMEOUT = "20s"
QUIET_LOGGERS = ("distributed", "tornado", "asyncio")


class DaskSetupError(RuntimeError):
    """The cluster cannot run albench tasks (unreachable scheduler, workers without albench)."""


def configured_scheduler() -> str | None:
    """Dask's own ``scheduler-address`` setting (config file or DASK_SCHEDULER_ADDRESS), if any."""
    import dask

    return dask.config.get("scheduler-address", None)


@contextmanager
def _quiet_logs(level: int = logging.CRITICAL) -> Iterator[None]:
    """Dask logs expected connection closures at shutdown as errors; users need not see them."""
    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    before = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(level)
    try:
        yield
    finally:
        for log, lvl in zip(loggers, before):
            log.setLevel(lvl)


@contextmanager
def _interrupts_ignored() -> Iterator[None]:
    """Ignore Ctrl-C while a local cluster starts (a few seconds).

    An ignored SIGINT stays ignored across exec, so the worker processes
    started meanwhile never handle a Ctrl-C aimed at the client (which closes
    them cleanly) and print no tracebacks. A Ctrl-C pressed during start-up is
    lost; the next one stops the grid.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


@contextmanager
def connect(workers: int | None = None, scheduler: str | None = None):
    """A Dask client on a new LocalCluster of ``workers`` processes, or on an existing scheduler.

    ``scheduler`` is an address such as ``tcp://10.0.0.5:8786``; without it and
    without ``workers`` Dask's ``scheduler-address`` configuration is used.
    Closing releases the cluster without tracebacks.
    """
    from distributed import Client, LocalCluster

    address = scheduler or (None if workers else configured_scheduler())
    if not address and not workers:
        raise DaskSetupError("no workers asked for and no Dask scheduler address configured")
    cluster = client = None
    try:
        with _quiet_logs(logging.ERROR):
            if address:
                try:
                    client = Client(address, timeout=CONNECT_TIMEOUT)
                except (OSError, TimeoutError) as exc:
                    raise DaskSetupError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
            else:
                from albench.dask_plugins import IgnoreInterrupts

                with _interrupts_ignored():
                    # no dashboard; the scheduler's HTTP endpoint (health checks) on any free
                    # loopback port, so a second cluster never warns that port 8787 is taken
                    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR,
                                           scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                           plugins=(IgnoreInterrupts(),))
                    client = Client(cluster)
        check_workers(client)
        client.run(warm_up)  # workers import their libraries now, not inside the first timed runs
        yield client
    finally:
        with _quiet_logs():
            if cluster is not None:
                with suppress(Exception):  # workers log lost heartbeats as errors while closing
                    client.run(_silence_worker_logs)
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()


def _silence_worker_logs() -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def check_workers(client) -> None:
    """Fail early if a connected worker lacks albench or runs another version of it."""
    here = version("albench")
    try:
        theirs = client.run(version, "albench")
    except PackageNotFoundError:
        raise DaskSetupError("a Dask worker does not have albench installed "
                             "(install it in every worker's environment)") from None
    other = {addr: v for addr, v in theirs.items() if v != here}
    if other:
        raise DaskSetupError(f"workers run another albench version than this client ({here}): "
                             + ", ".join(f"{a} has {v}" for a, v in sorted(other.items())))


class TaskSizer:
    """Runs per task: about ``task_s`` seconds of work, fewer near the end (guided self-scheduling)."""

    def __init__(self, task_s: float = TASK_S, first: int = FIRST_TASK_RUNS):
        self.task_s, self.first = task_s, first
        self.run_s_total, self.runs = 0.0, 0

    def observe(self, run_s: float) -> None:
        self.run_s_total += run_s
        self.runs += 1

    def size(self, remaining: int, threads: int) -> int:
        if self.runs:
            per_task = round(self.task_s * self.runs / max(self.run_s_total, 1e-9))
        else:
            per_task = self.first
        tail = math.ceil(remaining / (2 * max(threads, 1)))
        return max(1, min(per_task, tail, remaining))


class _Threads:
    """The cluster's worker-thread count, asked of the scheduler at most every few seconds."""

    def __init__(self, client, every_s: float = 3.0):
        self.client, self.every_s = client, every_s
        self.value, self.asked = 1, -math.inf

    def __call__(self) -> int:
        if time.monotonic() - self.asked >= self.every_s:
            self.value = max(1, sum(self.client.nthreads().values()))
            self.asked = time.monotonic()
        return self.value


def data_key(spec: RunSpec) -> str:
    """Runs with equal keys load the same data set, so they are kept together."""
    return json.dumps(spec.params.get("dataset"), sort_keys=True)


def _lost_row(spec: RunSpec, grid_name: str, error: BaseException) -> tuple[dict, list[dict]]:
    row = base_row(spec, grid_name)
    what = ("the worker running it kept dying, also with no other run on the cluster"
            if type(error).__name__ == "KilledWorker" else "its task failed")
    row.update(status="error", error=f"{what} ({type(error).__name__}: {error})")
    return finish_row(row, now(), time.perf_counter()), []


def _reconnected(client) -> bool:
    """Wait while the client tries to reach its scheduler again (Dask gives up after its timeout)."""
    from dask.utils import parse_timedelta

    give_up = time.monotonic() + parse_timedelta(CONNECT_TIMEOUT) + 10
    while client.status == "connecting" and time.monotonic() < give_up:
        time.sleep(0.1)
    return client.status == "running"


def _error_of(result) -> BaseException:
    """The exception of a failed future as ``as_completed(raise_errors=False)`` hands it over."""
    return result[1] if isinstance(result, tuple) else result


def run_grid_dask(grid: Grid, store: Store, client, *, rerun_failed: bool = False,
                  timeout_s: float | None = None, progress: Progress | None = None,
                  on_start: Callable[[int, int], None] | None = None, task_s: float = TASK_S):
    """Run the grid's pending runs on ``client``'s cluster; same contract as ``execute.run_grid``."""
    from distributed import as_completed

    t0 = time.perf_counter()
    todo, summary = start(grid, store, rerun_failed, on_start)
    ctx = context_for(grid, timeout_s)
    recorder = GridRecorder(store, summary, progress)
    queue = deque(sorted(todo, key=data_key))  # stable: grid order within a data set
    sizer, threads = TaskSizer(task_s), _Threads(client)
    running: dict = {}  # future -> its specs
    suspects: deque = deque()  # single runs whose worker died: killers, or runs that shared its death
    tried_alone: set[str] = set()
    token, serial = uuid.uuid4().hex[:8], itertools.count()
    done = as_completed(with_results=True, raise_errors=False)

    def submit(specs: list[RunSpec]) -> None:
        future = client.submit(run_batch, specs, ctx, key=f"albench-{token}-{next(serial)}")
        running[future] = specs
        done.add(future)

    def refill() -> None:
        window = 2 * threads() + 1  # one running and one waiting per thread keeps workers busy
        while queue and len(running) < window:
            n = sizer.size(len(queue), threads())
            submit([queue.popleft() for _ in range(n)])
        if not queue and not running and suspects:  # alone on the cluster, a run can only kill its own worker
            spec = suspects.popleft()
            tried_alone.add(spec.run_id)
            submit([spec])

    try:
        refill()
        for future, result in done:
            specs = running.pop(future)
            if future.status == "finished":
                for row, curves in result:
                    recorder.add(row, curves)
                    sizer.observe(row["total_s"])
            elif future.status == "cancelled":  # not by us: the client lost its scheduler
                if not _reconnected(client):
                    raise DaskSetupError("lost the connection to the Dask scheduler; finished runs are stored: "
                                         "run the same command again to finish the grid")
                submit(specs)
            elif len(specs) > 1:  # its workers kept dying: find the run that kills them
                for spec in specs:
                    submit([spec])
            elif type(_error_of(result)).__name__ == "KilledWorker" and specs[0].run_id not in tried_alone:
                suspects.append(specs[0])  # Dask blames every task its dying worker held
            else:
                recorder.add(*_lost_row(specs[0], ctx.grid_name, _error_of(result)))
            del future, result
            refill()
    finally:
        with _quiet_logs(), suppress(Exception):  # a closed client refuses to cancel
            for future in running:
                future.cancel()
        recorder.close()
        summary.wall_s = time.perf_counter() - t0
    return summary
