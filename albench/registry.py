"""Name -> implementation registries for strategies, learners, data sets, ...

A registry maps a short name to a factory and a one-line description. Entries
that cannot load (a missing optional package, an incompatible library) are kept
as *unavailable* with the reason, so listing still works and naming one gives
that reason instead of a stack trace.

One name means one implementation: registering a name that already exists
raises ``DuplicateName`` naming both sources, unless the registration says
``replaces=True``. Re-running the same module (a reload), or an identical copy
of its file (a plug-in folder sent to a worker), is not a duplicate.

Each entry records its ``implementation``: the name of the module that defines
the factory and a short sha256 of that module's source file, plus the
distribution and version for code that came from an installed package's entry
point, e.g. ``albench.strategies.uncertainty@3f2a9c0d1e4b``. Only the module's
own file is hashed, not the helpers it imports.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from albench.wording import close_names

HASH_CHARS = 12  # of the sha256 hex digest: enough to tell two versions of one file apart
# the unknown_hint of registries that plug-in folders fill (strategies, proposals, estimators)
PLUGIN_HINT = ("a plug-in in another folder is found once the grid's plugins: key (check-strategy, strategies: "
               "--plugins) or ALBENCH_PLUGINS names it")


class UnknownName(ValueError):
    """A name that is not in a registry; the message lists the closest names."""


class UnavailableName(ValueError):
    """A registered name whose implementation cannot load here."""


class DuplicateName(ValueError):
    """A name registered a second time by other code without ``replaces=True``; the message names both."""

    def __init__(self, message: str, name: str = "", registry: "Registry | None" = None):
        super().__init__(message)
        self.name, self.registry = name, registry


@dataclass(frozen=True)
class Provenance:
    """Where the code of a module came from, declared by the loader that imports it."""

    source: str  # for people: a module, a plug-in file, an installed package
    label: str  # the implementation's name (stable when a plug-in folder moves)
    provider: str = ""  # "distribution version" for an installed package's entry point


# module name (or top-level package name, for entry points) -> its provenance
_PROVENANCE: dict[str, Provenance] = {}


def declare_provenance(module: str, provenance: Provenance) -> None:
    """Record where ``module`` (and, for a top-level package, its submodules) comes from, before importing it."""
    _PROVENANCE[module] = provenance


def _provenance(module: str) -> Provenance:
    if module in _PROVENANCE:
        return _PROVENANCE[module]
    package = _PROVENANCE.get(module.split(".")[0])
    if package is not None:  # a submodule of an entry point's package: its own name, the package's provider
        return Provenance(source=module, label=module, provider=package.provider)
    return Provenance(source=module, label=module)


def source_digest(module: str) -> str:
    """Short sha256 of the source file of an imported module ("" when it has none, e.g. built-in or pyc-only)."""
    path = getattr(sys.modules.get(module), "__file__", None)
    if not path or not str(path).endswith(".py") or not Path(path).is_file():
        return ""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:HASH_CHARS]


def implementation_of(module: str) -> str:
    """``label@digest``, plus ``provider`` for entry-point packages; the label alone without a source file."""
    prov = _provenance(module)
    digest = source_digest(module)
    text = f"{prov.label}@{digest}" if digest else prov.label
    return f"{text} ({prov.provider})" if prov.provider else text


@dataclass
class Entry:
    name: str
    factory: Callable[..., Any]
    description: str
    source: str = ""  # where it came from, for people (module, plug-in file, package)
    implementation: str = ""  # which code makes its results (see the module docstring)


@dataclass
class Registry:
    kind: str  # "strategy", "learner", "dataset", ... (for messages)
    entries: dict[str, Entry] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    loader: Callable[[], None] | None = None  # fills the registry lazily, once
    unknown_hint: str = ""  # said with an unknown name, e.g. where plug-ins are looked for
    _loaded: bool = False

    def register(self, name: str, description: str = "", *, source: str = "", replaces: bool = False):
        """Decorator: ``@registry.register("margin", "smallest top-2 gap")``.

        Raises ``DuplicateName`` if ``name`` is already registered by other code,
        unless ``replaces=True`` (which then takes its place).
        """

        def deco(factory):
            module = getattr(factory, "__module__", None) or "?"
            prov = _provenance(module)
            entry = Entry(name, factory, description or _first_line(factory.__doc__), source or prov.source,
                          implementation_of(module))
            old = self.entries.get(name)
            if old is not None and not replaces and not _same_code(old, entry):
                raise DuplicateName(f"{self.kind} '{name}' is registered twice: by {old.source} and by "
                                    f"{entry.source}; rename one, or register the second with replaces=True "
                                    f"if it is meant to replace the first", name=name, registry=self)
            self.entries[name] = entry
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
        close = close_names(str(name), self.names())
        hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
        more = f"{self.unknown_hint}; " if self.unknown_hint else ""
        return f"unknown {self.kind} '{name}'; {hint}{more}allowed: {', '.join(self.names())}"

    def create(self, name: str, **params) -> Any:
        return self.get(name).factory(**params)


def is_import_path(name: str) -> bool:
    """``module.Class`` (a component given by its import path) rather than a registered short name."""
    return "." in name


def _same_code(a: Entry, b: Entry) -> bool:
    """The same factory; the same definition executed again (a module reloaded); or the same definition
    from an identical copy of its file (a plug-in folder copied to a worker)."""
    key = lambda f: (getattr(f, "__module__", None), getattr(f, "__qualname__", None))  # noqa: E731
    ka, kb = key(a.factory), key(b.factory)
    if a.factory is b.factory or (ka == kb and ka[1] is not None):
        return True
    return ka[1] is not None and ka[1] == kb[1] and "@" in a.implementation and a.implementation == b.implementation


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0].strip() if doc and doc.strip() else ""
