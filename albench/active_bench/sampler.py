"""Budgeted grids on a results folder: draw rounds, run them with albench's executors, estimate.

``sample`` continues whatever the folder holds: the blocks of stored rounds
are run first if some of their runs are missing (an interrupted round), then
new rounds are drawn until the budget (in blocks) is reached or the stopping
rule holds. Each round's design rows are written before its runs start, and
the runs go through the same executor call as ``albench grid run``
(``execute(grid)`` given a grid restricted to the round's runs), so store,
resume and fault handling are the executors' own: every run is stored once,
and a larger budget later only adds blocks.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from albench.active_bench import records
from albench.active_bench.estimate import estimate
from albench.active_bench.full_grid import FullGridEstimate
from albench.active_bench.population import ActiveBenchError, Population, grid_frame, population
from albench.active_bench.rounds import Options, next_round, round_rng, round_sizes
from albench.spec import Grid, RunSpec
from albench.store import Store
from albench.table_schema import run_metrics
from albench.wording import are, closest, counted

STOP_RULES = ("settled", "best")


@dataclass
class SubGrid(Grid):
    """A grid restricted to some of its runs (what one round executes)."""

    only: frozenset = field(default_factory=frozenset)

    def specs(self) -> Iterator[RunSpec]:
        return (spec for spec in super().specs() if spec.run_id in self.only)

    def run_ids(self) -> Iterator[str]:
        return (run_id for run_id in super().run_ids() if run_id in self.only)

    def __len__(self) -> int:
        return sum(1 for _ in self.specs())


def restrict(grid: Grid, run_ids) -> SubGrid:
    """``grid`` with only the runs ``run_ids`` (every other field as it is)."""
    return SubGrid(**{f.name: getattr(grid, f.name) for f in fields(Grid)}, only=frozenset(run_ids))


def parse_budget(text: str, n_runs: int, n_blocks: int) -> int:
    """Blocks to sample for ``10%`` (of the grid's ``n_runs`` runs) or ``200`` (runs); whole blocks, at least 2.

    Runs become blocks at the grid's mean runs per block (every method, unless exclude rules drop some)."""
    value = str(text).strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", value)
    if match:
        share = float(match.group(1)) / 100
        if not 0 < share <= 1:
            raise ActiveBenchError(f"--budget: {value} must be above 0% and at most 100%")
        runs = share * n_runs
    elif re.fullmatch(r"\d+", value):
        runs = int(value)
        if runs < 1:
            raise ActiveBenchError(f"--budget: {value} must be at least 1 run")
    else:
        raise ActiveBenchError(f"--budget: {value!r} is neither a share of the grid's runs (10%) nor a number "
                               "of runs (200)")
    return max(2, min(n_blocks, math.floor(runs * n_blocks / n_runs + 1e-9)))


@dataclass
class SampleResult:
    estimate: FullGridEstimate | None  # None while some sampled run is missing
    rounds_drawn: int  # by this call
    stopped_by: str  # "budget", "settled" or "best"
    summaries: list = field(default_factory=list)  # the executors' GridSummary of each call
    blocks_before: int = 0  # sampled before this call

    def nothing_new(self, budget_blocks: int) -> str | None:
        """Why this call drew no block, when the budget asks for no more than the design holds."""
        if self.rounds_drawn or budget_blocks > self.blocks_before:
            return None
        more = "" if budget_blocks == self.blocks_before else f", more than the {counted(budget_blocks, 'block')} asked"
        return (f"nothing new to draw: the design holds {counted(self.blocks_before, 'block')} already{more}; "
                "a larger --budget continues it")


def _population(grid: Grid, root: Path) -> Population:
    table = grid_frame(grid)
    pop = population(table, grid.kind)
    stored = records.read_blocks(root)
    if stored is None:
        records.write_blocks(root, table)
    elif set(stored["run_id"]) != set(table["run_id"]):
        raise ActiveBenchError(f"{root}: the stored design was drawn from a different grid "
                               f"({len(stored)} runs against {len(table)} now); use another --out folder")
    return pop


def is_budgeted(root: str | Path) -> bool:
    """Whether ``root`` holds a budgeted grid (``albench grid sample`` wrote its design there)."""
    return (Path(root) / records.TABLE / records.BLOCKS).exists()


def estimate_folder(root: str | Path, metric: str | None = None, level: float = 0.95) -> FullGridEstimate:
    """The full-grid estimate of a budgeted results folder, from the store alone (the hook for analyze/report)."""
    root = Path(root)
    table = records.read_blocks(root)
    design = records.read_design(root)
    if table is None or design.empty:
        raise ActiveBenchError(f"{root} holds no budgeted grid (no {root / records.TABLE}/ table)")
    pop = population(table, str(table["kind"].iloc[0]) if "kind" in table.columns else "al")
    runs = Store(root).read("runs")
    missing = _not_stored(pop, design, runs)
    if missing:
        raise ActiveBenchError(f"{counted(missing, 'run')} of the sampled blocks {are(missing)} not stored yet "
                               "(an interrupted round?): run the same `albench grid sample` (or "
                               "`grid run --budget`) command again")
    return estimate(design, pop, _sampled_values(pop, design, runs, metric or str(design["metric"].iloc[0])),
                    metric, level)


def _not_stored(pop: Population, design, runs) -> int:
    """Runs of the sampled blocks with no stored row at all (failed runs have one: they count as stored)."""
    held = _sampled_mask(pop, design)[:, None] & pop.present
    return int((held & ~pop.stored(runs)).sum())


def _sampled_values(pop: Population, design, runs, metric: str) -> np.ndarray:
    values = pop.values(runs, metric) if not runs.empty else np.full(pop.run_ids.shape, np.nan)
    return np.where(_sampled_mask(pop, design)[:, None], values, np.nan)


def _sampled_mask(pop: Population, design) -> np.ndarray:
    if design.empty:
        return np.zeros(pop.n_blocks, dtype=bool)
    return np.array(pop.blocks["block_id"].isin(set(design["block_id"])).to_numpy(), dtype=bool)


def sample(grid: Grid, root: str | Path, budget_blocks: int, execute: Callable[[Grid], object], *,
           metric: str = "auc_accuracy", options: Options = Options(), until: str | None = None,
           confidence: float = 0.95, round_blocks: int | None = None,
           on_round: Callable[[int, int, int], None] | None = None) -> SampleResult:
    """Sample blocks of ``grid`` into ``root`` until ``budget_blocks`` blocks are sampled (or ``until`` holds).

    ``execute(grid)`` runs a grid's pending runs into ``root``'s store
    (``albench.execute.run_grid`` or ``albench.dask_executor.run_grid_dask``
    with their options). Without ``until``, the new blocks are spent in
    ``options.rounds`` rounds; with it, in rounds of ``round_blocks`` blocks
    (default: a quarter of the new blocks), checking the rule after each.
    ``on_round(round, blocks, runs)`` is called as each round starts.
    """
    if until is not None and until not in STOP_RULES:
        raise ActiveBenchError(f"--until: unknown rule '{until}'; allowed: {', '.join(STOP_RULES)}")
    root = Path(root)
    store = Store(root)
    design = records.read_design(root)
    if not design.empty:
        metric = str(design["metric"].iloc[0])  # the design keeps the metric it started with
    elif metric not in run_metrics(grid.kind):  # checked before anything is written: a design keeps its metric
        allowed = run_metrics(grid.kind)
        raise ActiveBenchError(f"--metric: '{metric}' is not a metric of {grid.kind} runs; "
                               f"{closest(metric, allowed)}allowed: {', '.join(allowed)}")
    pop = _population(grid, root)
    sampled = _sampled_mask(pop, design)
    result = SampleResult(None, 0, "budget", blocks_before=int(sampled.sum()))
    if sampled.any():  # finish interrupted rounds before drawing new ones
        result.summaries.append(execute(restrict(grid, pop.block_run_ids(sampled))))
    next_index = int(design["round"].max()) + 1 if not design.empty else 0
    n_new = max(0, budget_blocks - int(sampled.sum()))
    if until is None:
        sizes = round_sizes(n_new, options.rounds) if n_new else []
    else:
        step = round_blocks or max(2, math.ceil(n_new / 4))
        sizes = [min(step, n_new - i) for i in range(0, n_new, step)]
    for i, size in enumerate(sizes):
        runs = store.read("runs")
        values = _sampled_values(pop, records.read_design(root), runs, metric)
        costs = pop.costs(runs) if not runs.empty else None
        rnd, _ = next_round(pop, values, costs, sampled, size, round_rng(options.seed, next_index), options)
        records.write_round(root, records.round_rows(next_index, rnd, pop, metric, options.seed))
        if on_round:
            on_round(next_index, len(rnd.chosen), int(pop.present[rnd.chosen].sum()))
        result.summaries.append(execute(restrict(grid, pop.block_run_ids(rnd.chosen))))
        sampled[rnd.chosen] = True
        next_index += 1
        result.rounds_drawn += 1
        if until is not None and i < len(sizes) - 1:  # after the last round the budget stops it anyway
            current = _try_estimate(root, pop, metric)
            if current is not None and current.settled(confidence, until):
                result.stopped_by = until
                break
    result.estimate = _try_estimate(root, pop, metric)
    return result


def _try_estimate(root: Path, pop: Population, metric: str) -> FullGridEstimate | None:
    design = records.read_design(root)
    if design.empty:
        return None
    runs = Store(root).read("runs")
    if _not_stored(pop, design, runs):
        return None
    return estimate(design, pop, _sampled_values(pop, design, runs, metric), metric)
