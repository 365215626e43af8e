"""Set-up of the worker processes of albench's own local clusters."""

from __future__ import annotations

import signal
import threading

from distributed import WorkerPlugin


class IgnoreInterrupts(WorkerPlugin):
    """Workers leave Ctrl-C to the client, which closes the cluster.

    A Ctrl-C in a terminal reaches every process of the foreground group; a
    worker that handled it would print a traceback. Workers started with the
    cluster already ignore SIGINT (inherited); this covers workers their nanny
    restarts later.
    """

    name = "albench-ignore-interrupts"

    def setup(self, worker) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
