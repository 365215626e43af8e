"""``albench grid prune FILE``: delete stored rows that the grid no longer contains.

A results folder keeps the rows of earlier versions of its grid (a fixed typo
leaves the failed runs of the old spelling). Every stored run of this grid
(its name and kind) whose run_id the grid does not produce is removed from
runs/ and curves/, each part file rewritten atomically. The runs of other
grids stored in the same folder are kept, and counted. ``--dry-run`` says
what would go and removes nothing.
"""

from __future__ import annotations

from pathlib import Path

import typer

from albench.cli.common import console, fail
from albench.wording import counted

MAX_LISTED = 5


def prune(
    file: Path = typer.Argument(..., help="Grid YAML file: the runs to keep."),
    out: Path = typer.Option(None, "--out", help="Results folder.", show_default="results/<grid name>"),
    dry_run: bool = typer.Option(False, "--dry-run", "-n", help="Say what would be removed; remove nothing."),
) -> None:
    """Delete the stored runs (and their curves) of this grid whose run_id the grid no longer produces; runs of
    other grids (another name or kind) in the same folder are kept."""
    from albench.results import of_grid
    from albench.spec import GridError, load_grid
    from albench.store import Store

    try:
        grid = load_grid(file)
    except GridError as exc:
        fail(str(exc))
    store = Store(out or Path("results") / grid.name)
    if not store.parts("runs"):
        fail(f"no runs stored in {store.root} (expected {store.dir('runs')}/part-*.parquet)")
    keep, allowed = set(), {}
    for spec in grid.specs():
        keep.add(spec.run_id)
        for column, value in spec.columns().items():
            allowed.setdefault(column, set()).add(str(value))
    stored = store.read("runs", ["run_id", "grid", "kind", "status", "error", *allowed])
    gone = stored[~stored["run_id"].isin(keep)]
    mine = of_grid(gone, grid.name, grid.kind)
    stale, others = gone[mine].sort_values("run_id"), gone[~mine]
    if not others.empty:
        labels = sorted({f"'{g}' ({k})" for g, k in zip(others["grid"].fillna("?"), others["kind"].fillna("?"))})
        console.print(f"keeping {counted(len(others), 'stored run')} of other grids: {', '.join(labels[:MAX_LISTED])}"
                      + (", ..." if len(labels) > MAX_LISTED else "") + " (prune them with their own grid files)",
                      highlight=False, markup=False)
    if stale.empty:
        console.print(f"nothing to prune: every one of the {len(stored) - len(others)} stored runs of grid "
                      f"'{grid.name}' in {store.root} is in it", highlight=False)
        return
    counts = ", ".join(f"{n} {status}" for status, n in stale["status"].value_counts().sort_index().items())
    verb = "would remove" if dry_run else "removing"
    console.print(f"{verb} {len(stale)} of {len(stored)} stored runs that grid '{grid.name}' ({file}) no longer "
                  f"contains ({counts}) from {store.root}", highlight=False, markup=False)
    for column, values in allowed.items():  # name what changed, e.g. "dataset: irsi (not in the grid)"
        gone = sorted({str(v) for v in stale[column].dropna()} - values) if column in stale.columns else []
        if gone:
            console.print(f"  {column}: {', '.join(gone[:MAX_LISTED])} not in the grid", highlight=False,
                          markup=False)
    for row in stale.head(MAX_LISTED).itertuples(index=False):
        error = f": {str(row.error).splitlines()[0]}" if "error" in stale.columns and isinstance(row.error, str) else ""
        console.print(f"  {row.run_id} ({row.status}){error}", highlight=False, markup=False)
    if len(stale) > MAX_LISTED:
        console.print(f"  ... and {len(stale) - MAX_LISTED} more", highlight=False)
    if dry_run:
        console.print("dry run: nothing removed", highlight=False)
        return
    store.drop_runs(set(stale["run_id"]))
    console.print(f"removed {counted(len(stale), 'run')}; {len(stored) - len(stale)} remain", highlight=False)


def install(app: typer.Typer) -> None:
    app.command("prune")(prune)
