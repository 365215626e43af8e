"""Grid files: read, validate against the registries, expand into RunSpecs.

A grid names ``name``, ``kind`` and ``params``; each parameter takes one value,
a list (the cartesian product is taken) or ``{range: [start, stop]}`` (integers,
stop excluded). ``exclude`` lists partial assignments whose runs are dropped.
Optional: ``description``, ``plugins`` (folders of strategy plug-ins),
``timeout_s`` (per-run time limit; an execution setting, not a hyperparameter).

Each axis value is validated once (not once per run; ``albench.grid_values``),
so a grid of millions of runs validates in the time it takes to read it. Any
problem raises ``GridError`` naming the file, the key, the bad value and what
is allowed; ``Problems`` collects them, so that every mistake of a file is
reported at once (at most ``MAX_ERRORS`` lines).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from albench.grid_values import GridError, Rule, exclude_rules, validated_axes
from albench.kinds import KINDS, UNLOADED_PLUGIN_NAMES, is_component
from albench.wording import closest

TOP_KEYS = {"name", "kind", "params", "exclude", "description", "plugins", "timeout_s"}
GRID_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # a safe folder name: results/<name>/
MAX_ERRORS = 20  # mistakes listed at once


@dataclass(frozen=True)
class RunSpec:
    """One fully-defaulted run: its kind, every hyperparameter, and its id."""

    kind: str
    params: dict[str, Any]
    run_id: str

    def columns(self) -> dict[str, Any]:
        """Hyperparameters as flat, typed table columns (components: name + JSON params)."""
        out: dict[str, Any] = {}
        for key, value in self.params.items():
            if is_component(value):
                out[key] = value["name"]
                out[f"{key}_params"] = json.dumps(value["params"], sort_keys=True)
            else:
                out[key] = str(value) if key == "initial_size" else value
        return out


@dataclass
class Grid:
    name: str
    kind: str
    path: str
    axes: dict[str, list[Any]]  # validated, canonical values
    exclude: list[Rule] = field(default_factory=list)
    description: str = ""
    plugins: list[str] = field(default_factory=list)
    timeout_s: float | None = None
    notes: list[str] = field(default_factory=list)  # likely slips that change nothing (a value listed twice)

    def specs(self) -> Iterator[RunSpec]:
        """Every run, in grid order, streamed: excludes are matched on value positions, not on specs.

        The run_id's canonical JSON is joined from each value's JSON, computed once
        per axis value (the same text as ``run_id_of``, at a fraction of the cost).
        """
        keys = list(self.axes)
        for combo, run_id in self._cells():
            yield RunSpec(self.kind, {k: self.axes[k][i] for k, i in zip(keys, combo)}, run_id)

    def run_ids(self) -> Iterator[str]:
        """The run_id of every run, in grid order, without building its spec (the "what is left" check)."""
        return (run_id for _, run_id in self._cells())

    def _cells(self) -> Iterator[tuple[tuple[int, ...], str]]:
        """(value position per axis, run_id) of every run, in grid order, excludes matched on positions."""
        keys = list(self.axes)
        ranges = [range(len(self.axes[k])) for k in keys]
        rules = [[(keys.index(k), pos) for k, pos in rule.items()] for rule in self.exclude]
        order = sorted(range(len(keys) + 1), key=lambda i: keys[i] if i < len(keys) else "kind")
        texts = [[f"{json.dumps(k)}:{_json(v)}" for v in self.axes[k]] for k in keys] + [[f'"kind":{_json(self.kind)}']]
        for combo in itertools.product(*ranges):
            if rules and any(all(combo[i] in pos for i, pos in rule) for rule in rules):
                continue
            at = (*combo, 0)
            canonical = "{" + ",".join(texts[i][at[i]] for i in order) + "}"
            yield combo, hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def __len__(self) -> int:
        """The number of runs, by inclusion-exclusion over the exclude rules (no spec is built)."""
        sizes = {k: len(v) for k, v in self.axes.items()}
        total = math.prod(sizes.values())

        def covered(start: int, common: Rule | None, sign: int) -> int:
            # cells matched by the intersection `common` of the rules chosen so far, then deeper
            out = 0
            for j in range(start, len(self.exclude)):
                rule = self.exclude[j]
                both = dict(rule) if common is None else dict(common)
                if common is not None:
                    for k, pos in rule.items():
                        both[k] = both[k] & pos if k in both else pos
                if any(not pos for pos in both.values()):
                    continue  # no cell matches every chosen rule, nor any superset of them
                cells = math.prod(len(both[k]) if k in both else n for k, n in sizes.items())
                out += sign * cells + covered(j + 1, both, -sign)
            return out

        return total - covered(0, None, 1)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def run_id_of(kind: str, params: dict[str, Any]) -> str:
    """A hash of the canonical (sorted, compact) JSON of the kind and every hyperparameter."""
    return hashlib.sha256(_json({"kind": kind, **params}).encode()).hexdigest()[:16]


def make_runspec(kind: str, params: dict[str, Any]) -> RunSpec:
    return RunSpec(kind, params, run_id_of(kind, params))


def load_grid(path: str | Path, *, run_plugins: bool = True) -> Grid:
    """Read and validate a grid file; raise ``GridError`` on any problem (``run_plugins``: see ``grid_from_dict``)."""
    from albench.grid_file import read_grid_document  # bounded, strict YAML (size, aliases, depth, keys)

    path = str(path)
    return grid_from_dict(read_grid_document(path), path, run_plugins=run_plugins)


class Problems:
    """The mistakes of one grid file, collected so that all are reported together."""

    def __init__(self, path: str):
        self.path, self.messages, self.notes = path, [], []

    def add(self, message: str) -> None:
        self.messages.append(self._where(message))

    def note(self, message: str) -> None:
        """Something worth saying that does not stop the grid (``Grid.notes``)."""
        self.notes.append(self._where(message))

    def _where(self, message: str) -> str:
        return message if message.startswith(self.path) else f"{self.path}: {message}"

    def collect(self, func, *args, failed: Any = None):
        """``func(*args)``, or ``failed`` with its GridError recorded."""
        try:
            return func(*args)
        except GridError as exc:
            self.add(str(exc))
            return failed

    def raise_if_any(self) -> None:
        """One GridError of every mistake (at most ``MAX_ERRORS``), then the notes, which may say why."""
        if self.messages:
            shown = self.messages[:MAX_ERRORS]
            more = len(self.messages) - len(shown)
            notes = [f"note: {note}" for note in self.notes]
            raise GridError("\n".join(shown + ([f"{self.path}: ... and {more} more"] if more else []) + notes))


def grid_from_dict(doc: Any, path: str = "<grid>", *, run_plugins: bool = True) -> Grid:
    """Validate a grid document; every mistake in it is reported in one ``GridError`` (one line each).

    ``run_plugins=False`` (``grid show``) reads the ``plugins:`` files for the
    names they register instead of running them; their parameters go unchecked.
    """
    if not isinstance(doc, dict):
        raise GridError(f"{path}: a grid file is a mapping with keys name, kind, params")
    problems = Problems(path)
    for key in doc:
        if key not in TOP_KEYS:
            problems.add(f"unknown top-level key '{key}'; {closest(key, TOP_KEYS)}"
                         f"allowed: {', '.join(sorted(TOP_KEYS))}")
    for key in ("name", "kind", "params"):
        if key not in doc:
            problems.add(f"missing key '{key}'" + (f": {_kind_choices()}" if key == "kind" else ""))
    name = doc.get("name")
    if "name" in doc and not (isinstance(name, str) and GRID_NAME.fullmatch(name)):
        problems.add(f"name: {name!r} is not a usable grid name (1 to 100 letters, digits, '.', '_' or '-', "
                     f"starting with a letter or digit)")
    kind = doc.get("kind")
    if "kind" in doc and kind not in KINDS:
        problems.add(f"kind: unknown kind {kind!r}; {closest(kind, KINDS)}allowed: {', '.join(KINDS)}")
    plugins = problems.collect(_plugin_list, doc.get("plugins"))
    timeout = problems.collect(_timeout, doc.get("timeout_s"))
    if "description" in doc and not isinstance(doc["description"], (str, type(None))):
        problems.add("description: expected text")
    if kind not in KINDS or "params" not in doc:
        problems.raise_if_any()
    unloaded: set[str] = set()
    if plugins and run_plugins:
        problems.collect(_load_plugins, path, plugins)
    elif plugins:
        unparsed: list[str] = []
        unloaded = problems.collect(_plugin_names, path, plugins, unparsed) or set()
        for line in unparsed:
            problems.note(f"plugins: {line}; the strategies it registers are unknown")
    token = UNLOADED_PLUGIN_NAMES.set(frozenset(unloaded))
    try:
        axes = validated_axes(problems, kind, doc["params"])
        exclude = exclude_rules(problems, kind, doc.get("exclude") or [], axes)
    finally:
        UNLOADED_PLUGIN_NAMES.reset(token)
    problems.raise_if_any()
    grid = Grid(name=name, kind=kind, path=path, axes=axes, exclude=exclude,
                description=str(doc.get("description") or ""), plugins=list(plugins or []), timeout_s=timeout,
                notes=problems.notes)
    if exclude and len(grid) == 0:
        raise GridError(f"{path}: exclude: the rules remove every run of the grid")
    for message in KINDS[kind].grid_check(grid) if KINDS[kind].grid_check else []:  # cross-key, kind-specific
        problems.add(message)
    problems.raise_if_any()
    return grid


def _kind_choices() -> str:
    return " or ".join(f"'{name}' for {kind.description}" for name, kind in KINDS.items())


def _plugin_list(raw: Any) -> list[str]:
    plugins = [raw] if isinstance(raw, str) else (raw or [])
    if not isinstance(plugins, list) or not all(isinstance(p, str) and p for p in plugins):
        raise GridError(f"plugins: expected a folder or a list of folders, got {raw!r}")
    return plugins


def _timeout(raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw) or raw <= 0:
        raise GridError(f"timeout_s: {raw!r} must be a positive, finite number of seconds")
    return raw


def _plugin_folder(path: str, folder: str) -> Path:
    folder_path = Path(folder)
    return folder_path if folder_path.is_absolute() else Path(path).parent / folder_path


def _plugin_names(path: str, folders: list[str], unparsed: list[str]) -> set[str]:
    from albench.plugin_names import registered_names

    try:
        return set().union(*(registered_names(_plugin_folder(path, f), unparsed) for f in folders))
    except FileNotFoundError as exc:
        raise GridError(f"{path}: plugins: {exc}") from None


def _load_plugins(path: str, folders: list[str]) -> None:
    from albench.strategy import load_plugin_folder, registry

    registry.names()  # built-ins first, so a plug-in that reuses a name is caught
    for folder in folders:
        try:
            load_plugin_folder(_plugin_folder(path, folder))
        except (FileNotFoundError, ValueError) as exc:  # a missing folder, a name registered twice
            raise GridError(f"{path}: plugins: {exc}") from None
