"""``albench grid show|run``: inspect and execute grid files."""

from __future__ import annotations

import json
from collections import Counter
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


def _bar(quiet: bool) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[failed]} failed, {task.fields[timed_out]} timed out"),
                    TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                    console=console, disable=quiet, transient=False, refresh_per_second=2)


@app.command("run")
def run(
    file: Path = typer.Argument(..., help="Grid YAML file."),
    out: Path = typer.Option(None, "--out", help="Results folder.", show_default="results/<grid name>"),
    workers: int = typer.Option(
        None, "--workers", "-w", min=0, show_default=False,
        help="Run on a new local Dask cluster of this many worker processes. 0: run in this "
             "process. [default: in this process, or on Dask's configured scheduler-address if set]"),
    scheduler: str = typer.Option(
        None, "--scheduler", metavar="ADDRESS",
        help="Run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (started with `dask scheduler` "
             "and `dask worker`; workers need albench installed, no shared filesystem)."),
    timeout: float = typer.Option(
        None, "--timeout", metavar="SECONDS", show_default=False,
        help="Per-run time limit; overrides the grid's timeout_s. A run over it is stopped at its next "
             "AL cycle, or killed with its process shortly after if stuck inside one call, and stored "
             "as a 'timeout' row."),
    rerun_failed: bool = typer.Option(False, "--rerun-failed", help="Run stored error/timeout rows again."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or leaderboard."),
) -> None:
    """Run every run of the grid not already stored, then print a leaderboard (active testing: estimator errors).

    Finished runs are skipped, so running the same command again after an
    interruption (Ctrl-C, kill -9, a lost cluster) completes the grid, with
    every run stored once.
    """
    from albench.analysis.leaderboard import leaderboard
    from albench.dask_executor import DaskSetupError, configured_scheduler
    from albench.store import Store

    if workers and scheduler:
        fail("give either --workers (a new local cluster) or --scheduler (an existing one), not both")
    if timeout is not None and timeout <= 0:
        fail(f"--timeout: {timeout:g} must be a positive number of seconds")
    grid = _load(file)
    store = Store(out or Path("results") / grid.name)
    on_dask = bool(workers) or bool(scheduler) or (workers is None and configured_scheduler() is not None)
    with _bar(quiet) as bar:
        task = bar.add_task(grid.name, total=None, failed=0, timed_out=0)

        def on_start(n_todo: int, n_skipped: int) -> None:
            bar.update(task, total=n_todo)

        errors: Counter[str] = Counter()  # distinct error messages of this call's failed runs

        def tick(row: dict) -> None:
            if row["status"] == "error":
                errors[str(row.get("error"))] += 1
            fields = bar.tasks[task].fields
            bar.update(task, advance=1, failed=fields["failed"] + (row["status"] == "error"),
                       timed_out=fields["timed_out"] + (row["status"] == "timeout"))

        options = dict(rerun_failed=rerun_failed, timeout_s=timeout, progress=tick, on_start=on_start)
        try:
            if on_dask:
                from albench.dask_executor import connect, run_grid_dask

                with connect(workers, scheduler) as client:
                    summary = run_grid_dask(grid, store, client, **options)
            else:
                from albench.execute import run_grid

                summary = run_grid(grid, store, **options)
        except DaskSetupError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            bar.stop()
            fail("interrupted; finished runs are stored: run the same command again to finish the grid",
                 code=130)
    console.print(summary.line())
    for message, count in errors.most_common(3):  # e.g. a missing data root fails every run alike
        console.print(f"  error in {count} run(s): {message}", markup=False, highlight=False)
    if not quiet:
        runs = store.read("runs")
        if not runs.empty and grid.kind == "at":
            from albench.active_testing.report import final_errors

            print_frame(final_errors(runs), title=f"{grid.name}: mean squared error of the final estimate")
        elif not runs.empty:
            print_frame(leaderboard(runs), title=f"leaderboard ({grid.name}, mean AUC of accuracy)")
        console.print(f"results: {store.dir('runs')}/ and {store.dir('curves')}/")
