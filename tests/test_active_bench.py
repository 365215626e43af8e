"""Active benchmarking: unbiased full-grid estimates from a sample of blocks, and budgeted grids on a store."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from albench.active_bench import design, records
from albench.active_bench.estimate import estimate
from albench.active_bench.full_grid import FullGridEstimate
from albench.active_bench.population import ActiveBenchError, population
from albench.active_bench.rounds import Options, simulate
from albench.active_bench.sampler import estimate_folder, parse_budget, sample
from albench.finite_population.intervals import t_quantile
from albench.execute import run_grid
from albench.spec import grid_from_dict
from albench.store import Store
from benchmarks.active_bench_population import synthetic_runs


@pytest.fixture(scope="module")
def synthetic():
    runs = synthetic_runs(["iris", "wine", "digits"], ["logreg", "gnb"], ["random", "margin", "entropy"], [1, 5], 4)
    pop = population(runs)
    return runs, pop, pop.values(runs, "auc_accuracy")


def test_population_blocks_hold_every_method_once(synthetic):
    runs, pop, values = synthetic
    assert pop.methods == ["entropy", "margin", "random"]
    assert pop.factors == ["dataset", "learner", "batch_size"]
    assert pop.n_blocks == 3 * 2 * 2 * 4 and pop.n_runs == len(runs)
    assert len(set(pop.run_ids.ravel())) == len(runs)
    shuffled = population(runs.sample(frac=1.0, random_state=1))  # row order of the parts does not matter
    np.testing.assert_array_equal(shuffled.run_ids, pop.run_ids)
    np.testing.assert_allclose(values.mean(axis=0), runs.groupby("strategy")["auc_accuracy"].mean().to_numpy())


def test_estimates_are_unbiased_and_cover_over_many_seeds(synthetic):
    _, pop, values = synthetic
    truth = values.mean(axis=0)
    estimates, covered, ses = [], [], []
    for seed in range(200):
        _, est = simulate(pop, values, 8, "auc_accuracy", Options(seed=seed))
        estimates.append(est.mean)
        ses.append(est.se)
        covered.append(np.abs(est.mean - truth) <= t_quantile(0.95, est.df) * est.se)  # the table's intervals
    estimates = np.array(estimates)
    mc_se = estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
    assert np.all(np.abs(estimates.mean(axis=0) - truth) < 4 * mc_se)
    assert np.mean(covered) >= 0.88
    # a balanced draw makes the stratified variance conservative: never below the spread over seeds,
    # but not uselessly wide either
    spread = estimates.std(axis=0)
    assert np.all(np.mean(ses, axis=0) >= 0.9 * spread) and np.all(np.mean(ses, axis=0) <= 5 * spread)


def test_pairwise_intervals_cover_with_few_sampled_blocks(synthetic):
    """10 of 48 blocks in 6 strata: four strata of 2 blocks and two collapsed singletons, 5 degrees of freedom
    at most. Normal intervals covered the pairs 0.87 of the time here (seeds 0-299); Student-t with
    Satterthwaite's degrees of freedom about 0.97."""
    _, pop, values = synthetic
    truth = values.mean(axis=0)
    covered, dfs = [], []
    for seed in range(150):
        _, est = simulate(pop, values, 10, "auc_accuracy", Options(seed=seed))
        pairs = est.pairwise()
        want = truth[[pop.methods.index(m) for m in pairs["method"]]] - truth[[pop.methods.index(m) for m in
                                                                              pairs["versus"]]]
        covered.append((pairs["ci_low"] <= want) & (want <= pairs["ci_high"]))
        dfs.append(pairs["df"])
    assert np.mean(covered) >= 0.9
    assert np.all(np.mean(covered, axis=0) >= 0.85)  # every pair, not only on average
    assert 1 <= np.min(dfs) and np.max(dfs) <= 5  # between the smallest piece's df and the survey rule n - H


def test_two_rounds_with_a_surrogate_stay_unbiased(synthetic):
    _, pop, values = synthetic
    truth = values.mean(axis=0)
    estimates = np.array([simulate(pop, values, 12, "auc_accuracy", Options(rounds=2, seed=s), pop.costs(
        synthetic[0]))[1].mean for s in range(120)])
    mc_se = estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
    assert np.all(np.abs(estimates.mean(axis=0) - truth) < 4 * mc_se)


