"""A grid's ``params`` and ``exclude`` values: validated, canonical, de-duplicated.

Each axis value is validated once against its declared type (``albench.kinds``:
the kind's parameter model, components checked against their registries),
not once per run, and canonicalised (components as ``{name, params}`` with
every parameter, mappings sorted), so two spellings of one value are one
value and one run_id. An exclude rule becomes the positions of the axis
values it names. Mistakes are collected (``albench.spec``'s problems list)
so that a grid file reports every one at once; a bad single value raises
``GridError``.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from albench.kinds import KINDS, Component, component_text, is_component
from albench.params import ParamError
from albench.registry import UnavailableName, UnknownName
from albench.wording import closest

if TYPE_CHECKING:
    from albench.spec import Problems

MAX_AXIS_VALUES = 1_000_000
Rule = dict[str, frozenset[int]]  # an exclude rule: axis -> positions of the values it names


class GridError(ValueError):
    """A grid file that cannot run; the message says where and why."""


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


def _values(where: str, raw: Any) -> list[Any]:
    """An axis as a list of raw values: scalar, list, or {range: [start, stop(, step)]}."""
    if isinstance(raw, dict) and "range" in raw:
        r = raw["range"]
        if (set(raw) != {"range"} or not isinstance(r, list) or len(r) not in (2, 3)
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in r)):
            raise GridError(f"{where}: {{range: ...}} takes [start, stop] or [start, stop, step] of integers, "
                            f"got {raw!r}")
        if len(r) == 3 and r[2] == 0:
            raise GridError(f"{where}: range {r} has step 0")
        values = range(*r)
        if not values:
            raise GridError(f"{where}: range {r} is empty")
        if len(values) > MAX_AXIS_VALUES:
            raise GridError(f"{where}: range {r} gives {len(values):,} values; at most {MAX_AXIS_VALUES:,} per axis")
        return list(values)
    if isinstance(raw, list):
        if not raw:
            raise GridError(f"{where}: an empty list gives no runs")
        return raw
    return [raw]


def _validate_value(where: str, adapter: TypeAdapter, value: Any) -> Any:
    try:
        return _canonical(adapter.validate_python(value))
    except ValidationError as exc:
        msgs = []
        for err in exc.errors():  # a union type gives one error per alternative
            ctx = err.get("ctx", {}).get("error")
            msg = str(ctx) if isinstance(ctx, (UnknownName, UnavailableName, ParamError)) else err["msg"]
            if msg not in msgs:
                msgs.append(msg)
        text, hint = " or ".join(msgs), _sweep_hint(value, msgs)
        raise GridError(f"{where}: bad value {value!r}: {text.removesuffix('.') if hint else text}{hint}") from None


def _sweep_hint(value: Any, msgs: list[str]) -> str:
    """A component parameter given a list, refused by name: likely a sweep written inside the component."""
    if not isinstance(value, dict):
        return ""
    for key, given in value.items():
        if key != "name" and isinstance(given, list) and len(given) > 1 and any(f"'{key}'" in m for m in msgs):
            name = value.get("name", "...")
            return (f"; a component's parameter takes one value: to try several, list one component per value "
                    f"([{{name: {name}, {key}: {given[0]!r}}}, {{name: {name}, {key}: {given[1]!r}}}, ...])")
    return ""


_INVALID = object()  # a value that failed validation (None is a valid value)


def validated_axes(problems: Problems, kind: str, raw_params: Any) -> dict[str, list[Any]]:
    """Each hyperparameter's validated, canonical, de-duplicated values (defaults for the ones not given)."""
    if not isinstance(raw_params, dict):
        problems.add("params: expected a mapping of hyperparameter -> value(s)")
        return {}
    fields = KINDS[kind].params.model_fields
    for key in raw_params:
        if key in KINDS[kind].not_params:
            problems.add(f"params.{key}: not a hyperparameter of kind '{kind}': {KINDS[kind].not_params[key]}")
        elif key not in fields:
            problems.add(f"params.{key}: unknown hyperparameter for kind '{kind}'; "
                         f"{closest(key, fields)}allowed: {', '.join(fields)}")
    axes: dict[str, list[Any]] = {}
    for key, info in fields.items():
        if key not in raw_params:
            if info.is_required():
                problems.add(f"params: missing key '{key}' (required for kind '{kind}')")
            else:
                axes[key] = [_canonical(info.get_default(call_default_factory=True))]
            continue
        where = f"params.{key}"
        adapter = _adapter(info)
        values = [problems.collect(_validate_value, where, adapter, v, failed=_INVALID)
                  for v in problems.collect(_values, where, raw_params[key], failed=[])]
        axes[key] = _dedupe(problems, where, [v for v in values if v is not _INVALID])  # null is a value
    return axes


