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


def _one_line_summaries(typer_app: typer.Typer) -> None:
    """Rich help keeps a docstring's single line breaks in the commands list; each command's summary there
    is its first sentence on one line instead (``albench CMD --help`` still prints the whole text), in every
    group (``albench grid``, ``albench import``) too."""
    import inspect
    import re

    for info in typer_app.registered_commands:
        text = info.help or inspect.getdoc(info.callback) or ""
        if info.short_help is None and text:
            paragraph = " ".join(text.split("\n\n")[0].split())
            info.short_help = re.split(r"(?<=\.) (?=[A-Z`])", paragraph, maxsplit=1)[0]
    for group in typer_app.registered_groups:
        _one_line_summaries(group.typer_instance)


_one_line_summaries(app)


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
