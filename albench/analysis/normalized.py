"""Normalised AUC: each run's AUC placed between random sampling (0) and the oracle (1) of its block.

    normalized = (auc - auc_random) / (auc_oracle - auc_random)

A block is every AL grid key but the strategy (data set, learner, batch size,
start set, split, test fraction, budget, seed, with their parameters): the
runs that differ only in the strategy, so random sampling, the oracle and
every other strategy saw the same data, start set and learner seed. The
baseline and the oracle are strategy labels as ``albench.analysis.frame``
writes them (``random``, ``oracle``, ``oracle(n_candidates=50)``); several runs
of one label in a block are averaged. A block without both, or whose oracle
beats random sampling by less than ``min_span`` (0.01 AUC by default: over a
gap that small the ratio explodes, a difference of 0.01 becoming 2.5 when the
gap is 0.004), gives NaN, as do runs whose status is not ``ok``. Values above 1 (a run better than the
greedy oracle) and below 0 (worse than random) are kept as they are.

``is_oracle(name)`` tells whether a registered strategy is an oracle baseline
(its class declares ``oracle = True``; see ``albench.strategies.oracle``): such
a strategy reads the test labels and is not ranked with the real strategies.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from albench.analysis.frame import component_label

PREFIX = "normalized_"  # normalized_auc_accuracy from auc_accuracy
BLOCK_KEYS = ("dataset", "learner", "batch_size", "initial_size", "start_point", "split", "test_fraction",
              "budget", "seed")


def is_oracle(name: str) -> bool:
    """Whether the registered strategy ``name`` is an oracle baseline (False for unknown names)."""
    from albench.registry import UnavailableName, UnknownName
    from albench.strategy import registry

    try:
        return bool(getattr(registry.get(str(name)).factory, "oracle", False))
    except (UnknownName, UnavailableName):
        return False


def _labels(runs: pd.DataFrame, key: str) -> pd.Series:
    if f"{key}_params" in runs.columns:
        return pd.Series([component_label(n, p) for n, p in zip(runs[key], runs[f"{key}_params"])],
                         index=runs.index)
    return runs[key].astype(str) if key in runs.columns else pd.Series("None", index=runs.index)


def normalized_auc(runs: pd.DataFrame, metric: str = "auc_accuracy", baseline: str = "random",
                   oracle: str = "oracle", min_span: float = 0.01) -> pd.Series:
    """``metric`` of every run normalised between ``baseline`` (0) and ``oracle`` (1) of its block.

    ``runs``: a runs table (``albench.results.open(...).runs``). Returns a float Series on
    ``runs.index`` named ``normalized_<metric>``.
    """
    for column in ("strategy", metric):
        if column not in runs.columns:
            raise ValueError(f"normalized_auc: the runs table has no column '{column}'")
    block = _labels(runs, BLOCK_KEYS[0])
    for key in BLOCK_KEYS[1:]:
        block = block + " | " + _labels(runs, key)
    strategy = _labels(runs, "strategy")
    ok = runs["status"].eq("ok") if "status" in runs.columns else pd.Series(True, index=runs.index)
    value = pd.to_numeric(runs[metric], errors="coerce").where(ok)
    frame = pd.DataFrame({"block": block, "strategy": strategy, "value": value})
    low = frame[frame.strategy == baseline].groupby("block")["value"].mean()
    high = frame[frame.strategy == oracle].groupby("block")["value"].mean()
    lo, hi = frame.block.map(low), frame.block.map(high)
    span = (hi - lo).where(hi - lo >= max(min_span, np.finfo(float).tiny))  # else nothing can be placed
    out = (frame.value - lo) / span
    return out.astype(float).rename(f"{PREFIX}{metric}")


def with_normalized_auc(runs: pd.DataFrame, metrics=("auc_accuracy", "auc_macro_f1", "auc_weighted_f1"),
                        baseline: str = "random", oracle: str = "oracle", min_span: float = 0.01) -> pd.DataFrame:
    """A copy of ``runs`` with a ``normalized_<metric>`` column for each of ``metrics`` it holds."""
    runs = runs.copy()
    for metric in metrics:
        if metric in runs.columns:
            runs[f"{PREFIX}{metric}"] = normalized_auc(runs, metric, baseline, oracle, min_span).to_numpy(dtype=float)
    return runs
