"""The benchmark runner's pieces on tiny inputs (no timing assertions: timing lives in `make bench`)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from benchmarks import __main__ as runner
from benchmarks import bench_active_testing, bench_executor, bench_strategies, learner_timer, modal_style_loop


@pytest.fixture(scope="module")
def tiny_loop_grid():
    return bench_executor.loop_grid(quick=True, datasets_=["iris"], budget=3)


def test_modal_style_loop_picks_the_same_rows_as_albench(tiny_loop_grid):
    result = bench_executor.compare_with_loop(tiny_loop_grid, repeats=1)
    strategies = {spec.params["strategy"]["name"] for spec in tiny_loop_grid.specs()}
    assert strategies == {"random", "least_confident", "margin", "entropy", "information_density"}
    assert result["runs"] == len(tiny_loop_grid) == 10
    assert result["same_picks"] == 1.0
    assert set(result["by_strategy"]) == strategies
    assert all(ratio > 0 for ratio in result["per_run"].values())


def test_the_same_picks_check_sees_a_loop_that_ranks_differently(tiny_loop_grid, monkeypatch):
    real = modal_style_loop.uncertainty
    monkeypatch.setattr(modal_style_loop, "uncertainty", lambda name, proba: -real(name, proba))
    result = bench_executor.compare_with_loop(tiny_loop_grid, repeats=1)
    assert result["same_picks"] == pytest.approx(2 / 10)  # only the two random runs agree


@pytest.fixture
def clocked():
    yield
    learner_timer.uninstall()


def test_learner_timer_counts_fit_and_predict_once(clocked):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    learner_timer.install([{"name": "logreg", "params": {}}, {"name": "rf", "params": {"n_estimators": 5}}])
    learner_timer.install([{"name": "logreg", "params": {}}])  # twice: still one clock
    assert getattr(LogisticRegression.fit, "albench_timed", False)
    assert getattr(RandomForestClassifier.predict_proba, "albench_timed", False)
    X, y = np.random.default_rng(0).normal(size=(200, 4)), np.arange(200) % 3
    learner_timer.reset()
    t0 = time.perf_counter()
    LogisticRegression().fit(X, y).predict_proba(X)
    RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y).predict_proba(X)
    elapsed = time.perf_counter() - t0
    assert 0 < learner_timer.seconds() <= elapsed
    learner_timer.uninstall()
    assert not getattr(LogisticRegression.fit, "albench_timed", False)
    before = learner_timer.seconds()
    LogisticRegression().fit(X, y)
    assert learner_timer.seconds() == before  # no longer clocked


def test_learner_timer_does_not_count_a_nested_call_twice(monkeypatch):
    ticks = iter(range(100))
    monkeypatch.setattr(learner_timer, "_clock", lambda: next(ticks))

    class Model:
        @learner_timer._timed
        def fit(self):
            return self.predict_proba()

        @learner_timer._timed
        def predict_proba(self):
            return 1

    learner_timer.reset()
    Model().fit()  # the clock is read twice (1 tick) by the outer call only, not 4 ticks with the inner one
    assert learner_timer.seconds() == 1
    Model().predict_proba()
    assert learner_timer.seconds() == 2


def test_runner_marks_goals_and_names_the_command():
    figures = runner.normalise("executor", {"a": {"value": 1.05, "command": "python -m benchmarks --only executor",
                                                  "goal": "<= 1.10"},
                                            "b": {"value": 1.5, "goal": ">= 1.7"}, "c": {"x": {"1000": 0.5}}},
                               quick=True)
    assert figures["a"]["met"] is True and figures["b"]["met"] is False and "met" not in figures["c"]
    assert all(f["command"] == "python -m benchmarks --only executor --quick" for f in figures.values())
    assert runner.goal_met(3, "< 3") is False and runner.goal_met("n/a", ">= 1") is None
    assert runner._leaves({"native": {"margin": {"1000": 1, "10000": 2}}}) == [
        (("native", "margin"), {"1000": 1, "10000": 2})]
    assert runner._leaves({"margin": 0.5, "entropy": 0.25}) == [(("margin",), {"value": 0.5}),
                                                                (("entropy",), {"value": 0.25})]
    assert set(runner.discover()) >= {"executor", "modal", "strategies", "active_testing"}


def test_runner_merges_into_the_results_file(tmp_path, monkeypatch, capsys):
    out = tmp_path / "results.json"
    out.write_text(json.dumps({"kept": {"value": 1}, "step_ms_at_1000": {"value": -1}}))
    monkeypatch.setattr(bench_active_testing, "run", lambda quick: {"step_ms_at_1000": {"value": 0.2, "unit": "ms"}})
    runner.main(["--quick", "--only", "active_testing", "--output", str(out)])
    merged = json.loads(out.read_text())
    assert merged["kept"] == {"value": 1}
    fresh = merged["step_ms_at_1000"]
    assert fresh["value"] == 0.2 and fresh["quick"] is True and fresh["machine"]["cpus"] >= 1
    assert "step_ms_at_1000" in capsys.readouterr().out


def test_strategy_and_active_testing_probes_run_on_tiny_pools():
    pool = bench_strategies.make_pool(300)
    timed = bench_strategies.time_query("margin", pool, repeats=2)
    assert timed["query_s"] > 0 and timed["prepare_s"] >= 0
    assert bench_strategies.peak_memory_mb("margin", pool) > 0
    assert bench_active_testing._step_seconds(300, budget=5, seed=0) > 0
