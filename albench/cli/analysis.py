"""``albench analyze|query|report``: answers from a results folder."""

from __future__ import annotations

import json
import math
from contextlib import contextmanager
from pathlib import Path

import typer

from albench.cli.common import console, err_console, fail, print_frame

RESULTS_HELP = "Results folder of a grid, e.g. results/quick (holding runs/ and curves/)."
MAX_PRINTED_ROWS = 50


def _open(path: Path):
    from albench.results import ResultsError, open as open_results

    try:
        return open_results(path)
    except ResultsError as exc:
        fail(str(exc))


@contextmanager
def _steps(quiet: bool):
    """A spinner on stderr naming the current step (none with --json, so stdout stays parseable)."""
    if quiet:
        yield lambda step: None
        return
    with err_console.status("reading results") as status:
        yield lambda step: status.update(f"{step} ...")


def analyze(
    results: Path = typer.Argument(..., help=RESULTS_HELP, show_default=False),
    metric: str = typer.Option(None, "--metric", "-m", help="Metric to rank on.",
                               show_default="auc_accuracy for AL, squared_error for active testing"),
    kind: str = typer.Option(None, "--kind", help="al or at, when the folder holds runs of both kinds."),
    resamples: int = typer.Option(1000, "--resamples", min=10, help="Bootstrap resamples for confidence intervals."),
    as_json: bool = typer.Option(False, "--json", help="Print the same tables as one JSON object."),
) -> None:
    """Leaderboard (mean ranks, Friedman, Nemenyi CD), hyperparameter influence and minimal study design."""
    from albench.analysis.frame import AnalysisError
    from albench.analysis.summary import analyze as run_analysis

    res = _open(results)
    with _steps(as_json) as say:
        try:
            analysis = run_analysis(res.runs, res.curves, metric=metric, kind=kind, n_resamples=resamples,
                                    progress=say)
        except AnalysisError as exc:
            fail(str(exc))
    if as_json:
        print(analysis.to_json())
        return
    c, f = analysis.comparison, analysis.frame
    s = c.summary()
    print_frame(c.table, title=f"leaderboard: {f.method} by mean rank over {s['blocks']} {f.block} blocks "
                               f"({analysis.metric}, {'higher' if c.higher_is_better else 'lower'} is better)")
    console.print(f"Friedman chi2 = {_num(s['friedman_chi2'])}, p = {_num(s['friedman_p'])}; Nemenyi critical "
                  f"difference (alpha {s['alpha']}) = {_num(s['critical_difference'])} in mean rank"
                  + (f"; {s['dropped_blocks']} incomplete blocks left out" if s["dropped_blocks"] else ""),
                  highlight=False)
    short = {"hyperparameter": "hyperparameter", "values": "n", "fanova": "fANOVA", "ped_anova": "PED-ANOVA",
             "kendall_tau": "tau", "pearson_r": "r", "jaccard": "jaccard", "influence_rank": "rank"}
    if analysis.influence.empty:
        console.print("hyperparameter influence: no hyperparameter takes two values among the successful runs")
    else:
        print_frame(analysis.influence[list(short)].rename(columns=short), floatfmt="{:.3f}",
                    title="hyperparameter influence, most first (tau, r, jaccard: stability; CIs in --json)")
    if not analysis.design.minimal.empty:
        print_frame(analysis.design.minimal,
                    title=f"minimal study design: smallest k of n values whose leaderboard reaches a mean "
                          f"Kendall tau of {analysis.design.target} against the full one")


def _num(value: float) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4g}"


def query(
    results: Path = typer.Argument(..., help=RESULTS_HELP, show_default=False),
    sql: str = typer.Argument(..., help="SQL over the tables runs and curves, e.g. "
                                        "\"SELECT strategy, avg(auc_accuracy) FROM runs GROUP BY 1\".",
                              show_default=False),
    out: Path = typer.Option(None, "--out", "-o", help="Write the rows to a .csv or .parquet file instead."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as a JSON list of objects."),
) -> None:
    """Run SQL (DuckDB) over the stored Parquet parts; columns missing from older parts read as NULL."""
    import duckdb

    from albench.results import connect, sql_error_line

    if out is not None and out.suffix.lower() not in (".csv", ".parquet"):
        fail(f"--out: {out} must end in .csv or .parquet")
    res = _open(results)
    with connect(res) as con:
        try:
            relation = con.sql(sql)
            if relation is None:
                console.print("statement ran; it returns no rows")
                return
            if out is not None:
                out.parent.mkdir(parents=True, exist_ok=True)
                (relation.write_csv if out.suffix.lower() == ".csv" else relation.write_parquet)(str(out))
                console.print(f"wrote {out}")
                return
            df = relation.df()
        except duckdb.Error as exc:
            fail(f"query failed: {sql_error_line(exc)}")
    if as_json:
        print(df.to_json(orient="records", date_format="iso"))
        return
    print_frame(df.head(MAX_PRINTED_ROWS))
    if len(df) > MAX_PRINTED_ROWS:
        console.print(f"... {len(df) - MAX_PRINTED_ROWS} more rows ({len(df)} in all; --out writes every row)")


def report(
    results: Path = typer.Argument(..., help=RESULTS_HELP, show_default=False),
    out: Path = typer.Option(None, "--out", "-o", help="Folder for report.html and plots/.",
                             show_default="RESULTS/report"),
    metric: str = typer.Option(None, "--metric", "-m", help="Metric to rank on.",
                               show_default="auc_accuracy for AL, squared_error for active testing"),
    kind: str = typer.Option(None, "--kind", help="al or at, when the folder holds runs of both kinds."),
    resamples: int = typer.Option(1000, "--resamples", min=10, help="Bootstrap resamples for confidence intervals."),
    as_json: bool = typer.Option(False, "--json", help="Print the paths written as JSON."),
) -> None:
    """Write a self-contained HTML report with PNG figures (learning curves or squared error against M,
    leaderboard, critical difference diagram, influence ranking, minimal study design)."""
    from albench.analysis.frame import AnalysisError
    from albench.analysis.report import write_report

    res = _open(results)
    with _steps(as_json) as say:
        try:
            rep = write_report(res, out, metric=metric, kind=kind, n_resamples=resamples, progress=say)
        except AnalysisError as exc:
            fail(str(exc))
    if as_json:
        print(json.dumps({"html": str(rep.html), "plots": [str(p) for p in rep.plots]}))
    else:
        console.print(f"report: {rep.html} ({len(rep.plots)} figures)", highlight=False)


def install(app: typer.Typer) -> None:
    app.command("analyze")(analyze)
    app.command("query")(query)
    app.command("report")(report)
