"""``albench grid show|run``: inspect and execute grid files."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from albench.cli.active_bench import BUDGET_HELP, UNTIL_HELP
from albench.cli.common import console, fail, print_frame, writable_store
from albench.wording import counted

if TYPE_CHECKING:  # the grid machinery (pydantic, the registries) loads when a command runs, not for --help
    from albench.spec import Grid

app = typer.Typer(help="Inspect and run grid files.", no_args_is_help=True)


def _load(path: Path, *, run_plugins: bool = True) -> Grid:
    from albench.spec import GridError, load_grid

    try:
        grid = load_grid(path, run_plugins=run_plugins)
    except GridError as exc:
        fail(str(exc))
    for note in grid.notes:
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    return grid


def _short(value) -> str:
    from albench.kinds import component_text, is_component

    return component_text(value) if is_component(value) else str(value)


def _values_text(values: list) -> str:
    """An axis's values, an evenly spaced run of five or more integers (seeds) as ``0, 1, ..., 199``."""
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
    steps = {b - a for a, b in zip(values, values[1:])} if ints else set()
    if len(values) >= 5 and len(steps) == 1 and 0 not in steps:
        return f"{values[0]}, {values[1]}, ..., {values[-1]}"
    return ", ".join(_short(v) for v in values)


@app.command("show")
def show(file: Path = typer.Argument(..., help="Grid YAML file.")) -> None:
    """Print the grid's axes (one line per hyperparameter) and its number of runs."""
    grid = _load(file, run_plugins=False)  # reads the plug-ins' names, runs none of their code
    table = Table(title=f"grid '{grid.name}' (kind {grid.kind}) from {file}")
    table.add_column("hyperparameter")
    table.add_column("n", justify="right")
    table.add_column("values")
    for key, values in grid.axes.items():
        table.add_row(key, str(len(values)), _values_text(values))
    console.print(table)
    if grid.exclude:
        console.print(f"exclude rules: {len(grid.exclude)}")
    console.print(f"runs: {len(grid)}")


@app.command("run")
def run(
    file: Path = typer.Argument(..., help="Grid YAML file."),
    out: Path = typer.Option(None, "--out", help="Results folder.", show_default="results/<grid name>"),
    workers: int = typer.Option(
        None, "--workers", "-w", min=0,
        show_default="in this process, or on Dask's configured scheduler-address if set",
        help="Run on a new local Dask cluster of this many worker processes. 0: run in this process."),
    scheduler: str = typer.Option(
        None, "--scheduler", metavar="ADDRESS",
        help="Run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (started with `dask scheduler` "
             "and `dask worker`; workers need albench installed, no shared filesystem)."),
    timeout: float = typer.Option(
        None, "--timeout", metavar="SECONDS", show_default=False,
        help="Per-run time limit (a positive, finite number); overrides the grid's timeout_s. A run over it is "
             "stopped at its next AL cycle, or killed with its process shortly after if stuck inside one call, "
             "and stored as a 'timeout' row."),
    rerun_failed: bool = typer.Option(False, "--rerun-failed", help="Run stored error/timeout rows again."),
    rerun_changed: bool = typer.Option(False, "--rerun-changed",
                                       help="Run again the stored rows made by another implementation of a "
                                            "component (a strategy whose code changed since)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or leaderboard."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say how many runs are stored and left, and about how "
                                 "long the rest takes from the stored runs' timings; run and write nothing."),
    budget: str = typer.Option(None, "--budget", "-b", show_default=False,
                               help="Run only a budgeted share of the grid, as `albench grid sample` does (same "
                                    "design, seed 0, metric auc_accuracy, one round), and print the full-grid "
                                    "estimate: " + BUDGET_HELP[0].lower() + BUDGET_HELP[1:] + " Not with "
                                    "--dry-run or --rerun-changed; --rerun-failed runs the sampled blocks' "
                                    "failed rows again."),
    until: str = typer.Option(None, "--until", help="With --budget: " + UNTIL_HELP),
    confidence: float = typer.Option(0.95, "--confidence", min=0.5, max=0.999, help="Confidence of --until."),
) -> None:
    """Run every run of the grid not already stored, then print a leaderboard (active testing: estimator errors).

    Finished runs are skipped, so running the same command again after an
    interruption (Ctrl-C, kill -9, a lost cluster) completes the grid, with
    every run stored once. In a terminal a progress bar shows runs done,
    failed and timed out, and the time elapsed and left (at the mean rate
    since the start); elsewhere (a log file, a pipe) a progress line is
    printed every ALBENCH_PROGRESS_INTERVAL seconds (default 30) and at the end.
    """
    from albench.dask_executor import DaskSetupError, check_address, configured_scheduler

    if budget is None and until is not None:
        fail("--until needs --budget (the stopping rule of a budgeted grid)")
    clash = [name for name, given in (("--dry-run", dry_run), ("--rerun-changed", rerun_changed)) if given]
    if budget is not None and clash:
        fail(f"--budget cannot be combined with {', '.join(clash)}: a budgeted grid's design decides which runs "
             "are run (`albench grid sample --help`)")
    if workers and scheduler:
        fail("give either --workers (a new local cluster) or --scheduler (an existing one), not both")
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        fail(f"--timeout: {timeout:g} must be a positive, finite number of seconds")
    if scheduler:
        try:
            check_address(scheduler)
        except DaskSetupError as exc:
            fail(str(exc))
    grid = _load(file)
    if budget is not None:
        from albench.cli.active_bench import run_budgeted

        run_budgeted(grid, out or Path("results") / grid.name, budget, until=until, confidence=confidence,
                     workers=workers, scheduler=scheduler, timeout=timeout, quiet=quiet, rerun_failed=rerun_failed)
        return
    if dry_run:
        _dry_run(grid, out or Path("results") / grid.name, workers)
        return
    store = writable_store(out or Path("results") / grid.name, "--out")  # before any run or cluster
    _changed_implementations(grid, store, rerun_changed)
    on_dask = bool(workers) or bool(scheduler) or (workers is None and configured_scheduler() is not None)
    if on_dask and not (rerun_failed or rerun_changed) and _left(grid, store)[1] == 0:
        console.print(f"nothing left to run: all {len(grid)} runs of '{grid.name}' are stored (no cluster started)")
    else:
        _execute(grid, store, workers, scheduler, on_dask, quiet, rerun_failed, timeout)
    if not quiet:
        _closing_tables(grid, store, rerun_failed)


