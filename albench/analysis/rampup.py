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

import pandas as pd

from albench.al_loop import EDGE_CYCLES
from albench.analysis.frame import Frame

RAMP_FRACTION = 0.95
BASELINE = "random"


def add_rampup(frame: Frame, curves: pd.DataFrame | None) -> Frame:
    """``frame`` with one ``rampup_<m>`` metric column per per-cycle metric of the curves (AL only)."""
    if frame.kind != "al" or curves is None or curves.empty or frame.method != "strategy":
        return frame
    metrics = [m for m in ("accuracy", "macro_f1", "weighted_f1", "macro_precision", "macro_recall")
               if m in curves.columns]
    ok = frame.ok[["run_id", frame.block, frame.method]]
    if not metrics or BASELINE not in set(ok[frame.method]):
        return frame
    c = curves[["run_id", "cycle", *metrics]].merge(ok, on="run_id")
    last_cycle = c.groupby("run_id")["cycle"].transform("max")
    tail = c[c["cycle"] > last_cycle - EDGE_CYCLES]
    tail = tail[tail["cycle"] > 0]  # the start set is no part of a plateau
    random_tail = tail[tail[frame.method] == BASELINE]
    plateau = random_tail.groupby(["run_id", frame.block])[metrics].mean().groupby(frame.block).mean()
    threshold = c[[frame.block]].join(RAMP_FRACTION * plateau, on=frame.block)[metrics]
    n_cycles = c.groupby("run_id")["cycle"].max() + 1
    for m in metrics:
        reached = c[c[m] >= threshold[m]]
        first = reached.groupby("run_id")["cycle"].min()
        has_threshold = c.assign(t=threshold[m]).groupby("run_id")["t"].first().notna()
        value = first.reindex(n_cycles.index).fillna(n_cycles).where(has_threshold)
        frame.runs[f"rampup_{m}"] = frame.runs["run_id"].map(value)
        frame.metrics[f"rampup_{m}"] = False
    return frame
