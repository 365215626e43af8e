"""albench's benchmark suite: ``python -m benchmarks [--quick] [--only NAME ...]`` (``make bench``).

Each module ``benchmarks/bench_<name>.py`` exposes ``run(quick: bool) -> dict``
mapping figure names to figures. A figure is either a plain JSON value or a
record made with ``figure(value, command, goal=..., definition=...)``; plain
values are reproduced by ``python -m benchmarks --only <name>``. The runner
prints every figure and merges them into ``benchmarks/results.json`` with the
date, the machine and its load (these machines are shared: absolute times are
for reading, ratios for comparing).

Goals are written as ``"<= 1.10"`` or ``">= 1.7"``; the runner marks each
figure ``met`` or not.
"""

from __future__ import annotations

from typing import Any


def figure(value: Any, command: str, *, goal: str | None = None, definition: str | None = None,
           **details: Any) -> dict:
    """One reported figure: its value, the command that reproduces it, and optionally its goal."""
    out: dict[str, Any] = {"value": value, "command": command}
    if goal is not None:
        out["goal"] = goal
    if definition is not None:
        out["definition"] = definition
    out.update(details)
    return out
