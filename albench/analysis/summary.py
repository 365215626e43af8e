"""Every analysis of a results table in one call, as tables (and as JSON).

``analyze(runs, curves)`` answers the two questions a grid is run for: which
method wins and how sure we are (``leaderboard``: mean ranks, Friedman,
Nemenyi critical difference), and which hyperparameters decide the outcome
(``influence``: fANOVA, PED-ANOVA and ranking stability), plus how small a
study could have been (``design``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pandas as pd

from albench.analysis.design import DesignCurve, design_curve
from albench.analysis.frame import Frame, prepare
from albench.analysis.influence import influence_table
from albench.analysis.leaderboard import Comparison, compare


@dataclass
class Analysis:
    frame: Frame
    metric: str
    comparison: Comparison
    influence: pd.DataFrame
    design: DesignCurve

    def to_dict(self) -> dict:
        """Plain data (NaN as None) for ``json.dumps``."""
        c = self.comparison
        return _clean({
            "kind": self.frame.kind,
            "metric": self.metric,
            "higher_is_better": c.higher_is_better,
            "method": self.frame.method,
            "block": self.frame.block,
            "hyperparameters": self.frame.hyperparameters,
            "runs": int(self.frame.runs["run_id"].nunique()),
            "ok_runs": int(self.frame.ok["run_id"].nunique()),
            "leaderboard": _records(c.table),
            "tests": c.summary(),
            "nemenyi_p": {str(k): {str(j): v for j, v in row.items()} for k, row in c.nemenyi.to_dict("index").items()},
            "influence": _records(self.influence),
            "design": {"target_tau": self.design.target, "minimal": _records(self.design.minimal),
                       "curve": _records(self.design.curve)},
        })

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def _records(df: pd.DataFrame) -> list[dict]:
    return json.loads(df.to_json(orient="records"))


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


def analyze(runs: pd.DataFrame, curves: pd.DataFrame | None = None, metric: str | None = None,
            kind: str | None = None, block: str | list[str] | None = None, n_resamples: int = 1000,
            seed: int = 0, progress=None) -> Analysis:
    """Leaderboard with tests, influence ranking and minimal-design curve of a runs table.

    ``progress(step)``, if given, is called with the name of each step as it starts.
    """
    say = progress or (lambda step: None)
    frame = prepare(runs, kind)
    metric = frame.check_metric(metric)
    say("leaderboard")
    comparison = compare(frame, metric, block)
    say("influence")
    influence = influence_table(frame, metric, curves, n_resamples=n_resamples, seed=seed)
    say("minimal study design")
    design = design_curve(frame, metric, seed=seed)
    return Analysis(frame, metric, comparison, influence, design)
