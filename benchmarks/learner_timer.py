"""The physical limit of an AL grid: seconds spent inside the learners' own ``fit`` and ``predict_proba``.

``install(learners)`` wraps those two methods of each learner's class (for
example ``LogisticRegression``) with a clock, in the process where the runs
execute (a Dask worker: ``client.run(install, learners)``); ``seconds()``
reads the total. Everything else a run does (cloning, aligning columns,
scoring, metrics, bookkeeping, writing) is albench's cost. A call made from
inside a timed call (an ensemble predicting through its members) is not
counted twice. The clock adds about a microsecond per call, which is charged
to albench.
"""

from __future__ import annotations

import functools
import threading
import time

_clock = time.perf_counter
_total = [0.0]
_depth = threading.local()
_lock = threading.Lock()


def _timed(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        depth = getattr(_depth, "n", 0)
        if depth:
            return method(self, *args, **kwargs)
        _depth.n = 1
        t0 = _clock()
        try:
            return method(self, *args, **kwargs)
        finally:
            elapsed = _clock() - t0
            _depth.n = 0
            with _lock:
                _total[0] += elapsed

    wrapper.albench_timed = True
    return wrapper


def install(learners: list[dict]) -> None:
    """Clock ``fit`` and ``predict_proba`` of every learner class in ``learners`` ({"name", "params"})."""
    from albench.learners import make_learner

    for learner in learners:
        cls = type(make_learner(learner["name"], learner["params"]))
        for name in ("fit", "predict_proba"):
            method = getattr(cls, name)
            if not getattr(method, "albench_timed", False):
                setattr(cls, name, _timed(method))


def uninstall() -> None:
    """Put back every clocked method (``install`` patches classes for the whole process)."""
    import gc

    for cls in [c for c in gc.get_objects() if isinstance(c, type)]:
        for name in ("fit", "predict_proba"):
            method = cls.__dict__.get(name)
            if getattr(method, "albench_timed", False):
                setattr(cls, name, method.__wrapped__)


def seconds() -> float:
    return _total[0]


def reset() -> None:
    _total[0] = 0.0
