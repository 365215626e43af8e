"""The ``albench`` command. Each sub-command group lives in its own module."""

from __future__ import annotations

import typer

from albench.cli import active_bench, analysis, check, compact, compare, export, fsck, grid, importers, strategies
from albench.provenance import version

app = typer.Typer(
    name="albench",
    help="Benchmark pool-based active learning and active testing on hyperparameter grids.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(grid.app, name="grid")
active_bench.install(grid.app)  # grid sample|estimate
app.add_typer(importers.app, name="import")
strategies.install(app)
check.install(app)
analysis.install(app)
compare.install(app)
export.install(app)
fsck.install(app)
compact.install(app)


def _print_version(value: bool) -> None:
    if value:
        print(f"albench {version('albench')}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                      help="Print albench's version and exit."),
) -> None:
    pass


def main() -> None:
    app()