def test_the_cross_fitted_estimate_is_exactly_unbiased_over_every_sample():
    runs = synthetic_runs(["iris", "wine"], ["logreg"], ["random", "margin"], [1], 3, seed=5)
    pop = population(runs)
    values = pop.values(runs, "auc_accuracy")
    labels = pop.stratum_labels(("dataset",))
    names, codes = np.unique(labels, return_inverse=True)
    per_stratum = [list(itertools.combinations(np.flatnonzero(codes == h), 2)) for h in range(len(names))]
    means = []
    for picks in itertools.product(*per_stratum):  # every stratified sample of 2 + 2 of the 3 + 3 blocks
        chosen = np.sort(np.concatenate(picks))
        rnd = design.Round(chosen, codes.copy(), list(names), np.bincount(codes), np.array([2, 2]), ("dataset",))
        rows = pd.DataFrame(records.round_rows(0, rnd, pop, "auc_accuracy", 0))
        known = np.where(np.isin(np.arange(pop.n_blocks), chosen)[:, None], values, np.nan)
        means.append(estimate(rows, pop, known).mean)
    np.testing.assert_allclose(np.mean(means, axis=0), values.mean(axis=0), rtol=1e-12)


def test_a_full_budget_is_the_plain_mean_with_no_variance(synthetic):
    runs, pop, values = synthetic
    _, est = simulate(pop, values, pop.n_blocks, "auc_accuracy", Options(rounds=3))
    plain = runs.groupby("strategy")["auc_accuracy"].mean().reindex(pop.methods).to_numpy()
    np.testing.assert_allclose(est.mean, plain, rtol=1e-12, atol=0)
    assert not est.covariance.any() and est.settled() and est.table()["p_rank_right"].eq(1).all()


def test_the_leaderboard_and_pairs_follow_the_estimate(synthetic):
    _, pop, values = synthetic
    _, est = simulate(pop, values, 12, "auc_accuracy", Options(seed=3))
    table, pairs = est.table(), est.pairwise()
    assert list(table[f"mean_{est.metric}"]) == sorted(est.mean, reverse=True)
    assert (table["ci95_low"] <= table[f"mean_{est.metric}"]).all()
    assert len(pairs) == 3 and (pairs["difference"] >= 0).all()
    assert 0 <= table["p_best"].iloc[0] <= 1


def test_rank_probabilities_are_multivariate_t_draws_with_the_smallest_contrast_df():
    from scipy import stats

    se = np.sqrt(2e-4)  # of the difference of two means of variance 1e-4
    df = np.array([[np.nan, 3.0], [3.0, np.nan]])
    few = FullGridEstimate("auc_accuracy", ["a", "b"], np.array([0.52, 0.5]), np.eye(2) * 1e-4, 5, 50, 1,
                           contrast_df=df)
    assert few.rank_df() == 3.0
    assert few.rank_probabilities()[1] == pytest.approx(stats.t.cdf(0.02 / se, 3), abs=0.015)
    normal = FullGridEstimate("auc_accuracy", ["a", "b"], np.array([0.52, 0.5]), np.eye(2) * 1e-4, 5, 50, 1)
    assert normal.rank_df() is None
    assert normal.rank_probabilities()[1] == pytest.approx(stats.norm.cdf(0.02 / se), abs=0.015)
    assert few.rank_probabilities()[1] < normal.rank_probabilities()[1] - 0.02  # few blocks: less sure


def test_stopping_rules_read_the_intervals():
    apart = FullGridEstimate("auc_accuracy", ["a", "b", "c"], np.array([0.9, 0.7, 0.5]), np.eye(3) * 1e-4, 5, 50, 1)
    assert apart.settled(0.95) and apart.settled(0.95, "best")
    close = FullGridEstimate("auc_accuracy", ["a", "b", "c"], np.array([0.9, 0.899, 0.5]), np.eye(3) * 1e-4, 5, 50, 1)
    assert not close.settled(0.95) and not close.settled(0.95, "best")
    assert close.rank_probabilities()[1] == pytest.approx(0.5, abs=0.05)  # a coin flip between a and b
    lower = FullGridEstimate("final_error", ["a", "b"], np.array([0.2, 0.1]), np.zeros((2, 2)), 5, 5, 1,
                             higher_is_better=False)
    assert list(lower.table()["method"]) == ["b", "a"]
    with pytest.raises(ActiveBenchError, match="allowed: settled, best"):
        apart.settled(0.95, "soon")
    few = FullGridEstimate("auc_accuracy", ["a", "b"], np.array([0.9, 0.87]), np.eye(2) * 1e-4, 5, 50, 1,
                           contrast_df=np.full((2, 2), 2.0))
    normal = FullGridEstimate("auc_accuracy", ["a", "b"], few.mean, few.covariance, 5, 50, 1)
    # 0.03 / sqrt(2e-4) = 2.12: beyond the normal 1.96, within t_{0.975, 2} = 4.30
    assert normal.settled(0.95) and not few.settled(0.95)


