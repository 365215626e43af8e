"""The strategy contract of ``albench.strategy``: the one batch validator, the score checks of
``ScoreStrategy``, parameters of classes without ``__init__``, and the ``observe`` hook as the AL
loop calls it."""

from __future__ import annotations

import numpy as np
import pytest

from albench import al_loop, datasets
from albench.spec import grid_from_dict
from albench.strategy import ContractError, ScoreStrategy, Strategy, registry, validate_batch

LABELLED = np.array([True, False, False, False, False])


@pytest.mark.parametrize("idx, message", [
    ([1.9, 2.5], "returned indices of dtype float64, expected integers"),
    (np.array([1.0, 2.0]), "returned indices of dtype float64, expected integers"),  # whole floats too
    (np.array([False, True, True, False, False]), "returned indices of dtype bool, expected integers"),
    (np.array([[1], [2]]), "returned indices of shape (2, 1), expected a 1-D array"),
    ([1], "returned 1 indices, expected 2"),
    ([1, 2, 3], "returned 3 indices, expected 2"),
    ([2, 2], "returned the same index twice"),
    ([0, 1], "returned an already labelled index"),
    ([1, 5], "returned an index outside the pool (0..4)"),
    ([-1, 2], "returned an index outside the pool (0..4)"),
    (["1", "2"], "expected integers"),
])
def test_validator_names_the_cause(idx, message):
    with pytest.raises(ContractError) as err:
        validate_batch(idx, LABELLED, 2, "s")
    assert str(err.value) == f"strategy 's' broke the contract: {message}" or message in str(err.value)
    assert str(err.value).startswith("strategy 's' broke the contract: ")


def test_validator_accepts_integer_batches_and_an_empty_one():
    for idx in ([1, 4], np.array([3, 2], dtype=np.int32), np.array([1, 2], dtype=np.uint8)):
        out = validate_batch(idx, LABELLED, 2, "s")
        assert out.dtype == np.intp and out.tolist() == list(np.asarray(idx))
    assert validate_batch([], LABELLED, 0, "s").tolist() == []  # np.asarray([]) is float: empty is fine
    with pytest.raises(ContractError, match="returned 0 indices, expected 2"):
        validate_batch([], LABELLED, 2, "s")


def test_the_loop_uses_the_validator():
    assert al_loop.check_batch([1, 4], LABELLED, 2, "s").tolist() == [1, 4]
    with pytest.raises(ContractError, match="dtype float64"):
        al_loop.check_batch([1.9, 2.5], LABELLED, 2, "s")


class _FixedScores(ScoreStrategy):
    def __init__(self, scores=None):
        super().__init__(scores=scores)
        self.fixed = scores

    def scores(self, state):
        return self.fixed


class _State:
    unlabelled = np.array([1, 2, 3, 4])


def test_score_strategy_checks_the_number_of_scores():
    with pytest.raises(ValueError, match=r"_FixedScores: scores have shape \(3,\), expected \(4,\): one score per "
                                         r"unlabelled point"):
        _FixedScores([0.1, 0.2, 0.3]).query(_State(), 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"shape \(4, 1\), expected \(4,\)"):
        _FixedScores([[0.1], [0.2], [0.3], [0.4]]).query(_State(), 1, np.random.default_rng(0))


def test_nan_scores_are_an_error_and_infinities_are_allowed():
    with pytest.raises(ValueError, match="_FixedScores: 1 of 4 scores are NaN .first at unlabelled position 2."):
        _FixedScores([0.1, 0.2, np.nan, 0.4]).query(_State(), 1, np.random.default_rng(0))
    picks = _FixedScores([-np.inf, 0.2, np.inf, 0.4]).query(_State(), 2, np.random.default_rng(0))
    assert sorted(picks.tolist()) == [3, 4]  # +inf first, then the largest number


def test_a_class_without_init_takes_no_parameters():
    class NoParams(Strategy):
        pass

    NoParams()  # fine
    with pytest.raises(TypeError, match="NoParams takes no parameters; got bata, sead"):
        NoParams(sead=3, bata=2)

    class WithParams(Strategy):
        def __init__(self, beta: float = 1.0):
            super().__init__(beta=beta)

    assert WithParams(beta=2.0).params == {"beta": 2.0}

    class Inherits(WithParams):  # inherits its parent's declared parameters
        pass

    assert Inherits(beta=3.0).params == {"beta": 3.0}
    with pytest.raises(TypeError):
        Inherits(gamma=1)


def test_unknown_parameter_rejected_for_every_native_strategy_without_parameters():
    for name in ("random", "margin", "entropy", "least_confident", "badge"):
        with pytest.raises(TypeError, match="takes no parameters; got bogus"):
            registry.create(name, bogus=1)


# --- observe: called right after the labels arrive ---------------------------------------------------


class Recording(Strategy):
    """Random picks; records what observe receives and what the state looked like at query time."""

    log: list = []

    def query(self, state, batch_size, rng):
        self.log.append({"query_state": state, "query_labelled": np.array(state.labelled), "model": state.model,
                         "model_coef": np.array(state.model.estimator_.coef_)})
        return rng.choice(state.unlabelled, size=min(batch_size, len(state.unlabelled)), replace=False)

    def observe(self, idx, y, state):
        self.log[-1].update(idx=np.array(idx), y=np.array(y), state=state,
                            coef_at_observe=np.array(state.model.estimator_.coef_))


@pytest.fixture
def recording():
    registry.names()
    registry.register("test_recording")(Recording)
    Recording.log = []
    yield Recording.log
    registry.entries.pop("test_recording", None)


def test_observe_gets_the_batch_its_labels_and_the_query_state(recording):
    grid = grid_from_dict({"name": "observe", "kind": "al", "params": {
        "dataset": "iris", "learner": "logreg", "strategy": "test_recording", "batch_size": 4, "budget": 3}})
    spec = next(grid.specs())
    result = al_loop.run(spec)
    data = datasets.load("iris", {})
    pool_idx, _ = al_loop.split_indices(data.y, spec.params["dataset"], spec.params["split"],
                                        spec.params["test_fraction"])
    queried = [row["queried"] for row in result.curves if row["queried"]]
    assert len(recording) == len(queried) == 3
    for entry, rows in zip(recording, queried):
        state = entry["state"]
        assert state is entry["query_state"]  # the QueryState of that very query
        assert len(entry["idx"]) == 4 and not entry["query_labelled"][entry["idx"]].any()
        np.testing.assert_array_equal(state.labelled, entry["query_labelled"])  # from before the batch
        assert pool_idx[entry["idx"]].tolist() == rows  # idx are pool indices, the batch the loop stored
        np.testing.assert_array_equal(entry["y"], data.y[rows])  # y their true labels, in that order
        np.testing.assert_array_equal(entry["coef_at_observe"], entry["model_coef"])  # not refitted yet
