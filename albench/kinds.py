"""Grid kinds: the hyperparameters a kind of run takes, and the runner that does one.

A kind's ``params`` model lists every grid key with its type and default; its
``runner`` (``"module:function"``, imported lazily) is a pure function of one
``RunSpec`` returning a ``RunResult``. The spec, executor and store are shared.
"""

from __future__ import annotations

import importlib
import json
import math
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Callable, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from albench import params
from albench.registry import Registry, is_import_path


class Component(BaseModel):
    """A named implementation plus its parameters: ``rf`` or ``{name: rf, n_estimators: 50}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


def component_text(value: dict) -> str:
    """A canonical component value (``{name, params}``) as one short label: ``rf{"n_estimators": 30}``."""
    return value["name"] + (json.dumps(value["params"], sort_keys=True) if value["params"] else "")


def is_component(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"name", "params"}


def _component(value: Any) -> Any:
    if isinstance(value, str):
        return {"name": value, "params": {}}
    if isinstance(value, dict) and "name" in value and "params" not in value:
        return {"name": value["name"], "params": {k: v for k, v in value.items() if k != "name"}}
    return value


# strategy names of plug-in files read without running them (``albench.plugin_names``)
UNLOADED_PLUGIN_NAMES: ContextVar[frozenset[str]] = ContextVar("unloaded_plugin_names", default=frozenset())


def _known_in(registry: Registry | Callable[[], Registry], *, allow_import_path: bool = False,
              preflight: Callable[[str, dict], None] | None = None):
    """The validator of one component value: a known name, declared parameters (``albench.params``),
    then ``preflight`` (the value checks a constructor makes), or the factory's own ``preflight``."""

    def check(comp: Component) -> Component:
        reg = registry() if callable(registry) else registry
        if reg.kind == "strategy" and comp.name in UNLOADED_PLUGIN_NAMES.get() and comp.name not in reg:
            return comp  # defined by a plug-in that was read, not run (`grid show`): its parameters go unchecked
        if allow_import_path and is_import_path(comp.name):
            from albench import learners

            factory = learners.resolve(comp.name)  # raises UnknownName with the reason
        else:
            factory = reg.get(comp.name).factory  # UnknownName (closest names) or UnavailableName (reason)
        canonical = params.check(f"{reg.kind} '{comp.name}'", factory, comp.params)
        own = getattr(factory, "preflight", None)
        try:
            if preflight is not None:
                preflight(comp.name, comp.params)
            elif callable(own):
                own(**comp.params)
        except (TypeError, ValueError, OSError) as exc:
            raise params.ParamError(f"{reg.kind} '{comp.name}': {exc}") from None
        except Exception as exc:  # a plug-in's or a third-party class's own bug: one line, not a traceback
            raise params.ParamError(f"{reg.kind} '{comp.name}': building it failed: "
                                    f"{type(exc).__name__}: {exc}") from None
        return Component(name=comp.name, params=canonical)

    return check


# registries by lazy getters: importing this module (the CLI, `grid show`) must not import scikit-learn
def _datasets() -> Registry:
    from albench import datasets

    return datasets.registry


def _learners() -> Registry:
    from albench import learners

    return learners.registry


def _strategies() -> Registry:
    from albench.strategy import registry

    return registry


def _build_strategy(name: str, given: dict) -> None:
    from albench.strategy import create_strategy

    create_strategy(name, given)  # constructors only store and check their parameters


def component_of(registry, **kw):
    return Annotated[Component, BeforeValidator(_component), AfterValidator(_known_in(registry, **kw))]


def _learner_preflight(name: str, given: dict) -> None:
    from albench import learners

    learners.preflight(name, given)


DatasetRef = component_of(_datasets)
LearnerRef = component_of(_learners, allow_import_path=True, preflight=_learner_preflight)
StrategyRef = component_of(_strategies, preflight=_build_strategy)
INT64_MAX = 2**63 - 1  # what a Parquet integer column holds
PositiveInt = Annotated[int, Field(strict=True, gt=0, le=INT64_MAX)]
NonNegativeInt = Annotated[int, Field(strict=True, ge=0, le=INT64_MAX)]
Fraction = Annotated[float, Field(gt=0.0, lt=1.0)]