def _twins_estimate(identical: bool) -> FullGridEstimate:
    """a and b identical on every sampled block (the same rows of the covariance), c far below both."""
    cov = np.array([[1.0, 1.0, 0.2], [1.0, 1.0, 0.2], [0.2, 0.2, 1.0]]) * 1e-4
    twins = np.zeros((3, 3), dtype=bool)
    twins[0, 1] = twins[1, 0] = identical
    return FullGridEstimate("auc_accuracy", ["a", "b", "c"], np.array([0.9, 0.9, 0.6]), cov, 5, 50, 1,
                            identical=twins, contrast_df=np.full((3, 3), 8.0))


def test_methods_identical_on_every_sampled_block_are_one_tied_entry_for_settled():
    assert _twins_estimate(True).tied_entries() == [[0, 1], [2]]
    assert _twins_estimate(True).settled(0.95)
    assert not _twins_estimate(False).settled(0.95)  # a true tie of two distinct methods never settles
    note = " ".join(_twins_estimate(True).notes())
    assert "a = b" in note and "one entry" in note
    # every member of an entry must beat every member of the next: an interleaved twin is not settled
    spread = FullGridEstimate("auc_accuracy", ["a", "b", "c"], np.array([0.9, 0.5, 0.7]), np.eye(3) * 1e-6, 5, 50,
                              1, identical=np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=bool))
    assert spread.tied_entries() == [[0, 1], [2]] and not spread.settled(0.95)


def test_the_best_entry_of_twins_has_a_probability_of_being_best_and_can_stop_until_best():
    """a = b on every sampled block, c far below: P(a or b is the best) is about 1, so --until best holds."""
    twins = _twins_estimate(True)
    assert twins.rank_probabilities()[1] > 0.99 and twins.settled(0.95, "best")
    assert np.isnan(twins.rank_probabilities()[0][:2]).all()  # their own ranks stay a tie
    # two distinct methods with equal means: each is the best about half the time, so the rule does not hold
    distinct = FullGridEstimate("auc_accuracy", ["a", "b", "c"], np.array([0.9, 0.9, 0.6]), np.eye(3) * 1e-4, 5, 50, 1,
                                identical=np.zeros((3, 3), dtype=bool))
    assert distinct.rank_probabilities()[1] == pytest.approx(0.5, abs=0.05) and not distinct.settled(0.95, "best")


def test_an_identical_pair_settles_on_sampled_blocks():
    """Entropy copies margin in every block (binary data); random is 0.1 below: settled from a sample."""
    runs = synthetic_runs(["iris", "wine"], ["logreg", "gnb"], ["random", "margin", "entropy"], [1, 5], 3, seed=4)
    keys = ["dataset", "learner", "batch_size", "start_point"]
    margin = runs[runs["strategy"] == "margin"].set_index(keys)["auc_accuracy"]
    entropy = runs["strategy"] == "entropy"
    runs.loc[entropy, "auc_accuracy"] = margin.loc[list(runs.loc[entropy, keys].itertuples(index=False))].to_numpy()
    runs.loc[runs["strategy"] == "random", "auc_accuracy"] -= 0.1
    pop = population(runs)
    _, est = simulate(pop, pop.values(runs, "auc_accuracy"), 8, "auc_accuracy", Options(seed=0))
    twin = [pop.methods.index("entropy"), pop.methods.index("margin")]
    assert est.identical[twin[0], twin[1]] and est.mean[twin[0]] == est.mean[twin[1]]
    assert sorted(est.tied_entries()[0]) == sorted(twin) and est.settled(0.95)


