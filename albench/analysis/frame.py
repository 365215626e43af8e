"""What the analysis sees in a runs table: the methods compared, the blocks, the
hyperparameters that vary and the metrics that can be ranked.

A grid of kind ``al`` compares strategies. A grid of kind ``at`` compares
(proposal, estimator) pairs: every run stores one ``<estimator>_estimate`` and
``<estimator>_squared_error`` per estimator, so its runs table is first made
long (one row per run and estimator) with ``estimator`` as one more
hyperparameter and ``method`` = ``<proposal> / <estimator>``. Its blocks are
the data sets, or the (data set, loss) pairs when the loss varies, since
squared errors of different losses are on different scales.

Hyperparameter columns are the grid keys of the kind (``albench.kinds``); a
component (data set, learner, strategy, ...) becomes one label such as
``rf(n_estimators=30)``, so values that differ only in their parameters stay
apart. Results of a kind this installation does not know fall back to "every
column that is not a metric or bookkeeping".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

BOOKKEEPING = {"run_id", "grid", "kind", "status", "error", "error_traceback", "started_at", "finished_at"}
# factors whose values are repetitions of the same experiment, not design choices
REPLICATES = ("seed", "start_point", "split")
LOWER_IS_BETTER = re.compile(r"(_s|error|loss|risk)$")
DEFAULT_METRIC = {"al": "auc_accuracy", "at": "squared_error"}


class AnalysisError(ValueError):
    """Results that cannot be analysed as asked; the message says why."""


@dataclass
class Frame:
    """A runs table ready for analysis (see the module docstring)."""

    kind: str
    runs: pd.DataFrame  # one row per compared unit; hyperparameter columns hold labels
    method: str  # column naming the compared methods
    method_parts: tuple[str, ...]  # hyperparameters that make up a method
    block: str  # the column whose values are the independent blocks (data sets)
    hyperparameters: list[str]  # grid keys that take more than one value among ok rows
    metrics: dict[str, bool] = field(default_factory=dict)  # metric -> higher is better

    @property
    def ok(self) -> pd.DataFrame:
        return self.runs[self.runs["status"] == "ok"]

    def default_metric(self) -> str:
        preferred = DEFAULT_METRIC.get(self.kind)
        return preferred if preferred in self.metrics else next(iter(self.metrics), "")

    def check_metric(self, metric: str | None) -> str:
        """The metric to use (the kind's default for None); unknown ones raise AnalysisError."""
        if self.ok.empty:
            counts = self.runs.drop_duplicates("run_id")["status"].value_counts()
            raise AnalysisError("no successful runs to analyse ("
                                + ", ".join(f"{n} {status}" for status, n in counts.items()) + ")")
        metric = metric or self.default_metric()
        if metric not in self.metrics:
            known = ", ".join(self.metrics) or "none (no successful runs)"
            raise AnalysisError(f"unknown metric '{metric}' for kind '{self.kind}'; available: {known}")
        if self.ok[metric].notna().sum() == 0:
            raise AnalysisError(f"metric '{metric}' has no values in the successful runs")
        return metric

    def higher_is_better(self, metric: str) -> bool:
        return self.metrics.get(metric, not LOWER_IS_BETTER.search(metric))

    def context(self, exclude: str | tuple[str, ...] = ()) -> list[str]:
        """Varying hyperparameters other than ``exclude``: what identifies a matched run."""
        exclude = (exclude,) if isinstance(exclude, str) else exclude
        return [h for h in self.hyperparameters if h not in exclude]

    def values(self, column: str) -> list:
        """The distinct values of a column among ok rows, in natural order."""
        return sorted(self.ok[column].dropna().unique().tolist(), key=natural_key)


def natural_key(value):
    """Sort numbers numerically and before strings; strings with digits naturally (a2 < a10)."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return (0, float(value), "")
    parts = re.split(r"(\d+)", str(value))
    return (1, 0.0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts))


def component_label(name, params) -> str:
    """``rf`` for default parameters, ``rf(n_estimators=30)`` otherwise."""
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return "None"
    try:
        p = json.loads(params) if isinstance(params, str) else (params or {})
    except json.JSONDecodeError:
        p = {}
    if not p:
        return str(name)
    inner = ", ".join(f"{k}={json.dumps(v) if isinstance(v, (dict, list)) else v}" for k, v in sorted(p.items()))
    return f"{name}({inner})"


def _grid_keys(kind: str, columns: list[str]) -> list[str]:
    from albench.kinds import KINDS

    if kind in KINDS:
        return list(KINDS[kind].params.model_fields)
    numeric_outputs = re.compile(r"^(auc_|final_|n_)|(_s|_version|_estimate|_squared_error)$|^true_risk$")
    return [c for c in columns if c not in BOOKKEEPING and not c.endswith("_params")
            and not numeric_outputs.search(c)]


def _label_hyperparameters(runs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    runs = runs.copy()
    for key in keys:
        if f"{key}_params" in runs.columns:
            runs[key] = [component_label(n, p) for n, p in zip(runs[key], runs[f"{key}_params"])]
        elif key not in runs.columns:
            runs[key] = "None"  # left out of every part: None in every run
        elif runs[key].isna().any():
            # some parts predate this key (or it is None): one label per value, None included
            runs[key] = [("None" if pd.isna(v) else str(v)) for v in runs[key]]
    return runs


def _metrics(kind: str, runs: pd.DataFrame, hyperparameters: list[str]) -> dict[str, bool]:
    numeric = [c for c in runs.columns if pd.api.types.is_numeric_dtype(runs[c]) and c not in hyperparameters
               and c not in BOOKKEEPING and runs[c].notna().any()]
    if kind == "al":
        names = [c for c in numeric if c.startswith(("auc_", "final_")) or c.endswith("_s")]
    elif kind == "at":
        names = ["squared_error"] + [c for c in numeric if c.endswith("_s")]
    else:
        names = [c for c in numeric if not c.startswith("n_")]
    return {m: not LOWER_IS_BETTER.search(m) for m in names if m in runs.columns}


def _estimators(columns) -> list[str]:
    suffix = "_squared_error"
    return sorted(c[: -len(suffix)] for c in columns
                  if c.endswith(suffix) and f"{c[: -len(suffix)]}_estimate" in columns)


def _long_by_estimator(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, estimator) with columns ``estimator``, ``estimate``, ``squared_error``."""
    estimators = _estimators(runs.columns)
    if not estimators:
        raise AnalysisError("active-testing runs without any '<estimator>_squared_error' column")
    wide = [c for e in estimators for c in (f"{e}_estimate", f"{e}_squared_error")]
    base = runs.drop(columns=wide)
    parts = [base.assign(estimator=e, estimate=runs[f"{e}_estimate"], squared_error=runs[f"{e}_squared_error"])
             for e in estimators]
    return pd.concat(parts, ignore_index=True)


def prepare(runs: pd.DataFrame, kind: str | None = None) -> Frame:
    """Turn a stored runs table into a Frame (raises AnalysisError for unusable input)."""
    if runs is None or runs.empty:
        raise AnalysisError("no runs stored")
    if "kind" not in runs.columns:
        runs = runs.assign(kind=kind or "al")
    kinds = sorted(runs["kind"].dropna().unique())
    if kind is None:
        if len(kinds) > 1:
            raise AnalysisError(f"these results hold runs of several kinds ({', '.join(kinds)}); "
                                "choose one with --kind")
        kind = kinds[0]
    elif kind not in kinds:
        raise AnalysisError(f"no runs of kind '{kind}'; stored kinds: {', '.join(kinds)}")
    runs = runs[runs["kind"] == kind]
    if "status" not in runs.columns:
        runs = runs.assign(status="ok")

    keys = _grid_keys(kind, list(runs.columns))
    runs = _label_hyperparameters(runs, keys)
    if kind == "at":
        runs = _long_by_estimator(runs)
        keys = keys + ["estimator"]
        method_parts = ("proposal", "estimator")
        runs["method"] = runs["proposal"].astype(str) + " / " + runs["estimator"].astype(str)
        method = "method"
    else:
        method_parts = ("strategy",) if "strategy" in keys else (keys[0],)
        method = method_parts[0]
    ok = runs[runs["status"] == "ok"]
    varying = [k for k in keys if ok[k].nunique(dropna=False) > 1]
    block = "dataset" if "dataset" in runs.columns else "grid"
    if kind == "at" and "loss" in varying:
        # squared errors of different losses differ in scale: rank within (data set, loss)
        block = "task"
        runs["task"] = runs["dataset"].astype(str) + " / " + runs["loss"].astype(str)
    return Frame(kind=kind, runs=runs.reset_index(drop=True), method=method, method_parts=method_parts,
                 block=block, hyperparameters=varying, metrics=_metrics(kind, runs, keys))
