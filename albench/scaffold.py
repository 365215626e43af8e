"""Write a new strategy and its test from the templates in ``albench/templates/``.

``albench new-strategy NAME`` (and ``make new-strategy NAME=...``) writes
``strategies/NAME.py`` and ``tests/test_strategy_NAME.py``; both run as they
are (the strategy passes the conformance suite, the test runs each check of
``albench.testing.strategy_checks`` as its own test). From the repository
root the module lands in the built-in folder and registers as it is; a
module in another folder is loaded with ``ALBENCH_PLUGINS`` or a grid's
``plugins:`` key. It refuses an invalid name, a name already registered, and
any file that exists.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"
NAME_RE = re.compile(r"[a-z][a-z0-9_]*")


class ScaffoldError(ValueError):
    """A name or destination that cannot be used; the message says why."""


def check_name(name: str) -> None:
    if not NAME_RE.fullmatch(name or ""):
        raise ScaffoldError(f"'{name}' is not a valid strategy name: use lower-case letters, digits and "
                            f"underscores, starting with a letter (it becomes the module strategies/{name}.py)")
    if keyword.iskeyword(name):
        raise ScaffoldError(f"'{name}' is a Python keyword and cannot name a module")
    from albench.strategy import registry

    if name in registry:
        raise ScaffoldError(f"a strategy named '{name}' is already registered (in {registry.get(name).source})")


def is_builtin_folder(folder: Path) -> bool:
    """Whether ``folder`` is albench's own ``strategies/`` (imported as ``albench.strategies``), so a module
    written there registers without ``ALBENCH_PLUGINS``."""
    import albench.strategies

    return Path(folder).resolve() in {Path(p).resolve() for p in albench.strategies.__path__}


def render(template: str, name: str) -> str:
    words = name.split("_")
    values = {
        "name": name,
        "title": " ".join(words).capitalize(),
        "class_name": "".join(w.capitalize() for w in words if w) or "Strategy",
    }
    text = (TEMPLATES / template).read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def new_strategy(name: str, strategies_dir: Path | None = None, tests_dir: Path | None = None) -> list[Path]:
    """Write the strategy module and its test; return their paths. Nothing is written on error.

    A folder left out is the project's (``strategies/``, ``tests/``) and must exist: missing, the command
    runs elsewhere than the project root. A folder named is created if missing.
    """
    check_name(name)
    folders = [(Path(given or default), what, given is not None)
               for given, default, what in ((strategies_dir, "strategies", "strategy"), (tests_dir, "tests", "test"))]
    for folder, what, named in folders:
        if folder.exists() and not folder.is_dir():
            raise ScaffoldError(f"{what} folder {folder} is a file")
        if not folder.is_dir() and not named:
            raise ScaffoldError(f"{what} folder {folder} does not exist (run from the project root, "
                                f"or name the folders with --dir and --tests)")
    strategies_dir, tests_dir = folders[0][0], folders[1][0]
    targets = {strategies_dir / f"{name}.py": "strategy.py.tmpl",
               tests_dir / f"test_strategy_{name}.py": "test_strategy.py.tmpl"}
    existing = [str(path) for path in targets if path.exists()]
    if existing:
        raise ScaffoldError(f"refusing to overwrite {', '.join(existing)}")
    for path, template in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(template, name))
    return list(targets)
