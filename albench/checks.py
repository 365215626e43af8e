"""The strategy conformance suite: small named checks of the strategy contract.

Built like scikit-learn's ``check_estimator``: ``iter_checks`` yields
``(check_name, check)`` pairs, each check a small function of a strategy name
and a learner name that raises ``CheckFailure`` with a clear reason (or lets
the strategy's own exception through). ``check_strategy`` runs them all and
returns one ``CheckResult`` per check; ``albench check-strategy NAME`` prints
them and ``tests/test_common.py`` runs every registered strategy through them.

Each check builds a small pool, fits the learner on its labelled part (wrapped
in ``AlignedClassifier``, as the AL loop does), calls ``prepare`` then
``query`` as the loop does, and validates the batch: exactly
``min(batch_size, #unlabelled)`` distinct integer indices into the pool, none
of them labelled.

Known failures: a strategy class may declare ``known_failures = {check_name:
reason}``; callers may add more. A known failure that fails is reported as
``xfail`` with its reason; one that passes as ``xpass`` (the declaration can
go).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
from sklearn.datasets import make_classification
from threadpoolctl import threadpool_limits

from albench.al_loop import check_batch
from albench.learners import AlignedClassifier, make_learner
from albench.strategy import QueryState, registry

SEED = 0
DEFAULT_LEARNER = "logreg"


class CheckFailure(AssertionError):
    """A strategy broke the contract; the message says how."""


@dataclass(frozen=True)
class CheckResult:
    check: str
    status: str  # pass | fail | xfail | xpass
    reason: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "fail"


@dataclass
class Pool:
    """A small labelled/unlabelled pool and the learner fitted on its labelled part."""

    X: np.ndarray
    y_true: np.ndarray
    labelled: np.ndarray
    learner: str

    @property
    def n_classes(self) -> int:
        return int(self.y_true.max()) + 1

    def state(self, *, read_only: bool = True) -> QueryState:
        X, labelled = self.X, self.labelled
        y = np.where(labelled, self.y_true, -1)
        if read_only:  # as the AL loop hands them over
            X, labelled, y = (_read_only(a) for a in (X, labelled, y))
        else:
            X, labelled, y = X.copy(), labelled.copy(), y.copy()

        def fresh():
            return make_learner(self.learner, random_state=SEED)

        model = AlignedClassifier(fresh(), self.n_classes).fit(self.X[self.labelled], self.y_true[self.labelled])
        return QueryState(model=model, X=X, labelled=labelled, y=y, classes=np.arange(self.n_classes),
                          make_learner=fresh)


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


def make_pool(learner: str, *, n: int = 60, n_classes: int = 3, n_labelled: int = 6,
              labelled_classes=None, duplicate: bool = False, seed: int = SEED) -> Pool:
    """A pool of ``n`` points with ``n_labelled`` labelled ones (from ``labelled_classes`` only, if given)."""
    X, y = make_classification(n_samples=n, n_features=5, n_informative=4, n_redundant=0, n_classes=n_classes,
                               n_clusters_per_class=1, class_sep=1.5, random_state=seed)
    if duplicate:  # every point twice: distances of zero, identical embeddings
        X, y = np.vstack([X, X]), np.concatenate([y, y])
    gen = np.random.default_rng(seed)
    allowed = np.flatnonzero(np.isin(y, labelled_classes)) if labelled_classes is not None else np.arange(len(y))
    # one per allowed class first, so the learner sees every class it is meant to see
    first = [gen.choice(np.flatnonzero(y[allowed] == c)) for c in np.unique(y[allowed])][:n_labelled]
    rest = gen.permutation(np.setdiff1d(np.arange(len(allowed)), first))[: n_labelled - len(first)]
    labelled = np.zeros(len(y), dtype=bool)
    labelled[allowed[np.concatenate([first, rest]).astype(int)]] = True
    return Pool(X=X.astype(float), y_true=y.astype(np.int64), labelled=labelled, learner=learner)


def run_query(name: str, pool: Pool, batch_size: int, seed: int = SEED, state: QueryState | None = None) -> np.ndarray:
    """prepare + query as the AL loop does, with a fresh strategy; returns the validated batch."""
    strategy = registry.create(name)
    rng = np.random.default_rng(seed)
    state = state if state is not None else pool.state()
    strategy.prepare(state.X, rng)
    idx = strategy.query(state, batch_size, rng)
    return validate_batch(idx, pool.labelled, min(batch_size, int((~pool.labelled).sum())), name)


def validate_batch(idx, labelled: np.ndarray, expected: int, name: str) -> np.ndarray:
    """The loop's contract check, plus integer indices (the loop would silently truncate floats)."""
    arr = np.asarray(idx)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise CheckFailure(f"returned indices of dtype {arr.dtype}, expected integers")
    try:
        return check_batch(arr, labelled, expected, name)
    except RuntimeError as exc:
        raise CheckFailure(str(exc).split(": ", 1)[-1]) from None


