"""Shared helpers for the command line: consoles, clean errors, tables."""

from __future__ import annotations

from typing import NoReturn

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a short error (no traceback) and exit with ``code``; ``message`` is plain text, not markup
    (so ``pip install 'albench[deep]'`` keeps its brackets)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


def print_frame(df: pd.DataFrame, title: str | None = None, floatfmt: str = "{:.4f}") -> None:
    table = Table(title=title, show_lines=False)
    for col in df.columns:
        table.add_column(str(col), justify="right" if pd.api.types.is_numeric_dtype(df[col]) else "left")
    for row in df.itertuples(index=False):
        table.add_row(*(floatfmt.format(v) if isinstance(v, float) else str(v) for v in row))
    console.print(table)
