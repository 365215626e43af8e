"""``albench strategies``: list the registered plug-ins of every grid kind."""

from __future__ import annotations

import typer
from rich.table import Table

from albench.cli.common import console, fail
from albench.registry import Registry


def _print(registry: Registry, title: str) -> None:
    table = Table(title=title)
    for col in ("name", "description", "module"):
        table.add_column(col)
    for name in registry.names():
        entry = registry.get(name)
        table.add_row(name, entry.description, entry.source)
    console.print(table)


def install(app: typer.Typer) -> None:
    @app.command("strategies")
    def list_strategies(
        plugins: list[str] = typer.Option([], "--plugins", help="Extra plug-in folder(s) to load first."),
    ) -> None:
        """List what a grid can name: the query strategies (grid kind al), the proposals and estimators
        (kind at), the learners and the data sets, and the plug-ins that cannot load here, with why."""
        from albench.active_testing.estimators import registry as estimators
        from albench.active_testing.proposals import registry as proposals
        from albench.datasets import registry as datasets
        from albench.learners import registry as learners
        from albench.strategy import load_plugin_folder, registry

        registry.names()
        for folder in plugins:
            try:
                load_plugin_folder(folder)
            except (FileNotFoundError, ValueError) as exc:  # a missing folder, a name registered twice
                fail(f"--plugins {folder}: {exc}")
        _print(registry, "query strategies (kind al: strategy)")
        _print(proposals, "proposals (kind at: proposal)")
        _print(estimators, "estimators (kind at: every one is computed in every run)")
        _print(learners, "learners (kind al: learner; kind at: model, rival; or any scikit-learn classifier "
                         "by its import path)")
        _print(datasets, "data sets (dataset)")
        unavailable = {**registry.unavailable, **proposals.unavailable, **estimators.unavailable,
                       **learners.unavailable, **datasets.unavailable}
        if unavailable:
            bad = Table(title="unavailable here")
            bad.add_column("name")
            bad.add_column("reason")
            for name, reason in sorted(unavailable.items()):
                bad.add_row(name, reason)
            console.print(bad)