# --- the checks: each takes (strategy name, learner name) -------------------------------------


def check_batch_size(name, learner):
    """A multiclass pool: exactly the batch size of distinct, unlabelled indices."""
    for k in (1, 5):
        run_query(name, make_pool(learner), k)


def check_binary(name, learner):
    """Two classes."""
    run_query(name, make_pool(learner, n=40, n_classes=2, n_labelled=4), 4)


def check_multiclass(name, learner):
    """Five classes."""
    run_query(name, make_pool(learner, n=80, n_classes=5, n_labelled=10), 6)


def check_batch_larger_than_pool(name, learner):
    """A batch larger than the unlabelled pool gets the whole remaining pool."""
    pool = make_pool(learner, n=30, n_labelled=27)
    idx = run_query(name, pool, 10)
    if sorted(idx.tolist()) != np.flatnonzero(~pool.labelled).tolist():
        raise CheckFailure("with 3 unlabelled points and a batch of 10, expected those 3")


def check_single_labelled(name, learner):
    """One labelled sample: the model has seen one class, with probability 1."""
    run_query(name, make_pool(learner, n_labelled=1), 3)


def check_unseen_classes(name, learner):
    """The model has seen only some classes (2 of 4): its probabilities are 0 for the others."""
    run_query(name, make_pool(learner, n=60, n_classes=4, n_labelled=6, labelled_classes=[0, 1]), 5)


def check_duplicate_points(name, learner):
    """Every point twice, and a batch larger than the distinct points left: indices must still be distinct."""
    run_query(name, make_pool(learner, n=12, n_labelled=3, duplicate=True), 16)


def check_same_seed_same_batch(name, learner):
    """The same seed gives the same indices; the same state is used twice."""
    pool = make_pool(learner)
    a = run_query(name, pool, 5, seed=7)
    b = run_query(name, pool, 5, seed=7)
    if a.tolist() != b.tolist():
        raise CheckFailure(f"the same seed gave {a.tolist()} then {b.tolist()}")


def check_no_input_mutation(name, learner):
    """X, the labelled mask and y are left as they were (given writable copies)."""
    pool = make_pool(learner)
    state = pool.state(read_only=False)
    before = {"X": state.X.copy(), "labelled": state.labelled.copy(), "y": state.y.copy()}
    run_query(name, pool, 5, state=state)
    changed = [key for key, value in before.items() if not np.array_equal(value, getattr(state, key))]
    if changed:
        raise CheckFailure(f"modified its input(s): {', '.join(changed)}")


CHECKS: tuple[Callable[[str, str], None], ...] = (
    check_batch_size,
    check_binary,
    check_multiclass,
    check_batch_larger_than_pool,
    check_single_labelled,
    check_unseen_classes,
    check_duplicate_points,
    check_same_seed_same_batch,
    check_no_input_mutation,
)


def iter_checks(name: str, learner: str = DEFAULT_LEARNER) -> Iterator[tuple[str, Callable[[], None]]]:
    """``(check_name, check)`` pairs for one strategy and learner; each check takes no argument."""
    for check in CHECKS:
        yield check.__name__, (lambda check=check: check(name, learner))


def known_failures_of(name: str) -> dict[str, str]:
    """The ``known_failures`` a strategy's class declares (check name -> reason)."""
    return dict(getattr(registry.get(name).factory, "known_failures", {}) or {})


def run_check(check_name: str, check: Callable[[], None], known: dict[str, str]) -> CheckResult:
    try:
        check()
    except Exception as exc:  # a check reports every failure as a reason, never as a crash
        reason = str(exc) if isinstance(exc, CheckFailure) else f"raised {type(exc).__name__}: {exc}"
        if check_name in known:
            return CheckResult(check_name, "xfail", f"{known[check_name]} ({reason})")
        return CheckResult(check_name, "fail", reason)
    if check_name in known:
        return CheckResult(check_name, "xpass", f"declared as a known failure ({known[check_name]}) but passes")
    return CheckResult(check_name, "pass")


def check_strategy(name: str, learner: str = DEFAULT_LEARNER, known_failures: dict[str, str] | None = None,
                   on_result: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Run every check on strategy ``name`` (raises ``UnknownName``/``UnavailableName`` first)."""
    known = {**known_failures_of(name), **(known_failures or {})}
    results = []
    # one BLAS thread, as in the executors: on pools this small threads only cost (ten times, measured)
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # libraries' warnings on tiny pools say nothing about the contract
        for check_name, check in iter_checks(name, learner):
            result = run_check(check_name, check, known)
            results.append(result)
            if on_result:
                on_result(result)
    return results
