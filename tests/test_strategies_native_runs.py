"""Every native strategy in real AL runs: valid batches, pool exhaustion, one labelled point, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from albench import al_loop
from albench.spec import GridError, grid_from_dict
from albench.strategy import registry
from conftest import small_al_grid

# small settings for the costly ones, so that each run takes about a second
NATIVE = {
    "vote_entropy": {"n_members": 3},
    "kl_divergence": {"n_members": 3},
    "consensus_entropy": {"n_members": 3},
    "information_density": {},
    "coreset": {},
    "kmeans": {},
    "cluster_margin": {},
    "badge": {},
    "bald": {"n_samples": 3},
    "expected_error_reduction": {"n_candidates": 8, "n_eval": 40},
    "typiclust": {},
}


@pytest.fixture(autouse=True)
def one_thread():
    with threadpool_limits(limits=1):
        yield


def run_one(strategy: str, params: dict, **grid_params) -> dict:
    doc = small_al_grid(params={"strategy": {"name": strategy, **params}, "seed": 0, **grid_params})
    (spec,) = grid_from_dict(doc).specs()
    return al_loop.run(spec)


def picked(result) -> list[int]:
    return [i for row in result.curves for i in row["queried"]]


def test_every_native_strategy_is_registered_with_a_description():
    for name in NATIVE:
        assert registry.get(name).description


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_al_run_multiclass_valid_batches_and_deterministic(name):
    # iris: 112 pool points, 3 start points; the loop's check_batch validates every batch
    result = run_one(name, NATIVE[name], batch_size=4, budget=3)
    batches = [row["queried"] for row in result.curves]
    assert [len(b) for b in batches] == [4, 4, 4, 0]
    assert len(set(picked(result))) == 12
    again = run_one(name, NATIVE[name], batch_size=4, budget=3)
    assert picked(again) == picked(result)


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_al_run_binary_from_one_labelled_point_to_an_exhausted_pool(name):
    # breast_cancer with a 0.9 test fraction: a pool of 56 points; one start point (one class seen),
    # then batches of 30: 30, then the 25 left
    result = run_one(name, NATIVE[name], dataset="breast_cancer", test_fraction=0.9, initial_size=1,
                     batch_size=30, budget=5)
    sizes = [len(row["queried"]) for row in result.curves]
    assert sizes == [30, 25, 0]
    assert result.summary["n_labelled_final"] == result.summary["n_pool"] == 56


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name, learner", [
    ("badge", {"name": "mlp", "hidden_layer_sizes": [8], "max_iter": 200}),
    ("bald", {"name": "rf", "n_estimators": 10}),
    ("vote_entropy", "gnb"),
])
def test_al_run_with_other_learners(name, learner):
    result = run_one(name, NATIVE[name], learner=learner, batch_size=5, budget=2)
    assert [len(row["queried"]) for row in result.curves] == [5, 5, 0]


def test_heterogeneous_committee_in_a_grid():
    params = {"learners": ["logreg", "gnb", {"name": "rf", "n_estimators": 5}]}
    result = run_one("kl_divergence", params, batch_size=3, budget=2)
    assert len(set(picked(result))) == 6


def test_a_bad_parameter_is_a_clear_error():
    with pytest.raises(ValueError, match="similarity must be one of cosine, euclidean"):
        run_one("information_density", {"similarity": "manhattan"})
    with pytest.raises(GridError, match="unknown parameter 'n_members' for strategy 'coreset'; accepted: space"):
        run_one("coreset", {"n_members": 3})


@pytest.mark.parametrize("name, params", [("badge", {}), ("bald", {"source": "mc_dropout", "n_samples": 4}),
                                          ("coreset", {}), ("typiclust", {})])
def test_al_run_with_a_torch_learner_uses_its_embedding_or_dropout(name, params):
    learner = {"name": "torch_mlp", "epochs": 3, "width": 16}
    result = run_one(name, params, learner=learner, batch_size=4, budget=2)
    assert [len(row["queried"]) for row in result.curves] == [4, 4, 0]


def test_strategies_see_the_torch_embedding_and_samples():
    from albench.learners import AlignedClassifier, make_learner
    from albench.strategies.badge import penultimate

    X, y = np.random.default_rng(0).normal(size=(40, 5)), np.arange(40) % 3
    model = AlignedClassifier(make_learner("torch_mlp", {"epochs": 2, "width": 16}, random_state=0), 3).fit(X, y)
    np.testing.assert_allclose(penultimate(model, X), model.embed(X))
    assert penultimate(model, X).shape == (40, 16)
