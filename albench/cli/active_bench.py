"""``albench grid sample|estimate``: a budgeted grid (active benchmarking) and its full-grid estimates."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from albench.cli.common import console, fail, print_frame


def _executor(grid_store, workers: int | None, scheduler: str | None, timeout: float | None, stack, shown,
              quiet: bool = False, rerun_failed: bool = False):
    """``execute(grid)`` on the same executors as ``albench grid run`` (in-process, local or existing cluster),
    reporting each round's runs to the progress display ``shown``."""
    from albench.cli.grid import cluster
    from albench.dask_executor import configured_scheduler

    options = dict(timeout_s=timeout, progress=shown.tick, on_start=shown.on_start, rerun_failed=rerun_failed)
    on_dask = bool(workers) or bool(scheduler) or (workers is None and configured_scheduler() is not None)
    if not on_dask:
        from albench.execute import run_grid

        return lambda grid: run_grid(grid, grid_store, **options)
    from albench.dask_executor import run_grid_dask

    client = stack.enter_context(cluster(workers, scheduler, quiet))
    return lambda grid: run_grid_dask(grid, grid_store, client, **options)


BUDGET_HELP = ("Share of the grid's runs (10%), a number of runs (200), or run time (2h, 30min: the summed "
               "total_s of the runs, converted to blocks at the measured mean cost of the blocks run so far, "
               "so a share must have run first); whole blocks are run, at least 2 (an interval needs two).")
UNTIL_HELP = ("Stop early once the estimated leaderboard is 'settled' (neighbours differ at --confidence; methods "
              "identical on every sampled block count as one) or the 'best' method is the best with probability "
              "--confidence.")


def n_blocks_of(budget: str, pop, root: Path) -> int:
    """Blocks in all that ``--budget`` asks for: a share or a number of runs, or a CPU-time budget."""
    import numpy as np

    from albench.active_bench import records
    from albench.active_bench.population import ActiveBenchError
    from albench.active_bench.rounds import blocks_for_seconds, parse_seconds
    from albench.active_bench.sampler import _sampled_mask, parse_budget
    from albench.store import Store

    seconds = parse_seconds(budget)
    if seconds is None:
        return parse_budget(budget, pop.n_runs, pop.n_blocks)
    runs = Store(root).read("runs", ["run_id", "total_s"])
    costs = pop.costs(runs) if not runs.empty else np.full(pop.n_blocks, np.nan)
    try:
        return blocks_for_seconds(costs, _sampled_mask(pop, records.read_design(root)), seconds)
    except ValueError as exc:
        raise ActiveBenchError(f"--budget {budget}: {exc}") from None


def run_budgeted(grid, root: Path, budget: str, *, until: str | None = None, confidence: float = 0.95,
                 rounds: int = 1, round_size: int | None = None, metric: str = "auc_accuracy", seed: int = 0,
                 workers: int | None = None, scheduler: str | None = None, timeout: float | None = None,
                 quiet: bool = False, rerun_failed: bool = False) -> None:
    """Run a budgeted share of ``grid`` into ``root`` and print the full-grid estimate (``grid sample`` and
    ``grid run --budget``)."""
    from contextlib import ExitStack

    from albench.active_bench.population import ActiveBenchError, grid_frame, population
    from albench.active_bench.rounds import Options
    from albench.active_bench.sampler import sample as run_sample
    from albench.cli.grid import progress_reporter
    from albench.dask_executor import DaskSetupError
    from albench.store import Store

    if workers and scheduler:
        fail("give either --workers (a new local cluster) or --scheduler (an existing one), not both")
    try:
        pop = population(grid_frame(grid), grid.kind)
        n_blocks = n_blocks_of(budget, pop, root)
        with ExitStack() as stack:
            shown = stack.enter_context(progress_reporter(grid.name, quiet))
            execute = _executor(Store(root), workers, scheduler, timeout, stack, shown, quiet, rerun_failed)
            result = run_sample(grid, root, n_blocks, execute, metric=metric, until=until,
                                confidence=confidence, round_blocks=round_size,
                                options=Options(rounds=rounds, seed=seed),
                                on_round=lambda r, b, n: console.print(f"round {r}: {b} blocks, {n} runs"))
    except ActiveBenchError as exc:
        fail(str(exc))
    except DaskSetupError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted; finished runs and the design are stored: run the same command again to finish",
             code=130)
    for summary in result.summaries:
        if summary.done or summary.failed or summary.timed_out:
            console.print(summary.line())
    if (nothing := result.nothing_new(n_blocks)) is not None:
        console.print(nothing, highlight=False, markup=False)
    if result.stopped_by != "budget":
        console.print(f"stopped early: the leaderboard is {result.stopped_by} at confidence {confidence}")
    if result.estimate is None:
        fail("some runs of the sampled blocks are not stored; no full-grid estimate (run the same command again)")
    if not quiet:
        print_estimate(result.estimate, f"full-grid estimate ({grid.name}, {result.estimate.metric})")


