"""The strategy conformance suite: small named checks of the strategy contract.

Built like scikit-learn's ``check_estimator``: ``iter_checks`` yields
``(check_name, check)`` pairs, each check a small function of a strategy name
and a learner name that raises ``CheckFailure`` with a clear reason (or lets
the strategy's own exception through). ``check_strategy`` runs them all and
returns one ``CheckResult`` per check; ``albench check-strategy NAME`` prints
them, ``albench.testing.strategy_checks`` turns them into pytest parameters,
and ``tests/test_common.py`` runs every registered strategy through them.

Each check builds a small pool, fits the learner on its labelled part (wrapped
in ``AlignedClassifier``, as the AL loop does), calls ``prepare`` then
``query`` as the loop does, and validates the batch with the contract's own
validator (``albench.strategy.validate_batch``, the one the AL loop uses):
exactly ``min(batch_size, #unlabelled)`` distinct integer indices into the
pool, none of them labelled. Beyond that: a batch of 0, random tie-breaking
(every point identical), no stale results when the same instance is queried
again after labelling, unknown parameters refused at construction, and traced
peak memory about linear in the pool (``MEMORY_POOL_SIZES``). A strategy with
``needs_test_labels`` (an oracle baseline) gets the true labels as the loop
gives them, with the pool as its test split.

Known failures: a strategy class may declare ``known_failures = {check_name:
reason}``; ``ADAPTER_KNOWN_FAILURES`` holds those of the modAL and
scikit-activeml adapters; callers may add more. A known failure that fails is
reported as ``xfail`` with its reason; one that passes as ``xpass`` (the
declaration can go).
"""

from __future__ import annotations

import copy
import tracemalloc
import warnings
from dataclasses import dataclass, replace
from typing import Callable, Iterator

import numpy as np
from sklearn.datasets import make_classification
from threadpoolctl import threadpool_limits

from albench.learners import AlignedClassifier, make_learner
from albench.strategy import ContractError, QueryState, registry
from albench.strategy import validate_batch as contract_batch

SEED = 0
DEFAULT_LEARNER = "logreg"
ORACLE_TEST_POINTS = 100


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
    idx = query(strategy, state, pool, batch_size, rng)
    return validate_batch(idx, pool.labelled, min(batch_size, int((~pool.labelled).sum())), name)


def query(strategy, state: QueryState, pool: Pool, batch_size: int, rng: np.random.Generator):
    """``strategy.query``, handing an oracle baseline (``needs_test_labels``) the true labels as the loop
    does; the pool serves as its test split here."""
    if getattr(strategy, "needs_test_labels", False):
        test = slice(0, ORACLE_TEST_POINTS)  # a few points: the oracle refits and evaluates per candidate
        state.y_true, state.test = _read_only(pool.y_true), (_read_only(pool.X[test]), _read_only(pool.y_true[test]))
    return strategy.query(state, batch_size, rng)


def validate_batch(idx, labelled: np.ndarray, expected: int, name: str) -> np.ndarray:
    """The contract's batch validator (``albench.strategy.validate_batch``), failing as a ``CheckFailure``."""
    try:
        return contract_batch(idx, labelled, expected, name)
    except ContractError as exc:
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


def check_batch_size_zero(name, learner):
    """A batch of 0 is an empty array (no error, no index)."""
    run_query(name, make_pool(learner), 0)


TIE_SEEDS = range(5)


