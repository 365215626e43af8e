"""``albench export``: a results folder's figures and tables as files for a paper."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from albench.cli.common import console, err_console, fail, output_folder

RESULTS_HELP = "Results folder of a grid, e.g. results/quick (holding runs/ and curves/)."


def export(
    results: Path = typer.Argument(..., help=RESULTS_HELP, show_default=False),
    out: Path = typer.Option(None, "--out", "-o", help="Folder for figures/ and tables/.",
                             show_default="RESULTS/export; RESULTS/export-KIND with --kind in a folder of both kinds"),
    latex: bool = typer.Option(True, "--latex/--no-latex", help="Tables as LaTeX (booktabs) .tex files."),
    markdown: bool = typer.Option(True, "--markdown/--no-markdown", help="Tables as Markdown .md files."),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Figures as vector PDF."),
    svg: bool = typer.Option(True, "--svg/--no-svg", help="Figures as SVG."),
    png: bool = typer.Option(True, "--png/--no-png", help="Figures as PNG at 300 dpi."),
    metric: str = typer.Option(None, "--metric", "-m", help="Metric to rank on.",
                               show_default="auc_accuracy for AL, squared_error for active testing"),
    kind: str = typer.Option(None, "--kind", help="al or at, when the folder holds runs of both kinds."),
    resamples: int = typer.Option(1000, "--resamples", min=10, help="Bootstrap resamples for confidence intervals."),
    as_json: bool = typer.Option(False, "--json", help="Print the paths written as JSON."),
) -> None:
    """Write every figure of the report as PNG, SVG and PDF and every table as LaTeX and Markdown."""
    from albench.analysis.export import export as run_export
    from albench.analysis.frame import AnalysisError
    from albench.results import ResultsError, open as open_results

    try:
        res = open_results(results)
    except ResultsError as exc:
        fail(str(exc))
    figure_formats = [f for f, wanted in (("png", png), ("svg", svg), ("pdf", pdf)) if wanted]
    table_formats = [f for f, wanted in (("tex", latex), ("md", markdown)) if wanted]
    if not figure_formats and not table_formats:
        fail("nothing to export: every format is switched off (--no-latex --no-markdown --no-pdf --no-svg --no-png)")
    out = out if out is not None else output_folder(res, "export", kind)
    context = err_console.status("reading results") if not as_json else None
    try:
        if context is not None:
            with context as status:
                done = run_export(res, out, figure_formats, table_formats, metric=metric, kind=kind,
                                  n_resamples=resamples, progress=lambda step: status.update(f"{step} ..."))
        else:
            done = run_export(res, out, figure_formats, table_formats, metric=metric, kind=kind,
                              n_resamples=resamples)
    except AnalysisError as exc:
        fail(str(exc))
    paths = {"figures": {n: {f: str(p) for f, p in d.items()} for n, d in done.figures.items()},
             "tables": {n: {f: str(p) for f, p in d.items()} for n, d in done.tables.items()}}
    if as_json:
        print(json.dumps(paths))
        return
    console.print(f"exported to {out}: {len(done.figures)} figures ({', '.join(figure_formats) or 'none'}), "
                  f"{len(done.tables)} tables ({', '.join(table_formats) or 'none'})", highlight=False, markup=False,
                  soft_wrap=True)  # the path stays whole, for copying


def install(app: typer.Typer) -> None:
    app.command("export")(export)
