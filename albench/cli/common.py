"""Shared helpers for the command line: consoles, clean errors, tables."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:  # imported where used: `albench --help` must not pay for pandas
    import pandas as pd

    from albench.store import Store

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a short error (no traceback) and exit with ``code``; ``message`` is plain text, not markup
    (so ``pip install 'albench[deep]'`` keeps its brackets)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


def writable_store(root: Path, option: str) -> "Store":
    """The store at ``root`` once it is known to be writable and free; else a one-line error naming ``option``."""
    from albench.store import Store, StoreError

    store = Store(root)
    try:
        store.check_writable()
    except StoreError as exc:
        fail(f"{option}: {exc}")
    return store


def writable_folder(folder: Path, option: str) -> Path:
    """``folder``, created, once a file can be written in it; else a one-line error naming ``option``."""
    import uuid

    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".albench-probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        if isinstance(exc, (FileExistsError, NotADirectoryError)):
            reason = "a file of that name is in the way (it must be a folder)"
        fail(f"{option}: {folder}: cannot write there: {reason}")
    return folder


def print_frame(df: pd.DataFrame, title: str | None = None, floatfmt: str = "{:.4g}") -> None:
    """A table; floats with significant digits (a squared error of 1e-5 is not 0.0000), a missing value as
    a dash."""
    import pandas as pd

    table = Table(title=title, show_lines=False)
    for col in df.columns:
        table.add_column(str(col), justify="right" if pd.api.types.is_numeric_dtype(df[col]) else "left")
    for row in df.itertuples(index=False):
        table.add_row(*(_cell(v, floatfmt) for v in row))
    console.print(table)


def _cell(value, floatfmt: str) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, (str, list, tuple, dict)) and pd.isna(value)):
        return "-"
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        return floatfmt.format(float(value))
    return str(value)
