"""Every analysis of a results table in one call, as tables (and as JSON).

``analyze(runs, curves)`` answers the questions a grid is run for: which
method wins and how sure we are (``leaderboard``: mean ranks within the
stated blocks, Friedman, Nemenyi critical difference and whether it can
separate anything; ``effects``: effect sizes with intervals, win/tie/loss
counts and the Bayesian signed-rank test, put into words by ``verdict``),
which hyperparameters decide the outcome and which flip the conclusion
(``influence``: fANOVA on the metric and on the gain over random, pairwise
ranking stability with its matrices in ``agreement``), whether implementation
twins agree (``twins``), plus how small a study could have been (``design``).

Every figure is a deterministic function of the stored rows and the seed:
the rows are sorted by run_id before any sampling or fitting.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import pandas as pd

from albench.analysis.curves import Curves
from albench.analysis.design import DesignCurve, design_curve
from albench.analysis.effects import DEFAULT_ROPE, effect_sizes, verdict
from albench.analysis.frame import Frame, prepare
from albench.analysis.influence import BASELINE, VIEWS, influence_table
from albench.analysis.leaderboard import Comparison, compare
from albench.analysis.rampup import add_rampup
from albench.analysis.stability import Agreement, agreement, ranking_lines
from albench.analysis.twins import twin_lines, twins


@dataclass
class Analysis:
    frame: Frame
    metric: str
    comparison: Comparison
    influence: pd.DataFrame
    design: DesignCurve
    agreement: Agreement | None = None  # pairwise matrices per hyperparameter and measure
    effects: pd.DataFrame | None = None  # each method against the best and against random (``effects``)
    verdict: list[str] = field(default_factory=list)  # who wins and how sure, in words
    notes: list[str] = field(default_factory=list)  # about the ranking itself (``Frame.notes``)
    ranking_lines: list[str] = field(default_factory=list)  # per hyperparameter: does it flip the ranking?
    twins: pd.DataFrame | None = None  # implementation twins per family and learner
    twin_lines: list[str] = field(default_factory=list)
    rope: float = 0.0

    def to_dict(self) -> dict:
        """Plain data (NaN as None) for ``json.dumps``."""
        c = self.comparison
        return _clean({
            "kind": self.frame.kind,
            "metric": self.metric,
            "higher_is_better": c.higher_is_better,
            "method": self.frame.method,
            "block": self.frame.block,
            "block_columns": list(c.blocks),
            "hyperparameters": self.frame.hyperparameters,
            "runs": int(self.frame.runs["run_id"].nunique()),
            "ok_runs": int(self.frame.ok["run_id"].nunique()),
            "leaderboard": _records(c.table),
            "tests": c.summary(),
            "nemenyi_p": {str(k): {str(j): v for j, v in row.items()} for k, row in c.nemenyi.to_dict("index").items()},
            "verdict": self.verdict,
            "notes": self.notes,
            "power": c.power_note(),
            "rope": self.rope,
            "effects": _records(self.effects) if self.effects is not None else [],
            "influence": _records(self.influence),
            "influence_views": {k: v for k, v in VIEWS.items() if k in self.influence.columns},
            "ranking_lines": self.ranking_lines,
            "agreement": self.agreement.matrices_dict() if self.agreement is not None else {},
            "twins": _records(self.twins) if self.twins is not None else [],
            "twin_lines": self.twin_lines,
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


def analyze(runs: pd.DataFrame, curves: Curves | pd.DataFrame | None = None, metric: str | None = None,
            kind: str | None = None, block: str | list[str] | None = None, n_resamples: int = 1000,
            seed: int = 0, rope: float | None = None, families: dict[str, str] | None = None,
            progress=None, include_oracles: bool = False) -> Analysis:
    """Leaderboard with tests and verdict, influence ranking, twins and minimal-design curve of a runs table.

    ``block``: columns to rank within (None: the design cell, see ``frame``).
    ``curves``: a pandas frame, or ``Curves.of(results)`` for a results folder (read through DuckDB).
    ``rope``: half-width of the region of practical equivalence, in metric units (None: 0.01 for AL, 0 for
    active testing).
    ``families``: strategy name -> family (None: read the strategies' ``family`` attributes).
    ``progress(step)``, if given, is called with the name of each step as it starts.
    ``include_oracles``: rank oracle baselines with the strategies (they read the test labels).
    """
    say = progress or (lambda step: None)
    frame = prepare(runs, kind, block=block, include_oracles=include_oracles)
    curves = Curves.of(curves)  # queried in DuckDB where they lie, never loaded whole
    frame = add_rampup(frame, curves, wanted=[metric] if metric else [])  # only a ranked ramp-up is computed
    metric = frame.check_metric(metric)
    rope = DEFAULT_ROPE.get(frame.kind, 0.0) if rope is None else rope
    say("leaderboard")
    comparison = compare(frame, metric)
    order = list(comparison.table[frame.method])
    effects = effect_sizes(comparison.matrix, order, comparison.higher_is_better, BASELINE.get(frame.kind),
                           rope=rope, n_resamples=n_resamples, seed=seed)
    say("ranking stability")
    agree = agreement(frame, metric, curves, n_resamples=n_resamples, seed=seed)
    say("influence")
    influence = influence_table(frame, metric, curves, n_resamples=n_resamples, seed=seed,
                                agreement_table=agree.table)
    say("implementation twins")
    twin_table = twins(frame, metric, curves, families, n_resamples=n_resamples, seed=seed)
    say("minimal study design")
    design = design_curve(frame, metric, seed=seed)
    return Analysis(frame, metric, comparison, influence, design, agreement=agree, effects=effects,
                    verdict=verdict(effects, order[0], metric, rope), notes=list(frame.notes),
                    ranking_lines=ranking_lines(agree.table),
                    twins=twin_table, twin_lines=twin_lines(twin_table, metric), rope=rope)
