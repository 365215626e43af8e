"""The query-strategy contract, its registry, and plug-in discovery.

Contract (every strategy, native or adapted):

- ``Strategy(**params)`` only stores its parameters, which are the keyword
  arguments of the class's own ``__init__``; a class without one takes none
  (``TypeError`` for any keyword).
- ``prepare(X, rng)`` is called once per run with the whole pool, before the
  first query: the place for pool-only work (similarities, k-NN graphs,
  clusterings). Memory must grow linearly with the pool, never N x N.
- ``query(state, batch_size, rng)`` returns ``min(batch_size, #unlabelled)``
  distinct integer indices into the pool (a 1-D array; empty for a batch of
  0), none of them labelled, deterministic under ``rng``, with ties between
  equally good points broken at random with ``rng``. It must not modify
  ``state``, and it must not reuse results computed from an earlier labelled
  set (the same instance queried on a new state answers as a fresh one).
  ``validate_batch`` enforces this on every query, in the AL loop and in
  ``albench check-strategy`` alike, and names the cause of a violation.
- ``observe(idx, y, state)`` is called by the AL loop right after the labels of
  a queried batch arrive: ``idx`` the pool indices just labelled, ``y`` their
  labels, ``state`` the ``QueryState`` of that query (its model is the one the
  query saw; its ``labelled`` mask is from before the batch). The default does
  nothing; a strategy that learns from the answers (a bandit over strategies,
  e.g. ALBL) overrides it. It must not modify its arguments.

Most strategies score unlabelled points and take the top k: subclass
``ScoreStrategy`` and implement ``scores``, one per unlabelled point in
``state.unlabelled`` order (checked: a wrong length or any NaN is a
``ValueError``; ``-inf`` means "pick last"); ``top_k`` breaks ties at random.

A new strategy is one file in ``strategies/``, in a folder named by
``ALBENCH_PLUGINS`` (``os.pathsep``-separated) or by a grid's ``plugins:`` key,
or a module of an installed package exposed through the entry-point group
``albench.strategies``. Registering is ``@register("name", "description")``;
a name that exists already raises ``DuplicateName`` unless the registration
says ``replaces=True``. The built-in folder is imported as the package
``albench.strategies`` (never as a top-level ``strategies``, which any folder
of that name earlier on ``sys.path`` would shadow).
"""

from __future__ import annotations

import hashlib
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

from albench.registry import PLUGIN_HINT, DuplicateName, Provenance, Registry, declare_provenance

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
    # The run's number of query cycles (its spec's ``budget``; this query is cycle ``cycle`` of them), for
    # strategies whose schedule depends on the horizon (ALBL); None outside an AL run (e.g. check-strategy).
    budget: int | None = None
    cache: dict = field(default_factory=dict, repr=False)  # per-call memo (shared predictions)
    # Only for oracle baselines (a class with ``needs_test_labels = True``), None for every other strategy:
    # the pool's true labels and the held-out test split (X_test, y_test).
    y_true: np.ndarray | None = field(default=None, repr=False)
    test: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @cached_property
    def unlabelled(self) -> np.ndarray:
        return np.flatnonzero(~self.labelled)

    def proba_unlabelled(self) -> np.ndarray:
        """The model's class probabilities on the unlabelled points, computed once."""
        if "proba_unlabelled" not in self.cache:
            self.cache["proba_unlabelled"] = np.asarray(self.model.predict_proba(self.X[self.unlabelled]))
        return self.cache["proba_unlabelled"]


