"""Every registered strategy (native, modAL, scikit-activeml, and whatever else the registry
holds at test time) passes the conformance suite of ``albench.checks``, one test per check,
through the published pytest helper ``albench.testing.strategy_checks``.

A check that a strategy declares as a known failure (``known_failures``, with the
reason, or ``albench.checks.ADAPTER_KNOWN_FAILURES`` for third-party adapters) is a
strict xfail: it turns red once it passes, so the declaration cannot go stale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from albench import checks
from albench.al_loop import check_batch
from albench.execute import execute_run
from albench.spec import grid_from_dict
from albench.strategy import ContractError, registry
from albench.testing import strategy_checks

# These refit the learner once per candidate and label: Gaussian naive Bayes (fits in well
# under a millisecond) keeps the suite fast; every other strategy is checked with logreg.
FAST_LEARNER = {"expected_error_reduction": "gnb", "skactiveml.eer": "gnb", "modal.expected_error_reduction": "gnb",
                "oracle": "gnb", "alipy.eer": "gnb"}


def _cases():
    for name in registry.names():
        for case in strategy_checks(name, FAST_LEARNER.get(name, checks.DEFAULT_LEARNER)):
            yield pytest.param(*case.values, id=f"{name}-{case.id}", marks=case.marks)


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("check", list(_cases()))
def test_strategy_conformance(check):
    check()


def test_registry_holds_the_three_implementations():
    names = registry.names()
    for name in ("least_confident", "modal.uncertainty", "skactiveml.least_confident",
                 "vote_entropy", "modal.vote_entropy", "skactiveml.qbc_vote_entropy"):
        assert name in names
    assert "modal.expected_error_reduction" in registry.unavailable  # modAL's module does not import here


# --- the checks themselves catch what they claim to catch ----------------------------------------


class _Broken:
    """Strategies that each break one rule (registered only inside the test below)."""

    @staticmethod
    def duplicate(self, state, k, rng):
        idx = state.unlabelled[:k].copy()
        if k > 1:
            idx[-1] = idx[0]
        return idx

    @staticmethod
    def labelled(self, state, k, rng):
        return np.concatenate([np.flatnonzero(state.labelled)[:1], state.unlabelled[: k - 1]])

    @staticmethod
    def too_many(self, state, k, rng):
        return state.unlabelled[: k + 1]

    @staticmethod
    def float_indices(self, state, k, rng):
        return state.unlabelled[:k].astype(float)

    @staticmethod
    def unseeded(self, state, k, rng):
        return np.random.default_rng().choice(state.unlabelled, size=min(k, len(state.unlabelled)), replace=False)

    @staticmethod
    def mutating(self, state, k, rng):
        state.y[state.unlabelled[0]] = 0  # the AL loop's read-only arrays refuse this; copies do not
        return state.unlabelled[:k]

    @staticmethod
    def lowest_index(self, state, k, rng):  # argmax-style: ties go to the first points
        scores = 1.0 - state.proba_unlabelled().max(axis=1)
        return state.unlabelled[np.argsort(-scores, kind="stable")[:k]]

    @staticmethod
    def stale_cache(self, state, k, rng):  # scores of the first labelled set, reused forever
        if not hasattr(self, "cached"):
            self.cached = np.zeros(len(state.X))
            self.cached[state.unlabelled] = 1.0 - state.proba_unlabelled().max(axis=1)
        scores = np.where(state.labelled, -np.inf, self.cached)
        return np.argsort(-scores, kind="stable")[:k]

    @staticmethod
    def zero_crash(self, state, k, rng):
        if k == 0:
            raise ValueError("n_clusters must be >= 1")
        return state.unlabelled[:k]

    @staticmethod
    def any_params(self, state, k, rng):  # a correct query; only its __init__ is wrong
        return rng.choice(state.unlabelled, size=min(k, len(state.unlabelled)), replace=False)

    @staticmethod
    def quadratic(self, state, k, rng):
        gram = state.X @ state.X.T  # N x N
        return state.unlabelled[np.argsort(-gram.sum(axis=1)[state.unlabelled], kind="stable")[:k]]


class _AnyParams:
    """Declares an __init__ that swallows every keyword (the check must catch it)."""

    def __init__(self, **params):
        super().__init__(**params)


@pytest.fixture
def broken_strategies():
    from albench.strategy import Strategy

    added = []
    for rule in ("duplicate", "labelled", "too_many", "float_indices", "unseeded", "mutating", "lowest_index",
                 "stale_cache", "zero_crash", "quadratic", "any_params"):
        name = f"test_broken_{rule}"
        body = getattr(_Broken, rule)
        bases = (_AnyParams, Strategy) if rule == "any_params" else (Strategy,)
        registry.register(name)(type(name, bases, {"query": body}))
        added.append(name)
    yield
    for name in added:
        registry.entries.pop(name, None)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("rule, check, message", [
    ("duplicate", "check_batch_size", "returned the same index twice"),
    ("labelled", "check_batch_size", "returned an already labelled index"),
    ("too_many", "check_batch_size", "returned 2 indices, expected 1"),
    ("float_indices", "check_batch_size", "returned indices of dtype float64, expected integers"),
    ("unseeded", "check_same_seed_same_batch", "the same seed gave"),
    ("mutating", "check_no_input_mutation", "modified its input(s): y"),
    ("lowest_index", "check_random_tie_breaking", "5 seeds all picked [3, 4, 5]"),
    ("stale_cache", "check_fresh_answer_after_relabelling", "stale results of an earlier labelled set"),
    ("zero_crash", "check_batch_size_zero", "raised ValueError: n_clusters must be >= 1"),
    ("quadratic", "check_memory_linear_in_pool", "quadratic; at most 8x passes"),
    ("any_params", "check_unknown_parameter_rejected", "accepted the unknown parameter bogus_param=1"),
])
def test_each_check_catches_its_violation(broken_strategies, rule, check, message):
    results = {r.check: r for r in checks.check_strategy(f"test_broken_{rule}")}
    assert results[check].status == "fail"
    assert message in results[check].reason


def test_a_correct_strategy_passes_the_new_checks():
    """The reference for the checks above: the built-in least-confident strategy passes each of them."""
    results = {r.check: r.status for r in checks.check_strategy("least_confident")}
    assert results == {name: "pass" for name, _ in checks.iter_checks("least_confident")}


def test_declared_known_failure_is_reported_with_its_reason_not_hidden():
    result = {r.check: r for r in checks.check_strategy("skactiveml.badge")}["check_duplicate_points"]
    if "check_duplicate_points" in checks.known_failures_of("skactiveml.badge"):  # scikit-activeml 1.0.1
        assert result.status == "xfail"
        assert "forgets the picks so far" in result.reason  # the declared reason
        assert "returned the same index twice" in result.reason  # and what the check saw
    else:  # another release is checked afresh
        assert result.status == "pass", result.reason


# --- what happens when scikit-activeml's duplicate bug reaches a real run --------------------------


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", ["skactiveml.badge", "skactiveml.batch_bald", "skactiveml.typiclust"])
def test_duplicate_batch_is_rejected_by_the_loop(name):
    """The adapter does not repair scikit-activeml's batches: a batch with a repeated index
    is refused by the AL loop's contract check, and the run becomes an error row."""
    pool = checks.make_pool("logreg", n=12, n_labelled=3, duplicate=True)
    idx = registry.create(name).query(pool.state(), 16, np.random.default_rng(checks.SEED))
    assert len(set(idx.tolist())) < len(idx), f"{name} no longer repeats indices: drop its known failure"
    with pytest.raises(ContractError, match=f"strategy '{name}' broke the contract: returned the same index twice"):
        check_batch(idx, pool.labelled, 16, name)


@pytest.mark.filterwarnings("ignore")
def test_badge_duplicate_becomes_an_error_row_in_a_grid(tmp_path):
    pool = checks.make_pool("logreg", n=12, duplicate=True)
    X, y = pool.X, pool.y_true
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).assign(label=y)
    path = tmp_path / "twins.csv"
    pd.concat([frame, frame]).to_csv(path, index=False)  # every point four times
    grid = grid_from_dict({"name": "dup", "kind": "al", "params": {
        "dataset": {"name": "file", "path": str(path), "target": "label"}, "learner": "logreg",
        "strategy": "skactiveml.badge", "batch_size": 20, "budget": 2, "initial_size": 3}})
    row, _ = execute_run(next(grid.specs()), grid.name)
    assert row["status"] == "error"
    assert "broke the contract: returned the same index twice" in row["error"]
