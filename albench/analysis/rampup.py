"""Ramp-up: how many cycles a run needs to reach what random sampling ends at.

After the AL hyperparameter study of Gonsior et al. (2025), which reports how
fast strategies ramp up against the passive baseline. For a per-cycle metric
m (``accuracy``, ``macro_f1``, ...) and each block of the analysis (by
default a design cell: data set, learner, batch size, ...):

- the plateau is the mean, over the block's random-sampling runs, of m over
  their last ``EDGE_CYCLES`` cycles (``last5_<m>``);
- the threshold is ``RAMP_FRACTION`` of the plateau;
- ``rampup_<m>`` of a run is the first cycle (0 = the start set alone) whose
  m reaches the threshold. A run that never reaches it counts as one cycle
  past its last, so the ranking still sees it as the slowest.

Lower is better. Blocks without a random-sampling run get no value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from albench.al_loop import EDGE_CYCLES
from albench.analysis.curves import Curves, finite, quote
from albench.analysis.frame import Frame

RAMP_FRACTION = 0.95
BASELINE = "random"
PER_CYCLE_METRICS = ("accuracy", "macro_f1", "weighted_f1", "macro_precision", "macro_recall")


def add_rampup(frame: Frame, curves: Curves | pd.DataFrame | None, wanted: list[str] | None = None) -> Frame:
    """``frame`` with a ``rampup_<m>`` metric per per-cycle metric m of the curves (AL only).

    Every such metric is listed in ``frame.metrics``; its column is computed for the names in ``wanted``
    only (None: all of them), since each costs two scans of the curves: two group-bys in DuckDB (the
    plateau of the random runs per block, then each run's first cycle past its block's threshold);
    pandas sees one row per block and per run.
    """
    curves = Curves.of(curves)
    if frame.kind != "al" or curves is None or frame.method != "strategy" or not curves.has("cycle"):
        return frame
    ok = frame.ok.drop_duplicates("run_id")
    if BASELINE not in set(ok[frame.method]):
        return frame
    available = [m for m in PER_CYCLE_METRICS if curves.has(m)]
    frame.metrics.update({f"rampup_{m}": False for m in available})
    metrics = [m for m in available if wanted is None or f"rampup_{m}" in wanted]
    if not metrics:
        return frame
    block_code, _ = pd.factorize(ok[frame.block])
    labels = pd.DataFrame({"run_id": ok["run_id"].astype(object).to_numpy(), "_block": block_code,
                           "_random": (ok[frame.method] == BASELINE).to_numpy()})
    values = ", ".join(f"{finite(m)} AS {quote(m)}" for m in metrics)
    rows = (f"(SELECT c.run_id, c.cycle, l._block, l._random, {values} FROM curves c "
            "JOIN _labels l ON c.run_id = l.run_id WHERE l._block >= 0)")
    means = ", ".join(f"avg({quote(m)}) AS {quote(m)}" for m in metrics)
    plateau = curves.sql(f"""
        WITH rows AS {rows},
             last AS (SELECT run_id, max(cycle) AS last FROM rows GROUP BY run_id),
             per_run AS (SELECT r.run_id, any_value(r._block) AS _block, {means} FROM rows r
                         JOIN last USING (run_id)
                         WHERE r._random AND r.cycle > last.last - {EDGE_CYCLES} AND r.cycle > 0
                         GROUP BY r.run_id)
        SELECT _block, {means} FROM per_run GROUP BY _block""", _labels=labels)
    thresholds = plateau.assign(**{m: RAMP_FRACTION * plateau[m].astype(float) for m in metrics})
    thresholds = thresholds.rename(columns={m: f"_t_{m}" for m in metrics})
    firsts = ", ".join(f"min(r.cycle) FILTER (WHERE r.{quote(m)} >= t._t_{m}) AS {quote('first_' + m)}, "
                       f"bool_or(t._t_{m} IS NOT NULL) AS {quote('has_' + m)}" for m in metrics)
    per_run = curves.sql(f"""
        WITH rows AS {rows}
        SELECT r.run_id, max(r.cycle) + 1 AS n_cycles, {firsts} FROM rows r
        LEFT JOIN _thresholds t ON r._block = t._block GROUP BY r.run_id""",
                         _labels=labels, _thresholds=thresholds).set_index("run_id")
    for m in metrics:
        first = per_run[f"first_{m}"].astype(float).fillna(per_run["n_cycles"].astype(float))
        value = first.where(per_run[f"has_{m}"].fillna(False).astype(bool), np.nan)
        frame.runs[f"rampup_{m}"] = frame.runs["run_id"].map(value).astype(float)
    return frame