def test_until_best_stops_before_the_budget_once_the_rule_holds(tmp_path):
    grid = grid_from_dict(TINY)
    store = Store(tmp_path)
    result = sample(grid, tmp_path, 8, lambda sub: run_grid(sub, store), until="best", confidence=0.6,
                    round_blocks=2)
    drawn = records.read_design(tmp_path).drop_duplicates(["round", "block_id"])
    assert result.stopped_by == "best" and result.rounds_drawn == 1 and len(drawn) == 2  # of 8 allowed
    assert result.estimate.rank_probabilities()[1] >= 0.6
    strict = sample(grid, tmp_path, 8, lambda sub: run_grid(sub, store), until="settled", confidence=0.99,
                    round_blocks=2)
    assert strict.stopped_by == "budget" or strict.estimate.settled(0.99)
    assert len(store.read("runs")) == 2 * strict.estimate.blocks_sampled


def test_a_rule_that_holds_only_once_the_budget_is_spent_did_not_stop_early(tmp_path):
    """The whole grid in one round: the rule holds (no variance left), but nothing was saved by it."""
    grid = grid_from_dict(TINY)
    result = sample(grid, tmp_path, 8, lambda sub: run_grid(sub, Store(tmp_path)), until="best", confidence=0.6,
                    round_blocks=8)
    assert result.estimate.blocks_sampled == 8 and result.estimate.settled(0.6, "best")
    assert result.stopped_by == "budget"


def test_allocation_keeps_every_stratum_and_follows_the_scores():
    n = design.allocate(np.array([10, 10, 10]), np.array([1.0, 1.0, 8.0]), 9, safeguard_weight=0.1)
    assert n.sum() == 9 and n.min() >= 2 and n[2] == n.max()
    assert list(design.allocate(np.array([3, 1, 5]), np.zeros(3), 3)) == [1, 1, 1]
    with pytest.raises(ValueError, match="cannot cover"):
        design.allocate(np.array([3, 3]), np.ones(2), 1)


@pytest.mark.parametrize("text, blocks", [("10%", 4), ("100%", 40), ("60", 20), ("1", 2)])
def test_budgets_become_whole_blocks(text, blocks):
    assert parse_budget(text, 120, 40) == blocks


@pytest.mark.parametrize("text, message", [("0%", "above 0%"), ("150%", "at most 100%"), ("2h", "neither")])
def test_bad_budgets_say_what_is_allowed(text, message):
    with pytest.raises(ActiveBenchError, match=message):
        parse_budget(text, 120, 40)


TINY = {"name": "tiny-ab", "kind": "al", "params": {
    "dataset": ["iris", "wine"], "learner": "logreg", "strategy": ["random", "margin"],
    "batch_size": [1, 2], "budget": 2, "start_point": {"range": [0, 2]}}}  # 8 blocks of 2 runs


def test_resume_and_extension_store_each_run_once(tmp_path):
    grid = grid_from_dict(TINY)
    store = Store(tmp_path)
    calls = []

    def execute(sub):
        calls.append(len(sub))
        return run_grid(sub, store)

    first = sample(grid, tmp_path, 3, execute)
    assert first.rounds_drawn == 1 and first.estimate.blocks_sampled == 3
    seen = []

    def interrupted_in_round_two(sub):  # call 1 finishes stored rounds (nothing to do), call 2 runs the new one
        seen.append(len(sub))
        if len(seen) == 2:
            raise KeyboardInterrupt
        return run_grid(sub, store)

    with pytest.raises(KeyboardInterrupt):
        sample(grid, tmp_path, 5, interrupted_in_round_two)
    design_rows = records.read_design(tmp_path)
    assert design_rows["round"].nunique() == 2  # the second round's design is stored before its runs
    resumed = sample(grid, tmp_path, 5, execute)
    assert resumed.rounds_drawn == 0 and resumed.estimate.blocks_sampled == 5  # finished, not drawn again
    full = sample(grid, tmp_path, 8, execute)
    runs = store.read("runs")
    assert len(runs) == runs["run_id"].nunique() == 16
    per_block = records.read_design(tmp_path).drop_duplicates(["round", "block_id"])
    assert per_block["block_id"].is_unique  # no block drawn twice
    plain = runs.groupby("strategy")["auc_accuracy"].mean().reindex(full.estimate.methods).to_numpy()
    np.testing.assert_allclose(full.estimate.mean, plain, rtol=1e-12, atol=0)
    again = estimate_folder(tmp_path)  # recomputed from the store alone
    np.testing.assert_allclose(again.mean, full.estimate.mean, rtol=1e-12)


