"""A self-contained HTML report of one results folder, and its figures and tables as files.

``write_report`` runs the whole analysis (``summary.analyze``) and writes
``<out>/report.html``. The default page is interactive: plotly.js is embedded
(the file works offline and can be mailed or archived alone), learning
curves can be split by any hyperparameter and filtered by data set, tables
sort on a click and hovering shows values. ``interactive=False`` writes the
static page instead (PNG figures embedded as data URIs, no script).

Either way every figure is also written as ``<out>/plots/<name>.{png,svg,pdf}``
(matplotlib, ``export.static_figures``), every table as
``<out>/tables/<name>.{tex,md}``, and where the rows came from as
``<out>/provenance.json`` (``albench.provenance``), also printed at the end of
the page.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Callable

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from albench.active_bench.report_section import full_grid_section
from albench.analysis import export, interactive, stats, tables
from albench.analysis.inputs import read_inputs
from albench.analysis.summary import Analysis, analyze
from albench.provenance import file_sha256, version
from albench.provenance import provenance as collect_provenance
from albench.results import Results

DPI = 100  # the PNG shown in the static page and stored in plots/ (SVG and PDF are vector)
REPORT_FIGURE_FORMATS = ("png", "svg", "pdf")
MANIFEST = ".manifest.json"  # the inputs' fingerprint and the files written, to skip an unchanged report

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
.table-wrap { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.8em 0; }
th, td { padding: 0.2em 0.6em; border-bottom: 1px solid #eee; white-space: nowrap; }
th.num, td.num { text-align: right; } th.text, td.text { text-align: left; }
table.sortable th { cursor: pointer; user-select: none; background: #f6f6f6; }
table.sortable th[aria-sort="ascending"]::after { content: " \\25B2"; font-size: 0.7em; }
table.sortable th[aria-sort="descending"]::after { content: " \\25BC"; font-size: 0.7em; }
img, svg.static { max-width: 100%; height: auto; } .caption { color: #555; font-size: 0.85em; margin-top: 0.2em; }
.verdict { font-weight: 600; } .files { font-size: 0.8em; color: #555; }
.controls { font-size: 0.85em; margin: 0.5em 0; } .control { margin-right: 1.5em; }
.controls label { margin-right: 0.8em; white-space: nowrap; }
.chart { width: 100%; } dl.provenance { font-size: 0.85em; display: grid; grid-template-columns: max-content 1fr; }
dl.provenance dt { font-weight: 600; padding-right: 1em; } dl.provenance dd { margin: 0; overflow-wrap: anywhere; }
"""


@dataclass
class Report:
    html: Path
    plots: list[Path] = field(default_factory=list)  # one PNG per figure, in page order
    files: dict[str, dict[str, Path]] = field(default_factory=dict)  # figure or table -> format -> path
    analysis: Analysis | None = None
    provenance: dict = field(default_factory=dict)


def _svg_inline(fig: Figure) -> str:
    buffer = BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": export.SVG_SALT}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue().decode("utf-8")
    text = text[text.index("<svg"):]
    return text.replace("<svg ", '<svg class="static" ', 1)


