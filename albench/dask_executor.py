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
``DaskSetupError`` after writing what has finished. A cluster left with no
worker at all (their nannies gave up restarting them) stops the grid the same
way after ``NO_WORKERS_S``, instead of waiting for ever.

Large grids stream: tasks are cut from the grid's runs as they are needed,
so the client never holds a list of every pending RunSpec.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
import signal
import threading
import time
import uuid
from collections import deque
from contextlib import contextmanager, suppress
from importlib.metadata import PackageNotFoundError, version
from typing import Callable, Iterator

from albench.execute import GridRecorder, Progress, base_row, finish, finish_row, now, run_batch, start, warm_up
from albench.run_context import context_for
from albench.spec import Grid, RunSpec
from albench.store import Store
from albench.table_schema import schemas_for

TASK_S = 2.0  # target measured run time per task
FIRST_TASK_RUNS = 2  # runs per task until run times have been measured
CONNECT_TIMEOUT = "20s"
NO_WORKERS_S = 30.0  # a cluster without any worker for this long stops the grid (a nanny restarts in seconds)
POLL_S = 0.05  # how often the client looks for finished tasks and live workers
QUIET_LOGGERS = ("distributed", "tornado", "asyncio")


class DaskSetupError(RuntimeError):
    """The cluster cannot run albench tasks (unreachable scheduler, workers without albench)."""


def configured_scheduler() -> str | None:
    """Dask's own ``scheduler-address`` setting (config file or DASK_SCHEDULER_ADDRESS), if any."""
    import dask

    return dask.config.get("scheduler-address", None)


SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
_HOST_PORT = re.compile(r"(?P<host>[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?")


def check_address(address: str) -> str:
    """``address`` if it reads as a Dask scheduler address (``tcp://host:8786``), else ``DaskSetupError``."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    match = _HOST_PORT.fullmatch(rest)
    if scheme not in SCHEMES or match is None or not (match["port"] is None or 0 < int(match["port"]) < 65536):
        raise DaskSetupError(f"--scheduler: {address!r} is not a Dask scheduler address; expected "
                             f"[{'|'.join(SCHEMES)}://]host[:port], e.g. tcp://10.0.0.5:8786")
    return address


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

    address = check_address(scheduler) if scheduler else (None if workers else configured_scheduler())
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
        self.total, self.asked = 1, -math.inf

    def __call__(self) -> int:
        """Threads to plan tasks for (at least one)."""
        return max(1, self.live())

    def live(self) -> int:
        """Threads of the workers now connected (0: none left); the last answer if the scheduler cannot say."""
        if time.monotonic() - self.asked >= self.every_s:
            self.asked = time.monotonic()
            with suppress(OSError):  # a connection closing under us (CommClosedError): ask again later
                self.total = sum(self.client.nthreads().values())
        return self.total


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


class _RunQueue:
    """The pending runs in data-set order, drawn from the grid as tasks are cut (never listed).

    A grid whose outermost axis is its data set already yields its runs grouped
    by data set; any other order is sorted once (and so listed).
    """

    def __init__(self, grid: Grid, todo):
        self.left = len(todo)
        ordered = next(iter(grid.axes), None) == "dataset"
        self._runs = iter(todo) if ordered else iter(sorted(todo, key=data_key))  # stable: grid order

    def __len__(self) -> int:
        return self.left

    def take(self, n: int) -> list[RunSpec]:
        batch = list(itertools.islice(self._runs, n))
        self.left -= len(batch)
        return batch


def _workerless_error(for_s: float) -> DaskSetupError:
    return DaskSetupError(
        f"no Dask worker left for {for_s:.0f} s: they died running this grid's tasks (a run that kills its "
        f"worker process: os._exit, a crash in native code, memory), and none was restarted; finished runs "
        f"are stored, runs alone on their worker when it died are stored as errors: run the same command "
        f"again to finish the grid")


def run_grid_dask(grid: Grid, store: Store, client, *, rerun_failed: bool = False,
                  timeout_s: float | None = None, progress: Progress | None = None,
                  on_start: Callable[[int, int], None] | None = None, task_s: float = TASK_S,
                  no_workers_s: float = NO_WORKERS_S):
    """Run the grid's pending runs on ``client``'s cluster; same contract as ``execute.run_grid``.

    When the cluster has had no worker for ``no_workers_s`` seconds, the grid
    stops with ``DaskSetupError`` after writing what finished; the single-run
    tasks then in flight (the runs suspected of killing their workers) become
    error rows.
    """
    with store.writing():
        return _run_grid_dask(grid, store, client, rerun_failed, timeout_s, progress, on_start, task_s,
                              no_workers_s)


def _run_grid_dask(grid, store, client, rerun_failed, timeout_s, progress, on_start, task_s, no_workers_s):
    from distributed import as_completed

    t0 = time.perf_counter()
    todo, summary = start(grid, store, rerun_failed, on_start)
    ctx = context_for(grid, timeout_s)
    recorder = GridRecorder(store, summary, progress, schemas=schemas_for(grid.kind))
    queue = _RunQueue(grid, todo)
    sizer, threads = TaskSizer(task_s), _Threads(client, every_s=min(3.0, no_workers_s / 3))
    running: dict = {}  # future -> its specs
    suspects: deque = deque()  # single runs whose worker died: killers, or runs that shared its death
    tried_alone: set[str] = set()
    resubmitted: set[str] = set()  # single runs whose task failed for a reason of the cluster's, sent again once
    token, serial = uuid.uuid4().hex[:8], itertools.count()
    done = as_completed(with_results=True, raise_errors=False)

    def submit(specs: list[RunSpec]) -> None:
        future = client.submit(run_batch, specs, ctx, key=f"albench-{token}-{next(serial)}")
        running[future] = specs
        done.add(future)

    def refill() -> None:
        window = 2 * threads() + 1  # one running and one waiting per thread keeps workers busy
        while queue and len(running) < window:
            submit(queue.take(sizer.size(len(queue), threads())))
        if not queue and not running and suspects:  # alone on the cluster, a run can only kill its own worker
            spec = suspects.popleft()
            tried_alone.add(spec.run_id)
            submit([spec])

    def handle(future, result) -> None:
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
        elif type(_error_of(result)).__name__ != "KilledWorker" and specs[0].run_id not in resubmitted:
            # run_batch never raises for a run's own failure: this is the cluster's (a finished result lost
            # with the worker that held it, when another run killed that worker), so run it once more
            resubmitted.add(specs[0].run_id)
            submit(specs)
        else:
            recorder.add(*_lost_row(specs[0], ctx.grid_name, _error_of(result)))

    workerless_since = None
    try:
        refill()
        while not done.is_empty():
            if not done.has_ready():
                if client.status == "running" and not threads.live():  # "connecting": handled as cancelled
                    workerless_since = workerless_since or time.monotonic()
                    if time.monotonic() - workerless_since >= no_workers_s:
                        for specs in running.values():
                            if len(specs) == 1:
                                recorder.add(*_lost_row(specs[0], ctx.grid_name, RuntimeError(
                                    "its worker died and no worker was left to run anything")))
                        raise _workerless_error(time.monotonic() - workerless_since)
                else:
                    workerless_since = None
                time.sleep(POLL_S)
                continue
            for future, result in done.next_batch(block=False):
                handle(future, result)
                del future, result
            refill()
        recorder.close()
        finish(store, summary)  # compacts the folder if its parts piled up
    finally:
        with _quiet_logs(), suppress(Exception):  # a closed client refuses to cancel
            for future in running:
                future.cancel()
        recorder.close()
        summary.wall_s = time.perf_counter() - t0
    return summary
