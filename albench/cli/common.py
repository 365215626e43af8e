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


TEXT_MIN_WIDTH = 16  # text after the leading columns folds down to this width (or its header's longest word)
CELL_FRAME = 3  # each column's share of a table's borders and padding ("│ " before, " " after)


def command_here(name: str) -> str | None:
    """How to type this environment's command ``name`` from the current folder: ``name`` when that is what
    PATH finds, else its path (``.venv/bin/albench`` after ``make run``, whose venv is not activated);
    None when this environment has no such command."""
    import shutil
    import sysconfig

    exe = Path(sysconfig.get_path("scripts")) / name
    if not exe.exists():
        return None
    found = shutil.which(name)
    if found and Path(found).resolve() == exe.resolve():
        return name
    try:
        return str(exe.absolute().relative_to(Path.cwd()))
    except ValueError:  # outside the current folder
        return str(exe.absolute())


def output_folder(results, name: str, kind: str | None) -> Path:
    """``RESULTS/<name>`` (``report``, ``export``); ``RESULTS/<name>-<kind>`` for a kind chosen in a folder of
    several, so that the report of one kind does not overwrite the other's."""
    from albench.results import stored_kinds

    several = kind is not None and len(stored_kinds(results)) > 1
    return results.root / (f"{name}-{kind}" if several else name)


def print_frame(df: pd.DataFrame, title: str | None = None, floatfmt: str = "{:.4g}",
                out: Console | None = None) -> None:
    """A table; floats with significant digits (a squared error of 1e-5 is not 0.0000), a missing value as
    a dash.

    It fits the console's width without cutting a header, a number or a method name: the leading
    columns up to the first text column (the method, e.g. ``rank, method``) and numbers never wrap,
    other text folds, and a table still too wide is printed in two parts, each repeating the leading
    columns. When that is not enough (long method names), the table is printed
    transposed: one column per row, headed #1, #2, ... after a key naming each row in full; with rows
    too many for two transposed parts, one wrapped record a row (``#1  name  column=value ...``).
    """
    import pandas as pd

    out = out or console
    header = [str(c) for c in df.columns]
    cells = [[_cell(v, floatfmt) for v in row] for row in df.itertuples(index=False)]
    numeric = [pd.api.types.is_numeric_dtype(df.iloc[:, j]) for j in range(df.shape[1])]
    n_lead = next((j + 1 for j, is_number in enumerate(numeric) if not is_number), 1)
    widths = _widths(header, cells, numeric, n_lead)
    pieces = _pieces(widths, n_lead, out.width)
    if len(pieces) <= 2 and all(_width(widths, piece) <= out.width for piece in pieces) or len(header) <= n_lead:
        _print_pieces(out, title, header, cells, numeric, n_lead, widths, pieces)
        return
    keys = [f"#{i + 1}" for i in range(len(cells))]
    t_header = ["", *keys]
    t_cells = [[header[j], *(row[j] for row in cells)] for j in range(n_lead, len(header))]
    t_numeric = [False] + [all(numeric[n_lead:])] * len(keys)
    t_widths = _widths(t_header, t_cells, t_numeric, 1)
    t_pieces = _pieces(t_widths, 1, out.width)
    if title:
        out.print(title, markup=False, highlight=False, soft_wrap=True)
    if len(t_pieces) > 2:  # many rows: a transposed table of many parts is unreadable, one record a row is not
        _print_records(out, keys, header, cells, n_lead)
        return
    for key, row in zip(keys, cells):  # the key: every row's leading cells in full
        out.print(f"{key}  {' '.join(row[:n_lead])}", markup=False, highlight=False, soft_wrap=True)
    _print_pieces(out, None, t_header, t_cells, t_numeric, 1, t_widths, t_pieces)


def _print_records(out: Console, keys: list[str], header: list[str], cells: list[list[str]], n_lead: int) -> None:
    """Each row as ``#k  <leading cells>  name=value  ...``, wrapped between items, indented under its key;
    a number or a name is never cut, and only prose too long for a line of its own wraps between words."""
    for key, row in zip(keys, cells):
        indent = " " * (len(key) + 2)
        items = [*row[:n_lead], *(f"{header[j]}={row[j]}" for j in range(n_lead, len(header)))]
        lines, line = [], key
        for item in items:
            words = [item] if len(indent) + len(item) <= out.width else item.split(" ")
            for k, word in enumerate(words):
                gap = "  " if k == 0 else " "
                if len(line) + len(gap) + len(word) > out.width:
                    lines.append(line)
                    line = indent + word
                else:
                    line += gap + word
        out.print("\n".join([*lines, line]), markup=False, highlight=False, soft_wrap=True)


def _widths(header: list[str], cells: list[list[str]], numeric: list[bool], n_lead: int) -> list[int]:
    """The narrowest each column may get: whole for leading and numeric columns; other text folds down
    to ``TEXT_MIN_WIDTH`` but never below its header's longest word."""
    widths = []
    for j, name in enumerate(header):
        natural = max([len(name), *(len(row[j]) for row in cells)])
        kept = j < n_lead or numeric[j]
        widths.append(natural if kept else max(_longest_word(name), min(natural, TEXT_MIN_WIDTH)))
    return widths


def _width(widths: list[int], piece: list[int]) -> int:
    return 1 + sum(CELL_FRAME + widths[j] for j in piece)


def _print_pieces(out: Console, title, header, cells, numeric, n_lead: int, widths, pieces) -> None:
    for n, piece in enumerate(pieces):
        part = f"part {n + 1} of {len(pieces)}"
        caption = title if len(pieces) == 1 else f"{title}: {part}" if title and n == 0 else f"... {part}"
        table = Table(title=caption, show_lines=False)
        for j in piece:
            folds = j >= n_lead and not numeric[j]
            table.add_column(header[j], justify="right" if numeric[j] else "left", min_width=widths[j],
                             no_wrap=not folds, overflow="fold" if folds else "ellipsis")
        for row in cells:
            table.add_row(*(row[j] for j in piece))
        out.print(table)


def _longest_word(text: str) -> int:
    return max((len(word) for word in text.split()), default=0)


def _pieces(widths: list[int], n_lead: int, width: int) -> list[list[int]]:
    """Column indices of each part: the ``n_lead`` leading columns, then as many of the next as fit."""
    lead = list(range(min(n_lead, len(widths))))
    lead_width = _width(widths, lead)
    pieces, current, used = [], list(lead), lead_width
    for j in range(len(lead), len(widths)):
        need = CELL_FRAME + widths[j]
        if used + need > width and len(current) > len(lead):
            pieces.append(current)
            current, used = list(lead), lead_width
        current.append(j)
        used += need
    pieces.append(current)
    return pieces


def _cell(value, floatfmt: str) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, (str, list, tuple, dict)) and pd.isna(value)):
        return "-"
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        return floatfmt.format(float(value))
    return str(value)
