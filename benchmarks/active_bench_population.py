"""Synthetic results populations for active benchmarking, shared by its tests and by
``benchmarks.active_bench_coverage``: runs tables in the stored layout whose full-grid truth is known."""

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


def excluded_runs():
    """Entropy dropped on digits, margin dropped for gnb at batch size 5: 3 kinds of block."""
    runs = synthetic_runs(["iris", "wine", "digits"], ["logreg", "gnb"], ["random", "margin", "entropy"], [1, 5], 4,
                          seed=2)
    drop = ((runs["strategy"] == "entropy") & (runs["dataset"] == "digits")) | (
        (runs["strategy"] == "margin") & (runs["learner"] == "gnb") & (runs["batch_size"] == 5))
    return runs[~drop].reset_index(drop=True)


def full_grid_truth(values: np.ndarray, held: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each method's mean over its cells, and each pair's mean difference over the blocks holding both."""
    k = values.shape[1]
    means = np.array([values[held[:, i], i].mean() for i in range(k)])
    pairs = np.full((k, k), np.nan)
    for i in range(k):
        for j in range(k):
            both = held[:, i] & held[:, j]
            pairs[i, j] = (values[both, i] - values[both, j]).mean() if i != j else 0.0
    return means, pairs