def _execute(grid: Grid, store, workers, scheduler, on_dask: bool, quiet: bool, rerun_failed: bool, timeout) -> None:
    """Run what is left with a progress display; print the summary line and the commonest errors."""
    from albench.dask_executor import DaskSetupError
    from albench.store import DamagedPart, StoreError

    errors: Counter[str] = Counter()  # distinct error messages of this call's failed runs
    with progress_reporter(grid.name, quiet) as shown:

        def tick(row: dict) -> None:
            if row["status"] == "error":
                errors[str(row.get("error"))] += 1
            shown.tick(row)

        options = dict(rerun_failed=rerun_failed, timeout_s=timeout, progress=tick, on_start=shown.on_start)
        try:
            if on_dask:
                from albench.dask_executor import run_grid_dask

                with cluster(workers, scheduler, quiet) as client:
                    summary = run_grid_dask(grid, store, client, **options)
            else:
                from albench.execute import run_grid

                summary = run_grid(grid, store, **options)
        except DaskSetupError as exc:
            fail(str(exc))
        except StoreError as exc:  # a lock taken since the check above, a damaged part, a full disk
            fail(str(exc) if isinstance(exc, DamagedPart) else f"--out: {exc}")
        except KeyboardInterrupt:
            shown.stop()
            fail("interrupted; finished runs are stored: run the same command again to finish the grid",
                 code=130)
    console.print(summary.line())
    for message, count in errors.most_common(3):  # e.g. a missing data root fails every run alike
        console.print(f"  error in {counted(count, 'run')}: {message}", markup=False, highlight=False)


def progress_reporter(name: str, quiet: bool):
    """The progress display of a grid's runs on stdout (``albench.cli.progress``); a bad interval fails cleanly."""
    from albench.cli.progress import reporter

    try:
        return reporter(name, console, quiet)
    except ValueError as exc:
        fail(str(exc))


def cluster(workers: int | None, scheduler: str | None, quiet: bool = False):
    """``connect(workers, scheduler)``, saying first what starts (a cluster takes seconds to come up)."""
    from albench.dask_executor import configured_scheduler, connect

    if not quiet:
        address = scheduler or (None if workers else configured_scheduler())
        what = (f"connecting to the Dask scheduler at {address} ..." if address
                else f"starting a local Dask cluster of {counted(workers, 'worker process', 'worker processes')} ...")
        console.print(what, markup=False, highlight=False)
    return connect(workers, scheduler)


