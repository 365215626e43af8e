"""The report's figures, one function each, returning a matplotlib Figure.

Figures are drawn with the non-interactive Agg canvas (``Figure`` objects,
never ``pyplot``), so the report renders on machines without a display and
no figure outlives its function.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scikit_posthocs as sp
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from albench.analysis.design import DesignCurve
from albench.analysis.frame import Frame
from albench.analysis.influence import INFLUENCE_SCORES
from albench.analysis.leaderboard import Comparison

MAX_PANEL_ROWS = 20  # more data sets than this: the first ones only (the caption says so)
PANEL = (3.6, 2.6)  # inches per panel


def _grid(rows: int, cols: int) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(PANEL[0] * cols + 1.5, PANEL[1] * rows + 0.6), layout="constrained")
    axes = np.asarray(fig.subplots(rows, cols, squeeze=False))
    return fig, axes


def _line_with_band(ax, x, mean, low, high, label):
    (line,) = ax.plot(x, mean, label=label, linewidth=1.4)
    if low is not None and np.isfinite(low).any():
        ax.fill_between(x, low, high, color=line.get_color(), alpha=0.18, linewidth=0)


def curve_metric(metric: str, curves: pd.DataFrame) -> str:
    """The per-cycle column behind a summary metric: ``auc_macro_f1`` -> ``macro_f1``."""
    for prefix in ("auc_", "final_"):
        if metric.startswith(prefix) and metric[len(prefix):] in curves.columns:
            return metric[len(prefix):]
    return "accuracy"


def learning_curves(frame: Frame, curves: pd.DataFrame, metric: str) -> tuple[Figure, str]:
    """AL: the metric against labels, one panel per data set (and batch size), one line per method.

    Lines are the mean over seeds of the curve averaged over every other
    hyperparameter; bands are +-1 standard deviation over seeds.
    """
    y = curve_metric(metric, curves)
    columns = ["run_id", frame.block, frame.method] + [c for c in ("batch_size", "seed") if c in frame.runs]
    runs = frame.ok[columns].drop_duplicates("run_id")
    if "seed" not in runs:
        runs = runs.assign(seed=0)
    split_by = "batch_size" if "batch_size" in frame.hyperparameters else None
    data = curves[["run_id", "n_labelled", y]].merge(runs, on="run_id")
    blocks = frame.values(frame.block)
    shown = blocks[:MAX_PANEL_ROWS]
    cols = frame.values(split_by) if split_by else [None]
    fig, axes = _grid(len(shown), len(cols))
    keys = [frame.block, *([split_by] if split_by else []), frame.method]
    per_seed = data.groupby([*keys, "seed", "n_labelled"])[y].mean()
    stats = per_seed.groupby([*keys, "n_labelled"]).agg(["mean", "std"])
    for i, block in enumerate(shown):
        for j, col in enumerate(cols):
            ax = axes[i, j]
            for method in frame.values(frame.method):
                key = (block, col, method) if split_by else (block, method)
                try:
                    s = stats.loc[key]
                except KeyError:
                    continue
                x, mean, sd = s.index.to_numpy(), s["mean"].to_numpy(), s["std"].to_numpy()
                _line_with_band(ax, x, mean, mean - sd, mean + sd, str(method))
            ax.set_title(f"{block}" + (f", {split_by} {col}" if split_by else ""), fontsize=9)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("labelled points", fontsize=8)
            ax.set_ylabel(y, fontsize=8)
            ax.tick_params(labelsize=7)
    axes[0, -1].legend(fontsize=7, loc="lower right")
    caption = (f"{y} against the number of labelled points; lines: mean over seeds of the curve averaged over "
               f"the other hyperparameters; bands: +-1 standard deviation over seeds.")
    if len(blocks) > len(shown):
        caption += f" First {len(shown)} of {len(blocks)} {frame.block} values."
    return fig, caption


def leaderboard_bars(comparison: Comparison) -> Figure:
    """Mean rank per method (1 is best), with the critical difference as a scale bar."""
    table = comparison.table
    fig = Figure(figsize=(6.5, 0.35 * len(table) + 1.2), layout="constrained")
    ax = fig.subplots()
    ax.barh(table[comparison.method].astype(str), table["mean_rank"], color="tab:blue", alpha=0.8)
    ax.invert_yaxis()
    if np.isfinite(comparison.cd):
        best = table["mean_rank"].iloc[0]
        ax.axvline(best + comparison.cd, color="tab:red", linestyle="--", linewidth=1,
                   label=f"best + CD ({comparison.cd:.2f})")
        ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel(f"mean rank over {comparison.friedman.n_blocks} blocks ({comparison.metric})")
    ax.tick_params(labelsize=8)
    return fig


def cd_diagram(comparison: Comparison) -> Figure:
    """Demsar's critical difference diagram (scikit-posthocs): methods joined by a bar do not differ."""
    ranks = comparison.table.set_index(comparison.method)["mean_rank"]
    ranks.index = ranks.index.astype(str)
    sig = comparison.nemenyi.copy()
    sig.index = sig.columns = sig.columns.astype(str)
    fig = Figure(figsize=(7.5, 0.28 * len(ranks) + 1.6), layout="constrained")
    ax = fig.subplots()
    cd = comparison.cd if np.isfinite(comparison.cd) else None
    sp.critical_difference_diagram(ranks, sig.loc[ranks.index, ranks.index], ax=ax, alpha=comparison.alpha, cd=cd,
                                   label_props={"fontsize": 8})
    ax.set_title(f"mean ranks, Nemenyi at alpha = {comparison.alpha}", fontsize=9)
    return fig


