"""The query-strategy contract, its registry, and plug-in discovery.

Contract (every strategy, native or adapted):

- ``Strategy(**params)`` only stores its parameters.
- ``prepare(X, rng)`` is called once per run with the whole pool, before the
  first query: the place for pool-only work (similarities, k-NN graphs,
  clusterings). Memory must grow linearly with the pool, never N x N.
- ``query(state, batch_size, rng)`` returns ``min(batch_size, #unlabelled)``
  distinct indices into the pool, none of them labelled, deterministic under
  ``rng``. It must not modify ``state``.

Most strategies score unlabelled points and take the top k: subclass
``ScoreStrategy`` and implement ``scores``; ``top_k`` breaks ties at random.

A new strategy is one file in ``strategies/``, in a folder named by
``ALBENCH_PLUGINS`` (``os.pathsep``-separated) or by a grid's ``plugins:`` key,
or a module of an installed package exposed through the entry-point group
``albench.strategies``. Registering is ``@register("name", "description")``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
import traceback
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable

import numpy as np

from albench.registry import Registry

ENTRY_POINT_GROUP = "albench.strategies"


@dataclass
class QueryState:
    """What a strategy sees at one AL cycle.

    ``y`` holds the labels of the labelled points and -1 elsewhere: a strategy
    never sees an oracle label it has not paid for.
    """

    model: Any  # fitted; predict_proba gives one column per class in `classes`
    X: np.ndarray  # the whole pool, labelled points included
    labelled: np.ndarray  # bool mask over the pool
    y: np.ndarray  # int labels over the pool, -1 where unlabelled
    classes: np.ndarray  # 0..C-1, every class of the data set
    make_learner: Callable[[], Any] | None = None  # fresh unfitted learner (committees, EER)
    cycle: int = 0
    cache: dict = field(default_factory=dict, repr=False)  # per-call memo (shared predictions)

    @cached_property
    def unlabelled(self) -> np.ndarray:
        return np.flatnonzero(~self.labelled)

    def proba_unlabelled(self) -> np.ndarray:
        """The model's class probabilities on the unlabelled points, computed once."""
        if "proba_unlabelled" not in self.cache:
            self.cache["proba_unlabelled"] = np.asarray(self.model.predict_proba(self.X[self.unlabelled]))
        return self.cache["proba_unlabelled"]


class Strategy:
    """Base class; see the module docstring for the contract."""

    def __init__(self, **params):
        self.params = params

    def prepare(self, X: np.ndarray, rng: np.random.Generator) -> None:
        """Pool-only precomputation, once per run (default: nothing)."""

    def query(self, state: QueryState, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError


class ScoreStrategy(Strategy):
    """Take the ``batch_size`` unlabelled points with the highest ``scores``."""

    def scores(self, state: QueryState) -> np.ndarray:
        """One utility per unlabelled point (``state.unlabelled`` order); higher is better."""
        raise NotImplementedError

    def query(self, state, batch_size, rng):
        return state.unlabelled[top_k(self.scores(state), batch_size, rng)]


def top_k(scores: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of the k largest scores, ties broken uniformly at random.

    A random permutation first, then a stable ordering: equal scores keep the
    random order. ``argpartition`` keeps it O(n) for k << n.
    """
    scores = np.nan_to_num(np.asarray(scores, dtype=float), nan=-np.inf)
    n = len(scores)
    k = min(int(k), n)
    if k <= 0:
        return np.empty(0, dtype=np.intp)
    perm = rng.permutation(n)
    shuffled = -scores[perm]
    if k < n:
        part = np.argpartition(shuffled, k - 1)[:k]
        # argpartition is not stable: keep every point tied with the k-th score
        # and order them by (score, random position) so ties break at random.
        kth = shuffled[part].max()
        cand = np.flatnonzero(shuffled <= kth)
    else:
        cand = np.arange(n)
    order = cand[np.lexsort((cand, shuffled[cand]))][:k]
    return perm[order]


registry = Registry("strategy")
register = registry.register


def _record_failure(label: str, exc: BaseException) -> None:
    reason = f"{type(exc).__name__}: {exc}".strip()
    registry.mark_unavailable(label, reason)
    print(f"albench: could not load strategies from {label}: {reason}", file=sys.stderr)
    if os.environ.get("ALBENCH_DEBUG"):
        traceback.print_exception(exc)


def load_plugin_folder(folder: str | os.PathLike) -> None:
    """Import every ``*.py`` file in ``folder``; their decorators register them."""
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"plug-in folder not found: {folder}")
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        mod_name = f"albench_plugin_{abs(hash(str(path)))}_{path.stem}"
        if mod_name in sys.modules:
            continue
        try:
            spec = importlib.util.spec_from_file_location(mod_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[mod_name] = module
            spec.loader.exec_module(module)
        except Exception as exc:  # a broken plug-in must not break the registry
            sys.modules.pop(mod_name, None)
            _record_failure(str(path), exc)


def _load_all() -> None:
    import strategies

    for info in pkgutil.iter_modules(strategies.__path__):
        if info.name.startswith("_"):
            continue
        try:
            importlib.import_module(f"strategies.{info.name}")
        except Exception as exc:
            _record_failure(f"strategies.{info.name}", exc)
    for folder in filter(None, os.environ.get("ALBENCH_PLUGINS", "").split(os.pathsep)):
        try:
            load_plugin_folder(folder)
        except FileNotFoundError as exc:
            _record_failure(folder, exc)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as exc:
            _record_failure(f"entry point {ep.name}", exc)


registry.loader = _load_all


def create_strategy(name: str, params: dict | None = None) -> Strategy:
    return registry.create(name, **(params or {}))
