"""A synthetic results table for the active-benchmarking tests: the real layout, a known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from albench.active_bench.population import grid_frame
from albench.spec import grid_from_dict


def synthetic_runs(datasets, learners, strategies, batch_sizes, replicates, seed=0) -> pd.DataFrame:
    """A runs table in the stored layout (real run_ids and columns) whose metric is known by construction:
    data set, learner and batch-size effects, a strategy effect that changes with the data set, and noise."""
    grid = grid_from_dict({"name": "synthetic", "kind": "al", "params": {
        "dataset": datasets, "learner": learners, "strategy": strategies, "batch_size": batch_sizes,
        "start_point": {"range": [0, replicates]}}})
    table = grid_frame(grid)
    rng = np.random.default_rng(seed)
    effect = {key: rng.normal(scale=scale, size=len(values)) for key, values, scale in (
        ("dataset", datasets, 0.15), ("learner", learners, 0.08), ("batch_size", batch_sizes, 0.05))}
    strategy_by_data = rng.normal(scale=0.03, size=(len(strategies), len(datasets)))
    auc = 0.7 + rng.normal(scale=0.02, size=len(table))
    for key, values in (("dataset", datasets), ("learner", learners), ("batch_size", batch_sizes)):
        auc += effect[key][table[key].map({v: i for i, v in enumerate(values)}).to_numpy()]
    auc += strategy_by_data[table["strategy"].map({s: i for i, s in enumerate(strategies)}).to_numpy(),
                            table["dataset"].map({d: i for i, d in enumerate(datasets)}).to_numpy()]
    return table.assign(status="ok", auc_accuracy=auc, total_s=rng.uniform(0.1, 1.0, size=len(table)))
