"""The hard per-run time limit: runs execute in a child process that can be killed.

Python threads cannot be stopped from outside, and a run can be stuck inside
one call (a fit that never converges, a sleep, a C loop). When a grid has a
time limit, each executing thread (the local executor, or each Dask worker
thread) keeps one long-lived child process and sends it one run at a time.
The limit counts from the moment the child starts the run, which it reports
first. Inside the child the runner checks the cooperative deadline
(``albench.deadline``) at each step, which ends most slow runs cleanly at
``timeout_s``; a run still busy at ``timeout_s + grace_s`` is killed with its
process, recorded as a ``timeout`` row, and a fresh child starts for the next
run (paying its imports and data-set loading again).

The child is started with ``subprocess`` rather than ``multiprocessing`` so
that it also works inside Dask's daemonic worker processes; it exits when its
parent does. An idle child that loaded plug-ins is closed by closing its
pipe, so that it exits on its own and removes its private plug-in folder; a
killed child cannot, and the next child removes such folders when it starts
(``albench.stale_plugin_dirs``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection

from albench.execute import base_row, execute_run, finish_row, limit_threads, now
from albench.interrupts import interrupts_are_runs_own
from albench.run_context import RunContext, ensure_plugins
from albench.spec import RunSpec
from albench.stale_plugin_dirs import remove_stale

STARTUP_LIMIT_S = 300.0  # importing the libraries on a busy machine


def grace_s(timeout_s: float) -> float:
    """How long after the deadline a run may take to reach its next check before it is killed."""
    return min(max(1.0, 0.1 * timeout_s), 30.0)


class RunProcess:
    """A killable child process that executes runs one at a time."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._send: Connection | None = None
        self._recv: Connection | None = None
        self._plugins_key: str | None = None
        self._busy = False  # a run was sent and its rows not yet received

    def run(self, spec: RunSpec, ctx: RunContext) -> tuple[dict, list[dict]]:
        """Execute ``spec`` in the child; a timeout or a dead child becomes a row."""
        started, t0 = now(), time.perf_counter()
        try:
            self._start(ctx)
            self._busy = True
            self._send.send(("run", spec, ctx.grid_name, ctx.timeout_s))
            if ctx.timeout_s is None:
                return self._received()
            # the child says when it starts the run (on the system-wide monotonic clock) and the limit counts
            # from then, so a busy machine that is slow to hand the run over does not eat into its time
            limit, run_started = ctx.timeout_s + grace_s(ctx.timeout_s), time.monotonic()
            if self._recv.poll(limit):
                _, run_started = self._recv.recv()  # ("started", the child's monotonic time)
                if self._recv.poll(max(0.0, run_started + limit - time.monotonic())):
                    return self._received()
            late = time.monotonic() - run_started - ctx.timeout_s
            self.close()
            status, message = "timeout", (f"killed after {time.perf_counter() - t0:.1f} s, {late:.1f} s past its "
                                          f"time limit of {ctx.timeout_s:g} s: stuck inside one call")
        except (EOFError, OSError) as exc:
            code = self._exit_code()
            self.close()
            how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            status, message = "error", f"the process running it died ({how}; {detail})"
        row = base_row(spec, ctx.grid_name)
        row.update(status=status, error=message)
        return finish_row(row, started, t0), []

    def _received(self) -> tuple[dict, list[dict]]:
        rows = self._recv.recv()
        self._busy = False
        return rows

    def _start(self, ctx: RunContext) -> None:
        if self._proc is None or self._proc.poll() is not None:
            self.close()
            to_child_r, to_child_w = os.pipe()
            from_child_r, from_child_w = os.pipe()
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "albench.run_process", str(to_child_r), str(from_child_w)],
                pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL)
            os.close(to_child_r)
            os.close(from_child_w)
            self._send = Connection(to_child_w, readable=False)
            self._recv = Connection(from_child_r, writable=False)
            if not self._recv.poll(STARTUP_LIMIT_S) or self._recv.recv() != "ready":
                raise OSError("the run process did not start")
            self._plugins_key = None
        if ctx.plugins and ctx.plugins_key != self._plugins_key:
            self._send.send(("plugins", ctx))
            self._plugins_key = ctx.plugins_key

    def _exit_code(self) -> int | None:
        """The child's exit code once it is gone (its pipe can close a moment before)."""
        try:
            return self._proc.wait(timeout=5) if self._proc else None
        except subprocess.TimeoutExpired:
            return None

    def close(self, wait_s: float = 0.0) -> None:
        """Stop the child and release its pipes.

        An idle child that loaded plug-ins is given ``wait_s`` seconds to exit
        on its own once its pipe closes, so that its exit handlers remove its
        plug-in folder (about a second: the interpreter's teardown); any other
        child, or one still there after ``wait_s``, is killed at once.
        """
        if self._send is not None and not self._busy and self._plugins_key is not None and wait_s > 0:
            self._send.close()  # the child's next receive ends its loop
            self._send = None
            try:
                self._proc.wait(timeout=wait_s)
            except subprocess.TimeoutExpired:
                pass
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        if self._proc is not None:
            self._proc.wait()
        for conn in (self._send, self._recv):
            if conn is not None:
                conn.close()
        self._proc = self._send = self._recv = None
        self._busy = False

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def _exit_with_parent() -> None:
    parent = os.getppid()
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:  # re-parented: the executor is gone
            os._exit(0)


def main(read_fd: int, write_fd: int) -> None:
    """The child's loop: receive a run, execute it under its deadline, send back the rows."""
    inbox, outbox = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the executor's to handle; it stops us
    interrupts_are_runs_own()  # so a KeyboardInterrupt here is a run's own: an error row
    remove_stale()  # plug-in folders of killed run processes (the one this child replaces, most often)
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    limit_threads()  # also imports runners and strategies before the first run's clock starts
    outbox.send("ready")
    while True:
        try:
            message = inbox.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if message[0] == "plugins":
            ensure_plugins(message[1])
        else:
            _, spec, grid_name, timeout_s = message
            if timeout_s is not None:
                outbox.send(("started", time.monotonic()))  # the parent's kill clock starts here
            outbox.send(execute_run(spec, grid_name, timeout_s=timeout_s))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
