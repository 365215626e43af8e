"""``albench analyze|query|report``: answers from a results folder."""

from __future__ import annotations

import json
import math
from contextlib import contextmanager
from pathlib import Path

import typer

from albench.cli.common import console, err_console, fail, print_frame
from albench.wording import counted

RESULTS_HELP = "Results folder of a grid, e.g. results/quick (holding runs/ and curves/)."
GRID_HELP = ("Grid YAML file: use only the stored runs of this grid (leaving out rows of earlier versions "
             "of it, e.g. the failed runs of a since-fixed typo).")
BLOCK_HELP = "Columns to rank the methods within, joined by commas, e.g. dataset or dataset,learner."
BLOCK_DEFAULT = ("the data set crossed with every varying hyperparameter that is neither part of the method "
                 "nor a replicate (seed, start_point, split)")
ROPE_HELP = "Region of practical equivalence: metric differences within +-ROPE count as ties."
MAX_PRINTED_ROWS = 50


def _open(path: Path, grid: Path | None = None):
    from albench.results import ResultsError, connect, fetch, grid_run_ids, open as open_results

    try:
        res = open_results(path, run_ids=grid_run_ids(grid) if grid is not None else None)
        if grid is not None:  # none stored: say so here, not "no runs stored" later, since the grid is why
            with connect(res) as con:
                if not fetch(con, "SELECT 1 FROM runs LIMIT 1"):
                    fail(f"--grid {grid}: none of its {len(res.run_ids):,} runs is stored in {path}")
    except ResultsError as exc:
        fail(str(exc))
    return res


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
    block: str = typer.Option(None, "--block", help=BLOCK_HELP, show_default=BLOCK_DEFAULT),
    rope: float = typer.Option(None, "--rope", min=0.0, help=ROPE_HELP,
                               show_default="0.01 for AL (a point of accuracy), 0 for active testing"),
    grid: Path = typer.Option(None, "--grid", help=GRID_HELP, show_default=False),
    seed: int = typer.Option(0, "--seed", help="Seed of every bootstrap, subsample and fANOVA forest."),
    include_oracles: bool = typer.Option(False, "--include-oracles",
                                         help="Rank oracle baselines (they read the test labels) with the strategies."),
    as_json: bool = typer.Option(False, "--json", help="Print the same tables as one JSON object."),
) -> None:
    """Verdict (who wins, by how much, how sure), leaderboard (mean ranks within the stated blocks, Friedman,
    Nemenyi CD), effect sizes, hyperparameter influence and flips, implementation twins, minimal study design."""
    from albench.analysis.frame import AnalysisError
    from albench.analysis.inputs import read_inputs
    from albench.analysis.summary import analyze as run_analysis
    from albench.store import StoreError

    res = _open(results, grid)
    with _steps(as_json) as say:
        try:
            runs, curves = read_inputs(res, metric)
            analysis = run_analysis(runs, curves, metric=metric, kind=kind, block=block,
                                    n_resamples=resamples, seed=seed, rope=rope, progress=say,
                                    include_oracles=include_oracles)
        except (AnalysisError, StoreError) as exc:  # a damaged part names its file
            fail(str(exc))
    from albench.active_bench import estimate_folder, is_budgeted

    # a budgeted folder (`grid sample`): the full grid's means, estimated from the sampled blocks
    full_grid = None
    if is_budgeted(res.root):
        try:
            full_grid = estimate_folder(res.root, analysis.metric)
        except ValueError as exc:  # ActiveBenchError: e.g. a metric the design did not record
            err_console.print(f"no full-grid estimate: {exc}", markup=False, highlight=False)
    if as_json:
        import sys

        from albench.provenance import provenance

        doc = {**analysis.to_dict(), "provenance": provenance(grid_file=grid, results_root=res.root, argv=sys.argv)}
        if full_grid is not None:
            doc["full_grid_estimate"] = full_grid.to_dict()
        print(json.dumps(doc, indent=2))
        return
    _print_analysis(analysis)
    if full_grid is not None:
        from albench.cli.active_bench import print_estimate

        print_estimate(full_grid, f"full-grid estimate of mean {analysis.metric} (every cell, run or not), from "
                                  f"the sampled blocks (albench grid sample)")