def check_random_tie_breaking(name, learner):
    """Every point identical, so every point ties: over several seeds the picks vary and are not the
    lowest indices (the contract breaks ties at random, never by position)."""
    n, k = 40, 3
    pool = Pool(X=np.ones((n, 5)), y_true=np.arange(n, dtype=np.int64) % 3,
                labelled=np.isin(np.arange(n), [0, 1, 2]), learner=learner)
    batches = [run_query(name, pool, k, seed=seed) for seed in TIE_SEEDS]
    if len({tuple(sorted(b.tolist())) for b in batches}) == 1:
        raise CheckFailure(f"all points tie, yet {len(batches)} seeds all picked {sorted(batches[0].tolist())}: "
                           f"ties must be broken at random with rng")
    low_half = np.flatnonzero(~pool.labelled)[: (n - 3) // 2]
    share = np.isin(np.concatenate(batches), low_half).mean()
    if share >= 0.9:
        raise CheckFailure(f"all points tie, yet {share:.0%} of the picks over {len(batches)} seeds are in the "
                           f"lower-indexed half of the pool (random: about 50%): ties are broken by position")


def check_fresh_answer_after_relabelling(name, learner):
    """The same instance queried twice in a row, the second time after its batch was labelled and the model
    refitted, picks what a fresh instance picks (it must not reuse scores of the earlier labelled set)."""
    first = make_pool(learner)
    strategy, rng = registry.create(name), np.random.default_rng(SEED)
    strategy.prepare(first.state().X, rng)
    batch = validate_batch(query(strategy, first.state(), first, 5, rng), first.labelled, 5, name)
    labelled = first.labelled.copy()
    labelled[batch] = True
    second = replace(first, labelled=labelled)
    state = second.state()
    rng_at_second = copy.deepcopy(rng)
    reused = validate_batch(query(strategy, state, second, 5, rng), labelled, 5, name)
    fresh_strategy = registry.create(name)
    fresh_strategy.prepare(state.X, np.random.default_rng(SEED))  # the same prepare stream as the reused one
    fresh = validate_batch(query(fresh_strategy, second.state(), second, 5, rng_at_second), labelled, 5, name)
    if sorted(reused.tolist()) != sorted(fresh.tolist()):
        raise CheckFailure(f"after labelling its first batch, the same instance picked {sorted(reused.tolist())} "
                           f"but a fresh one picked {sorted(fresh.tolist())}: stale results of an earlier "
                           f"labelled set are reused")


def check_unknown_parameter_rejected(name, learner):
    """Constructing with a parameter the strategy does not declare raises TypeError or ValueError."""
    try:
        registry.create(name, bogus_param=1)
    except (TypeError, ValueError):
        return
    raise CheckFailure("accepted the unknown parameter bogus_param=1 (a typo in a grid would be ignored); "
                       "declare parameters as keyword arguments of __init__")


MEMORY_POOL_SIZES = (250, 1000)
MAX_MEMORY_RATIO = 8.0  # of the traced peaks: 4x is linear growth, 16x quadratic (an N x N matrix)


def traced_peak(name: str, pool: Pool, batch_size: int) -> int:
    """Peak bytes that tracemalloc sees during a fresh instance's prepare + query (the state is built first)."""
    state = pool.state()
    state.proba_unlabelled()  # the model's predictions are the loop's, not the strategy's
    tracemalloc.start()
    try:
        strategy, rng = registry.create(name), np.random.default_rng(SEED)
        strategy.prepare(state.X, rng)
        query(strategy, state, pool, batch_size, rng)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def check_memory_linear_in_pool(name, learner):
    """Traced peak memory of prepare + query at two pool sizes grows about linearly, far from quadratically."""
    run_query(name, make_pool(learner, n=60), 5)  # imports and one-off caches, outside the measurement
    small, large = (traced_peak(name, make_pool(learner, n=n, n_labelled=10), 3) for n in MEMORY_POOL_SIZES)
    ratio = large / max(small, 1)
    if ratio > MAX_MEMORY_RATIO:
        growth = MEMORY_POOL_SIZES[1] / MEMORY_POOL_SIZES[0]
        raise CheckFailure(f"traced peak memory grew {ratio:.1f}x ({small / 2**20:.2f} -> {large / 2**20:.2f} MiB) "
                           f"from {MEMORY_POOL_SIZES[0]} to {MEMORY_POOL_SIZES[1]} points ({growth:.0f}x is linear, "
                           f"{growth**2:.0f}x quadratic; at most {MAX_MEMORY_RATIO:.0f}x passes)")


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
    check_batch_size_zero,
    check_random_tie_breaking,
    check_fresh_answer_after_relabelling,
    check_unknown_parameter_rejected,
    check_memory_linear_in_pool,
)


def iter_checks(name: str, learner: str = DEFAULT_LEARNER) -> Iterator[tuple[str, Callable[[], None]]]:
    """``(check_name, check)`` pairs for one strategy and learner; each check takes no argument."""
    for check in CHECKS:
        yield check.__name__, (lambda check=check: check(name, learner))


_MODAL_TIES = ("modAL ranks with numpy argmax/argsort (multi_argmax, shuffled_argmax is not used), so ties go to "
               "the lowest index, not at random")
_QUADRATIC = "builds an N x N {what} of the pool"
# Third-party behaviour the adapters (strategies/modal.py, strategies/skactiveml.py) pass through unchanged:
# the checks report it as known (xfail) rather than failing every run of the suite.
ADAPTER_KNOWN_FAILURES: dict[str, dict[str, str]] = {
    **{f"modal.{n}": {"check_random_tie_breaking": _MODAL_TIES}
       for n in ("uncertainty", "margin", "entropy", "ranked_batch", "vote_entropy", "consensus_entropy",
                 "max_disagreement")},
    "modal.information_density": {"check_random_tie_breaking": _MODAL_TIES,
                                  "check_memory_linear_in_pool": "modAL's information_density "
                                  + _QUADRATIC.format(what="similarity matrix") + " (max_pool caps N)"},
    "modal.expected_error_reduction": {"check_random_tie_breaking": "modAL's expected_error_reduction ranks the "
                                       "expected errors with argmin, without random tie-breaking: every seed "
                                       "picks the same points when all of them tie"},
    "skactiveml.eer": {"check_random_tie_breaking": "scikit-activeml 1.0.1's ExpectedErrorReduction returns no "
                       "index when every candidate's expected error ties"},
    "skactiveml.typiclust": {"check_random_tie_breaking": "scikit-activeml 1.0.1's TypiClust raises "
                             "UnboundLocalError when the pool has fewer distinct points than clusters"},
    "skactiveml.greedy_x": {"check_memory_linear_in_pool": "scikit-activeml's GreedySamplingX "
                            + _QUADRATIC.format(what="distance matrix")},
    "skactiveml.max_herding": {"check_memory_linear_in_pool": "scikit-activeml's MaxHerding "
                               + _QUADRATIC.format(what="kernel matrix")},
    "skactiveml.prob_cover": {"check_memory_linear_in_pool": "scikit-activeml's ProbCover "
                              + _QUADRATIC.format(what="distance matrix")},
}


def known_failures_of(name: str) -> dict[str, str]:
    """Known failures of a strategy (check name -> reason): what its class declares in ``known_failures``,
    plus the third-party adapters' entries of ``ADAPTER_KNOWN_FAILURES``."""
    known = dict(ADAPTER_KNOWN_FAILURES.get(name, {}))
    known.update(getattr(registry.get(name).factory, "known_failures", {}) or {})
    return known


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
