"""``albench import <source> DIR --out FOLDER``: other benchmarks' published results as albench results."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from albench.cli.common import console, err_console, fail

app = typer.Typer(help="Convert another benchmark's published results into albench's results layout.",
                  no_args_is_help=True)


@app.command("ogal")
def ogal(
    src: Path = typer.Argument(..., help="OGAL's results folder (full_exp_jan/ of the OPARA archive), holding "
                                         "05_done_workload.csv and <STRATEGY>/<DATASET>/<metric>.csv.xz.",
                               show_default=False),
    out: Path = typer.Option(..., "--out", "-o", help="New results folder, e.g. results/ogal.", show_default=False),
    grid: str = typer.Option(None, "--grid", help="Value of the grid column.", show_default="the folder's name"),
    runs_per_part: int = typer.Option(2000, "--runs-per-part", min=1, help="Most runs per Parquet part file."),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Import the OGAL study (Olympic Games of Active Learning): done runs as ok rows (timeout when its time
    limit stopped them), failed and out-of-memory runs as error rows; OGAL's own AUC as ogal_full_auc_*.
    The field mapping is in the README (Importing results) and in albench/importers/ogal.py."""
    from albench.importers.ogal import OgalError, import_ogal

    if not src.is_dir():
        fail(f"{src}: not a folder")
    try:
        if as_json:
            summary = import_ogal(src, out, grid=grid, runs_per_part=runs_per_part)
        else:
            with err_console.status("importing") as status:
                summary = import_ogal(src, out, grid=grid, runs_per_part=runs_per_part,
                                      progress=lambda folder: status.update(f"importing {folder} ..."))
    except OgalError as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps(summary.__dict__))
        return
    console.print(f"imported into {out}: {summary.line()}", highlight=False)
