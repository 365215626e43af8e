"""Torch learners under the strategies: conformance checks, and BALD / BADGE / core-set on the network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from albench import al_loop, checks
from albench.deep.torch_learners import TorchClassifier
from albench.execute import run_grid
from albench.spec import grid_from_dict, load_grid
from albench.store import Store

TINY_CNN = {"name": "torch_cnn", "epochs": 20, "lr": 0.005, "channels": 8, "width": 32}


@pytest.mark.parametrize("strategy, method", [("entropy", None), ("bald", "sample_proba"),
                                              ("batchbald", "sample_proba"), ("badge", "embed"), ("coreset", "embed")])
def test_torch_learner_passes_the_strategy_conformance_checks(calls, strategy, method):
    # the check pools have 5 features: the MLP (the CNN needs images; it runs on digits below)
    # MC dropout gives identical points different scores (its masks come from the learner's mc_seed_, not the
    # strategy's rng), so the tie check's ties do not exist for BALD (or BatchBALD, which draws the same way) on a
    # network
    known = {"check_random_tie_breaking": "MC dropout scores do not tie"} if method == "sample_proba" else {}
    results = checks.check_strategy(strategy, learner="torch_mlp", known_failures=known)
    not_passed = [f"{r.check}: {r.status} {r.reason}" for r in results
                  if r.status != "pass" and not (r.status == "xfail" and r.check in known)]
    assert not not_passed, not_passed
    assert len(results) == len(checks.CHECKS)
    if method:  # the checks went through the network's own embedding / MC dropout
        assert calls[method] > 0


@pytest.fixture
def calls(monkeypatch):
    """Counts of the torch learner's embed and sample_proba calls."""
    counts = {"embed": 0, "sample_proba": 0}
    for method in counts:
        original = getattr(TorchClassifier, method)

        def counted(self, *args, _original=original, _method=method, **kw):
            counts[_method] += 1
            return _original(self, *args, **kw)

        monkeypatch.setattr(TorchClassifier, method, counted)
    return counts


def digits_spec(strategy):
    grid = grid_from_dict({"name": "deep-small", "kind": "al", "params": {
        "dataset": "digits", "learner": TINY_CNN, "strategy": strategy,
        "batch_size": 5, "initial_size": 20, "budget": 2, "seed": 0}})
    return next(grid.specs())


@pytest.mark.parametrize("strategy, method", [
    ({"name": "bald", "source": "mc_dropout", "n_samples": 5}, "sample_proba"),
    ("badge", "embed"),
    ("coreset", "embed"),
])
def test_network_strategies_use_the_network_and_are_reproducible(calls, strategy, method):
    spec = digits_spec(strategy)
    first = al_loop.run(spec)
    assert calls[method] == 2  # one query per cycle before the last
    again = al_loop.run(spec)
    assert [r["queried"] for r in first.curves] == [r["queried"] for r in again.curves]
    assert [r["accuracy"] for r in first.curves] == [r["accuracy"] for r in again.curves]
    assert first.summary["n_labelled_final"] == 30


def test_bald_and_badge_grid_with_the_cnn(tmp_path):
    grid = grid_from_dict({"name": "deep-small", "kind": "al", "params": {
        "dataset": "digits", "learner": [TINY_CNN, {**TINY_CNN, "warm_start": True}],
        "strategy": ["bald", "badge"], "batch_size": 10, "initial_size": 20, "budget": 2, "seed": 0}})
    store = Store(tmp_path)
    summary = run_grid(grid, store)
    runs = store.read("runs")
    assert summary.done == 4 and summary.failed == 0, runs.get("error")
    assert set(runs["status"]) == {"ok"} and len(runs) == 4
    assert runs["final_accuracy"].mean() > 0.2  # chance is 0.1; 40 labels and a few gradient steps


def test_shipped_deep_grid_is_the_cnn_on_digits():
    grid = load_grid(Path(__file__).parent.parent / "grids" / "deep.yaml")
    assert grid.axes["dataset"] == [{"name": "digits", "params": {}}]
    assert {c["name"] for c in grid.axes["learner"]} == {"torch_cnn"}
    assert {"bald", "badge"} <= {c["name"] for c in grid.axes["strategy"]}
    assert len(grid) <= 12
