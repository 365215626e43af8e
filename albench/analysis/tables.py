"""The report's tables as text: numbers with significant digits, intervals in one
cell, and the same table as HTML, Markdown or LaTeX.

Every writer takes the display table of ``display``: a column ``x`` with
columns ``x_low`` and ``x_high`` becomes one column ``x`` reading
``0.81 [0.75, 0.86]``, so wide tables (the influence table) fit a page.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

SIGNIFICANT = 4
MISSING = "-"


def number(value) -> str:
    """Significant digits, not fixed decimals (1.2e-05 stays readable); NaN and None as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return MISSING if np.isnan(value) else ("inf" if value > 0 else "-inf")
        return f"{float(value):.{SIGNIFICANT}g}"
    return str(value)


def interval(value, low, high) -> str:
    """``0.81 [0.75, 0.86]``; the brackets are left out when the interval is unknown."""
    text = number(value)
    if text == MISSING or low is None or high is None or pd.isna(low) or pd.isna(high):
        return text
    return f"{text} [{number(low)}, {number(high)}]"


def display(df: pd.DataFrame, first: tuple[str, ...] = ()) -> pd.DataFrame:
    """Columns ``first`` first, each ``x``/``x_low``/``x_high`` triple merged into ``x``, cells as text."""
    columns = [c for c in first if c in df] + [c for c in df if c not in first]
    merged = {}
    for column in columns:
        if column.endswith(("_low", "_high")) and column.rsplit("_", 1)[0] in df:
            continue  # shown inside its estimate's cell
        if f"{column}_low" in df and f"{column}_high" in df:
            merged[column] = [interval(v, lo, hi) for v, lo, hi in
                              zip(df[column], df[f"{column}_low"], df[f"{column}_high"])]
        else:
            merged[column] = [number(v) for v in df[column]]
    return pd.DataFrame(merged, columns=list(merged))


def sort_keys(df: pd.DataFrame) -> pd.DataFrame:
    """The raw value behind each cell of ``display(df)`` (numbers, or text), for sorting in the browser."""
    out = {}
    for column in display(df.head(0)).columns:
        values = df[column]
        out[column] = ["" if pd.isna(v) else (float(v) if isinstance(v, (int, float, np.number)) else str(v))
                       for v in values]
    return pd.DataFrame(out)


def to_html(df: pd.DataFrame, first: tuple[str, ...] = (), table_id: str | None = None) -> str:
    """A sortable HTML table (``data-sort`` holds the raw value; the page's script sorts on click)."""
    shown, keys = display(df, first), sort_keys(df[[c for c in first if c in df] + [c for c in df if c not in first]])
    numeric = {c: pd.api.types.is_numeric_dtype(df[c]) for c in shown.columns}
    head = "".join(f'<th class="{"num" if numeric[c] else "text"}" title="sort by {html.escape(c)}">'
                   f"{html.escape(c)}</th>" for c in shown.columns)
    body = []
    for (_, row), (_, key) in zip(shown.iterrows(), keys.iterrows()):
        cells = "".join(f'<td class="{"num" if numeric[c] else "text"}" data-sort="{html.escape(str(key[c]))}">'
                        f"{html.escape(row[c])}</td>" for c in shown.columns)
        body.append(f"<tr>{cells}</tr>")
    attr = f' id="{html.escape(table_id)}"' if table_id else ""
    return (f'<div class="table-wrap"><table class="sortable"{attr}><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def to_markdown(df: pd.DataFrame, first: tuple[str, ...] = ()) -> str:
    """A GitHub-flavoured Markdown table (``|`` in cells escaped)."""
    shown = display(df, first)
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in shown.columns]

    def cell(text: str) -> str:
        return str(text).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(c) for c in shown.columns) + " |",
             "| " + " | ".join("---:" if n else ":---" for n in numeric) + " |"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in shown.itertuples(index=False)]
    return "\n".join(lines) + "\n"


LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def to_latex(df: pd.DataFrame, first: tuple[str, ...] = (), caption: str | None = None,
             label: str | None = None) -> str:
    """A booktabs ``table`` environment (needs ``\\usepackage{booktabs}``)."""
    shown = display(df, first)
    align = "".join("r" if pd.api.types.is_numeric_dtype(df[c]) else "l" for c in shown.columns)
    lines = [r"\begin{table}[ht]", r"\centering"]
    if caption:
        lines.append(r"\caption{" + latex_escape(caption) + "}")
    if label:
        lines.append(r"\label{" + label + "}")
    lines += [r"\begin{tabular}{" + align + "}", r"\toprule",
              " & ".join(latex_escape(c) for c in shown.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(latex_escape(v) for v in row) + r" \\" for row in shown.itertuples(index=False)]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"
