"""The cooperative per-run time limit: a deadline the runner checks between steps.

The executor opens ``scope(limit_s)`` around one run; a runner calls ``check()``
at each step boundary (an AL cycle), which raises ``RunTimeout`` once the limit
has passed. Outside a scope ``check()`` costs one context-variable lookup.

This stops a slow run only at its next step boundary: a run stuck inside one
call (a fit that never returns, a sleep) is not interrupted here. That hard
limit is ``albench.run_process``, which kills the process running it.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

_deadline: ContextVar[tuple[float, float] | None] = ContextVar("albench_deadline", default=None)


class RunTimeout(Exception):
    """A run went over its time limit; the executor records it as ``status = timeout``."""


@contextmanager
def scope(limit_s: float | None) -> Iterator[None]:
    """Give the run inside this block ``limit_s`` seconds (None: no limit)."""
    if limit_s is None:
        yield
        return
    token = _deadline.set((time.monotonic() + limit_s, limit_s))
    try:
        yield
    finally:
        _deadline.reset(token)


def check() -> None:
    """Raise ``RunTimeout`` if the current run's deadline has passed."""
    current = _deadline.get()
    if current is not None and time.monotonic() > current[0]:
        raise RunTimeout(f"over the time limit of {current[1]:g} s")
