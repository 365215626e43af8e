"""The interactive parts of the HTML report: plotly charts and their data.

Every chart is a ``<div class="chart">`` followed by its specification as
JSON; the page's one script (``REPORT_JS``) draws them with plotly.js, which
the page embeds (no network needed: the file works offline). Two kinds of
specification:

- ``plot``: plotly ``data`` and ``layout`` built here (bars, lines, heatmaps);
- ``facet``: a long table of curve points that the script aggregates in the
  browser, so the reader can split the panels by any hyperparameter and
  choose which data sets (tasks) to show; hovering shows each point's value
  and how many runs it averages.

Colours come from ``albench.analysis.palette``, the same map as the static
figures.
"""

from __future__ import annotations

import html
import json
from importlib.resources import files

import numpy as np
import pandas as pd

from albench.analysis import plots, stats
from albench.analysis.curves import Curves
from albench.analysis.frame import Frame, natural_key
from albench.analysis.leaderboard import Comparison
from albench.analysis.palette import colours as palette_colours

MAX_CURVE_POINTS = 200_000  # points embedded for the learning curves; above: the widest factors are averaged out
MAX_FACET_ROWS = 12  # filter values (data sets) drawn at once (the reader picks which)
MAX_FACET_COLS = 3  # panels side by side; more split values wrap onto further rows
DEFAULT_FILTER_VALUES = 4  # data sets ticked when the page opens
CONFIG = {"displaylogo": False, "responsive": True}


def plotly_js() -> str:
    """plotly.js from the installed ``plotly`` package (embedded in the page, never fetched)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def report_js() -> str:
    return files("albench.analysis").joinpath("report.js").read_text(encoding="utf-8")


def _json(value) -> str:
    """JSON safe inside ``<script>``: ``</`` cannot close the element early."""
    return json.dumps(value, allow_nan=False, default=_plain).replace("</", "<\\/")


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _finite(values) -> list:
    """Floats with NaN/inf as None (JSON null: a gap in plotly)."""
    return [float(v) if v is not None and np.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def chart(chart_id: str, spec: dict, controls: str = "") -> str:
    """A chart's HTML: its controls, the div plotly draws into, and its specification."""
    return (f'<div class="chart-block">{controls}<div class="chart" id="{html.escape(chart_id)}" '
            f'data-kind="{spec["kind"]}"></div><script type="application/json" id="{html.escape(chart_id)}-spec">'
            f"{_json(spec)}</script></div>")


def rgba(colour: str, alpha: float) -> str:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


# ----- facet charts: curves split and filtered in the browser -----

def _facet_controls(chart_id: str, filter_label: str, filter_values: list, split_options: list[str],
                    split_default: str) -> str:
    ticked = set(filter_values[:DEFAULT_FILTER_VALUES])
    boxes = "".join(f'<label><input type="checkbox" class="filter" value="{html.escape(str(v))}"'
                    f'{" checked" if v in ticked else ""}> {html.escape(str(v))}</label>' for v in filter_values)
    options = "".join(f'<option value="{html.escape(o)}"{" selected" if o == split_default else ""}>'
                      f"{html.escape(o)}</option>" for o in ["none", *split_options])
    return (f'<div class="controls" data-chart="{html.escape(chart_id)}">'
            f'<span class="control">split panels by <select class="split">{options}</select></span>'
            f'<span class="control">{html.escape(filter_label)}: {boxes}</span></div>')


def facet_spec(points: pd.DataFrame, x: str, y: str, colour: str, colours: dict[str, str], filter_field: str,
               split_options: list[str], orders: dict[str, list], xlabel: str, ylabel: str,
               band: tuple[str, str] | None = None, log_x: bool = False, log_y: bool = False,
               weight: str | None = None) -> dict:
    """A ``facet`` specification: one row per point, categorical fields as indices into ``levels``."""
    fields = [filter_field, colour, *[s for s in split_options if s not in (filter_field, colour)]]
    levels = {f: [str(v) for v in orders[f]] for f in fields}
    codes = {}
    for f in fields:
        index = {v: i for i, v in enumerate(levels[f])}
        codes[f] = [index[str(v)] for v in points[f]]
    numbers = {x: _finite(points[x]), y: _finite(points[y])}
    if band:
        numbers.update({band[0]: _finite(points[band[0]]), band[1]: _finite(points[band[1]])})
    if weight:
        numbers[weight] = [int(v) for v in points[weight]]
    return {"kind": "facet", "x": x, "y": y, "colour": colour, "colours": colours, "filter": filter_field,
            "splits": split_options, "levels": levels, "codes": codes, "numbers": numbers, "band": list(band or []),
            "weight": weight, "log_x": log_x, "log_y": log_y, "xlabel": xlabel, "ylabel": ylabel,
            "max_rows": MAX_FACET_ROWS, "max_cols": MAX_FACET_COLS, "config": CONFIG}


