"""Name -> implementation registries for strategies, learners, data sets, ...

A registry maps a short name to a factory and a one-line description. Entries
that cannot load (a missing optional package, an incompatible library) are kept
as *unavailable* with the reason, so listing still works and naming one gives
that reason instead of a stack trace.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Callable


class UnknownName(ValueError):
    """A name that is not in a registry; the message lists the closest names."""


class UnavailableName(ValueError):
    """A registered name whose implementation cannot load here."""


@dataclass
class Entry:
    name: str
    factory: Callable[..., Any]
    description: str
    source: str = ""


@dataclass
class Registry:
    kind: str  # "strategy", "learner", "dataset", ... (for messages)
    entries: dict[str, Entry] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    loader: Callable[[], None] | None = None  # fills the registry lazily, once
    _loaded: bool = False

    def register(self, name: str, description: str = "", *, source: str = ""):
        """Decorator: ``@registry.register("margin", "smallest top-2 gap")``."""

        def deco(factory):
            desc = description or _first_line(factory.__doc__)
            self.entries[name] = Entry(name, factory, desc, source or factory.__module__)
            self.unavailable.pop(name, None)
            return factory

        return deco

    def mark_unavailable(self, name: str, reason: str) -> None:
        if name not in self.entries:
            self.unavailable[name] = reason

    def _ensure_loaded(self) -> None:
        if not self._loaded and self.loader is not None:
            self._loaded = True
            self.loader()

    def names(self) -> list[str]:
        self._ensure_loaded()
        return sorted(self.entries)

    def __contains__(self, name: str) -> bool:
        self._ensure_loaded()
        return name in self.entries

    def get(self, name: str) -> Entry:
        self._ensure_loaded()
        if name in self.entries:
            return self.entries[name]
        if name in self.unavailable:
            raise UnavailableName(f"{self.kind} '{name}' is unavailable: {self.unavailable[name]}")
        raise UnknownName(self.unknown_message(name))

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(str(name), self.names(), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
        return f"unknown {self.kind} '{name}'; {hint}allowed: {', '.join(self.names())}"

    def create(self, name: str, **params) -> Any:
        return self.get(name).factory(**params)


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0].strip() if doc and doc.strip() else ""
