"""The ``design/`` table: which round chose each run, and with what inclusion probability.

It sits next to ``runs/`` and ``curves/`` in a results folder, as Parquet part
files written the same way (a hidden temporary name, then a rename), one part
per round, written *before* the round's runs start: a round interrupted
half-way is finished by the next call, never drawn again.

One row per (round, block, method the grid holds in that block), with what the estimators need to
recompute every figure from the store alone:

- ``round``, ``block_id``, ``method``, ``run_id``, ``seed`` (of the draws);
- ``stratum`` (its label), ``strata_factors`` and ``balanced_on`` (JSON lists:
  the factors stratified on, and those the draw was balanced on), ``stratum_size``
  N_h (blocks left in the stratum before the round), ``stratum_sampled`` n_h,
  ``inclusion_probability`` n_h / N_h;
- ``metric``: the metric the allocation was guided by;
- ``blocks_total`` B, ``blocks_left`` N_r, ``round_blocks`` n_r.

``design/blocks.parquet`` holds the grid as the design saw it (every run of
every block, run or not: ``run_id`` and the hyperparameter columns), so the
full-grid estimates need only the results folder.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa

from albench.store import read_parts, write_atomic

TABLE = "design"
BLOCKS = "blocks.parquet"


def round_rows(round_index: int, rnd, population, metric: str, seed: int) -> list[dict]:
    """The design rows of one drawn round (``design.Round``)."""
    left = rnd.stratum_of >= 0
    rows = []
    for b in rnd.chosen:
        h = int(rnd.stratum_of[b])
        for k, method in enumerate(population.methods):
            if not population.present[b, k]:
                continue  # an exclude rule drops this method from this block
            rows.append({
                "round": round_index, "block_id": str(population.blocks.at[b, "block_id"]), "method": method,
                "run_id": str(population.run_ids[b, k]), "seed": seed,
                "stratum": rnd.stratum_names[h], "strata_factors": json.dumps(list(rnd.factors)),
                "balanced_on": json.dumps(list(rnd.balanced_on)),
                "stratum_size": int(rnd.stratum_sizes[h]), "stratum_sampled": int(rnd.allocation[h]),
                "inclusion_probability": float(rnd.allocation[h] / rnd.stratum_sizes[h]),
                "metric": metric,
                "blocks_total": population.n_blocks, "blocks_left": int(left.sum()),
                "round_blocks": len(rnd.chosen),
            })
    return rows


def write_round(root: str | Path, rows: list[dict]) -> None:
    folder = Path(root) / TABLE
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(pa.Table.from_pylist(rows), folder / f"part-{uuid.uuid4().hex}.parquet")


def write_blocks(root: str | Path, grid_table: pd.DataFrame) -> None:
    """Store the grid's runs (``population.grid_frame``) once, atomically."""
    folder = Path(root) / TABLE
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(pa.Table.from_pandas(grid_table, preserve_index=False), folder / BLOCKS)


def read_blocks(root: str | Path) -> pd.DataFrame | None:
    path = Path(root) / TABLE / BLOCKS
    return read_parts([path]) if path.exists() else None


def read_design(root: str | Path) -> pd.DataFrame:
    """Every stored design row (an empty table when the folder holds no budgeted grid)."""
    files = sorted((Path(root) / TABLE).glob("part-*.parquet"))
    return read_parts(files)
