"""A self-contained HTML report of one results folder.

``write_report`` runs the whole analysis (``summary.analyze``), draws the
figures (``plots``), writes each as a PNG file under ``<out>/plots/`` and
embeds the same bytes in ``<out>/report.html`` as data URIs, so the HTML file
alone can be mailed or archived.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from albench.analysis import plots
from albench.analysis.summary import Analysis, analyze
from albench.results import Results

DPI = 100
AT_BUDGETS = 15  # values of M shown in the active-testing error curves (log-spaced)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.8em 0; }
th, td { padding: 0.2em 0.6em; text-align: right; border-bottom: 1px solid #eee; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; } .caption { color: #555; font-size: 0.85em; margin-top: 0.2em; }
"""


@dataclass
class Report:
    html: Path
    plots: list[Path] = field(default_factory=list)
    analysis: Analysis | None = None


class _Page:
    """Collects HTML sections and figures; figures go to files and into the page."""

    def __init__(self, out: Path):
        self.out = out
        self.parts: list[str] = []
        self.plots: list[Path] = []

    def heading(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def text(self, text: str, cls: str = "") -> None:
        attr = f' class="{cls}"' if cls else ""
        self.parts.append(f"<p{attr}>{html.escape(text)}</p>")

    def table(self, df: pd.DataFrame) -> None:
        self.parts.append(df.to_html(index=False, border=0, na_rep="-", float_format=_fmt))

    def figure(self, name: str, fig: Figure, caption: str = "") -> None:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI)
        data = buffer.getvalue()
        path = self.out / "plots" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.plots.append(path)
        encoded = base64.b64encode(data).decode("ascii")
        self.parts.append(f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{encoded}">'
                          + (f'<figcaption class="caption">{html.escape(caption)}</figcaption>' if caption else "")
                          + "</figure>")


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return "-"
    return f"{value:.4g}"


def _budgets(curves: pd.DataFrame) -> list[int]:
    """Up to AT_BUDGETS values of M, log-spaced over those stored."""
    stored = np.unique(curves["m"].to_numpy())
    if len(stored) <= AT_BUDGETS:
        return stored.tolist()
    wanted = np.geomspace(stored.min(), stored.max(), AT_BUDGETS)
    return sorted({int(stored[np.abs(stored - w).argmin()]) for w in wanted})


def write_report(results: Results, out: Path | None = None, metric: str | None = None, kind: str | None = None,
                 n_resamples: int = 1000, progress: Callable[[str], None] | None = None) -> Report:
    """Analyse ``results`` and write ``<out>/report.html`` (default ``<results>/report``)."""
    say = progress or (lambda step: None)
    out = Path(out) if out is not None else results.root / "report"
    runs, curves = results.runs, results.curves
    analysis = analyze(runs, curves, metric=metric, kind=kind, n_resamples=n_resamples, progress=say)
    frame, comparison = analysis.frame, analysis.comparison
    if "kind" in runs:
        runs = runs[runs["kind"] == frame.kind]
    page = _Page(out)
    say("figures")

    page.heading("Leaderboard")
    s = comparison.summary()
    page.text(f"{comparison.method} ranked within each {frame.block} on {analysis.metric} "
              f"({'higher' if comparison.higher_is_better else 'lower'} is better), mean over the other "
              f"hyperparameters; ranks averaged over {s['blocks']} blocks"
              + (f" ({s['dropped_blocks']} left out: some method has no successful run there)"
                 if s["dropped_blocks"] else "") + ".")
    page.text(f"Friedman chi-square = {_fmt(s['friedman_chi2'])}, p = {_fmt(s['friedman_p'])}; "
              f"Nemenyi critical difference at alpha = {s['alpha']}: {_fmt(s['critical_difference'])} in mean rank.")
    page.table(comparison.table)
    page.figure("leaderboard", plots.leaderboard_bars(comparison))
    if len(comparison.table) >= 2 and s["blocks"] >= 2:
        page.figure("critical_difference", plots.cd_diagram(comparison),
                    "Critical difference diagram: methods joined by a bar are not significantly different "
                    "(Nemenyi post-hoc test after Friedman).")
    else:
        page.text("No critical difference diagram: it needs at least two methods and two blocks.", "caption")

    if frame.kind == "at":
        from albench.active_testing.report import errors_by_budget

        page.heading("Squared error against M")
        errors = errors_by_budget(runs, curves, _budgets(curves))
        page.figure("squared_error_vs_m", plots.at_error_curves(errors),
                    "Mean squared error of each estimator's risk estimate after M labels, per proposal; "
                    "bands: 95 % bootstrap interval over runs.")
    elif "n_labelled" in curves.columns:
        page.heading("Learning curves")
        fig, caption = plots.learning_curves(frame, curves, analysis.metric)
        page.figure("learning_curves", fig, caption)

    page.heading("Hyperparameter influence")
    page.text("Most influential first. fANOVA and PED-ANOVA: importance from optuna (sums to 1); kendall_tau: "
              "agreement of the leaderboard under each value with the full one; pearson_r: correlation of matched "
              "runs differing only in this hyperparameter; jaccard: overlap of their queried indices; brackets "
              "_low/_high: 95 % bootstrap interval over blocks. influence_rank: mean rank over the measures.")
    page.table(analysis.influence)
    if len(analysis.influence):
        page.figure("influence", plots.influence_bars(analysis.influence))

    page.heading("Minimal study design")
    design = analysis.design
    if design.curve.empty:
        page.text("No factor with two or more values to subsample.")
    else:
        page.text(f"Kendall tau of the leaderboard built from k values of a factor against the full leaderboard; "
                  f"minimal_k: smallest k whose mean tau reaches {design.target}.")
        page.table(design.minimal)
        page.figure("minimal_design", plots.design_curves(design),
                    "Mean tau over subsets of k values; bands: 5 % to 95 % of subsets.")

    failed = runs[runs["status"] != "ok"]
    if len(failed):
        page.heading("Failed runs")
        counts = failed.groupby(["status", "error"], dropna=False).size().rename("runs").reset_index()
        page.table(counts.sort_values("runs", ascending=False).head(20))

    grids = ", ".join(sorted(map(str, runs["grid"].dropna().unique()))) if "grid" in runs else results.root.name
    header = (f"<h1>albench report: {html.escape(grids)}</h1><p>{html.escape(str(results.root))}: "
              f"{len(frame.ok['run_id'].unique())} successful runs of kind {frame.kind}, {len(failed)} failed; "
              f"written {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.</p>")
    doc = (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>albench report: {html.escape(grids)}"
           f"</title><style>{STYLE}</style></head><body>\n{header}\n" + "\n".join(page.parts) + "\n</body></html>\n")
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.html"
    path.write_text(doc, encoding="utf-8")
    return Report(path, page.plots, analysis)