class ALParams(BaseModel):
    """Hyperparameters of one active-learning run (the grid keys of kind ``al``)."""

    model_config = ConfigDict(extra="forbid")
    dataset: DatasetRef
    learner: LearnerRef
    strategy: StrategyRef
    batch_size: PositiveInt = 1
    initial_size: PositiveInt | Literal["per_class"] = "per_class"
    start_point: NonNegativeInt = 0
    split: NonNegativeInt = 0
    test_fraction: Fraction = 0.25
    budget: PositiveInt = 20
    seed: NonNegativeInt = 0


def _proposals() -> Registry:
    from albench.active_testing.proposals import registry

    return registry


_learner_known = _known_in(_learners, allow_import_path=True, preflight=_learner_preflight)


def _surrogate_known(comp: Component) -> Component:
    """``model``, ``bootstrap`` or a learner; a learner's parameters (the bootstrap's ``learner`` too) are
    checked and canonical as ``model``'s are."""
    from albench.active_testing.surrogates import SPECIAL, validate

    validate(comp.name, comp.params)  # raises UnknownName with the allowed values
    if comp.name not in SPECIAL:
        return _learner_known(comp)
    if comp.name == "bootstrap" and "learner" in comp.params:
        member = _learner_known(Component.model_validate(_component(comp.params["learner"])))
        canonical = {"name": member.name, "params": member.params} if member.params else member.name
        return Component(name=comp.name, params={**comp.params, "learner": canonical})
    return comp


ProposalRef = component_of(_proposals)
SurrogateRef = Annotated[Component, BeforeValidator(_component), AfterValidator(_surrogate_known)]
SEVERAL = "models"  # the parameter holding a list of rivals: ``{name: "gnb+rf", params: {models: [...]}}``


def _rival_value(value: Any) -> Any:
    """A list of learners is one value of ``rival``: the models under test besides ``model``.

    Canonical form of a list of two or more: ``{name: "gnb+rf", params: {models: [<learner>, ...]}}`` (a
    component, so it is stored as text in ``rival``/``rival_params`` like a single learner, and an exclude rule
    may name it ``gnb+rf``); a list of one is that learner (the same run_id as writing it alone).
    """
    if isinstance(value, list):
        if not value:
            raise params.ParamError("an empty list of rival models; give one learner or a list of two or more")
        return _component(value[0]) if len(value) == 1 else {"name": "+", "params": {SEVERAL: list(value)}}
    return _component(value)


def _rival_known(comp: Component) -> Component:
    if set(comp.params) != {SEVERAL} or "+" not in comp.name:
        return _learner_known(comp)
    members = [_learner_known(Component.model_validate(_component(v))) for v in comp.params[SEVERAL]]
    texts = [m.model_dump_json() for m in members]
    twice = next((m for m, t in zip(members, texts) if texts.count(t) > 1), None)
    if twice is not None:
        raise params.ParamError(f"the rival models must differ: {twice.name!r} is listed twice with the same "
                                "parameters")
    return Component(name="+".join(m.name for m in members),
                     params={SEVERAL: [{"name": m.name, "params": m.params} for m in members]})


RivalRef = Annotated[Component, BeforeValidator(_rival_value), AfterValidator(_rival_known)]


def rivals_of(rival: dict | None) -> list[dict]:
    """The canonical rival value of a run as its list of learners ``{name, params}`` (empty without one)."""
    if rival is None:
        return []
    if set(rival["params"]) == {SEVERAL} and "+" in rival["name"]:
        return list(rival["params"][SEVERAL])
    return [rival]


class ATParams(BaseModel):
    """Hyperparameters of one active-testing run (the grid keys of kind ``at``; see albench.active_testing)."""

    model_config = ConfigDict(extra="forbid")
    dataset: DatasetRef
    model: LearnerRef  # the model under test
    train_size: PositiveInt = 50
    pool_size: PositiveInt | None = None  # N; None: every point outside the training set
    loss: Literal["cross_entropy", "zero_one"] = "cross_entropy"
    surrogate: SurrogateRef = Component(name="model")  # model | <learner> | bootstrap
    retrain_every: NonNegativeInt = 0  # refit the surrogate every k labels; 0: never
    proposal: ProposalRef = Component(name="surrogate_loss")
    safeguard: Literal["mixture", "clip"] = "mixture"
    safeguard_weight: Annotated[float, Field(gt=0.0, le=1.0)] = 0.1  # mixture weight a or clip floor c
    budget: PositiveInt = 50  # M
    seed: NonNegativeInt = 0  # the split, the model(s) and the surrogate's first fit
    draw_seed: NonNegativeInt = 0  # the draws alone: repeats on one pool and one trained model
    rival: RivalRef | None = None  # other model(s) under test (a learner or a list), estimated from the same labels
    confidence: Fraction = 0.95  # level of every estimate's interval


