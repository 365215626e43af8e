"""``albench strategies``: list registered query strategies."""

from __future__ import annotations

import typer
from rich.table import Table

from albench.cli.common import console


def install(app: typer.Typer) -> None:
    @app.command("strategies")
    def list_strategies(
        plugins: list[str] = typer.Option([], "--plugins", help="Extra plug-in folder(s) to load first."),
    ) -> None:
        """List the query strategies (and those that cannot load here, with why)."""
        from albench.strategy import load_plugin_folder, registry

        registry.names()
        for folder in plugins:
            load_plugin_folder(folder)
        table = Table(title="query strategies")
        for col in ("name", "description", "module"):
            table.add_column(col)
        for name in registry.names():
            entry = registry.get(name)
            table.add_row(name, entry.description, entry.source)
        console.print(table)
        if registry.unavailable:
            bad = Table(title="unavailable here")
            bad.add_column("name")
            bad.add_column("reason")
            for name, reason in sorted(registry.unavailable.items()):
                bad.add_row(name, reason)
            console.print(bad)
