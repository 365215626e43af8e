"""The report's static figures, one function each, returning a matplotlib Figure.

Figures are drawn with the non-interactive Agg canvas (``Figure`` objects,
never ``pyplot``), so the report renders on machines without a display and
no figure outlives its function. Methods keep one colour in every figure:
pass the map of ``albench.analysis.palette.colours``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from albench.analysis import stats
from albench.analysis.curves import Curves, group_sums
from albench.analysis.design import DesignCurve
from albench.analysis.frame import REPLICATES, Frame
from albench.analysis.leaderboard import Comparison
from albench.analysis.palette import colours as palette_colours

MAX_PANEL_ROWS = 20  # more data sets than this: the first ones only (the caption says so)
# panels of the static learning curves at most: matplotlib draws 7 to 14 of them a second per format, and the
# report saves three formats (the interactive chart shows every data set)
MAX_PANELS = 40
PANEL = (3.6, 2.6)  # inches per panel


def _grid(rows: int, cols: int, extra_height: float = 0.0) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(PANEL[0] * cols + 1.5, PANEL[1] * rows + 0.6 + extra_height), layout="constrained")
    axes = np.asarray(fig.subplots(rows, cols, squeeze=False))
    return fig, axes


def _line_with_band(ax, x, mean, low, high, label, colour=None):
    (line,) = ax.plot(x, mean, label=label, linewidth=1.4, color=colour)
    if low is not None and np.isfinite(np.asarray(low, dtype=float)).any():
        ax.fill_between(x, low, high, color=line.get_color(), alpha=0.18, linewidth=0)


def _legend_below(fig: Figure, handles, labels, fontsize: int = 8) -> None:
    """One legend for the whole figure, under the panels, so it hides no data and is never cut."""
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4), fontsize=fontsize,
                   frameon=False)


def panel_field(frame: Frame) -> str:
    """The column whose values get a row of panels: the data set (the first part of a block)."""
    parts = getattr(frame, "block_parts", None) or (frame.block,)
    return parts[0] if parts[0] in frame.runs.columns else frame.block


def curve_metric(metric: str, curves: Curves | pd.DataFrame) -> str:
    """The per-cycle column behind a summary metric: ``auc_macro_f1`` -> ``macro_f1``."""
    for prefix in ("auc_", "final_"):
        if metric.startswith(prefix) and metric[len(prefix):] in list(curves.columns):
            return metric[len(prefix):]
    return "accuracy"


def curve_factors(frame: Frame) -> list[str]:
    """The varying hyperparameters that split a learning curve: neither replicates, the method nor the panel."""
    panel = panel_field(frame)
    return [h for h in frame.hyperparameters if h not in REPLICATES and h not in (frame.method, panel)]


def curve_cells(frame: Frame, curves: Curves, y: str) -> pd.DataFrame:
    """``group_sums`` of ``y`` against ``n_labelled`` per panel, method, curve factor and seed: the one scan of
    the curves that the static and the interactive learning curves share (computed once per frame)."""
    keys = [panel_field(frame), frame.method, *curve_factors(frame)] + (["seed"] if "seed" in frame.runs else [])

    def compute():
        runs = frame.ok[["run_id", *dict.fromkeys(keys)]].drop_duplicates("run_id")
        return group_sums(curves, runs, "n_labelled", y)

    return frame._cached(("curve_cells", curves, y), compute)  # keyed on the Curves object (hashed by identity)


def learning_curves(frame: Frame, curves: Curves | pd.DataFrame, metric: str,
                    colours: dict[str, str] | None = None) -> tuple[Figure, str]:
    """AL: the metric against labels, one panel per data set (and batch size), one line per method.

    Lines are the mean over seeds of the curve averaged over every other
    hyperparameter; bands are +-1 standard deviation over seeds. The curves
    are averaged in DuckDB (``group_sums``), never loaded whole.
    """
    curves = Curves.of(curves)
    colours = colours or palette_colours(frame.values(frame.method))
    y = curve_metric(metric, curves)
    panel = panel_field(frame)
    split_by = "batch_size" if "batch_size" in frame.hyperparameters else None
    blocks = frame.values(panel)
    cols = frame.values(split_by) if split_by else [None]
    shown = blocks[:max(1, min(MAX_PANEL_ROWS, MAX_PANELS // len(cols)))]
    fig, axes = _grid(len(shown), len(cols), extra_height=0.4)
    keys = [panel, *([split_by] if split_by else []), frame.method]
    cells = curve_cells(frame, curves, y)
    cells = cells if "seed" in cells else cells.assign(seed=0)
    sums = cells.groupby([*keys, "seed", "n_labelled"], observed=True, dropna=False)[["total", "n"]].sum()
    per_seed = sums["total"] / sums["n"].where(sums["n"] > 0)
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
                _line_with_band(ax, x, mean, mean - sd, mean + sd, str(method), colours.get(str(method)))
            ax.set_title(f"{block}" + (f", {split_by} {col}" if split_by else ""), fontsize=9)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("labelled points", fontsize=8)
            ax.set_ylabel(y, fontsize=8)
            ax.tick_params(labelsize=7)
    handles = {}
    for ax in axes.flat:
        for line in ax.get_lines():
            handles.setdefault(line.get_label(), line)
    _legend_below(fig, list(handles.values()), list(handles))
    caption = (f"{y} against the number of labelled points; lines: mean over seeds of the curve averaged over "
               f"the other hyperparameters; bands: +-1 standard deviation over seeds.")
    if len(blocks) > len(shown):
        caption += f" First {len(shown)} of {len(blocks)} {panel} values."
    return fig, caption


def leaderboard_bars(comparison: Comparison, colours: dict[str, str] | None = None) -> Figure:
    """Mean rank per method (1 is best), with the critical difference as a scale bar."""
    table = comparison.table
    names = table[comparison.method].astype(str)
    colours = colours or palette_colours(sorted(names))
    fig = Figure(figsize=(6.5, 0.35 * len(table) + 1.2), layout="constrained")
    ax = fig.subplots()
    ax.barh(names, table["mean_rank"], color=[colours.get(n, "#777777") for n in names], alpha=0.9)
    ax.invert_yaxis()
    ax.set_xlim(0, len(table) + 0.05)  # a mean rank lies in [1, number of methods]
    if np.isfinite(comparison.cd):
        best = table["mean_rank"].iloc[0]
        ax.axvline(min(best + comparison.cd, len(table)), color="black", linestyle="--", linewidth=1,
                   label=f"best + CD ({comparison.cd:.3g})" + (" beyond the last rank"
                                                                if best + comparison.cd > len(table) else ""))
        ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel(f"mean rank over {stats.blocks(comparison.friedman.n_blocks)} ({comparison.metric}), 1 is best")
    ax.tick_params(labelsize=8)
    return fig


def nemenyi_cliques(ranks: pd.Series, pvalues: pd.DataFrame, alpha: float) -> list[list[str]]:
    """Maximal runs of rank-adjacent methods whose every pair has Nemenyi p >= alpha (not separable).

    ``ranks`` is sorted best first; a clique of one method is left out
    (a bar joining nothing).
    """
    names = list(ranks.index)
    p = pvalues.loc[names, names].to_numpy(dtype=float)
    runs = []
    for i in range(len(names)):
        j = i
        while j + 1 < len(names) and np.all(np.nan_to_num(p[i:j + 2, i:j + 2], nan=1.0) >= alpha):
            j += 1
        if j > i:
            runs.append((i, j))
    maximal = [(i, j) for i, j in runs if not any(a <= i and j <= b and (a, b) != (i, j) for a, b in runs)]
    return [names[i:j + 1] for i, j in maximal]


def cd_diagram(comparison: Comparison, colours: dict[str, str] | None = None) -> Figure:
    """Demsar's critical difference diagram: the rank axis runs from 1 to the number of methods,
    each method has a row of its own (tied methods never overlap), and methods joined by a black
    bar are not significantly different (Nemenyi p >= alpha)."""
    ranks = comparison.table.set_index(comparison.method)["mean_rank"].astype(float)
    ranks.index = ranks.index.astype(str)
    ranks = ranks.sort_values(kind="stable")
    pvalues = comparison.nemenyi.copy()
    pvalues.index = pvalues.columns = pvalues.columns.astype(str)
    cliques = nemenyi_cliques(ranks, pvalues, comparison.alpha)
    colours = colours or palette_colours(sorted(ranks.index))
    k = len(ranks)
    n_left = -(-k // 2)
    rows = max(n_left, k - n_left)
    clique_gap = 0.45
    first_row = -(0.9 + clique_gap * len(cliques))
    fig = Figure(figsize=(7.5, 0.3 * (rows + clique_gap * len(cliques)) + 1.5))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    font = 8
    # axis from 1 to k (every possible mean rank), best on the left
    ax.plot([1, k], [0, 0], color="black", linewidth=1)
    for t in range(1, k + 1):
        ax.plot([t, t], [0, 0.15], color="black", linewidth=1)
        ax.text(t, 0.25, str(t), ha="center", va="bottom", fontsize=font)
    cd = comparison.cd
    if np.isfinite(cd):
        end = min(1 + cd, k)
        ax.plot([1, end], [1.05, 1.05], color="black", linewidth=2)
        ax.text((1 + end) / 2, 1.2, f"CD = {cd:.3g}" + (" (longer than the axis)" if 1 + cd > k else ""),
                ha="center", va="bottom", fontsize=font)
    for c, members in enumerate(cliques):
        low, high = ranks[members].min(), ranks[members].max()
        pad = 0.04 if high - low < 0.08 else 0.0  # tied members: keep the bar visible
        ax.plot([low - pad, high + pad], [-0.5 - clique_gap * c] * 2, color="black", linewidth=3,
                solid_capstyle="butt")
    left_x, right_x = 1 - 0.25, k + 0.25
    texts = []
    for i, (name, rank) in enumerate(ranks.items()):
        left = i < n_left
        row = i if left else k - 1 - i
        y = first_row - row
        colour = colours.get(name, "black")
        x_end = left_x if left else right_x
        ax.plot([rank, rank, x_end], [0, y, y], color=colour, linewidth=1.1)
        ax.plot([rank], [0], "o", color=colour, markersize=4)
        label = f"{name} ({rank:.3g})" if left else f"({rank:.3g}) {name}"
        texts.append((ax.text(x_end + (-0.05 if left else 0.05), y, label, ha="right" if left else "left",
                              va="center", fontsize=font, color=colour), left))
    # widen the x range until the longest label on each side fits inside the figure
    renderer = FigureCanvasAgg(fig).get_renderer()
    width = ax.get_window_extent(renderer).width
    a = max([t.get_window_extent(renderer).width for t, left in texts if left] or [0]) / width
    b = max([t.get_window_extent(renderer).width for t, left in texts if not left] or [0]) / width
    inner = right_x - left_x + 0.1
    if a + b > 0.85:  # labels too long for the width: grow the figure instead
        fig.set_size_inches(fig.get_size_inches()[0] * (a + b) / 0.6, fig.get_size_inches()[1])
        a, b = a * 0.6 / (a + b), b * 0.6 / (a + b)
    span = inner / (1 - a - b - 0.06)
    ax.set_xlim(left_x - 0.05 - a * span - 0.03 * span, right_x + 0.05 + b * span + 0.03 * span)
    ax.set_ylim(first_row - rows + 0.4, 2.6)
    ax.text((1 + k) / 2, 2.45, f"mean ranks, Nemenyi at alpha = {comparison.alpha}", ha="center", va="top",
            fontsize=9)
    return fig


# each influence measure on [0, 1], higher = decides more: (label, column, transform of the column)
INFLUENCE_MEASURES = {
    "fanova": ("fANOVA", lambda v: v),
    "ped_anova": ("PED-ANOVA", lambda v: v),
    "fanova_vs_random": ("fANOVA gain over random", lambda v: v),  # importance of the gain (sums to 1)
    "kendall_tau": ("(1 - Kendall tau) / 2", lambda v: (1 - v) / 2),  # tau in [-1, 1]
    "pearson_r": ("(1 - Pearson r) / 2", lambda v: (1 - v) / 2),  # r in [-1, 1]
    "jaccard": ("1 - Jaccard", lambda v: 1 - v),  # overlap in [0, 1]
}
INFLUENCE_LABELS = {name: label for name, (label, _) in INFLUENCE_MEASURES.items()}


def influence_scores(influence: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Each measure present as (values, 2 x n error bars or None), all on [0, 1]."""
    out = {}
    for measure, (_, transform) in INFLUENCE_MEASURES.items():
        if measure not in influence:
            continue
        values = np.clip(transform(influence[measure].to_numpy(dtype=float)), 0, 1)
        err = None
        if f"{measure}_low" in influence and f"{measure}_high" in influence:
            ends = np.vstack([transform(influence[f"{measure}_low"].to_numpy(dtype=float)),
                              transform(influence[f"{measure}_high"].to_numpy(dtype=float))])
            low, high = np.clip(ends.min(axis=0), 0, 1), np.clip(ends.max(axis=0), 0, 1)
            err = np.vstack([values - low, high - values])
            err = np.where(np.isfinite(err), np.clip(err, 0, None), 0)
        out[measure] = (values, err)
    return out