def _adapter(info) -> TypeAdapter:
    return TypeAdapter(info.rebuild_annotation())


def _dedupe(problems: Problems, where: str, values: list[Any]) -> list[Any]:
    """The distinct values in their first order; a value given more than once (a copy, or two spellings
    of one value: ``rf`` and ``{name: rf}`` with its defaults) is noted, as it is likely a slip."""
    first: dict[str, Any] = {}  # canonical JSON -> the value, in first order
    times: Counter[str] = Counter()
    for v in values:
        key = json.dumps(v, sort_keys=True)
        first.setdefault(key, v)
        times[key] += 1
    for key, v in first.items():
        if times[key] > 1:
            problems.note(f"{where}: {_short(v)} is listed {times[key]} times (as itself or as another spelling "
                          f"of it); it is one value, and its runs are run once")
    return list(first.values())


def exclude_rules(problems: Problems, kind: str, rules: Any, axes: dict[str, list[Any]]) -> list[Rule]:
    """Each rule as the positions of the axis values it names.

    A rule's value is written as in ``params`` (one value, a list, or
    ``{range: [start, stop]}``), and each value is validated and canonicalised
    like ``params`` (``{name: rf}`` is rf with its default parameters); a bare
    component name (``rf``) names every value of that component, whatever its
    parameters. A value that names no value of its axis is an error: the rule
    would silently exclude nothing.
    """
    if not isinstance(rules, list):
        problems.add("exclude: expected a list of mappings like {learner: gnb, strategy: margin}")
        return []
    fields = KINDS[kind].params.model_fields
    out = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict) or not rule:
            problems.add(f"exclude[{i}]: expected a non-empty mapping of hyperparameter -> value(s)")
            continue
        positions: Rule = {}
        for key, raw in rule.items():
            where = f"exclude[{i}].{key}"
            if key not in axes:
                problems.add(f"{where}: not a hyperparameter; {closest(key, axes)}allowed: {', '.join(axes)}")
                continue
            found: set[int] = set()
            for value in problems.collect(_values, where, raw, failed=[]):  # one value, a list or a range
                found |= _positions(problems, where, value, axes[key], fields.get(key))
            positions[key] = frozenset(found)
        if len(positions) == len(rule):
            out.append(positions)
    return out


def _positions(problems: Problems, where: str, value: Any, values: list[Any], info) -> set[int]:
    if isinstance(value, str) and any(isinstance(v, dict) and v.get("name") == value for v in values):
        return {i for i, v in enumerate(values) if isinstance(v, dict) and v.get("name") == value}
    canonical = value
    if info is not None:
        canonical = problems.collect(_validate_value, where, _adapter(info), value, failed=_INVALID)
        if canonical is _INVALID:
            return set()
    key = json.dumps(canonical, sort_keys=True)
    hits = {i for i, v in enumerate(values) if json.dumps(v, sort_keys=True) == key}
    if not hits:
        shown = ", ".join(_short(v) for v in values[:10]) + (", ..." if len(values) > 10 else "")
        problems.add(f"{where}: {value!r} matches no value of the grid; its values: {shown}")
    return hits


def _short(value: Any) -> str:
    return component_text(value) if is_component(value) else repr(value)