def test_a_folder_of_another_grid_is_refused(tmp_path):
    grid = grid_from_dict(TINY)
    sample(grid, tmp_path, 2, lambda sub: run_grid(sub, Store(tmp_path)))
    other = grid_from_dict({**TINY, "params": {**TINY["params"], "budget": 3}})
    with pytest.raises(ActiveBenchError, match="different grid"):
        sample(other, tmp_path, 4, lambda sub: run_grid(sub, Store(tmp_path)))


def test_the_command_line_samples_and_estimates(tmp_path):
    import yaml

    from albench.cli import app

    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "res"
    result = CliRunner().invoke(app, ["grid", "sample", str(path), "--budget", "50%", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "8 of 16 runs" in result.output and "nothing new" not in result.output
    for budget, says in (("50%", "holds 4 blocks already;"), ("25%", "holds 4 blocks already, more than the 2 blocks")):
        again = CliRunner().invoke(app, ["grid", "sample", str(path), "--budget", budget, "--out", str(out)])
        assert again.exit_code == 0 and f"nothing new to draw: the design {says}" in again.output, again.output
        assert "8 of 16 runs" in again.output  # the estimate of what is stored
    typo = CliRunner().invoke(app, ["grid", "estimate", str(out), "--metric", "final_acc"])
    assert typo.exit_code == 2 and "did you mean 'final_accuracy'? metrics: " in typo.output, typo.output
    result = CliRunner().invoke(app, ["grid", "estimate", str(out), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["runs_used"] == 8 and doc["runs_total"] == 16 and len(doc["leaderboard"]) == 2
    result = CliRunner().invoke(app, ["grid", "sample", str(path), "--budget", "lots", "--out", str(out)])
    assert result.exit_code == 2 and "--budget" in result.output
    result = CliRunner().invoke(app, ["grid", "sample", str(path), "--budget", "50%", "--metric", "accuracy"])
    assert result.exit_code == 2 and "auc_accuracy" in result.output
    fresh = tmp_path / "fresh"  # a metric no run writes: refused before any run, and before any design is kept
    result = CliRunner().invoke(app, ["grid", "sample", str(path), "--budget", "50%", "--metric", "auc_acc",
                                      "--out", str(fresh)])
    assert result.exit_code == 2 and "did you mean 'auc_accuracy'? allowed: " in result.output, result.output
    assert not fresh.exists()
    result = CliRunner().invoke(app, ["grid", "estimate", str(tmp_path)])
    assert result.exit_code == 2 and "no budgeted grid" in result.output


def test_a_balanced_draw_keeps_the_estimate_exactly_unbiased():
    """Strata by data set, redrawn until both learners are in the sample: every accepted sample enumerated."""
    runs = synthetic_runs(["iris", "wine"], ["logreg", "gnb"], ["random", "margin"], [1], 2, seed=6)
    pop = population(runs)
    values = pop.values(runs, "auc_accuracy")
    sampled = np.zeros(pop.n_blocks, dtype=bool)
    rnd = design.draw(pop, sampled, 2, lambda labels, names, sizes: sizes.astype(float), np.random.default_rng(0))
    assert rnd.factors == ("dataset",) and rnd.balanced_on == ("learner",)
    learner = pop.blocks["learner"].to_numpy()
    assert sorted(learner[rnd.chosen]) == ["gnb", "logreg"]
    names, codes = np.unique(pop.stratum_labels(("dataset",)), return_inverse=True)
    means = []
    for a in np.flatnonzero(codes == 0):
        for b in np.flatnonzero(codes == 1):
            if learner[a] == learner[b]:
                continue  # rejected by the balance on learner
            chosen = np.array(sorted([a, b]))
            accepted = design.Round(chosen, codes.copy(), list(names), np.bincount(codes), np.array([1, 1]),
                                    ("dataset",), ("learner",))
            rows = pd.DataFrame(records.round_rows(0, accepted, pop, "auc_accuracy", 0))
            known = np.where(np.isin(np.arange(pop.n_blocks), chosen)[:, None], values, np.nan)
            means.append(estimate(rows, pop, known).mean)
    assert len(means) == 8
    np.testing.assert_allclose(np.mean(means, axis=0), values.mean(axis=0), rtol=1e-12)


def test_no_balance_without_a_full_factorial(synthetic):
    _, pop, _ = synthetic
    sampled = np.zeros(pop.n_blocks, dtype=bool)
    assert design.symmetric(pop, np.flatnonzero(~sampled))
    sampled[0] = True  # one block gone: relabelling levels no longer maps the blocks left onto themselves
    assert not design.symmetric(pop, np.flatnonzero(~sampled))