def _live_runs(grid, keep: dict[str, list[int]]) -> int:
    """How many runs of ``grid`` survive its exclude rules with the axes ``keep`` restricted to those positions."""
    remap = {key: {old: new for new, old in enumerate(positions)} for key, positions in keep.items()}
    axes = {key: [values[i] for i in keep[key]] if key in keep else values for key, values in grid.axes.items()}
    rules = [{key: frozenset(remap[key][p] for p in pos if p in remap[key]) if key in remap else pos
              for key, pos in rule.items()} for rule in grid.exclude]
    return len(replace(grid, axes=axes, exclude=rules))


def _models_needed(factory) -> int:
    """How many models under test a proposal reads (``min_models``; ``needs_rival``: at least 2)."""
    return max(getattr(factory, "min_models", 1), 2 if getattr(factory, "needs_rival", False) else 1)


def _sized_datasets(grid) -> list[tuple[int, str, int]]:
    """(position, label, at most how many rows) of each data set of ``grid`` whose size is known unloaded."""
    from albench.datasets import rows_at_most

    out = []
    for i, value in enumerate(grid.axes.get("dataset", [])):
        rows = rows_at_most(value["name"], value["params"])
        if rows is not None:
            out.append((i, component_text(value), rows))
    return out


def _al_grid_check(grid) -> list[str]:
    """A start set (``initial_size``) at least as large as the pool it is drawn from (the rows outside the
    test split) leaves nothing to query: every such run would fail. Counted on the data sets whose size is
    known without loading them, in the runs the exclude rules keep."""
    sizes = [(j, k) for j, k in enumerate(grid.axes.get("initial_size", [])) if isinstance(k, int)]
    out = []
    for i, label, rows in _sized_datasets(grid) if sizes else []:
        for f, fraction in enumerate(grid.axes.get("test_fraction", [])):
            pool = rows - math.ceil(fraction * rows)  # StratifiedShuffleSplit's test share rounds up
            big = [j for j, k in sizes if k >= pool]
            if big and _live_runs(grid, {"dataset": [i], "test_fraction": [f], "initial_size": big}):
                shown = ", ".join(str(grid.axes["initial_size"][j]) for j in big)
                out.append(f"params.initial_size: {shown} leaves nothing to query in data set {label}: its pool "
                           f"holds at most {pool} of its {rows} rows (test_fraction {fraction:g}); use a smaller "
                           f"start set or exclude those runs")
    return out


def _at_train_sizes(grid) -> list[str]:
    """A training set of at least the data set's rows leaves no test pool, and a ``pool_size`` above the rows
    left after it cannot be drawn: every such run would fail."""
    train_sizes = grid.axes.get("train_size", [])
    pools = [(p, size) for p, size in enumerate(grid.axes.get("pool_size", [])) if size is not None]
    out = []
    for i, label, rows in _sized_datasets(grid):
        big = [j for j, size in enumerate(train_sizes) if size >= rows]
        if big and _live_runs(grid, {"dataset": [i], "train_size": big}):
            shown = ", ".join(str(train_sizes[j]) for j in big)
            out.append(f"params.train_size: {shown} leaves no test pool in data set {label} of {rows} rows; use "
                       f"a smaller training set or exclude those runs")
        for j, train in enumerate(train_sizes):
            over = [p for p, size in pools if train < rows < train + size]
            if over and _live_runs(grid, {"dataset": [i], "train_size": [j], "pool_size": over}):
                shown = ", ".join(str(grid.axes["pool_size"][p]) for p in over)
                out.append(f"params.pool_size: {shown} exceeds the at most {rows - train} rows of data set {label} "
                           f"left after a training set of {train}; use a smaller pool or exclude those runs")
    return out


