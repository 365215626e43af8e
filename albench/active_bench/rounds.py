"""Rounds: fit the surrogate on what has run, draw the next blocks, run them, repeat.

``next_round`` is the whole decision of one round, a pure function of the
values known so far; ``simulate`` plays the rounds against a table of known
values (the benchmark and the tests: no run is executed), and
``albench.active_bench.sampler`` plays them against a results folder.

A budget of n blocks is spent in ``rounds`` rounds of near-equal size (one by
default: measured on the benchmark grid, one round with as many strata as it
can fill beats several smaller ones). The first round knows nothing and
allocates in proportion to stratum size; each later round's surrogate is
fitted on every block run before it and guides the strata and the
allocation. Rounds matter most for ``--until``: they let the sampler stop as
soon as the leaderboard is settled.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from albench.active_bench import design, records, surrogate
from albench.active_bench.estimate import estimate
from albench.active_bench.full_grid import FullGridEstimate
from albench.active_bench.population import Population


@dataclass(frozen=True)
class Options:
    """How rounds are drawn (the defaults are what ``albench grid sample`` uses)."""

    rounds: int = 1  # rounds a fixed budget is spent in
    safeguard_weight: float = 0.1  # share of each round allocated in proportion to stratum size
    cost_aware: bool = True  # weigh the allocation by measured seconds per block
    seed: int = 0


def round_sizes(n_new: int, rounds: int) -> list[int]:
    """``n_new`` blocks in ``rounds`` near-equal rounds, larger ones last (at least one block each)."""
    rounds = max(1, min(rounds, n_new))
    base, extra = divmod(n_new, rounds)
    return [base + (i >= rounds - extra) for i in range(rounds)]


def next_round(population: Population, values: np.ndarray, costs: np.ndarray | None, sampled: np.ndarray,
               n_round: int, rng: np.random.Generator, options: Options) -> tuple[design.Round, np.ndarray]:
    """Draw one round of ``n_round`` blocks; returns it and the surrogate's predictions (B, K) it used."""
    if sampled.any():
        model = surrogate.fit(population, values, sampled)
        predictions = model.predictions

        def scores(labels, names, sizes):
            return model.stratum_scores(labels, names, sizes, costs if options.cost_aware else None)
    else:  # nothing known yet: no prediction, allocation in proportion to stratum size
        predictions = np.zeros(values.shape)

        def scores(labels, names, sizes):
            return np.asarray(sizes, dtype=float)
    rnd = design.draw(population, sampled, n_round, scores, rng, options.safeguard_weight,
                      predictions if sampled.any() else None)
    return rnd, predictions


TIME_UNITS = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "d": 86400}
TIME_BUDGET = re.compile(r"(\d+(?:\.\d+)?)\s*(" + "|".join(sorted(TIME_UNITS, key=len, reverse=True)) + r")")


def parse_seconds(text: str) -> float | None:
    """Seconds of a CPU-time budget such as ``2h``, ``30min``, ``90s`` or ``1.5d``; None for other text."""
    match = TIME_BUDGET.fullmatch(str(text).strip().lower())
    return float(match.group(1)) * TIME_UNITS[match.group(2)] if match else None


def blocks_for_seconds(costs: np.ndarray, sampled: np.ndarray, seconds: float) -> int:
    """Blocks in all that a budget of ``seconds`` of run time buys, given the blocks ``sampled`` so far.

    ``costs`` (B,) are the measured seconds of each block's stored runs
    (``Population.costs``; NaN where none is stored). What the sampled blocks
    cost is spent; the rest buys blocks at the mean measured cost of a
    sampled block (the blocks still to draw are not measured yet). The
    answer is never below the blocks already sampled.
    """
    measured = sampled & np.isfinite(costs)
    if not measured.any():
        raise ValueError("a CPU-time budget needs the measured time of some runs of this grid in this results "
                         "folder: spend a share first (e.g. --budget 5%), then a time budget continues from it")
    spent = float(costs[measured].sum()) * sampled.sum() / measured.sum()  # unmeasured sampled blocks at the mean
    per_block = float(costs[measured].mean())
    extra = math.floor(max(seconds - spent, 0.0) / per_block + 1e-9) if per_block > 0 else len(costs)
    return int(min(len(costs), sampled.sum() + extra))


def round_rng(seed: int, round_index: int) -> np.random.Generator:
    """The draws of round ``round_index`` of a design with ``seed``: the same on every resume."""
    return np.random.default_rng([seed, round_index])


def simulate(population: Population, truth: np.ndarray, n_blocks: int, metric: str,
             options: Options = Options(), costs: np.ndarray | None = None) -> tuple[pd.DataFrame, FullGridEstimate]:
    """Spend ``n_blocks`` blocks against known ``truth`` (B, K); returns the design rows and the estimate."""
    sampled = np.zeros(population.n_blocks, dtype=bool)
    rows: list[dict] = []
    for r, size in enumerate(round_sizes(n_blocks, options.rounds)):
        known = np.where(sampled[:, None], truth, np.nan)
        known_costs = None if costs is None else np.where(sampled, costs, np.nan)
        rnd, predictions = next_round(population, known, known_costs, sampled, size, round_rng(options.seed, r),
                                      options)
        rows += records.round_rows(r, rnd, population, metric, options.seed)
        sampled[rnd.chosen] = True
    design_rows = pd.DataFrame(rows)
    return design_rows, estimate(design_rows, population, np.where(sampled[:, None], truth, np.nan), metric)
