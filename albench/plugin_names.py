"""The strategy names a plug-in folder registers, read without running its code.

``albench grid show`` must not execute a grid's ``plugins:`` files (a grid file
from someone else is code). To still accept the names those files define, their
source is parsed (``ast``) and the string literal first argument of every
``register(...)`` or ``<something>.register(...)`` call is taken as a name.
Names made at run time (an f-string, a loop) are not seen this way.
"""

from __future__ import annotations

import ast
from pathlib import Path


def registered_names(folder: str | Path, unparsed: list[str] | None = None) -> set[str]:
    """The names; a file that does not parse is skipped, with its error appended to ``unparsed``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"plug-in folder not found: {folder}")
    names: set[str] = set()
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"), filename=str(path))
        except SyntaxError as exc:  # running it would fail too; `grid run` reports it, and so does `grid show`
            if unparsed is not None:
                unparsed.append(f"{path}: SyntaxError: {exc.msg} (line {exc.lineno})")
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if called == "register" and isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
    return names