def _at_grid_check(grid) -> list[str]:
    """An ``at`` grid whose runs give a proposal fewer models under test than it needs (``loss_difference``
    compares the model with its rivals: it needs a ``rival``), counting only runs its exclude rules keep; and
    training sets that leave no test pool."""
    registry = _proposals()
    rivals = grid.axes.get("rival", [None])
    out = []
    for i, proposal in enumerate(grid.axes.get("proposal", [])):
        try:
            needed = _models_needed(registry.get(proposal["name"]).factory)
        except ValueError:  # a plug-in read but not run (``grid show``): its needs are unknown
            continue
        fewer = [j for j, value in enumerate(rivals) if 1 + len(rivals_of(value)) < needed]
        if not fewer or not _live_runs(grid, {"proposal": [i], "rival": fewer}):
            continue
        name = proposal["name"]
        if needed == 2:
            out.append(f"params.proposal: '{name}' needs a rival model, but params.rival is null in some of its "
                       f"runs; set params.rival or exclude {{proposal: {name}, rival: null}}")
        else:
            out.append(f"params.proposal: '{name}' needs {needed} models under test (model and {needed - 1} "
                       f"rivals), but params.rival gives fewer in some of its runs; list more rivals "
                       f"(rival: [[a, b, ...]]) or exclude those runs")
    return out + _at_train_sizes(grid)


@dataclass(frozen=True)
class Kind:
    name: str
    params: type[BaseModel]
    runner_path: str  # "module:function"
    description: str = ""
    components: dict[str, Callable[[], Registry]] = field(default_factory=dict)  # key -> its registry
    grid_check: Callable[[Any], list[str]] | None = None  # cross-key problems of a loaded Grid, one line each
    closing_path: str = ""  # "module:function" (store, grid name) -> the ClosingTables `grid run` ends with
    not_params: dict[str, str] = field(default_factory=dict)  # a key users write that is no hyperparameter -> why
    results_table_path: str = ""  # "module:function" (runs) -> the kind's own results table in reports

    def results_table(self, runs) -> Any:
        """The kind's own table of results for the report and export (None for a kind without one)."""
        return _load(self.results_table_path)(runs) if self.results_table_path else None

    def closing_tables(self, store, name: str) -> list:
        """The tables (``albench.closing_tables.ClosingTable``) that ``grid run`` prints at its end."""
        return _load(self.closing_path)(store, name) if self.closing_path else []

    def runner(self) -> Callable:
        return _load(self.runner_path)

    def implementations(self, params: dict[str, Any]) -> dict[str, str | None]:
        """``<key>_impl``: which code makes each component of a run (``Entry.implementation``)."""
        return {f"{key}_impl": self.implementations_of(key, [params[key]["name"]])[params[key]["name"]]
                for key in self.components}

    def implementations_of(self, key: str, names: list[str]) -> dict[str, str | None]:
        """name -> the implementation installed now of component ``key`` (None: unavailable here)."""
        out: dict[str, str | None] = {}
        for name in names:
            if key in ("learner", "model") and is_import_path(name):
                from albench import learners

                out[name] = learners.import_path_implementation(name)
                continue
            try:
                out[name] = self.components[key]().get(name).implementation
            except ValueError:  # unavailable here: the run will fail and say why; no implementation made it
                out[name] = None
        return out


def _load(path: str) -> Callable:
    """The function named by ``"module:function"``, imported now (not when the kinds are defined)."""
    module, _, func = path.partition(":")
    return getattr(importlib.import_module(module), func)


@dataclass
class RunResult:
    """What a runner returns: summary metrics (one row) and per-cycle/step rows."""

    summary: dict[str, Any]
    curves: list[dict[str, Any]] = field(default_factory=list)


KINDS: dict[str, Kind] = {
    "al": Kind("al", ALParams, "albench.al_loop:run", "pool-based active learning",
               {"dataset": _datasets, "learner": _learners, "strategy": _strategies}, _al_grid_check,
               closing_path="albench.closing_tables:al_tables"),
    "at": Kind("at", ATParams, "albench.active_testing.runner:run", "active testing (label-efficient evaluation)",
               {"dataset": _datasets, "model": _learners, "proposal": _proposals}, _at_grid_check,
               closing_path="albench.closing_tables:at_tables",
               results_table_path="albench.active_testing.report:final_errors",
               not_params=dict.fromkeys(("estimator", "estimators"), "every run records every estimator (one "
                                        "<estimator>_* column each, listed by `albench strategies`)")),
}
