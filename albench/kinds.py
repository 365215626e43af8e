"""Grid kinds: the hyperparameters a kind of run takes, and the runner that does one.

A kind's ``params`` model lists every grid key with its type and default; its
``runner`` (``"module:function"``, imported lazily) is a pure function of one
``RunSpec`` returning a ``RunResult``. The spec, executor and store are shared.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from albench import datasets, learners
from albench.registry import Registry


class Component(BaseModel):
    """A named implementation plus its parameters: ``rf`` or ``{name: rf, n_estimators: 50}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


def _component(value: Any) -> Any:
    if isinstance(value, str):
        return {"name": value, "params": {}}
    if isinstance(value, dict) and "name" in value and "params" not in value:
        return {"name": value["name"], "params": {k: v for k, v in value.items() if k != "name"}}
    return value


def _known_in(registry: Registry | Callable[[], Registry], *, allow_import_path: bool = False):
    def check(comp: Component) -> Component:
        reg = registry() if callable(registry) else registry
        if allow_import_path and learners.is_import_path(comp.name):
            learners.resolve(comp.name)  # raises UnknownName with the reason
            return comp
        reg.get(comp.name)  # raises UnknownName (closest names) or UnavailableName (reason)
        return comp

    return check


def _strategies() -> Registry:
    from albench.strategy import registry

    return registry


def component_of(registry, **kw):
    return Annotated[Component, BeforeValidator(_component), AfterValidator(_known_in(registry, **kw))]


DatasetRef = component_of(datasets.registry)
LearnerRef = component_of(learners.registry, allow_import_path=True)
StrategyRef = component_of(_strategies)
PositiveInt = Annotated[int, Field(strict=True, gt=0)]
NonNegativeInt = Annotated[int, Field(strict=True, ge=0)]
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


def _surrogate_known(comp: Component) -> Component:
    from albench.active_testing.surrogates import validate

    validate(comp.name, comp.params)  # raises UnknownName with the allowed values
    return comp


ProposalRef = component_of(_proposals)
SurrogateRef = Annotated[Component, BeforeValidator(_component), AfterValidator(_surrogate_known)]


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
    seed: NonNegativeInt = 0


@dataclass(frozen=True)
class Kind:
    name: str
    params: type[BaseModel]
    runner_path: str  # "module:function"
    description: str = ""

    def runner(self) -> Callable:
        module, _, func = self.runner_path.partition(":")
        return getattr(importlib.import_module(module), func)


@dataclass
class RunResult:
    """What a runner returns: summary metrics (one row) and per-cycle/step rows."""

    summary: dict[str, Any]
    curves: list[dict[str, Any]] = field(default_factory=list)


KINDS: dict[str, Kind] = {
    "al": Kind("al", ALParams, "albench.al_loop:run", "pool-based active learning"),
    "at": Kind("at", ATParams, "albench.active_testing.runner:run", "active testing (label-efficient evaluation)"),
}
