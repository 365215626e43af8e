"""A grid as a finite population of blocks: one setting of everything except the method.

All methods of a block are run together, so every comparison is paired, as in
the leaderboard. A grid's exclude rules may drop some methods from some
blocks: ``Population.present`` says which cells exist, and a method's
full-grid mean is its mean over the blocks that hold it. A block's *design
factors* are the hyperparameters that vary
between blocks and are not replicates (data set, learner, batch size, ...);
replicates (seed, start point, split) vary within them. The population is
built from any table with a ``run_id`` and the grid's hyperparameter columns:
the RunSpecs of a grid (nothing run yet) or a stored runs table.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from albench.analysis.frame import REPLICATES, component_label
from albench.table_schema import run_metrics
from albench.wording import closest

METHOD_KEY = {"al": "strategy"}  # the hyperparameter whose values are the compared methods


class ActiveBenchError(ValueError):
    """A grid, budget or results folder that active benchmarking cannot use; the message says why."""


@dataclass
class Population:
    """Blocks x methods of one grid."""

    kind: str
    method_key: str
    methods: list[str]  # method labels, sorted
    blocks: pd.DataFrame  # one row per block (index 0..B-1): block_id and every hyperparameter label
    factors: list[str]  # design factors, outermost first (strata are built from prefixes of this list)
    run_ids: np.ndarray  # (B, K) run_id of each block's run of each method; None where the grid has none
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_blocks(self) -> int:
        return len(self.blocks)

    @property
    def present(self) -> np.ndarray:
        """(B, K) whether the grid holds a run of each method in each block (exclude rules can drop some)."""
        return self.cached("present", lambda: np.not_equal(self.run_ids, None))

    @property
    def complete(self) -> bool:
        return bool(self.present.all())

    @property
    def n_runs(self) -> int:
        return int(self.present.sum())

    def block_run_ids(self, blocks: np.ndarray) -> list[str]:
        """The run_ids of every method the grid holds in ``blocks`` (indices or a boolean mask)."""
        return [str(r) for r in self.run_ids[blocks][self.present[blocks]]]

    def stratum_labels(self, factors: tuple[str, ...]) -> np.ndarray:
        """Every block's stratum label under ``factors`` (``iris | logreg``; ``all`` without factors)."""
        def build():
            labels = np.full(self.n_blocks, "all" if not factors else "", dtype=object)
            for i, f in enumerate(factors):
                labels = labels + (" | " if i else "") + self.blocks[f].astype(str).to_numpy(dtype=object)
            return labels.astype(str)

        return self.cached(("labels", factors), build)

    def cached(self, key, build):
        """``build()`` once per population (labels and features are asked for in every round)."""
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def values(self, runs: pd.DataFrame, metric: str) -> np.ndarray:
        """(B, K) ``metric`` of each stored ok run; NaN where a run is not stored or failed."""
        if metric not in runs.columns:
            metrics = [c for c in run_metrics(self.kind) if c in runs.columns]
            raise ActiveBenchError(f"metric '{metric}' is not a column of the runs table; "
                                   f"{closest(metric, metrics)}metrics: {', '.join(metrics) or 'none'}")
        ok = runs[runs["status"] == "ok"] if "status" in runs.columns else runs
        by_id = pd.Series(ok[metric].to_numpy(dtype=float), index=ok["run_id"].to_numpy())
        by_id = by_id[~by_id.index.duplicated()]
        flat = by_id.reindex(self.run_ids.ravel()).to_numpy(dtype=float)
        return flat.reshape(self.run_ids.shape)

    def stored(self, runs: pd.DataFrame) -> np.ndarray:
        """(B, K) whether each cell's run is stored, whatever its status (False where the grid has no run)."""
        if "run_id" not in runs.columns:  # an empty store
            return np.zeros(self.run_ids.shape, dtype=bool)
        flat = np.isin(self.run_ids.ravel().astype(str), runs["run_id"].to_numpy(dtype=str))
        return flat.reshape(self.run_ids.shape) & self.present

    def costs(self, runs: pd.DataFrame) -> np.ndarray:
        """(B,) measured seconds of each block's stored runs (NaN where none is stored)."""
        if "total_s" not in runs.columns:
            return np.full(self.n_blocks, np.nan)
        by_id = pd.Series(runs["total_s"].to_numpy(dtype=float), index=runs["run_id"].to_numpy())
        by_id = by_id[~by_id.index.duplicated()]
        t = by_id.reindex(self.run_ids.ravel()).to_numpy(dtype=float).reshape(self.run_ids.shape)
        with np.errstate(invalid="ignore"):
            return np.where(np.isnan(t).all(axis=1), np.nan, np.nansum(t, axis=1))


def grid_frame(grid) -> pd.DataFrame:
    """A grid's RunSpecs as a table: ``run_id`` and each hyperparameter as stored in a runs row."""
    return pd.DataFrame([{"run_id": spec.run_id, "kind": spec.kind, **spec.columns()} for spec in grid.specs()])


def _labels(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=df.index)
    for key in keys:
        if f"{key}_params" in df.columns:
            out[key] = [component_label(n, p) for n, p in zip(df[key], df[f"{key}_params"])]
        elif key in df.columns:
            out[key] = ["None" if pd.isna(v) else str(v) for v in df[key]]
    return out


def population(table: pd.DataFrame, kind: str = "al") -> Population:
    """The blocks of a grid from ``table`` (``grid_frame(grid)`` or a stored runs table)."""
    from albench.kinds import KINDS

    if kind not in METHOD_KEY:
        raise ActiveBenchError(f"active benchmarking supports grids of kind {', '.join(METHOD_KEY)}, not '{kind}'")
    method_key = METHOD_KEY[kind]
    keys = [k for k in KINDS[kind].params.model_fields if k in table.columns]
    if method_key not in keys:
        raise ActiveBenchError(f"the table has no '{method_key}' column to compare methods on")
    table = table.drop_duplicates("run_id").reset_index(drop=True)
    labels = _labels(table, keys)
    block_keys = [k for k in keys if k != method_key]
    block_ids = [hashlib.sha256(json.dumps(row, sort_keys=True).encode()).hexdigest()[:12]
                 for row in labels[block_keys].to_dict("records")]
    labels["block_id"], labels["run_id"] = block_ids, table["run_id"].to_numpy()
    methods = sorted(labels[method_key].unique())
    wide = labels.pivot_table(index="block_id", columns=method_key, values="run_id", aggfunc="first", sort=False)
    wide = wide.reindex(columns=methods).sort_index()  # block order: by id, whatever the table's row order
    run_ids = wide.to_numpy(dtype=object, copy=True)  # one method gives a read-only view of the frame
    run_ids[pd.isna(wide).to_numpy()] = None  # a method an exclude rule drops from this block
    blocks = labels.drop_duplicates("block_id").set_index("block_id").loc[wide.index, block_keys].reset_index()
    varying = [k for k in block_keys if blocks[k].nunique() > 1]
    factors = [k for k in varying if k not in REPLICATES]
    return Population(kind, method_key, methods, blocks, factors, run_ids)
