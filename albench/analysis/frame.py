"""What the analysis sees in a runs table: the methods compared, the blocks, the
hyperparameters that vary and the metrics that can be ranked.

A grid of kind ``al`` compares strategies. A grid of kind ``at`` compares
(proposal, estimator) pairs: every run stores one ``<estimator>_estimate`` and
``<estimator>_squared_error`` per estimator, so its runs table is first made
long (one row per run and estimator) with ``estimator`` as one more
hyperparameter and ``method`` = ``<proposal> / <estimator>``. Its blocks are
the data sets, or the (data set, loss) pairs when the loss varies, since
squared errors of different losses are on different scales.

Blocks: a method is ranked within each block. The default block is one
design cell: the data set (task) crossed with every varying hyperparameter
that is neither part of a method nor a replicate (seed, start point, split),
so "margin beats random" is counted once per (data set, learner, batch size,
...) and replicates are averaged within it. ``block=["dataset"]`` ranks
within data sets only, as Demšar (2006) does. Several block columns are
joined into one label column ``block`` (``iris | logreg``).

Rows are sorted by run_id (then estimator), so every figure computed from a
Frame is the same however the part files were ordered or named.

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

from albench.wording import closest

BOOKKEEPING = {"run_id", "block", "grid", "kind", "status", "error", "error_traceback", "started_at", "finished_at"}
# factors whose values are repetitions of the same experiment, not design choices
REPLICATES = ("seed", "start_point", "split", "draw_seed")
LOWER_IS_BETTER = re.compile(r"(_s|error|loss|risk)$|^rampup_")
# AL summary metrics a leaderboard can rank on (see albench.al_loop and albench.analysis.rampup)
AL_METRIC_PREFIXES = ("auc_", "final_", "first5_", "last5_", "rampup_", "normalized_auc_")
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
    block: str  # the column whose values label the blocks (one of block_parts, or "block")
    hyperparameters: list[str]  # grid keys that take more than one value among ok rows
    metrics: dict[str, bool] = field(default_factory=dict)  # metric -> higher is better
    block_parts: tuple[str, ...] = ()  # the columns that make up a block
    notes: list[str] = field(default_factory=list)  # what the reader of a ranking must know (``mixed_note``)
    # the ok rows and distinct values, computed once per runs table (a filter of 10^6 rows takes 0.2 s, and
    # every step asks); keyed by the table and its columns, so a column added (ramp-up) refreshes them
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        self.block_parts = self.block_parts or (self.block,)

    def _cached(self, name, compute):
        key = (id(self.runs), tuple(self.runs.columns), name)
        if key not in self._cache:
            if self._cache and next(iter(self._cache))[:2] != key[:2]:
                self._cache.clear()
            self._cache[key] = compute()
        return self._cache[key]

    @property
    def ok(self) -> pd.DataFrame:
        return self._cached("ok", lambda: self.runs[self.runs["status"] == "ok"])

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
            raise AnalysisError(f"unknown metric '{metric}' for kind '{self.kind}'; "
                                f"{closest(metric, self.metrics)}available: {known}")
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
        return list(self._cached(("values", column),
                                 lambda: sorted(self.ok[column].dropna().unique().tolist(), key=natural_key)))


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
    runs = runs.copy(deep=False)  # columns are replaced, never written into: the others stay shared
    for key in keys:
        if f"{key}_params" in runs.columns:  # one label per distinct (name, params), not per run
            pairs = pd.MultiIndex.from_arrays([runs[key].astype(object), runs[f"{key}_params"].astype(object)])
            codes, distinct = pd.factorize(pairs)
            labels = np.array([component_label(n, p) for n, p in distinct] + ["None"], dtype=object)
            runs[key] = pd.array(labels[codes], dtype="str")
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
        names = [c for c in numeric if c.startswith(AL_METRIC_PREFIXES) or c.endswith("_s")]
    elif kind == "at":
        names = ["squared_error"] + [c for c in numeric if c.endswith("_s")]
    else:
        names = [c for c in numeric if not c.startswith("n_")]
    return {m: not LOWER_IS_BETTER.search(m) for m in names if m in runs.columns}


def _estimators(columns) -> list[str]:
    suffix = "_squared_error"
    return sorted(c[: -len(suffix)] for c in columns
                  if c.endswith(suffix) and f"{c[: -len(suffix)]}_estimate" in columns)


# per-estimator columns of an active-testing run, made long: <estimator>_<field> -> <field>
ESTIMATOR_FIELDS = ("estimate", "squared_error", "ci_low", "ci_high", "difference_estimate")


def _long_by_estimator(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, estimator) with ``estimator`` and the ``ESTIMATOR_FIELDS`` it stores, plus
    ``covered`` (whether its interval holds the true risk; missing without an interval)."""
    estimators = _estimators(runs.columns)
    if not estimators:
        raise AnalysisError("active-testing runs without any '<estimator>_squared_error' column")
    wide = [f"{e}_{f}" for e in estimators for f in ESTIMATOR_FIELDS if f"{e}_{f}" in runs.columns]
    base = runs.drop(columns=wide)
    parts = []
    for e in estimators:
        fields = {f: runs[f"{e}_{f}"] if f"{e}_{f}" in runs.columns else np.nan for f in ESTIMATOR_FIELDS}
        part = base.assign(estimator=e, **fields)
        has = part["ci_low"].notna() & part["ci_high"].notna() & part["true_risk"].notna() \
            if "true_risk" in part.columns else pd.Series(False, index=part.index)
        inside = (part["ci_low"] <= part["true_risk"]) & (part["true_risk"] <= part["ci_high"]) if has.any() else has
        parts.append(part.assign(covered=inside.where(has).astype("float")))
    return pd.concat(parts, ignore_index=True)


