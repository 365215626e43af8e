"""The report's section on a budgeted results folder: the full grid's estimate, as ``albench analyze`` prints it.

``full_grid_section(root, metric)`` is empty unless ``root`` holds a budgeted
grid (``albench grid sample`` or ``grid run --budget``). Its figures are
``sampler.estimate_folder``'s, the same call ``albench analyze`` makes: each
method's estimated full-grid mean with its interval, the estimated
leaderboard with the probability that each rank is right and that the best
method is the best, the pairwise differences with intervals, and the runs
used against the full grid's count.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from albench.active_bench.full_grid import FullGridEstimate
from albench.active_bench.sampler import estimate_folder, is_budgeted
from albench.analysis import tables

HEADING = "Full-grid estimate (budgeted grid)"


def full_grid_section(root: str | Path, metric: str | None = None) -> list[str]:
    """HTML parts of the section (none for a folder that is not budgeted); a failed estimate says why."""
    if not is_budgeted(root):
        return []
    parts = [f"<h2>{html.escape(HEADING)}</h2>"]
    try:
        est = estimate_folder(root, metric)
    except ValueError as exc:  # ActiveBenchError: a metric the runs lack, runs of a round not stored yet, ...
        return parts + [_p(f"No full-grid estimate: {exc}")]
    return parts + estimate_html(est)


def estimate_html(est: FullGridEstimate) -> list[str]:
    pct = round(est.level * 100)
    p_best = est.rank_probabilities()[1]
    best = est.methods[est.order()[0]]
    parts = [
        _p(f"This folder holds a budgeted grid: {est.usage()}. The leaderboard above ranks the sampled runs only; "
           f"here each method's mean {est.metric} over every cell of the full grid, run or not, is estimated "
           f"from the sampled blocks (without bias, unless a note below says otherwise), with {pct} % intervals "
           f"({'higher' if est.higher_is_better else 'lower'} is better)."),
        _p(f"P(the estimated best, {best}, is the best) = {tables.number(p_best)}; p_rank_right: the probability "
           f"that each method's estimated rank is its rank in the full grid (multivariate t draws)."),
        tables.to_html(leaderboard_table(est), ("rank", "method"), "full-grid-leaderboard"),
        _p(f"Pairwise differences of full-grid means ({pct} % intervals), better estimate first."),
        tables.to_html(pairwise_table(est), ("method", "versus"), "full-grid-pairwise"),
    ]
    return parts + [_p(line) for line in est.notes()]


def leaderboard_table(est: FullGridEstimate) -> pd.DataFrame:
    """``est.table()`` with each mean and its interval in one column (``0.81 [0.75, 0.86]``)."""
    pct = round(est.level * 100)
    mean = f"mean_{est.metric}"
    return est.table().rename(columns={f"ci{pct}_low": f"{mean}_low", f"ci{pct}_high": f"{mean}_high"})


def pairwise_table(est: FullGridEstimate) -> pd.DataFrame:
    """``est.pairwise()`` with each difference and its interval in one column."""
    return est.pairwise().rename(columns={"ci_low": "difference_low", "ci_high": "difference_high"})


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"
