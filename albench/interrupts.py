"""Whose KeyboardInterrupt is it: a run's own (raised by a plug-in, an error row) or the user's Ctrl-C (stop the
grid).

``ctrl_c_recorded`` installs, around an executor's work, a SIGINT handler that
notes a real Ctrl-C before raising; ``own_interrupt`` then tells a run's own
interrupt from the user's. A run process, which ignores SIGINT, calls
``interrupts_are_runs_own`` once: every interrupt in it is a run's own.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


class _CtrlC:
    guarded = False  # a handler of ours records real Ctrl-C presses in this process's main thread
    pressed = False


def own_interrupt() -> bool:
    """Whether a KeyboardInterrupt now being handled was raised by the run rather than by a Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        return True  # Python delivers SIGINT to the main thread only
    return _CtrlC.guarded and not _CtrlC.pressed


def interrupts_are_runs_own() -> None:
    """In a process that ignores SIGINT (a run process), every KeyboardInterrupt is a run's own."""
    _CtrlC.guarded, _CtrlC.pressed = True, False


@contextmanager
def ctrl_c_recorded() -> Iterator[None]:
    """Within the block, a Ctrl-C is recorded before it raises, so runs can tell their own interrupts apart."""
    if threading.current_thread() is threading.main_thread() and not _CtrlC.guarded \
            and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # Ctrl-C is ignored (a job started in the background by a script): every interrupt is a run's own
        _CtrlC.guarded, _CtrlC.pressed = True, False
        try:
            yield
        finally:
            _CtrlC.guarded = False
        return
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler or _CtrlC.guarded):
        yield  # someone else handles SIGINT (or we already do): every interrupt counts as real
        return

    def pressed(signum, frame):
        _CtrlC.pressed = True
        raise KeyboardInterrupt

    _CtrlC.guarded, _CtrlC.pressed = True, False
    signal.signal(signal.SIGINT, pressed)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _CtrlC.guarded = _CtrlC.pressed = False