def join_labels(df: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One label per row from several columns (``iris | logreg``), vectorised."""
    label = df[columns[0]].astype(str)
    for c in columns[1:]:
        label = label + " | " + df[c].astype(str)
    return label


def default_blocks(kind: str, base: tuple[str, ...], varying: list[str], method_parts: tuple[str, ...]) -> list[str]:
    """The data set (task) crossed with every varying hyperparameter that is no method part or replicate
    (``prepare`` passes only the ones crossed with every method)."""
    return list(base) + [h for h in varying if h not in base and h not in method_parts and h not in REPLICATES
                         and not (kind == "at" and h in ("dataset", "loss"))]


def mixed_note(mixed: list[str], parts: list[str]) -> list[str]:
    """Design keys left out of the default blocks because exclude rules tie some of their values to some
    methods: averaged within the blocks, they give each method a different mix, which a reader must know."""
    if not mixed:
        return []
    they = f"{mixed[0]} is" if len(mixed) == 1 else f"{', '.join(mixed)} are"
    return [f"{they} not crossed with every method (exclude rules tie some values to some methods), so the "
            f"ranking averages over a different mix of {' and '.join(mixed)} for each method; "
            f"`albench analyze --block {','.join([*parts, mixed[0]])}` ranks within each {mixed[0]} (blocks "
            f"that lack a method are left out)"]


def _parse_blocks(block, allowed: list[str]) -> list[str]:
    parts = [b.strip() for b in block.split(",")] if isinstance(block, str) else list(block)
    parts = [b for b in parts if b]
    unknown = [b for b in parts if b not in allowed]
    if unknown or not parts:
        hint = closest(unknown[0], allowed) if len(unknown) == 1 else ""
        raise AnalysisError(f"--block: unknown column '{', '.join(unknown) or block}'; {hint}allowed: "
                            f"{', '.join(allowed)}")
    return list(dict.fromkeys(parts))


def _oracles(runs: pd.DataFrame, include: bool) -> pd.DataFrame:
    """AL runs with ``normalized_auc_*`` (between random and the oracle of each block) when an oracle
    baseline ran; the oracle's own rows are left out unless ``include`` (it reads the test labels)."""
    from albench.analysis import normalized

    oracles = [n for n in runs["strategy"].dropna().unique() if normalized.is_oracle(n)]
    if not oracles:
        return runs
    runs = normalized.with_normalized_auc(runs, oracle=oracles[0])
    return runs if include else runs[~runs["strategy"].isin(oracles)]


def prepare(runs: pd.DataFrame, kind: str | None = None, block: str | list[str] | None = None,
            include_oracles: bool = False) -> Frame:
    """Turn a stored runs table into a Frame (raises AnalysisError for unusable input).

    ``block``: the columns to rank within (a list, or names joined by commas);
    None for the default design cell (see the module docstring). An oracle
    baseline (``albench.strategies.oracle``) adds ``normalized_auc_*`` metrics
    and is itself left out of every ranking unless ``include_oracles``.
    """
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
    if not (runs["kind"] == kind).all():
        runs = runs[runs["kind"] == kind]
    if "status" not in runs.columns:
        runs = runs.assign(status="ok")

    if kind == "al" and "strategy" in runs.columns:
        runs = _oracles(runs, include_oracles)
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
    base = "dataset" if "dataset" in runs.columns else "grid"
    if kind == "at" and "loss" in varying:
        # squared errors of different losses differ in scale: rank within (data set, loss)
        base = "task"
        runs["task"] = runs["dataset"].astype(str) + " / " + runs["loss"].astype(str)
    if block is None:
        # only keys crossed with every method: a key an exclude rule ties to some methods (a surrogate used with
        # one proposal only) would leave no block with every method; such a key is averaged within the blocks
        n_methods = ok[method].nunique()
        crossed = [h for h in varying if h in ok.columns and ok.groupby(h)[method].nunique().min() == n_methods]
        parts = default_blocks(kind, (base,), crossed, method_parts)
        # the keys the default block would hold if every key were crossed with every method, less those it holds
        left_out = [h for h in default_blocks(kind, (base,), varying, method_parts) if h not in parts]
        notes = mixed_note(left_out, parts)
    else:
        allowed = [c for c in [base, *keys] if c in runs.columns and c not in method_parts]
        parts = _parse_blocks(block, list(dict.fromkeys(allowed)))
        notes = []
    if len(parts) == 1:
        label = parts[0]
    else:
        label = "block"
        runs["block"] = join_labels(runs, parts)
    # stored order is completion order: sort so that every figure is independent of it (read_inputs reads
    # the runs sorted already: no second copy of a table of 10^6 rows)
    order = [c for c in ("run_id", "estimator") if c in runs.columns]
    if order != ["run_id"] or not runs["run_id"].is_monotonic_increasing:
        runs = runs.sort_values(order, kind="stable")
    runs = runs.reset_index(drop=True)
    return Frame(kind=kind, runs=runs, method=method, method_parts=method_parts, block=label,
                 hyperparameters=varying, metrics=_metrics(kind, runs, keys), block_parts=tuple(parts), notes=notes)