def learning_curve_points(frame: Frame, curves: Curves | pd.DataFrame, metric: str,
                          max_points: int = MAX_CURVE_POINTS) -> tuple[pd.DataFrame, str, list[str], list[str]]:
    """Mean curve over replicates per cell of the grid: (points, y column, factors kept, factors averaged out).

    A cell is one value of every varying hyperparameter except the
    replicates (seed, start point, split); ``runs`` counts the runs behind
    each point. Past ``max_points`` points, the factors with the most values
    are averaged out too, widest first. The curves are summed per cell in
    DuckDB once per frame (``plots.curve_cells``, shared with the static figure); coarser cells add up
    those sums.
    """
    curves = Curves.of(curves)
    y = plots.curve_metric(metric, curves)
    panel = plots.panel_field(frame)
    factors = plots.curve_factors(frame)
    cells = plots.curve_cells(frame, curves, y)
    cells = cells[cells["n"] > 0]
    dropped = []
    while True:
        keys = [panel, frame.method, *factors, "n_labelled"]
        points = cells.groupby(keys, observed=True, dropna=False)[["total", "n"]].sum().reset_index()
        if len(points) <= max_points or not factors:
            break
        widest = max(factors, key=lambda h: cells[h].nunique())
        factors.remove(widest)
        dropped.append(widest)
    points = points.assign(**{y: points["total"] / points["n"]}).rename(columns={"n": "runs"})
    return points[[*keys, y, "runs"]], y, factors, dropped


def learning_curves_chart(frame: Frame, curves: Curves | pd.DataFrame, metric: str, colours: dict[str, str]) -> tuple[str, str]:
    """The learning curves as a facet chart, and its caption."""
    points, y, factors, dropped = learning_curve_points(frame, curves, metric)
    panel = plots.panel_field(frame)
    orders = {f: frame.values(f) for f in [panel, frame.method, *factors]}
    default = "batch_size" if "batch_size" in factors else "none"
    spec = facet_spec(points, "n_labelled", y, frame.method, colours, panel, factors, orders,
                      "labelled points", y, weight="runs")
    caption = (f"{y} against the number of labelled points: mean over the runs of each panel and method "
               f"(hover: the value and how many runs it averages). Split the panels by a hyperparameter and tick "
               f"the {panel} values to show; points where only some runs have that many labels average "
               f"those runs (split by batch_size to compare like with like).")
    if dropped:
        caption += f" Averaged over {', '.join(dropped)} to keep the page small."
    controls = _facet_controls("learning-curves", panel, orders[panel], factors, default)
    return chart("learning-curves", spec, controls), caption


def at_error_chart(errors: pd.DataFrame, colours: dict[str, str] | None = None) -> tuple[str, str]:
    """Active testing: squared error against M, panels split by estimator, one task (data set, loss) per row."""
    several = errors["surrogate"].nunique() > 1
    points = errors.assign(
        task=errors["dataset"].astype(str) + ", " + errors["loss"].astype(str),
        line=[f"{p} ({s})" if several else str(p) for s, p in errors[["surrogate", "proposal"]].to_numpy()])
    lines = sorted(points["line"].unique(), key=natural_key)
    colours = colours or palette_colours(lines)
    splits = [c for c in ("estimator", "surrogate") if points[c].nunique() > 1] or ["estimator"]
    orders = {"task": sorted(points["task"].unique(), key=natural_key), "line": lines,
              **{c: sorted(points[c].astype(str).unique(), key=natural_key) for c in splits}}
    spec = facet_spec(points, "m", "mse", "line", colours, "task", splits, orders, "M (labels)", "squared error",
                      band=("mse_low", "mse_high"), log_x=True, log_y=bool((points["mse"] > 0).all()))
    controls = _facet_controls("squared-error", "data set, loss", orders["task"], splits, "estimator")
    caption = ("Mean squared error of each estimator's risk estimate after M labels, one line per proposal; "
               "bands: 95 % bootstrap interval over runs (shown when a point is one line's own value).")
    return chart("squared-error", spec, controls), caption


# ----- plain plotly charts -----

def _plot(chart_id: str, data: list[dict], layout: dict) -> str:
    base = {"margin": {"l": 10, "r": 10, "t": 30, "b": 50}, "font": {"size": 12}, "hovermode": "closest"}
    return chart(chart_id, {"kind": "plot", "data": data, "layout": {**base, **layout}, "config": CONFIG})


