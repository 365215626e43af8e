"""Grid files: read, validate against the registries, expand into RunSpecs.

A grid names ``name``, ``kind`` and ``params``; each parameter takes one value,
a list (the cartesian product is taken) or ``{range: [start, stop]}`` (integers,
stop excluded). ``exclude`` lists partial assignments whose runs are dropped.
Optional: ``description``, ``plugins`` (folders of strategy plug-ins),
``timeout_s`` (per-run time limit; an execution setting, not a hyperparameter).

Each axis value is validated once (not once per run), so a grid of millions of
runs validates in the time it takes to read it. Any problem raises
``GridError`` naming the file, the key, the bad value and what is allowed.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from albench.kinds import KINDS, Component
from albench.registry import UnavailableName, UnknownName

TOP_KEYS = {"name", "kind", "params", "exclude", "description", "plugins", "timeout_s"}


class GridError(ValueError):
    """A grid file that cannot run; the message says where and why."""


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
            if isinstance(value, dict) and set(value) == {"name", "params"}:
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
    exclude: list[dict[str, list[Any]]] = field(default_factory=list)
    description: str = ""
    plugins: list[str] = field(default_factory=list)
    timeout_s: float | None = None

    def specs(self) -> Iterator[RunSpec]:
        keys = list(self.axes)
        for combo in itertools.product(*(self.axes[k] for k in keys)):
            params = dict(zip(keys, combo))
            if not any(_matches(rule, params) for rule in self.exclude):
                yield make_runspec(self.kind, params)

    def __len__(self) -> int:
        if not self.exclude:
            n = 1
            for values in self.axes.values():
                n *= len(values)
            return n
        return sum(1 for _ in self.specs())


def run_id_of(kind: str, params: dict[str, Any]) -> str:
    canonical = json.dumps({"kind": kind, **params}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def make_runspec(kind: str, params: dict[str, Any]) -> RunSpec:
    return RunSpec(kind, params, run_id_of(kind, params))


def _matches(rule: dict[str, list[Any]], params: dict[str, Any]) -> bool:
    for key, allowed in rule.items():
        value = params[key]
        name = value["name"] if isinstance(value, dict) and "name" in value else None
        if not any(a == value or (name is not None and a == name) for a in allowed):
            return False
    return True


def _canonical(value: Any) -> Any:
    if isinstance(value, Component):
        return {"name": value.name, "params": _canonical(value.params)}
    if isinstance(value, BaseModel):
        return _canonical(value.model_dump())
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def _closest(word: str, allowed) -> str:
    close = difflib.get_close_matches(str(word), list(allowed), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


def _values(path: str, key: str, raw: Any) -> list[Any]:
    """An axis as a list of raw values: scalar, list, or {range: [start, stop]}."""
    if isinstance(raw, dict) and "range" in raw:
        r = raw["range"]
        if (set(raw) != {"range"} or not isinstance(r, list) or len(r) not in (2, 3)
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in r)):
            raise GridError(f"{path}: params.{key}: {{range: ...}} takes [start, stop] or "
                            f"[start, stop, step] of integers, got {raw!r}")
        values = list(range(*r))
        if not values:
            raise GridError(f"{path}: params.{key}: range {r} is empty")
        return values
    if isinstance(raw, list):
        if not raw:
            raise GridError(f"{path}: params.{key}: an empty list gives no runs")
        return raw
    return [raw]


def _validate_value(path: str, key: str, adapter: TypeAdapter, value: Any) -> Any:
    try:
        return _canonical(adapter.validate_python(value))
    except ValidationError as exc:
        msgs = []
        for err in exc.errors():  # a union type gives one error per alternative
            ctx = err.get("ctx", {}).get("error")
            msg = str(ctx) if isinstance(ctx, (UnknownName, UnavailableName)) else err["msg"]
            if msg not in msgs:
                msgs.append(msg)
        msg = " or ".join(msgs)
        raise GridError(f"{path}: params.{key}: bad value {value!r}: {msg}") from None


def load_grid(path: str | Path) -> Grid:
    """Read and validate a grid file; raise ``GridError`` on any problem."""
    path = str(path)
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise GridError(f"{path}: cannot read grid file: {exc.strerror or exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise GridError(f"{path}: malformed YAML{where}: {problem}") from None
    return grid_from_dict(doc, path)


def grid_from_dict(doc: Any, path: str = "<grid>") -> Grid:
    if not isinstance(doc, dict):
        raise GridError(f"{path}: a grid file is a mapping with keys name, kind, params")
    for key in doc:
        if key not in TOP_KEYS:
            raise GridError(f"{path}: unknown top-level key '{key}'; {_closest(key, TOP_KEYS)}"
                            f"allowed: {', '.join(sorted(TOP_KEYS))}")
    for key in ("name", "kind", "params"):
        if key not in doc:
            raise GridError(f"{path}: missing key '{key}'")
    name = doc["name"]
    if not isinstance(name, str) or not name.strip() or "/" in name:
        raise GridError(f"{path}: name: {name!r} is not a usable grid name (a non-empty string, no '/')")
    kind = doc["kind"]
    if kind not in KINDS:
        raise GridError(f"{path}: kind: unknown kind {kind!r}; {_closest(kind, KINDS)}allowed: {', '.join(KINDS)}")
    plugins = doc.get("plugins") or []
    if isinstance(plugins, str):
        plugins = [plugins]
    _load_plugins(path, plugins)
    timeout = doc.get("timeout_s")
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
        raise GridError(f"{path}: timeout_s: {timeout!r} must be a positive number of seconds")

    model = KINDS[kind].params
    raw_params = doc["params"]
    if not isinstance(raw_params, dict):
        raise GridError(f"{path}: params: expected a mapping of hyperparameter -> value(s)")
    fields = model.model_fields
    for key in raw_params:
        if key not in fields:
            raise GridError(f"{path}: params.{key}: unknown hyperparameter for kind '{kind}'; "
                            f"{_closest(key, fields)}allowed: {', '.join(fields)}")
    axes: dict[str, list[Any]] = {}
    for key, info in fields.items():
        if key not in raw_params:
            if info.is_required():
                raise GridError(f"{path}: params: missing key '{key}' (required for kind '{kind}')")
            axes[key] = [_canonical(info.get_default(call_default_factory=True))]
            continue
        adapter = TypeAdapter(info.rebuild_annotation())
        values = [_validate_value(path, key, adapter, v) for v in _values(path, key, raw_params[key])]
        axes[key] = _dedupe(values)
    exclude = _exclude_rules(path, doc.get("exclude") or [], axes)
    return Grid(name=name, kind=kind, path=path, axes=axes, exclude=exclude,
                description=str(doc.get("description") or ""), plugins=list(plugins), timeout_s=timeout)


def _dedupe(values: list[Any]) -> list[Any]:
    seen, out = set(), []
    for v in values:
        key = json.dumps(v, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


def _exclude_rules(path: str, rules: Any, axes: dict[str, list[Any]]) -> list[dict[str, list[Any]]]:
    if not isinstance(rules, list):
        raise GridError(f"{path}: exclude: expected a list of mappings like {{learner: gnb, strategy: margin}}")
    out = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict) or not rule:
            raise GridError(f"{path}: exclude[{i}]: expected a non-empty mapping of hyperparameter -> value(s)")
        for key in rule:
            if key not in axes:
                raise GridError(f"{path}: exclude[{i}].{key}: not a hyperparameter; "
                                f"{_closest(key, axes)}allowed: {', '.join(axes)}")
        out.append({k: (v if isinstance(v, list) else [v]) for k, v in rule.items()})
    return out


def _load_plugins(path: str, folders: list[str]) -> None:
    from albench.strategy import load_plugin_folder, registry

    registry.names()  # built-ins first, so a plug-in may override on purpose
    for folder in folders:
        folder_path = Path(folder)
        if not folder_path.is_absolute():
            folder_path = Path(path).parent / folder_path
        try:
            load_plugin_folder(folder_path)
        except FileNotFoundError as exc:
            raise GridError(f"{path}: plugins: {exc}") from None