class _Page:
    """Collects HTML sections; figures are drawn interactively or embedded as PNG."""

    def __init__(self, out: Path, interactive_page: bool):
        self.out = out
        self.interactive = interactive_page
        self.parts: list[str] = []

    def heading(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def text(self, text: str, cls: str = "") -> None:
        attr = f' class="{cls}"' if cls else ""
        self.parts.append(f"<p{attr}>{html.escape(text)}</p>")

    def table(self, df: pd.DataFrame, first: tuple[str, ...] = (), table_id: str | None = None) -> None:
        self.parts.append(tables.to_html(df, first, table_id))

    def details(self, summary: str, inner_html: str) -> None:
        self.parts.append(f"<details><summary>{html.escape(summary)}</summary>{inner_html}</details>")

    def caption(self, text: str) -> None:
        if text:
            self.parts.append(f'<p class="caption">{html.escape(text)}</p>')

    def static_figure(self, figure: export.StaticFigure, files: dict[str, Path], inline_svg: bool = False) -> None:
        """The matplotlib figure in the page: PNG data URI (static page) or inline SVG."""
        if inline_svg:
            body = _svg_inline(figure.figure)
        else:
            encoded = base64.b64encode(files["png"].read_bytes()).decode("ascii")
            body = f'<img alt="{html.escape(figure.name)}" src="data:image/png;base64,{encoded}">'
        self.parts.append(f'<figure class="static-figure" id="figure-{html.escape(figure.name)}">{body}'
                          + (f'<figcaption class="caption">{html.escape(figure.caption)}</figcaption>'
                             if figure.caption else "") + "</figure>")
        self.files(files)

    def files(self, files: dict[str, Path]) -> None:
        links = " · ".join(f'<a href="{html.escape(p.relative_to(self.out).as_posix())}">{fmt.upper()}</a>'
                           for fmt, p in files.items())
        self.parts.append(f'<p class="files">for a paper: {links}</p>')


def _leaderboard_text(analysis: Analysis) -> tuple[str, str]:
    frame, comparison = analysis.frame, analysis.comparison
    s = comparison.summary()
    first = (f"{comparison.method} ranked within each {frame.block} on {analysis.metric} "
             f"({'higher' if comparison.higher_is_better else 'lower'} is better), mean over the other "
             f"hyperparameters; ranks averaged over {stats.blocks(s['blocks'])}"
             + (f" ({s['dropped_blocks']} left out: some method has no successful run there)"
                if s["dropped_blocks"] else "") + ". Click a column to sort.")
    second = (f"Friedman chi-square = {tables.number(s['friedman_chi2'])}, p = {tables.number(s['friedman_p'])}; "
              f"Nemenyi critical difference at alpha = {s['alpha']}: {tables.number(s['critical_difference'])} "
              f"in mean rank.")
    return first, second


def _provenance_html(prov: dict) -> str:
    rows = [("albench", prov.get("albench_version")), ("grid file", prov.get("grid_file") or "not known"),
            ("grid SHA-256", prov.get("grid_sha256") or "not known"), ("results", prov.get("results")),
            ("command", prov.get("command")), ("date (UTC)", prov.get("date_utc")),
            ("machine", ", ".join(f"{k} {v}" for k, v in (prov.get("machine") or {}).items())),
            ("libraries", ", ".join(f"{k} {v}" for k, v in (prov.get("libraries") or {}).items()))]
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in rows)
    return f'<dl class="provenance">{items}</dl>'