def influence_bars(influence: pd.DataFrame) -> Figure:
    """Each hyperparameter's influence by every measure on [0, 1] (higher: decides more), with bootstrap CIs.

    Similarities become influences on the same scale: (1 - tau) / 2 and
    (1 - r) / 2 (both in [-1, 1]), 1 - Jaccard.
    """
    names = influence["hyperparameter"].astype(str).tolist()
    scores = influence_scores(influence)
    fig = Figure(figsize=(7.5, 0.9 * len(names) + 1.6), layout="constrained")
    ax = fig.subplots()
    height = 0.8 / max(len(scores), 1)
    y = np.arange(len(names))
    for i, (measure, (values, err)) in enumerate(scores.items()):
        ax.barh(y + (i - (len(scores) - 1) / 2) * height, np.nan_to_num(values), height=height,
                xerr=err, label=INFLUENCE_LABELS[measure], capsize=2, error_kw={"linewidth": 0.8})
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("influence on [0, 1] (importance, or stability turned into influence)")
    handles, labels = ax.get_legend_handles_labels()
    _legend_below(fig, handles, labels)
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
    ax.set_ylim(min(-0.05, ax.get_ylim()[0]), 1.05)
    ax.set_xlabel("k (values of the factor used)")
    ax.set_ylabel("Kendall tau vs full leaderboard")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def pairwise_heatmap(hyperparameter: str, matrix: pd.DataFrame) -> Figure:
    """Value-against-value agreement (e.g. Kendall tau of the leaderboards) of one hyperparameter."""
    n = len(matrix)
    # room for the tick labels (7 pt, about 0.06 inch a character; the column labels slant at 45 degrees):
    # long labels such as "gnb+rf(n_estimators=30)" otherwise squeeze the matrix to nothing
    label = 0.06 * max([len(str(v)) for v in [*matrix.index, *matrix.columns]] + [0])
    fig = Figure(figsize=(1.2 + 0.6 * n + 1.2 + label, 1.0 + 0.5 * n + 0.71 * label), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(matrix.to_numpy(dtype=float), vmin=-1, vmax=1, cmap="RdBu")
    ax.set_xticks(range(n), [str(c) for c in matrix.columns], rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(n), [str(i) for i in matrix.index], fontsize=7)
    for (i, j), value in np.ndenumerate(matrix.to_numpy(dtype=float)):
        if np.isfinite(value):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if abs(value) > 0.6 else "black")
    ax.set_title(hyperparameter, fontsize=9)
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def at_error_curves(errors: pd.DataFrame, max_cols: int = 3, colours: dict[str, str] | None = None) -> Figure:
    """Active testing: mean squared error against M, a panel per (data set, loss) and estimator.

    ``errors`` comes from ``albench.active_testing.report.errors_by_budget``;
    one line per proposal (and surrogate), bands are bootstrap 95 % intervals.
    Each (data set, loss) starts a new row of panels; one legend under them all.
    """
    # a row of panels per (data set, loss) and per value of every other varying key, so no two experiments mix
    lines_by = ("surrogate", "proposal", "estimator")
    extra = [k for k in errors.attrs.get("keys", []) if k not in ("dataset", "loss", *lines_by) and k in errors]
    panel_keys = ["dataset", "loss", *extra]
    groups = sorted({tuple(g) for g in errors[panel_keys].astype(str).to_numpy()})[:MAX_PANEL_ROWS]
    estimators = sorted(errors["estimator"].unique())
    cols = min(max_cols, len(estimators))
    rows_per_group = -(-len(estimators) // cols)
    several_surrogates = errors["surrogate"].nunique() > 1
    labels = sorted({f"{p} ({s})" if several_surrogates else str(p)
                     for s, p in errors[["surrogate", "proposal"]].drop_duplicates().to_numpy()})
    colours = colours or palette_colours(labels)
    fig, axes = _grid(len(groups) * rows_per_group, cols, extra_height=0.4)
    for ax in axes.flat:
        ax.set_visible(False)
    handles = {}
    keyed = errors[panel_keys].astype(str)
    for g, values in enumerate(groups):
        group = errors[(keyed == list(values)).all(axis=1)]
        dataset, loss = values[:2]
        where = ", ".join([f"{dataset}, {loss}", *(f"{k}={v}" for k, v in zip(extra, values[2:]))])
        for e, estimator in enumerate(estimators):
            ax = axes[g * rows_per_group + e // cols, e % cols]
            ax.set_visible(True)
            cell = group[group["estimator"] == estimator]
            for (surrogate, proposal), line in cell.groupby(["surrogate", "proposal"]):
                line = line.sort_values("m")
                label = f"{proposal} ({surrogate})" if several_surrogates else str(proposal)
                _line_with_band(ax, line["m"], line["mse"], line["mse_low"], line["mse_high"], label,
                                colours.get(label))
                handles.setdefault(label, ax.get_lines()[-1])
            ax.set_xscale("log")
            if (cell["mse"] > 0).any():
                ax.set_yscale("log")
            ax.set_title(f"{where}: {estimator}", fontsize=9)
            ax.set_xlabel("M (labels)", fontsize=8)
            ax.set_ylabel("squared error", fontsize=8)
            ax.tick_params(labelsize=7)
    _legend_below(fig, list(handles.values()), list(handles))
    return fig
