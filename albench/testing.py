"""The strategy conformance suite for pytest, for albench's own tests and for third-party strategies.

In the spirit of optuna's ``optuna/testing/pytest_samplers.py``: a strategy's
test module runs every check of ``albench.checks`` as its own test with one
line::

    import pytest
    from albench.testing import strategy_checks

    @pytest.mark.parametrize("check", strategy_checks("my_strategy"))
    def test_conformance(check):
        check()

Each parameter is one named check (its test id is the check's name, e.g.
``test_conformance[check_random_tie_breaking]``). A known failure (the
strategy class's ``known_failures``, ``albench.checks.ADAPTER_KNOWN_FAILURES``
or ``known_failures=``) is a strict xfail with its reason: it must fail, and
turns red once it passes, so the declaration cannot go stale. The strategy
must be registered when the test module is collected (a plug-in folder in
``ALBENCH_PLUGINS``, an entry point, or the built-in folder).

Needs pytest (albench's ``dev`` extra).
"""

from __future__ import annotations

from albench import checks


def strategy_checks(name: str, learner: str = checks.DEFAULT_LEARNER,
                    known_failures: dict[str, str] | None = None) -> list:
    """One ``pytest.param`` per conformance check of strategy ``name`` fitted with ``learner``."""
    import pytest

    known = {**checks.known_failures_of(name), **(known_failures or {})}
    params = []
    for check_name, check in checks.iter_checks(name, learner):
        marks = pytest.mark.xfail(reason=known[check_name], strict=True) if check_name in known else ()
        params.append(pytest.param(_quiet(check), id=check_name, marks=marks))
    return params


def _quiet(check):
    """The check with one BLAS thread and library warnings off, as ``albench check-strategy`` runs it."""

    def run() -> None:
        import warnings

        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check()

    run.__name__ = run.__qualname__ = getattr(check, "__name__", "check")
    return run
