"""Stored rows made by another implementation than the one installed now.

Each runs row records which code made each component (``<key>_impl``, from
``albench.registry``: module and a hash of its source, or a package version).
The run_id only names the hyperparameters, so after a strategy's code changes
the stored rows of that strategy would be taken as done. ``changed`` finds
them by comparing each stored row's implementation with the current one of
the same component name, for the component names of a grid, among the rows
that grid wrote (its name and kind: another grid's rows in the same folder
are not its to run again); ``albench grid run`` reports them, and
``--rerun-changed`` runs them again. Rows written before implementations
were recorded count as unknown, not as changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

from albench.kinds import KINDS
from albench.spec import Grid
from albench.store import Store
from albench.wording import counted, were


@dataclass
class Changed:
    # (key, name) -> (rows, the implementations that made them, today's)
    by_component: dict[tuple[str, str], tuple[int, str, str]] = field(default_factory=dict)
    unknown: int = 0  # rows of the grid's components without a recorded implementation
    find_run_ids: Callable[[], set[str]] = set  # the changed rows' run_ids, read only when asked for

    @cached_property
    def run_ids(self) -> set[str]:
        return self.find_run_ids() if self.by_component else set()

    def lines(self) -> list[str]:
        out = [f"{counted(n, 'stored row')} of {key} '{name}' {were(n)} made by another implementation "
               f"({was}; now {now})"
               for (key, name), (n, was, now) in sorted(self.by_component.items())]
        if self.unknown:
            out.append(f"{counted(self.unknown, 'stored row')} record{'s' if self.unknown == 1 else ''} no "
                       "implementation (written by an older albench)")
        return out


def changed(grid: Grid, store: Store) -> Changed:
    """The stored rows, among the grid's component names, whose implementation differs from today's.

    DuckDB counts the rows per (component name, implementation): at OGAL's 4.6 x 10^6 runs, reading the
    names and implementations into pandas took 18 s and 3.3 GiB. The run_ids are read only when asked for
    (``--rerun-changed``). ``ResultsError`` for a part DuckDB cannot read.
    """
    from albench.analysis.curves import quote
    from albench.results import Results, columns_of, connect, fetch, grid_scope

    results = Results(store.root)
    kind = KINDS[grid.kind]
    with connect(results, spill=True) as con:
        columns = set(columns_of(con, "runs"))
        keys = [k for k in kind.components if k in grid.axes and k in columns]
        if not keys or "run_id" not in columns:
            return Changed()

        def impl(key: str) -> str:
            return quote(f"{key}_impl") if f"{key}_impl" in columns else "NULL"

        mine, own = grid_scope(columns, grid.name, grid.kind)  # this grid's rows
        out = Changed(unknown=fetch(con, f"SELECT count(*) FROM runs WHERE {impl(keys[0])} IS NULL{mine}", own)[0][0])
        predicates, params = [], []
        for key in keys:
            now = kind.implementations_of(key, sorted({v["name"] for v in grid.axes[key]}))
            counts = fetch(con, f"SELECT {quote(key)}, {impl(key)}, count(*) FROM runs "
                                f"WHERE {impl(key)} IS NOT NULL{mine} GROUP BY ALL", own)
            stale: dict[str, dict[str, int]] = {}
            for name, made_by, n in counts:
                if now.get(name) is not None and made_by != now[name]:
                    stale.setdefault(name, {})[made_by] = n
            for name, by_impl in stale.items():
                out.by_component[(key, name)] = (sum(by_impl.values()), ", ".join(sorted(by_impl)[:2]), now[name])
                predicates.append(f"({quote(key)} = ? AND {impl(key)} IN ({', '.join('?' * len(by_impl))}))")
                params += [name, *by_impl]
    if predicates:
        query = f"SELECT DISTINCT run_id FROM runs WHERE ({' OR '.join(predicates)}){mine}"
        out.find_run_ids = lambda: {run_id for (run_id,) in _rows(results, query, params + own)}
    return out


def _rows(results, query: str, params: list) -> list[tuple]:
    """The rows of ``query`` on a new connection to ``results`` (the run_ids, when asked for later)."""
    from albench.results import connect, fetch

    with connect(results, spill=True) as con:
        return fetch(con, query, params)
