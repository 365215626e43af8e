"""``albench grid show|run``: inspect and execute grid files."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from albench.cli.common import console, fail, print_frame
from albench.spec import Grid, GridError, load_grid

app = typer.Typer(help="Inspect and run grid files.", no_args_is_help=True)


def _load(path: Path) -> Grid:
    try:
        return load_grid(path)
    except GridError as exc:
        fail(str(exc))


def _short(value) -> str:
    if isinstance(value, dict) and set(value) == {"name", "params"}:
        return value["name"] + (json.dumps(value["params"], sort_keys=True) if value["params"] else "")
    return str(value)


@app.command("show")
def show(file: Path = typer.Argument(..., help="Grid YAML file.")) -> None:
    """Print the grid's axes (one line per hyperparameter) and its number of runs."""
    grid = _load(file)
    table = Table(title=f"grid '{grid.name}' (kind {grid.kind}) from {file}")
    table.add_column("hyperparameter")
    table.add_column("n", justify="right")
    table.add_column("values")
    for key, values in grid.axes.items():
        table.add_row(key, str(len(values)), ", ".join(_short(v) for v in values))
    console.print(table)
    if grid.exclude:
        console.print(f"exclude rules: {len(grid.exclude)}")
    console.print(f"runs: {len(grid)}")


@app.command("run")
def run(
    file: Path = typer.Argument(..., help="Grid YAML file."),
    out: Path = typer.Option(None, "--out", help="Results folder [default: results/<grid name>]."),
    rerun_failed: bool = typer.Option(False, "--rerun-failed", help="Run stored error/timeout rows again."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or leaderboard."),
) -> None:
    """Run every run of the grid not already stored, then print a leaderboard.

    Finished runs are skipped, so running the same command again after an
    interruption completes the grid.
    """
    from albench.analysis.leaderboard import leaderboard
    from albench.execute import run_grid
    from albench.store import Store

    grid = _load(file)
    store = Store(out or Path("results") / grid.name)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(), TextColumn("left"),
                  TimeRemainingColumn(), console=console, disable=quiet, transient=False) as bar:
        task = bar.add_task(grid.name, total=None, failed=0)
        failed = 0

        def tick(row: dict) -> None:
            nonlocal failed
            failed += row["status"] != "ok"
            bar.update(task, advance=1, failed=failed)

        from albench.execute import pending

        todo, skipped = pending(grid, store, rerun_failed)
        bar.update(task, total=len(todo))
        summary = run_grid(grid, store, rerun_failed=False, progress=tick)
    console.print(summary.line())
    if not quiet:
        runs = store.read("runs")
        if not runs.empty:
            print_frame(leaderboard(runs), title=f"leaderboard ({grid.name}, mean AUC of accuracy)")
        console.print(f"results: {store.dir('runs')}/ and {store.dir('curves')}/")