def _say(line: str) -> None:
    console.print(line, highlight=False, markup=False)


def _print_analysis(analysis) -> None:
    from albench.analysis import stats

    c, f = analysis.comparison, analysis.frame
    s = c.summary()
    for line in analysis.verdict:
        _say(line)
    for line in analysis.notes:
        _say(f"note: {line}")
    blocks = " x ".join(c.blocks)
    print_frame(c.table, title=f"leaderboard: {f.method} by mean rank within {stats.blocks(s['blocks'])} ({blocks}) "
                               f"({analysis.metric}, {'higher' if c.higher_is_better else 'lower'} is better)")
    if len(c.table) > 1:  # one method: no test to state (the verdict says so)
        _say(f"Friedman chi2 = {_num(s['friedman_chi2'])}, p = {_num(s['friedman_p'])}; Nemenyi critical "
             f"difference (alpha {s['alpha']}) = {_num(s['critical_difference'])} in mean rank"
             + (f"; {counted(s['dropped_blocks'], 'incomplete block')} left out" if s["dropped_blocks"] else ""))
        _say(c.power_note())
    if analysis.effects is not None and not analysis.effects.empty:
        columns = {"method": "method", "reference": "vs", "effect": "effect", "effect_low": "low",
                   "effect_high": "high", "wins": "W", "ties": "T", "losses": "L", "p_better": "P(better)",
                   "p_equivalent": "P(equiv)", "p_worse": "P(worse)"}
        unreliable = "" if analysis.effects["reliable"].all() else "; intervals over fewer than 5 blocks: unreliable"
        print_frame(analysis.effects[list(columns)].rename(columns=columns), floatfmt="{:.3f}",
                    title=f"effect sizes: mean difference of {analysis.metric} within blocks (> 0: better), "
                          f"95 % bootstrap interval, W/T/L beyond ROPE {analysis.rope:g}, Bayesian "
                          f"signed-rank test{unreliable}")
    short = {"hyperparameter": "hyperparameter", "values": "n", "fanova": "fANOVA level",
             "fanova_vs_random": "fANOVA gain", "ped_anova": "PED-ANOVA", "kendall_tau": "tau mean",
             "kendall_tau_worst": "tau worst", "pearson_r": "r", "jaccard": "jaccard", "influence_rank": "rank"}
    if analysis.influence.empty:
        console.print("hyperparameter influence: no hyperparameter takes two values among the successful runs")
    else:
        print_frame(analysis.influence[list(short)].rename(columns=short), floatfmt="{:.3f}",
                    title="hyperparameter influence, most first. fANOVA level, PED-ANOVA: on the metric; "
                          "fANOVA gain: on the gain over matched random runs; tau: ranking agreement between "
                          "pairs of values (mean, worst); r: matched runs; jaccard: picks (pairs, CIs in --json)")
    for line in analysis.ranking_lines:
        _say(line)
    for line in analysis.twin_lines:
        _say(line)
    if not analysis.design.minimal.empty:
        minimal = analysis.design.minimal.assign(
            minimal_k=[("not reached" if not r else f"{k:g}") for k, r in
                       zip(analysis.design.minimal["minimal_k"], analysis.design.minimal["reached"])])
        print_frame(minimal.drop(columns="reached"),
                    title=f"minimal study design: smallest k < n values whose leaderboard reaches a mean "
                          f"Kendall tau of {analysis.design.target} against the full one")


def _num(value: float) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4g}"