def _left(grid: Grid, store) -> tuple[int, int]:
    """(stored, left) runs of the grid: reads the stored run_id and status columns only."""
    from albench.execute import stored_flags

    done = store.finished_ids()  # sorted integers, looked up in batches: no Python set of every stored id
    stored = int(stored_flags(grid, done).sum()) if done else 0
    return stored, len(grid) - stored


def _dry_run(grid: Grid, root: Path, workers) -> None:
    from albench.store import Store, StoreError

    store = Store(root)
    try:
        stored, left = _left(grid, store) if store.dir("runs").is_dir() else (0, len(grid))
        timings = store.read("runs", ["run_id", "status", "total_s"]) if stored else None
    except StoreError as exc:
        fail(str(exc))
    line = f"{grid.name}: {len(grid)} runs, {stored} stored, {left} left"
    if left and timings is not None and timings["total_s"].notna().any():
        per_run = float(timings["total_s"].median())
        parallel = max(int(workers or 1), 1)
        line += (f"; about {_duration(per_run * left / parallel)} at the stored runs' median of {per_run:.3g} s "
                 f"per run on {counted(parallel, 'worker')}")
    elif left:
        line += "; no stored timing to estimate the time left from"
    console.print(line, markup=False, highlight=False)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def _closing_tables(grid: Grid, store, rerun_failed: bool = False) -> None:
    """The leaderboard (active testing: the estimators' errors) of every run of the grid's kind stored
    (``Kind.closing_tables``), and notes naming the folder's runs of other grids."""
    from albench.kinds import KINDS
    from albench.results import Results, ResultsError, stored_grids
    from albench.store import StoreError

    try:
        tables = KINDS[grid.kind].closing_tables(store, grid.name)
        grids = stored_grids(Results(store.root))
    except (StoreError, ResultsError) as exc:
        fail(str(exc))
    others = sorted({g.kind for g in grids if g.kind is not None and g.kind != grid.kind})
    neighbours = [g for g in grids if g.name is not None and g.name != grid.name and g.kind in (grid.kind, None)]
    failed = sum(g.failed for g in grids if g.name in (grid.name, None) and g.kind in (grid.kind, None))
    for table in tables:
        print_frame(table.frame, floatfmt=table.floatfmt, title=table.title)
        for line in table.warnings:
            console.print(f"warning: {line}", markup=False, highlight=False)
    console.print(f"results: {store.dir('runs')}/ and {store.dir('curves')}/", highlight=False, markup=False,
                  soft_wrap=True)
    if failed and not rerun_failed:
        console.print(f"note: {counted(failed, 'stored run')} of grid '{grid.name}' failed (error or timeout); "
                      f"--rerun-failed runs {'it' if failed == 1 else 'them'} again", markup=False, highlight=False)
    if neighbours:
        named = ", ".join(f"'{g.name}' ({counted(g.runs, 'run')})" for g in neighbours[:3])
        console.print(f"note: the tables above cover every run of kind {grid.kind} in {store.root}, with those "
                      f"written by other grids: {named}{', ...' if len(neighbours) > 3 else ''}; `albench analyze "
                      f"{store.root} --grid FILE` ranks one grid's runs alone", markup=False, highlight=False,
                      soft_wrap=True)
    if others:
        console.print(f"note: {store.root} also holds runs of kind {', '.join(others)} (the tables above leave "
                      f"them out); `albench analyze` and `albench report` on it need --kind {grid.kind}",
                      markup=False, highlight=False, soft_wrap=True)


def _changed_implementations(grid: Grid, store, rerun: bool) -> None:
    """Say how many stored rows another implementation made; with ``rerun``, drop them so they run again."""
    from albench.implementations import changed
    from albench.results import ResultsError
    from albench.store import StoreError

    try:
        found = changed(grid, store)
    except (StoreError, ResultsError) as exc:
        fail(str(exc))
    for line in found.lines():
        console.print(line, markup=False, highlight=False)
    if found.by_component and rerun:
        try:
            store.drop_runs(found.run_ids)
        except (StoreError, ResultsError) as exc:
            fail(str(exc))
        dropped = len(found.run_ids)
        console.print(f"{counted(dropped, 'row')} dropped: {'it runs' if dropped == 1 else 'they run'} again now",
                      markup=False, highlight=False)
    elif found.by_component:
        console.print("they count as done; --rerun-changed runs them again", markup=False, highlight=False)


from albench.cli import prune as _prune  # noqa: E402  ("grid prune" lives in its own module)

_prune.install(app)
