"""The ``albench`` command. Each sub-command group lives in its own module."""

from __future__ import annotations

import typer

from albench.cli import analysis, check, grid, strategies

app = typer.Typer(
    name="albench",
    help="Benchmark pool-based active learning and active testing on hyperparameter grids.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(grid.app, name="grid")
strategies.install(app)
check.install(app)
analysis.install(app)


def main() -> None:
    app()