def query(
    results: Path = typer.Argument(..., help=RESULTS_HELP, show_default=False),
    sql: str = typer.Argument(..., help="SQL over the tables runs and curves, e.g. "
                                        "\"SELECT strategy, avg(auc_accuracy) FROM runs GROUP BY 1\".",
                              show_default=False),
    grid: Path = typer.Option(None, "--grid", help=GRID_HELP, show_default=False),
    out: Path = typer.Option(None, "--out", "-o", help="Write the rows to a .csv or .parquet file instead."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as a JSON list of objects."),
    read_only: bool = typer.Option(False, "--read-only", help="For SQL from someone else: no file but the "
                                   "results' parts can be read, none written (so no --out), no extension loaded."),
) -> None:
    """Run SQL (DuckDB) over the stored Parquet parts; columns missing from older parts read as NULL.

    DuckDB SQL can read and write any file you can (COPY, ATTACH, read_csv); --read-only prevents that."""
    import duckdb

    from albench.results import connect, sql_error_line

    if out is not None and out.suffix.lower() not in (".csv", ".parquet"):
        fail(f"--out: {out} must end in .csv or .parquet")
    res = _open(results, grid)
    with connect(res, read_only=read_only) as con:
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
    if df.empty:
        console.print("0 rows")
    elif len(df) > MAX_PRINTED_ROWS:
        console.print(f"... {len(df) - MAX_PRINTED_ROWS} more rows ({len(df)} in all; --out writes every row)")


def report(
    results: Path = typer.Argument(..., help=RESULTS_HELP, show_default=False),
    out: Path = typer.Option(None, "--out", "-o", help="Folder for report.html, plots/ and tables/.",
                             show_default="RESULTS/report; RESULTS/report-KIND with --kind in a folder of both kinds"),
    metric: str = typer.Option(None, "--metric", "-m", help="Metric to rank on.",
                               show_default="auc_accuracy for AL, squared_error for active testing"),
    kind: str = typer.Option(None, "--kind", help="al or at, when the folder holds runs of both kinds."),
    resamples: int = typer.Option(1000, "--resamples", min=10, help="Bootstrap resamples for confidence intervals."),
    grid: Path = typer.Option(None, "--grid", help=GRID_HELP, show_default=False),
    static: bool = typer.Option(False, "--static", help="A static page of PNG figures, without its script."),
    force: bool = typer.Option(False, "--force", help="Draw the report again even if no stored row changed."),
    as_json: bool = typer.Option(False, "--json", help="Print the paths written as JSON."),
) -> None:
    """Write a self-contained, offline, interactive HTML report (learning curves or squared error against M
    split and filtered by any hyperparameter, sortable leaderboard, critical difference diagram, effect sizes,
    influence ranking and flips, minimal study design, provenance), every figure also as PNG, SVG and PDF and
    every table as LaTeX and Markdown. An unchanged results folder is not drawn again (--force)."""
    import sys

    from albench.analysis.frame import AnalysisError
    from albench.analysis.report import write_report
    from albench.cli.common import output_folder, writable_folder
    from albench.store import StoreError

    res = _open(results, grid)
    out = out if out is not None else output_folder(res, "report", kind)
    writable_folder(out, "--out")  # before the analysis, not after
    with _steps(as_json) as say:
        try:
            rep = write_report(res, out, metric=metric, kind=kind, n_resamples=resamples, progress=say,
                               interactive_page=not static, grid_file=grid, argv=sys.argv, force=force)
        except (AnalysisError, StoreError) as exc:  # a damaged part names its file
            fail(str(exc))
    if as_json:
        print(json.dumps({"html": str(rep.html), "plots": [str(p) for p in rep.plots]}))
    else:
        console.print(f"report: {rep.html} ({len(rep.plots)} figures)", highlight=False, markup=False,
                      soft_wrap=True)  # the path stays whole, for copying


def install(app: typer.Typer) -> None:
    app.command("analyze")(analyze)
    app.command("query")(query)
    app.command("report")(report)
