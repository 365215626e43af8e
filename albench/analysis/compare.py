"""Two sets of runs side by side, paired on their common cells.

``albench compare A B`` asks whether the runs of folder B differ from those of
folder A (a new albench or library version, another machine, a changed
strategy): cells are paired by ``run_id``, which is a hash of every
hyperparameter, so a pair is the same experiment run twice. ``--by learner
--groups logreg,rf`` compares two groups of one folder instead: cells are
paired on every other hyperparameter.

Per method (strategy; active testing: proposal / estimator) and over all
pairs: the mean of each side, the mean paired difference B - A with a
percentile bootstrap interval over pairs, wins/ties/losses within the ROPE,
the Bayesian signed-rank probabilities (``albench.analysis.effects``) and
Wilcoxon's signed-rank p-value (scipy). A positive difference means B is
better, whichever way the metric points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from albench.analysis.effects import DEFAULT_ROPE, compare_pair
from albench.analysis.frame import AnalysisError, prepare
from albench.wording import closest

COLUMNS = ["method", "pairs", "mean_a", "mean_b", "effect", "effect_low", "effect_high", "reliable", "wins",
           "ties", "losses", "p_better", "p_equivalent", "p_worse", "wilcoxon_p"]


@dataclass
class Comparison:
    metric: str
    label_a: str
    label_b: str
    paired_on: str  # "run_id" or the hyperparameters the groups are matched on
    unpaired: tuple[int, int]  # ok rows of A and of B without a partner
    table: pd.DataFrame  # COLUMNS, one row per method and a last row "all"

    def to_dict(self) -> dict:
        return {"metric": self.metric, "a": self.label_a, "b": self.label_b, "paired_on": self.paired_on,
                "unpaired": {"a": self.unpaired[0], "b": self.unpaired[1]},
                "table": self.table.replace({np.nan: None}).to_dict(orient="records")}


def _wilcoxon(diff: np.ndarray) -> float:
    from scipy.stats import wilcoxon

    if len(diff) < 2 or not np.any(diff != 0):
        return float("nan")
    return float(wilcoxon(diff).pvalue)


def _rows(pairs: pd.DataFrame, method: str | None, sign: float, rope: float, resamples: int, seed: int) -> list[dict]:
    groups = [(str(m), g) for m, g in pairs.groupby(method, sort=True)] if method else []
    groups.append(("all", pairs))
    rows = []
    for name, g in groups:
        diff = sign * (g["b"] - g["a"]).to_numpy(dtype=float)
        stats = compare_pair(diff, rope, resamples, 0.95, seed)
        rows.append({"method": name, "pairs": len(g), "mean_a": float(g["a"].mean()), "mean_b": float(g["b"].mean()),
                     **{k: stats[k] for k in COLUMNS if k in stats}, "wilcoxon_p": _wilcoxon(diff)})
    return rows


def compare_runs(runs_a: pd.DataFrame, runs_b: pd.DataFrame, metric: str | None = None, rope: float | None = None,
                 resamples: int = 1000, seed: int = 0, labels: tuple[str, str] = ("A", "B"),
                 kind: str | None = None) -> Comparison:
    """Folder against folder, paired by run_id (``kind``: al or at, for folders that hold both)."""
    a, b = prepare(runs_a, kind), prepare(runs_b, kind)
    if a.kind != b.kind:
        raise AnalysisError(f"{labels[0]} holds runs of kind '{a.kind}' and {labels[1]} of kind '{b.kind}'")
    metric = a.check_metric(metric)
    b.check_metric(metric)
    keys = ["run_id"] + (["estimator"] if "estimator" in a.ok.columns else [])
    left = a.ok[keys + [a.method, metric]].rename(columns={metric: "a"})
    right = b.ok[keys + [metric]].rename(columns={metric: "b"})
    pairs = left.merge(right, on=keys, how="inner").dropna(subset=["a", "b"])
    if pairs.empty:
        raise AnalysisError(f"{labels[0]} and {labels[1]} share no successful run (pairs are matched by run_id, "
                            "a hash of every hyperparameter: run the same grid into both)")
    pairs = pairs.sort_values(keys, kind="stable")
    sign = 1.0 if a.higher_is_better(metric) else -1.0
    rope = DEFAULT_ROPE.get(a.kind, 0.0) if rope is None else rope
    return Comparison(metric, labels[0], labels[1], "run_id", (len(left) - len(pairs), len(right) - len(pairs)),
                      pd.DataFrame(_rows(pairs, a.method, sign, rope, resamples, seed), columns=COLUMNS))


def compare_groups(runs: pd.DataFrame, by: str, group_a: str, group_b: str, metric: str | None = None,
                   rope: float | None = None, resamples: int = 1000, seed: int = 0,
                   kind: str | None = None) -> Comparison:
    """Two values of hyperparameter ``by`` in one folder, paired on every other varying hyperparameter
    (``kind``: al or at, for a folder that holds both)."""
    frame = prepare(runs, kind)
    metric = frame.check_metric(metric)
    if by not in frame.runs.columns or by == "run_id":
        raise AnalysisError(f"--by {by}: not a hyperparameter of these runs; {closest(by, frame.hyperparameters)}"
                            f"varying: {', '.join(frame.hyperparameters) or 'none'}")
    values = [str(v) for v in frame.values(by)]
    for g in (group_a, group_b):
        if g not in values:
            raise AnalysisError(f"--groups: {by} has no value '{g}'; {closest(g, values)}its values: "
                                f"{', '.join(values)}")
    if by in frame.method_parts and by != frame.method:  # one part of a composite method (AT: proposal / estimator)
        rest = [p for p in frame.method_parts if p != by]
        method = rest[0] if len(rest) == 1 else None  # a row per value of the other part
        context = frame.context(by)
    else:
        method = frame.method if by != frame.method else None  # comparing two methods: one row, "all"
        context = [h for h in frame.context(by) if h != frame.method] + ([method] if method else [])
    ok = frame.ok.assign(**{by: frame.ok[by].astype(str)})
    side = {g: ok[ok[by] == g][context + [metric]] for g in (group_a, group_b)}
    for g, rows in side.items():
        if rows.duplicated(context).any():
            raise AnalysisError(f"--groups: several runs of {by} = {g} share every other hyperparameter")
    pairs = side[group_a].rename(columns={metric: "a"}).merge(side[group_b].rename(columns={metric: "b"}),
                                                             on=context, how="inner").dropna(subset=["a", "b"])
    if pairs.empty:
        raise AnalysisError(f"no cell has runs of both {by} = {group_a} and {by} = {group_b}")
    pairs = pairs.sort_values(context, kind="stable")
    sign = 1.0 if frame.higher_is_better(metric) else -1.0
    rope = DEFAULT_ROPE.get(frame.kind, 0.0) if rope is None else rope
    unpaired = (len(side[group_a]) - len(pairs), len(side[group_b]) - len(pairs))
    matched = ", ".join(h for h in context if h != method) or "(nothing else varies)"
    return Comparison(metric, f"{by}={group_a}", f"{by}={group_b}", matched, unpaired,
                      pd.DataFrame(_rows(pairs, method, sign, rope, resamples, seed), columns=COLUMNS))
