"""A results folder's figures and tables as files for a paper.

``static_figures`` draws every figure of the report with matplotlib
(``plots``); ``save_figure`` writes one as PNG, SVG and PDF (vector, with no
date inside, so the same rows give the same bytes); ``report_tables`` returns
the report's tables, which ``write_tables`` writes as LaTeX (booktabs) and
Markdown. ``export`` does all of it for a results folder
(``albench export RESULTS --out DIR``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from albench.analysis import plots, tables
from albench.analysis.curves import Curves
from albench.analysis.inputs import read_inputs
from albench.analysis.palette import colours as palette_colours
from albench.analysis.summary import Analysis, analyze
from albench.results import Results

FIGURE_FORMATS = ("png", "svg", "pdf")
TABLE_FORMATS = ("tex", "md")
PRINT_DPI = 300  # PNG (and anything rasterised inside SVG/PDF) at print resolution
SVG_SALT = "albench"
AT_BUDGETS = 15  # values of M shown in the active-testing error curves (log-spaced)
# analysis attributes drawn or tabled by name; any other table-valued attribute is exported as it is
KNOWN_ATTRIBUTES = ("frame", "metric", "comparison", "influence", "design", "agreement")  # agreement: in influence
PAIRWISE_MEASURE = "kendall_tau"  # the pairwise matrix drawn per hyperparameter
# values drawn in one pairwise heatmap: OGAL's 92 data sets would draw 57 inches wide (460: 2.5 GB of pixels)
MAX_HEATMAP_VALUES = 30
# column order of the influence table: the sort key next to the name, so it is never pushed off the page
INFLUENCE_FIRST = ("hyperparameter", "influence_rank", "values")
# details left out of the influence table on the page (kept in its full version, the files and the JSON)
INFLUENCE_DETAILS = ("_worst", "_worst_pair", "_units", "_reliable")


@dataclass
class StaticFigure:
    name: str  # file stem, e.g. "learning_curves"
    figure: Figure
    caption: str = ""


@dataclass
class Exported:
    figures: dict[str, dict[str, Path]] = field(default_factory=dict)  # name -> format -> path
    tables: dict[str, dict[str, Path]] = field(default_factory=dict)
    analysis: Analysis | None = None


def influence_summary(influence: pd.DataFrame) -> pd.DataFrame:
    """The influence table without the per-measure details, so it fits the page."""
    return influence[[c for c in influence.columns if not c.endswith(INFLUENCE_DETAILS)]]


def budgets(curves: Curves | pd.DataFrame) -> list[int]:
    """Up to AT_BUDGETS values of M, log-spaced over those stored."""
    stored = np.sort(Curves.of(curves).sql("SELECT DISTINCT m FROM curves WHERE m IS NOT NULL")["m"].to_numpy())
    if len(stored) <= AT_BUDGETS:
        return stored.tolist()
    wanted = np.geomspace(stored.min(), stored.max(), AT_BUDGETS)
    return sorted({int(stored[np.abs(stored - w).argmin()]) for w in wanted})


def method_colours(analysis: Analysis) -> dict[str, str]:
    """The one method -> colour map used by every figure of a report."""
    return palette_colours(analysis.frame.values(analysis.frame.method))


def pairwise_matrices(analysis: Analysis, measure: str = PAIRWISE_MEASURE) -> dict[str, pd.DataFrame]:
    """Value-against-value matrices of ``measure`` per hyperparameter, when the analysis has them
    (``analysis.agreement.matrices``: hyperparameter -> measure -> values x values)."""
    matrices = getattr(getattr(analysis, "agreement", None), "matrices", None)
    if not isinstance(matrices, dict):
        return {}
    out = {}
    for hyperparameter, by_measure in matrices.items():
        matrix = by_measure.get(measure) if isinstance(by_measure, dict) else None
        if isinstance(matrix, pd.DataFrame) and len(matrix) >= 2:
            out[str(hyperparameter)] = shown_values(matrix)
    return out


def shown_values(matrix: pd.DataFrame, limit: int = MAX_HEATMAP_VALUES) -> pd.DataFrame:
    """``matrix`` itself, or above ``limit`` values its rows and columns of the ``limit`` values compared in
    the most pairs (finite entries; ties to the earlier value), in their order; ``attrs["values_total"]``
    keeps the number of values (the full matrix stays in the analysis and its JSON)."""
    if len(matrix) <= limit:
        return matrix
    values = matrix.to_numpy(dtype=float)
    compared = np.isfinite(values).sum(axis=1) - np.isfinite(np.diag(values))
    keep = np.sort(np.argsort(-compared, kind="stable")[:limit])
    shown = matrix.iloc[keep, keep].copy()
    shown.attrs["values_total"] = len(matrix)
    return shown


def pairwise_caption(hyperparameter: str, matrix: pd.DataFrame) -> str:
    total = matrix.attrs.get("values_total")
    part = (f" Shown: the {len(matrix)} of {total} values compared in the most pairs (every value is in the "
            "analysis' JSON)." if total else "")
    return (f"Kendall tau between the leaderboards under each pair of values of {hyperparameter} (1: same ranking, "
            f"-1: reversed).{part}")


def _fields(analysis: Analysis) -> list[str]:
    return ([f.name for f in dataclasses.fields(analysis)] if dataclasses.is_dataclass(analysis)
            else list(vars(analysis)))


def extra_tables(analysis: Analysis) -> dict[str, pd.DataFrame]:
    """Tables of the analysis beyond the leaderboard, influence and design (newer analyses add them):
    every non-empty table-valued attribute, or attribute with a ``table``."""
    out = {}
    for name in _fields(analysis):
        if name in KNOWN_ATTRIBUTES:
            continue
        value = getattr(analysis, name, None)
        table = value if isinstance(value, pd.DataFrame) else getattr(value, "table", None)
        if isinstance(table, pd.DataFrame) and not table.empty:
            out[name] = table
    return out


def text_lines(analysis: Analysis) -> dict[str, list[str]]:
    """Sentences the analysis states (``verdict``, ``ranking_lines``, ...): name -> lines."""
    out = {}
    for name in _fields(analysis):
        value = getattr(analysis, name, None)
        if isinstance(value, str) and value:
            value = [value]
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            out[name] = value
    return out


def at_errors(analysis: Analysis, runs: pd.DataFrame, curves: Curves | pd.DataFrame) -> pd.DataFrame:
    """Squared error per group and M, at up to ``AT_BUDGETS`` values of M: only those curve rows are read."""
    from albench.active_testing.report import errors_by_budget

    curves = Curves.of(curves)
    shown = budgets(curves)
    rows = curves.sql("SELECT * FROM curves WHERE m IN (SELECT m FROM _budgets)",
                      _budgets=pd.DataFrame({"m": shown}))
    return errors_by_budget(runs, rows, shown)


FINAL_ERRORS_CAPTION = ("Active testing: per group of every varying key (seeds averaged) and estimator, the runs, "
                        "the mean squared error of the final estimate with its BCa 95 % interval over runs, the "
                        "median squared error and the coverage of the estimators' intervals.")


def final_errors(analysis: Analysis, runs: pd.DataFrame | None) -> pd.DataFrame | None:
    """The kind's own results table (``Kind.results_table``; active testing: the final estimates' errors, the
    table ``grid run`` ends with); None for a kind without one, or without the runs."""
    from albench.kinds import KINDS

    return KINDS[analysis.frame.kind].results_table(runs) if runs is not None else None


def kind_runs(analysis: Analysis, runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["kind"] == analysis.frame.kind] if "kind" in runs else runs


def static_figures(analysis: Analysis, runs: pd.DataFrame, curves: Curves | pd.DataFrame | None) -> list[StaticFigure]:
    """Every figure of the report, in report order, drawn with matplotlib."""
    curves = Curves.of(curves)
    frame, comparison = analysis.frame, analysis.comparison
    colours = method_colours(analysis)
    out = [StaticFigure("leaderboard", plots.leaderboard_bars(comparison, colours),
                        "Mean rank of each method (1 is best) with the critical difference from the best.")]
    if len(comparison.table) >= 2 and comparison.friedman.n_blocks >= 2:
        out.append(StaticFigure("critical_difference", plots.cd_diagram(comparison, colours),
                                "Critical difference diagram: methods joined by a bar are not significantly "
                                "different (Nemenyi post-hoc test after Friedman)."))
    if frame.kind == "at":
        out.append(StaticFigure("squared_error_vs_m", plots.at_error_curves(at_errors(analysis, runs, curves)),
                                "Mean squared error of each estimator's risk estimate after M labels, per "
                                "proposal; bands: 95 % bootstrap interval over runs."))
    elif curves is not None and curves.has("n_labelled"):
        fig, caption = plots.learning_curves(frame, curves, analysis.metric, colours)
        out.append(StaticFigure("learning_curves", fig, caption))
    if len(analysis.influence):
        out.append(StaticFigure("influence", plots.influence_bars(analysis.influence),
                                "Influence of each hyperparameter by every measure, on [0, 1]; whiskers: 95 % "
                                "bootstrap interval over blocks."))
    for hyperparameter, matrix in pairwise_matrices(analysis).items():
        out.append(StaticFigure(f"pairwise_{hyperparameter}", plots.pairwise_heatmap(hyperparameter, matrix),
                                pairwise_caption(hyperparameter, matrix)))
    if not analysis.design.curve.empty:
        out.append(StaticFigure("minimal_design", plots.design_curves(analysis.design),
                                "Mean tau over subsets of k values; bands: 5 % to 95 % of subsets."))
    return out


def save_figure(fig: Figure, folder: Path, name: str, formats=FIGURE_FORMATS, dpi: int = PRINT_DPI) -> dict[str, Path]:
    """Write ``fig`` as ``folder/name.<format>`` for each format; returns format -> path."""
    unknown = sorted(set(formats) - set(FIGURE_FORMATS))
    if unknown:
        raise ValueError(f"figure format {', '.join(unknown)} not supported; allowed: {', '.join(FIGURE_FORMATS)}")
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for fmt in formats:
        path = folder / f"{name}.{fmt}"
        metadata = {"Date": None} if fmt == "svg" else {"CreationDate": None} if fmt == "pdf" else None
        with matplotlib.rc_context({"svg.hashsalt": SVG_SALT}):  # fixed element ids: same rows, same bytes
            fig.savefig(path, format=fmt, dpi=dpi, metadata=metadata)
        fig.set_layout_engine("none")  # the first save placed everything: the next formats skip the layout
        paths[fmt] = path
    return paths


def report_tables(analysis: Analysis, runs: pd.DataFrame | None = None
                  ) -> dict[str, tuple[pd.DataFrame, tuple[str, ...], str]]:
    """Name -> (table, columns shown first, caption) for every table of the report (with the runs, active
    testing's final errors too)."""
    out = {"leaderboard": (analysis.comparison.table, (analysis.frame.method,),
                           f"Leaderboard on {analysis.metric}: mean rank within each {analysis.frame.block}.")}
    errors = final_errors(analysis, runs)
    if errors is not None and not errors.empty:
        out["final_errors"] = (errors, (), FINAL_ERRORS_CAPTION)
    if len(analysis.influence):
        out["influence"] = (analysis.influence, INFLUENCE_FIRST,
                            "Hyperparameter influence, most influential first; brackets: 95 % bootstrap interval.")
    if not analysis.design.minimal.empty:
        out["minimal_design"] = (analysis.design.minimal, ("factor",),
                                 f"Smallest number of values whose leaderboard reaches a mean Kendall tau of "
                                 f"{analysis.design.target}.")
    for name, table in extra_tables(analysis).items():
        out[name] = (table, (), name.replace("_", " "))
    return out


def write_tables(analysis: Analysis, folder: Path, formats=TABLE_FORMATS,
                 named: dict | None = None) -> dict[str, dict[str, Path]]:
    """Each table of the report as ``folder/<name>.tex`` and ``.md``: ``named`` (``report_tables``), or the
    analysis' own tables."""
    unknown = sorted(set(formats) - set(TABLE_FORMATS))
    if unknown:
        raise ValueError(f"table format {', '.join(unknown)} not supported; allowed: {', '.join(TABLE_FORMATS)}")
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, (table, first, caption) in (named if named is not None else report_tables(analysis)).items():
        written[name] = {}
        for fmt in formats:
            text = (tables.to_latex(table, first, caption=caption, label=f"tab:{name}") if fmt == "tex"
                    else tables.to_markdown(table, first))
            path = folder / f"{name}.{fmt}"
            path.write_text(text, encoding="utf-8")
            written[name][fmt] = path
    return written


def export(results: Results, out: Path, figure_formats=FIGURE_FORMATS, table_formats=TABLE_FORMATS,
           metric: str | None = None, kind: str | None = None, n_resamples: int = 1000,
           progress: Callable[[str], None] | None = None) -> Exported:
    """Analyse ``results`` and write ``out/figures/*.{png,svg,pdf}`` and ``out/tables/*.{tex,md}``."""
    say = progress or (lambda step: None)
    runs, curves = read_inputs(results, metric)
    analysis = analyze(runs, curves, metric=metric, kind=kind, n_resamples=n_resamples, progress=say)
    exported = Exported(analysis=analysis)
    if figure_formats:
        say("figures")
        for figure in static_figures(analysis, kind_runs(analysis, runs), curves):
            exported.figures[figure.name] = save_figure(figure.figure, Path(out) / "figures", figure.name,
                                                        figure_formats)
    if table_formats:
        exported.tables = write_tables(analysis, Path(out) / "tables", table_formats,
                                       report_tables(analysis, kind_runs(analysis, runs)))
    return exported