def fingerprint(results: Results, **options) -> str:
    """What a report is a function of: the stored part files (name, size, mtime) with a budgeted grid's
    design, the runs kept, albench's version and the options. Equal fingerprints: the same report."""
    files = [p for table in ("runs", "curves") for p in results.parts(table)]
    files += sorted((results.root / "design").glob("*.parquet"))  # a new round's draws change the estimate
    parts = sorted((p.relative_to(results.root).as_posix(), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    run_ids = sorted(results.run_ids) if getattr(results, "run_ids", None) is not None else None
    inputs = {"parts": parts, "run_ids": run_ids, "albench": version("albench"),
              "options": {k: str(v) for k, v in sorted(options.items())}}
    return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()


def _unchanged(out: Path, stamp: str) -> Report | None:
    """The report already in ``out`` when it was written from the same inputs (every file still there)."""
    try:
        manifest = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("fingerprint") != stamp:
        return None
    files = {name: {fmt: out / rel for fmt, rel in formats.items()} for name, formats in manifest["files"].items()}
    paths = [out / "report.html", *(p for formats in files.values() for p in formats.values())]
    if not all(p.is_file() for p in paths):
        return None
    return Report(out / "report.html", [out / p for p in manifest["plots"]], files, None, manifest["provenance"])


def write_report(results: Results, out: Path | None = None, metric: str | None = None, kind: str | None = None,
                 n_resamples: int = 1000, progress: Callable[[str], None] | None = None,
                 interactive_page: bool = True, grid_file: Path | None = None,
                 argv: list[str] | None = None, force: bool = False) -> Report:
    """Analyse ``results`` and write ``<out>/report.html`` (default ``<results>/report``) with its files.

    ``interactive_page=False`` writes the static page (PNG figures, no script).
    ``grid_file`` (the grid the results came from) and ``argv`` go into the
    provenance; without ``grid_file`` a ``grid.yaml`` in the results folder is used.
    A report written from the same part files with the same options is not
    drawn again (``Report.analysis`` is then None) unless ``force``.
    """
    say = progress or (lambda step: None)
    out = Path(out) if out is not None else results.root / "report"
    stamp = fingerprint(results, metric=metric, kind=kind, n_resamples=n_resamples, interactive=interactive_page,
                        grid_file=grid_file and file_sha256(grid_file))
    if not force and (done := _unchanged(out, stamp)) is not None:
        say("report unchanged")
        return done
    runs, curves = read_inputs(results, metric)
    analysis = analyze(runs, curves, metric=metric, kind=kind, n_resamples=n_resamples, progress=say)
    frame, comparison = analysis.frame, analysis.comparison
    runs = export.kind_runs(analysis, runs)
    prov = collect_provenance(grid_file, results.root, argv)
    say("figures")
    figures = {f.name: f for f in export.static_figures(analysis, runs, curves)}
    files = {name: export.save_figure(f.figure, out / "plots", name, REPORT_FIGURE_FORMATS, dpi=DPI)
             for name, f in figures.items()}
    named_tables = export.report_tables(analysis, runs)
    table_files = export.write_tables(analysis, out / "tables", named=named_tables)
    colours = export.method_colours(analysis)
    page = _Page(out, interactive_page)

    def show(name: str, chart_html: str | None = None, caption: str | None = None) -> None:
        """A figure: its interactive chart when the page is interactive, else its PNG."""
        if name not in figures:
            return
        if interactive_page and chart_html is not None:
            page.parts.append(chart_html)
            page.caption(caption if caption is not None else figures[name].caption)
            page.files(files[name])
        else:
            page.static_figure(figures[name], files[name])

    page.heading("Leaderboard")
    lines = export.text_lines(analysis)
    for line in lines.pop("verdict", []):
        page.text(line, "verdict")
    for line in lines.pop("notes", []):
        page.text(f"Note: {line}")
    for line in _leaderboard_text(analysis):
        page.text(line)
    page.table(comparison.table, (frame.method,), "leaderboard")
    page.files(table_files["leaderboard"])
    show("leaderboard", interactive.leaderboard_chart(comparison, colours) if interactive_page else None)
    if "critical_difference" in figures:
        # a diagram, not a chart: vector SVG in the interactive page
        page.static_figure(figures["critical_difference"], files["critical_difference"], inline_svg=interactive_page)
    else:
        page.text("No critical difference diagram: it needs at least two methods and two blocks.", "caption")
    page.parts += full_grid_section(results.root, analysis.metric)  # a budgeted folder: the full grid's estimate

    if frame.kind == "at":
        page.heading("Squared error against M")
        chart = interactive.at_error_chart(export.at_errors(analysis, runs, curves)) if interactive_page else None
        show("squared_error_vs_m", *(chart or (None, None)))
        if "final_errors" in table_files:
            page.heading("Error of the final estimate")
            page.text(export.FINAL_ERRORS_CAPTION)
            page.table(named_tables["final_errors"][0], (), "final-errors")
            page.files(table_files["final_errors"])
    elif "learning_curves" in figures:
        page.heading("Learning curves")
        chart = interactive.learning_curves_chart(frame, curves, analysis.metric, colours) if interactive_page else None
        show("learning_curves", *(chart or (None, None)))

    page.heading("Hyperparameter influence")
    page.text("Sorted by influence_rank (most influential first): the mean rank over the measures. fANOVA and "
              "PED-ANOVA: importance from optuna (sums to 1); kendall_tau: agreement of the leaderboard under each "
              "value with the full one; pearson_r: correlation of matched runs differing only in this "
              "hyperparameter; jaccard: overlap of their queried indices; brackets: 95 % bootstrap interval over "
              "blocks. In the figure the similarities become influences on [0, 1]: (1 - tau) / 2, (1 - r) / 2 "
              "and 1 - Jaccard.")
    for line in lines.pop("ranking_lines", []):
        page.text(line)
    page.table(export.influence_summary(analysis.influence), export.INFLUENCE_FIRST, "influence")
    if export.influence_summary(analysis.influence).shape[1] < analysis.influence.shape[1]:
        page.details("every column (worst pair of values, units compared, reliability per measure)",
                     tables.to_html(analysis.influence, export.INFLUENCE_FIRST, "influence-full"))
    if "influence" in table_files:
        page.files(table_files["influence"])
    show("influence", interactive.influence_chart(analysis.influence) if interactive_page else None)

    pairwise = export.pairwise_matrices(analysis)
    if pairwise:
        page.heading("Pairwise stability")
        page.text("Agreement of the leaderboards built under each pair of values of a hyperparameter "
                  "(1: same ranking, -1: reversed).")
        for i, (hyperparameter, matrix) in enumerate(pairwise.items()):
            name = f"pairwise_{hyperparameter}"
            show(name, interactive.heatmap_chart(f"pairwise-{i}", hyperparameter, matrix) if interactive_page else None)

    for name, table in export.extra_tables(analysis).items():
        page.heading(name.replace("_", " ").capitalize())
        for line in lines.pop(f"{name.rstrip('s')}_lines", []):
            page.text(line)
        page.table(table, (), name)
        page.files(table_files[name])
    for name, text in lines.items():  # any other statement of a newer analysis
        page.heading(name.replace("_", " ").capitalize())
        for line in text:
            page.text(line)

    page.heading("Minimal study design")
    design = analysis.design
    if design.curve.empty:
        page.text("No factor with two or more values to subsample.")
    else:
        page.text(f"Kendall tau of the leaderboard built from k values of a factor against the full leaderboard; "
                  f"minimal_k: smallest k whose mean tau reaches {design.target}.")
        page.table(design.minimal, ("factor",), "minimal-design")
        page.files(table_files["minimal_design"])
        show("minimal_design", interactive.design_chart(design) if interactive_page else None)

    failed = runs[runs["status"] != "ok"]
    if len(failed):
        page.heading("Failed runs")
        counts = failed.groupby(["status", "error"], dropna=False).size().rename("runs").reset_index()
        page.table(counts.sort_values("runs", ascending=False).head(20))

    page.heading("Provenance")
    page.parts.append(_provenance_html(prov))

    grids = ", ".join(sorted(map(str, runs["grid"].dropna().unique()))) if "grid" in runs else results.root.name
    header = (f"<h1>albench report: {html.escape(grids)}</h1><p>{html.escape(str(results.root))}: "
              f"{len(frame.ok['run_id'].unique())} successful runs of kind {frame.kind}, {len(failed)} failed; "
              f"written {html.escape(prov['date_utc'])} by albench {html.escape(str(prov['albench_version']))}.</p>")
    scripts = ""
    if interactive_page:
        scripts = (f"<script>{interactive.plotly_js()}</script>\n"
                   f"<script>{interactive.report_js()}</script>\n")
    doc = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
           f"<title>albench report: {html.escape(grids)}</title><style>{STYLE}</style></head><body>\n{header}\n"
           + "\n".join(page.parts) + f"\n{scripts}</body></html>\n")
    out.mkdir(parents=True, exist_ok=True)
    (out / "provenance.json").write_text(json.dumps(prov, indent=2) + "\n", encoding="utf-8")
    path = out / "report.html"
    path.write_text(doc, encoding="utf-8")
    report = Report(path, [files[name]["png"] for name in figures], {**files, **table_files}, analysis, prov)
    manifest = {"fingerprint": stamp, "plots": [p.relative_to(out).as_posix() for p in report.plots],
                "files": {n: {f: p.relative_to(out).as_posix() for f, p in d.items()} for n, d in report.files.items()},
                "provenance": prov}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return report
