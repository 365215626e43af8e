"""Stored rows made by another implementation than the one installed now.

Each runs row records which code made each component (``<key>_impl``, from
``albench.registry``: module and a hash of its source, or a package version).
The run_id only names the hyperparameters, so after a strategy's code changes
the stored rows of that strategy would be taken as done. ``changed`` finds
them by comparing each stored row's implementation with the current one of
the same component name, for the component names of a grid; ``albench grid
run`` reports them, and ``--rerun-changed`` runs them again. Rows written
before implementations were recorded count as unknown, not as changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from albench.kinds import KINDS
from albench.spec import Grid
from albench.store import Store


@dataclass
class Changed:
    run_ids: set[str] = field(default_factory=set)
    by_component: dict[tuple[str, str], tuple[int, str, str]] = field(default_factory=dict)  # (key, name) -> n, was, now
    unknown: int = 0  # rows of the grid's components without a recorded implementation

    def lines(self) -> list[str]:
        out = [f"{n} stored row(s) of {key} '{name}' were made by another implementation ({was}; now {now})"
               for (key, name), (n, was, now) in sorted(self.by_component.items())]
        if self.unknown:
            out.append(f"{self.unknown} stored row(s) record no implementation (written by an older albench)")
        return out


def changed(grid: Grid, store: Store) -> Changed:
    """The stored rows, among the grid's component names, whose implementation differs from today's."""
    kind = KINDS[grid.kind]
    keys = [k for k in kind.components if k in grid.axes]
    runs = store.read("runs", ["run_id", *keys, *(f"{k}_impl" for k in keys)])
    out = Changed()
    if runs.empty:
        return out
    runs = runs.assign(**{f"{k}_impl": None for k in keys if f"{k}_impl" not in runs.columns})  # older parts
    out.unknown = int(runs[f"{keys[0]}_impl"].isna().sum())  # every implementation column is written together
    for key in keys:
        now = kind.implementations_of(key, sorted({v["name"] for v in grid.axes[key]}))
        rows = runs[runs[key].isin(list(now))]
        current, stored = rows[key].map(now), rows[f"{key}_impl"]
        for name, group in rows[stored.notna() & current.notna() & (stored != current)].groupby(key):
            was = ", ".join(sorted(group[f"{key}_impl"].unique())[:2])
            out.by_component[(key, name)] = (len(group), was, now[name])
            out.run_ids |= set(group["run_id"])
    return out