def print_estimate(est, title: str) -> None:
    print_frame(est.table(), title=title)
    pairs = est.pairwise()
    if len(pairs):
        print_frame(pairs, title=f"pairwise differences of full-grid means ({round(est.level * 100)}% intervals)")
    for line in [est.usage(), *est.notes()]:
        console.print(line, highlight=False, markup=False)


def install(grid_app: typer.Typer) -> None:
    @grid_app.command("sample")
    def sample(
        file: Path = typer.Argument(..., help="Grid YAML file."),
        budget: str = typer.Option(..., "--budget", "-b", help=BUDGET_HELP),
        until: str = typer.Option(None, "--until", help=UNTIL_HELP),
        confidence: float = typer.Option(0.95, "--confidence", min=0.5, max=0.999, help="Confidence of --until."),
        rounds: int = typer.Option(1, "--rounds", min=1, help="Rounds a fixed budget is spent in."),
        round_size: int = typer.Option(None, "--round-size", min=2, show_default="a quarter of the budget",
                                       help="Blocks per round with --until."),
        metric: str = typer.Option("auc_accuracy", "--metric", "-m", help="Metric that guides the allocation."),
        seed: int = typer.Option(0, "--seed", help="Seed of the draws."),
        out: Path = typer.Option(None, "--out", help="Results folder.", show_default="results/<grid name>"),
        workers: int = typer.Option(None, "--workers", "-w", min=0, show_default=False,
                                    help="As for `grid run`: a new local Dask cluster of this many workers; 0: here."),
        scheduler: str = typer.Option(None, "--scheduler", metavar="ADDRESS", help="As for `grid run`."),
        timeout: float = typer.Option(None, "--timeout", metavar="SECONDS", show_default=False,
                                      help="Per-run time limit, as for `grid run`."),
        rerun_failed: bool = typer.Option(False, "--rerun-failed",
                                          help="Run the sampled blocks' stored error/timeout rows again."),
    ) -> None:
        """Run a budgeted share of the grid, block by block, and estimate the full grid's leaderboard.

        A block is one setting of everything except the strategy; every
        strategy of a sampled block is run. Blocks are drawn in rounds by
        stratified sampling (strata from the data sets, learners, batch sizes,
        ...), and each strategy's mean over the whole grid is estimated without
        bias, with intervals. The design is stored in OUT/design/; running
        again with a larger budget continues from it, never repeating a run.
        A failed run (error/timeout) of a sampled block has no metric: its
        strategy's mean is over the runs that succeed, the failures are
        counted in the output, and --rerun-failed runs them again.
        """
        from albench.cli.grid import _load

        grid = _load(file)
        run_budgeted(grid, out or Path("results") / grid.name, budget, until=until, confidence=confidence,
                     rounds=rounds, round_size=round_size, metric=metric, seed=seed, workers=workers,
                     scheduler=scheduler, timeout=timeout, rerun_failed=rerun_failed)

    @grid_app.command("estimate")
    def estimate(
        results: Path = typer.Argument(..., help="Results folder of a budgeted grid (holding design/)."),
        metric: str = typer.Option(None, "--metric", "-m", help="Metric to estimate.",
                                   show_default="the one that guided the design"),
        level: float = typer.Option(0.95, "--level", min=0.5, max=0.999, help="Confidence level of the intervals."),
        as_json: bool = typer.Option(False, "--json", help="Print the tables as one JSON object."),
    ) -> None:
        """Full-grid estimates of a budgeted results folder: means with intervals, leaderboard, pairs."""
        from albench.active_bench.population import ActiveBenchError
        from albench.active_bench.sampler import estimate_folder

        try:
            est = estimate_folder(results, metric, level)
        except ActiveBenchError as exc:
            fail(str(exc))
        if as_json:
            print(json.dumps(est.to_dict(), indent=2))
            return
        print_estimate(est, f"full-grid estimate ({results}, {est.metric})")