INFLUENCE_LABELS = {"fanova": "fANOVA", "ped_anova": "PED-ANOVA", "kendall_tau": "1 - Kendall tau",
                    "pearson_r": "1 - Pearson r", "jaccard": "1 - Jaccard"}


def influence_bars(influence: pd.DataFrame) -> Figure:
    """Each hyperparameter's influence by every measure (higher: decides more), with bootstrap CIs."""
    table = influence.set_index("hyperparameter")
    names = list(table.index)
    fig = Figure(figsize=(7.5, 0.55 * len(names) * 1.6 + 1.2), layout="constrained")
    ax = fig.subplots()
    height = 0.8 / len(INFLUENCE_SCORES)
    y = np.arange(len(names))
    for i, (measure, score) in enumerate(INFLUENCE_SCORES.items()):
        values = score(table).to_numpy(dtype=float)
        err = None
        if f"{measure}_low" in table:  # similarity CI -> influence CI (1 - high, 1 - low)
            low, high = 1 - table[f"{measure}_high"].to_numpy(float), 1 - table[f"{measure}_low"].to_numpy(float)
            err = np.vstack([values - low, high - values])
            err = np.where(np.isfinite(err), np.clip(err, 0, None), 0)
        ax.barh(y + (i - (len(INFLUENCE_SCORES) - 1) / 2) * height, np.nan_to_num(values), height=height,
                xerr=err, label=INFLUENCE_LABELS[measure], capsize=2, error_kw={"linewidth": 0.8})
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("influence (importance, or 1 - stability)")
    ax.legend(fontsize=7, loc="lower right")
    return fig


def design_curves(design: DesignCurve) -> Figure:
    """Kendall tau of the leaderboard from k values of a factor against the full one, as k grows."""
    fig = Figure(figsize=(6.5, 3.6), layout="constrained")
    ax = fig.subplots()
    for factor, curve in design.curve.groupby("factor", sort=False):
        _line_with_band(ax, curve["k"], curve["tau_mean"], curve["tau_low"], curve["tau_high"], str(factor))
        ax.plot(curve["k"], curve["tau_mean"], "o", markersize=3, color=ax.lines[-1].get_color())
    ax.axhline(design.target, color="grey", linestyle="--", linewidth=1, label=f"tau = {design.target}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("k (values of the factor used)")
    ax.set_ylabel("Kendall tau vs full leaderboard")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def at_error_curves(errors: pd.DataFrame, max_cols: int = 3) -> Figure:
    """Active testing: mean squared error against M, a panel per (data set, loss) and estimator.

    ``errors`` comes from ``albench.active_testing.report.errors_by_budget``;
    one line per proposal (and surrogate), bands are bootstrap 95 % intervals.
    Each (data set, loss) starts a new row of panels.
    """
    groups = sorted({tuple(g) for g in errors[["dataset", "loss"]].to_numpy()})[:MAX_PANEL_ROWS]
    estimators = sorted(errors["estimator"].unique())
    cols = min(max_cols, len(estimators))
    rows_per_group = -(-len(estimators) // cols)
    several_surrogates = errors["surrogate"].nunique() > 1
    fig, axes = _grid(len(groups) * rows_per_group, cols)
    for ax in axes.flat:
        ax.set_visible(False)
    for g, (dataset, loss) in enumerate(groups):
        group = errors[(errors["dataset"] == dataset) & (errors["loss"] == loss)]
        for e, estimator in enumerate(estimators):
            ax = axes[g * rows_per_group + e // cols, e % cols]
            ax.set_visible(True)
            cell = group[group["estimator"] == estimator]
            for (surrogate, proposal), line in cell.groupby(["surrogate", "proposal"]):
                line = line.sort_values("m")
                label = f"{proposal} ({surrogate})" if several_surrogates else str(proposal)
                _line_with_band(ax, line["m"], line["mse"], line["mse_low"], line["mse_high"], label)
            ax.set_xscale("log")
            if (cell["mse"] > 0).any():
                ax.set_yscale("log")
            ax.set_title(f"{dataset}, {loss}: {estimator}", fontsize=9)
            ax.set_xlabel("M (labels)", fontsize=8)
            ax.set_ylabel("squared error", fontsize=8)
            ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7, loc="lower left")
    return fig
