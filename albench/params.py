"""Component parameters: what a data set, learner, strategy or proposal accepts.

A component declares its parameters by its signature, as scikit-learn
estimators do through ``__init__``: the factory's (or class's) named
parameters, their annotations and defaults. Two attributes refine it:

- ``declared_parameters()``: a callable returning an ``inspect.Signature``,
  for adapters whose parameters are those of another library's class;
- ``passes_params_to``: ``"module:callable"`` whose signature a factory's
  ``**params`` forward to (``make_classification``, a scikit-learn class);
- ``param_defaults``: defaults the registry sets on top of the class's own
  (``logreg``: ``max_iter=1000``);
- ``sets_params``: names of the forwarded callable that the factory sets
  itself and a grid may not (``random_state`` from ``data_seed``).

A ``**params`` that is not forwarded declares nothing: a strategy class that
keeps ``Strategy.__init__`` accepts no parameter at all.

``check`` runs once per grid value at load time: unknown names (with the
closest accepted one), missing required parameters and values of the wrong
type (pydantic, strict: ``2`` is a float, ``true`` is not an int) are errors.
It returns the parameters without the ones given at their default, so
spelling out a default does not change a run's id.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from functools import lru_cache
from typing import Any, Callable

from pydantic import TypeAdapter, ValidationError


class ParamError(ValueError):
    """Parameters a component does not accept; the message names them and what is accepted."""


def _resolve(target: str) -> Callable:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _signature(factory: Callable) -> inspect.Signature:
    explicit = getattr(factory, "declared_parameters", None)
    if callable(explicit):
        return explicit()
    try:
        return inspect.signature(factory, eval_str=True)
    except (NameError, TypeError):  # an annotation that does not resolve here: names and defaults only
        return inspect.signature(factory)


@lru_cache(maxsize=None)
def declared(factory: Callable) -> dict[str, inspect.Parameter]:
    """Parameter name -> ``inspect.Parameter`` (default after ``param_defaults``)."""
    out: dict[str, inspect.Parameter] = {}
    for p in _signature(factory).parameters.values():
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            target = getattr(factory, "passes_params_to", None)
            if target:
                inner = declared(_resolve(target) if isinstance(target, str) else target)
                hidden = set(getattr(factory, "sets_params", ()))
                out.update({k: v for k, v in inner.items() if k not in out and k not in hidden})
        elif p.kind is not inspect.Parameter.VAR_POSITIONAL and p.name != "self":
            out[p.name] = p
    for name, default in (getattr(factory, "param_defaults", None) or {}).items():
        if name in out:
            out[name] = out[name].replace(default=default)
    return out


@lru_cache(maxsize=256)
def _adapter(annotation: Any) -> TypeAdapter | None:
    try:
        return TypeAdapter(annotation, config={"strict": True, "arbitrary_types_allowed": True})
    except Exception:  # an annotation pydantic cannot express: not checked here, the constructor checks
        return None


def _type_problem(annotation: Any, value: Any) -> str | None:
    if annotation is inspect.Parameter.empty or annotation is Any:
        return None
    try:
        adapter = _adapter(annotation)
    except TypeError:  # unhashable annotation object
        adapter = None
    if adapter is None:
        return None
    try:
        adapter.validate_python(value)
    except ValidationError as exc:
        err = exc.errors()[0]
        return err["msg"][0].lower() + err["msg"][1:]
    return None


def _same(value: Any, default: Any) -> bool:
    """Equal and of the same kind: ``1`` is the default ``1.0``, but ``True`` is not ``1``."""
    if isinstance(value, bool) or isinstance(default, bool):
        return isinstance(value, bool) and isinstance(default, bool) and value == default
    if isinstance(value, (int, float)) and isinstance(default, (int, float)):
        return value == default
    try:
        return type(value) is type(default) and bool(value == default)
    except Exception:
        return False


def check(label: str, factory: Callable, params: dict[str, Any]) -> dict[str, Any]:
    """Validate ``params`` against ``factory``'s declaration; return them without explicit defaults.

    ``label`` names the component in messages (``strategy 'margin'``).
    """
    accepted = declared(factory)
    problems = []
    for key in params:
        if key not in accepted:
            close = difflib.get_close_matches(str(key), list(accepted), n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(f"unknown parameter '{key}' for {label}; {hint}"
                            f"accepted: {', '.join(accepted) if accepted else '(none)'}")
    for key, p in accepted.items():
        if key in params:
            problem = _type_problem(p.annotation, params[key])
            if problem:
                problems.append(f"{label}: parameter '{key}' = {params[key]!r}: {problem}")
        elif p.default is inspect.Parameter.empty:
            problems.append(f"{label}: missing required parameter '{key}'")
    if problems:
        raise ParamError("; ".join(problems))
    return {k: v for k, v in params.items() if not _same(v, accepted[k].default)}