def leaderboard_chart(comparison: Comparison, colours: dict[str, str]) -> str:
    table = comparison.table
    names = table[comparison.method].astype(str).tolist()
    mean_col = f"mean_{comparison.metric}"
    hover = [f"{n}<br>mean rank {r:.4g}<br>{mean_col} {m:.4g}" for n, r, m in
             zip(names, table["mean_rank"], table[mean_col])]
    data = [{"type": "bar", "orientation": "h", "y": names, "x": _finite(table["mean_rank"]),
             "marker": {"color": [colours.get(n, "#777777") for n in names]}, "hovertext": hover,
             "hoverinfo": "text", "name": "mean rank"}]
    k = len(names)
    shapes, annotations = [], []
    if np.isfinite(comparison.cd):
        line = min(float(table["mean_rank"].iloc[0] + comparison.cd), k)
        shapes.append({"type": "line", "x0": line, "x1": line, "yref": "paper", "y0": 0, "y1": 1,
                       "line": {"dash": "dash", "color": "black", "width": 1}})
        annotations.append({"x": line, "yref": "paper", "y": 1.0, "yanchor": "bottom", "showarrow": False,
                            "text": f"best + CD ({comparison.cd:.3g})", "font": {"size": 11}})
    return _plot("leaderboard-chart", data, {
        "height": 30 * k + 130, "showlegend": False, "shapes": shapes, "annotations": annotations,
        "margin": {"l": 10, "r": 10, "t": 50, "b": 50},
        "xaxis": {"title": {"text": f"mean rank over {stats.blocks(comparison.friedman.n_blocks)}, 1 is best"},
                  "range": [0, k + 0.05], "dtick": 1},
        "yaxis": {"autorange": "reversed", "automargin": True}})


def influence_chart(influence: pd.DataFrame) -> str:
    names = influence["hyperparameter"].astype(str).tolist()
    data = []
    for measure, (values, err) in plots.influence_scores(influence).items():
        trace = {"type": "bar", "orientation": "h", "name": plots.INFLUENCE_LABELS[measure], "y": names,
                 "x": _finite(values), "hovertemplate": "%{y}: %{x:.3f}<extra>" + plots.INFLUENCE_LABELS[measure]
                 + "</extra>"}
        if err is not None:
            trace["error_x"] = {"type": "data", "symmetric": False, "array": _finite(err[1]),
                                "arrayminus": _finite(err[0]), "thickness": 1}
        data.append(trace)
    return _plot("influence-chart", data, {
        "barmode": "group", "height": 60 * len(names) + 160,
        "xaxis": {"title": {"text": "influence on [0, 1] (importance, or stability turned into influence)"},
                  "range": [0, 1]},
        "yaxis": {"autorange": "reversed", "automargin": True},
        "legend": {"orientation": "h", "y": -0.25}})


def design_chart(design) -> str:
    data = []
    palette = palette_colours(list(dict.fromkeys(design.curve["factor"].astype(str))))
    for factor, curve in design.curve.groupby("factor", sort=False):
        colour = palette[str(factor)]
        k = curve["k"].tolist()
        data.append({"type": "scatter", "x": k, "y": _finite(curve["tau_high"]), "mode": "lines",
                     "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False, "legendgroup": str(factor)})
        data.append({"type": "scatter", "x": k, "y": _finite(curve["tau_low"]), "mode": "lines", "fill": "tonexty",
                     "fillcolor": rgba(colour, 0.18), "line": {"width": 0}, "hoverinfo": "skip",
                     "showlegend": False, "legendgroup": str(factor)})
        data.append({"type": "scatter", "x": k, "y": _finite(curve["tau_mean"]), "mode": "lines+markers",
                     "name": str(factor), "legendgroup": str(factor), "line": {"color": colour},
                     "hovertemplate": f"{factor}: k = %{{x}}, mean tau %{{y:.3f}}<extra></extra>"})
    return _plot("design-chart", data, {
        "height": 380, "xaxis": {"title": {"text": "k (values of the factor used)"}, "dtick": 1},
        "yaxis": {"title": {"text": "Kendall tau vs full leaderboard"}, "range": [-0.05, 1.05]},
        "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": design.target, "y1": design.target,
                    "line": {"dash": "dash", "color": "grey", "width": 1}}]})


def heatmap_chart(chart_id: str, hyperparameter: str, matrix: pd.DataFrame) -> str:
    labels_x, labels_y = [str(c) for c in matrix.columns], [str(i) for i in matrix.index]
    z = [_finite(row) for row in matrix.to_numpy(dtype=float)]
    data = [{"type": "heatmap", "z": z, "x": labels_x, "y": labels_y, "zmin": -1, "zmax": 1, "colorscale": "RdBu",
             "reversescale": True,  # as matplotlib's RdBu: agreement blue, reversal red
             "hovertemplate": f"{hyperparameter} %{{y}} vs %{{x}}: %{{z:.3f}}<extra></extra>",
             "texttemplate": "%{z:.2f}"}]
    side = 40 * len(labels_x) + 160
    return _plot(chart_id, data, {"height": side, "width": side + 160, "margin": {"l": 10, "r": 10, "t": 60, "b": 50},
                                  "title": {"text": hyperparameter, "y": 0.98, "yanchor": "top"},
                                  "xaxis": {"automargin": True}, "yaxis": {"automargin": True,
                                                                           "autorange": "reversed"}})