class Strategy:
    """Base class; see the module docstring for the contract.

    A strategy's parameters are the keyword arguments of its own ``__init__``
    (which calls ``super().__init__(**those)`` to store them in ``params``). A
    class that does not define ``__init__`` takes no parameters: constructing
    it with any raises ``TypeError``, so a typo in a grid cannot be ignored.
    """

    def __init__(self, **params):
        if params and type(self).__init__ is Strategy.__init__:
            raise TypeError(f"{type(self).__name__} takes no parameters; got {', '.join(sorted(params))} "
                            f"(a strategy declares its parameters as keyword arguments of its own __init__)")
        self.params = params

    def prepare(self, X: np.ndarray, rng: np.random.Generator) -> None:
        """Pool-only precomputation, once per run (default: nothing)."""

    def query(self, state: QueryState, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def observe(self, idx: np.ndarray, y: np.ndarray, state: QueryState) -> None:
        """The labels of the batch just queried (default: nothing); see the module docstring."""


class ScoreStrategy(Strategy):
    """Take the ``batch_size`` unlabelled points with the highest ``scores``.

    The scores are checked before ranking: exactly one per unlabelled point, no
    NaN (``ValueError`` naming the strategy and the problem otherwise). ``inf``
    and ``-inf`` are allowed and rank first and last.
    """

    def scores(self, state: QueryState) -> np.ndarray:
        """One utility per unlabelled point (``state.unlabelled`` order); higher is better."""
        raise NotImplementedError

    def query(self, state, batch_size, rng):
        scores = check_scores(self.scores(state), len(state.unlabelled), type(self).__name__)
        picked = top_k(scores, batch_size, rng)
        self.last_n_tied = n_tied(scores, picked)
        return state.unlabelled[picked]


def n_tied(scores: np.ndarray, picked: np.ndarray) -> int:
    """Candidates left out of the batch whose score equals its last (lowest) pick: > 0 means a tie decided it.

    The AL loop stores it per cycle (curves ``n_tied``) for strategies that set
    ``last_n_tied``, so the analysis can tell how often twins differ by a tie.
    """
    if len(picked) == 0 or len(picked) == len(scores):
        return 0
    return int((scores == scores[picked].min()).sum() - (scores[picked] == scores[picked].min()).sum())


def check_scores(scores, n_unlabelled: int, strategy: str) -> np.ndarray:
    """``scores`` as a float vector of length ``n_unlabelled`` without NaN, else ``ValueError`` saying why."""
    try:
        arr = np.asarray(scores, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"strategy {strategy}: scores must be numbers, one per unlabelled point ({exc})") from None
    if arr.shape != (n_unlabelled,):
        raise ValueError(f"strategy {strategy}: scores have shape {arr.shape}, expected ({n_unlabelled},): "
                         f"one score per unlabelled point, in state.unlabelled order")
    n_nan = int(np.isnan(arr).sum())
    if n_nan:
        raise ValueError(f"strategy {strategy}: {n_nan} of {n_unlabelled} scores are NaN (first at unlabelled "
                         f"position {int(np.flatnonzero(np.isnan(arr))[0])}); return -inf for points never to pick")
    return arr


def top_k(scores: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of the k largest scores, ties broken uniformly at random.

    A random permutation first, then a stable ordering: equal scores keep the
    random order. ``argpartition`` keeps it O(n) for k << n. A NaN ranks below
    every number here (``ScoreStrategy`` rejects NaN scores before calling it).
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


def random_argmax(values: np.ndarray, rng: np.random.Generator) -> int:
    """Position of the largest value, ties broken uniformly at random (``np.argmax`` takes the first)."""
    values = np.asarray(values)
    best = np.flatnonzero(values == values.max())
    return int(best[0] if len(best) == 1 else rng.choice(best))


class ContractError(RuntimeError):
    """A strategy returned a batch that breaks the contract; the message names the strategy and the cause."""


def validate_batch(idx, labelled: np.ndarray, expected: int, strategy: str) -> np.ndarray:
    """The batch contract, checked on every query by the AL loop and by ``albench check-strategy``.

    ``idx`` must be a 1-D array of ``expected`` distinct integer indices into the
    pool, none of them labelled. Float and boolean arrays are refused (a cast
    would turn ``[1.9, 2.5]`` into ``[1, 2]``), except an empty batch. Returns
    the indices as ``intp``; raises ``ContractError`` naming the cause.
    """
    arr = np.asarray(idx)
    problem = None
    if arr.size and not np.issubdtype(arr.dtype, np.integer):  # bool is not an integer dtype
        problem = f"returned indices of dtype {arr.dtype}, expected integers"
    elif arr.ndim != 1 and arr.size:
        problem = f"returned indices of shape {arr.shape}, expected a 1-D array"
    elif arr.size != expected:
        problem = f"returned {arr.size} indices, expected {expected}"
    else:
        arr = arr.astype(np.intp).ravel()
        if len(np.unique(arr)) != len(arr):
            problem = "returned the same index twice"
        elif arr.size and (arr.min() < 0 or arr.max() >= len(labelled)):
            problem = f"returned an index outside the pool (0..{len(labelled) - 1})"
        elif labelled[arr].any():
            problem = "returned an already labelled index"
    if problem:
        raise ContractError(f"strategy '{strategy}' broke the contract: {problem}")
    return arr


registry = Registry("strategy", unknown_hint=PLUGIN_HINT)
register = registry.register


BUILTIN_PACKAGE = "albench.strategies"  # the repository's strategies/ folder, under a name that cannot clash
PLUGIN_MODULE_PREFIX = "albench_plugin_"


def _record_failure(label: str, exc: BaseException) -> None:
    reason = f"{type(exc).__name__}: {exc}".strip()
    registry.mark_unavailable(label, reason)
    print(f"albench: could not load strategies from {label}: {reason}", file=sys.stderr)
    if os.environ.get("ALBENCH_DEBUG"):
        traceback.print_exception(exc)


def _record_duplicate(label: str, exc: DuplicateName) -> None:
    """A clash found while loading lazily: the name is unavailable with the reason, and the user is told."""
    exc.registry.entries.pop(exc.name, None)
    exc.registry.unavailable[exc.name] = str(exc)
    _record_failure(label, exc)


def _plugin_module_name(path: Path) -> str:
    """Stable across processes (unlike ``hash``), distinct for two files of the same name."""
    return f"{PLUGIN_MODULE_PREFIX}{hashlib.sha256(str(path).encode()).hexdigest()[:10]}_{path.stem}"


def load_plugin_folder(folder: str | os.PathLike, *, strict: bool = True) -> None:
    """Import every ``*.py`` file in ``folder``; their decorators register them.

    A file that fails to import is recorded as unavailable with the reason. A
    file that registers a name that already exists (without ``replaces=True``)
    raises ``DuplicateName``; with ``strict=False`` (``ALBENCH_PLUGINS``) the
    name becomes unavailable with that reason instead, and loading goes on.
    """
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"plug-in folder not found: {folder}")
    registry.names()  # the built-ins first, so that a clash is blamed on the plug-in
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        mod_name = _plugin_module_name(path)
        if mod_name in sys.modules:
            continue
        declare_provenance(mod_name, Provenance(source=f"plug-in {path}", label=path.stem))
        try:
            spec = importlib.util.spec_from_file_location(mod_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[mod_name] = module
            spec.loader.exec_module(module)
        except DuplicateName as exc:
            sys.modules.pop(mod_name, None)
            if strict:
                raise
            _record_duplicate(str(path), exc)
        except Exception as exc:  # a broken plug-in must not break the registry
            sys.modules.pop(mod_name, None)
            _record_failure(str(path), exc)


def _load_entry_point(ep) -> None:
    dist = getattr(ep, "dist", None)
    provider = f"{dist.name} {dist.version}" if dist is not None else ""
    module = ep.value.split(":")[0].strip()
    source = f"{module} (entry point {ep.name}{' of ' + provider if provider else ''})"
    declare_provenance(module, Provenance(source=source, label=module, provider=provider))
    top = module.split(".")[0]
    if top != module:
        declare_provenance(top, Provenance(source=top, label=top, provider=provider))
    ep.load()


def _load_all() -> None:
    package = importlib.import_module(BUILTIN_PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        try:
            importlib.import_module(f"{BUILTIN_PACKAGE}.{info.name}")
        except Exception as exc:
            _record_failure(f"{BUILTIN_PACKAGE}.{info.name}", exc)
    for folder in filter(None, os.environ.get("ALBENCH_PLUGINS", "").split(os.pathsep)):
        try:
            load_plugin_folder(folder, strict=False)
        except FileNotFoundError as exc:
            _record_failure(folder, exc)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            _load_entry_point(ep)
        except DuplicateName as exc:
            _record_duplicate(f"entry point {ep.name}", exc)
        except Exception as exc:
            _record_failure(f"entry point {ep.name}", exc)


registry.loader = _load_all


def create_strategy(name: str, params: dict | None = None) -> Strategy:
    return registry.create(name, **(params or {}))
