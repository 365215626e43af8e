"""Active benchmarking on grids where not every method is in every block (exclude rules), with failed runs,
and with methods identical on every sampled block."""

from __future__ import annotations

import numpy as np

from albench.active_bench import records
from albench.active_bench.population import population
from albench.active_bench.rounds import Options, simulate
from albench.active_bench.sampler import estimate_folder, sample
from albench.execute import run_grid
from albench.finite_population.intervals import t_quantile
from albench.spec import grid_from_dict
from albench.store import Store
from benchmarks.active_bench_population import excluded_runs, full_grid_truth, synthetic_runs


def _over_seeds(pop, values, n_blocks, seeds, rounds=1):
    """Over seeds: means and pair differences with their 95 % half-widths (Student-t, the tables' intervals)."""
    means, halves, pairs, pair_halves = [], [], [], []
    for seed in seeds:
        _, est = simulate(pop, values, n_blocks, "auc_accuracy", Options(rounds=rounds, seed=seed))
        means.append(est.mean)
        halves.append(t_quantile(0.95, est.df) * est.se)
        pairs.append(est.pair_difference)
        pair_halves.append(t_quantile(0.95, est.pair_df) * np.sqrt(est.pair_variance))
    return np.array(means), np.array(halves), np.array(pairs), np.array(pair_halves), est


def _unbiased_and_covered(estimates, halves, truth, min_coverage=0.9):
    mc_se = estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
    off = np.abs(estimates.mean(axis=0) - truth)
    assert np.all(off <= 4 * mc_se + 1e-12), (off, mc_se)
    assert np.mean(np.abs(estimates - truth) <= halves + 1e-12) >= min_coverage


def test_a_population_with_excluded_cells_keeps_its_blocks_and_marks_the_cells():
    runs = excluded_runs()
    pop = population(runs)
    assert pop.n_blocks == 3 * 2 * 2 * 4 and pop.n_runs == len(runs) < pop.run_ids.size
    held = pop.present
    entropy, margin = pop.methods.index("entropy"), pop.methods.index("margin")
    assert not held[pop.blocks["dataset"].eq("digits").to_numpy(), entropy].any()
    assert held[:, pop.methods.index("random")].all()
    assert held[:, margin].sum() == pop.n_blocks - 3 * 4  # gnb x batch 5 on each data set, 4 replicates
    assert set(pop.block_run_ids(np.arange(pop.n_blocks))) == set(runs["run_id"])


def test_excluded_cells_are_estimated_without_bias_over_each_methods_own_blocks():
    runs = excluded_runs()
    pop = population(runs)
    values = pop.values(runs, "auc_accuracy")
    truth, truth_pairs = full_grid_truth(values, pop.present)
    # 10 of 48 blocks, few per stratum: normal intervals covered the pairs 0.83 of the time here (seeds 0-299),
    # Student-t with Satterthwaite's degrees of freedom 0.98
    means, halves, pairs, pair_halves, est = _over_seeds(pop, values, 10, range(200))
    _unbiased_and_covered(means, halves, truth)
    iu = np.triu_indices(3, 1)
    _unbiased_and_covered(pairs[:, iu[0], iu[1]], pair_halves[:, iu[0], iu[1]], truth_pairs[iu])
    # a pair's difference is over the blocks holding both, which is not the difference of the two means here
    i, j = pop.methods.index("entropy"), pop.methods.index("margin")
    assert abs(truth_pairs[i, j] - (truth[i] - truth[j])) > 1e-3
    assert not est.complete and est.runs_total == len(runs)
    assert list(est.cells) == list(pop.present.sum(axis=0))
    table, pairwise = est.table(), est.pairwise()
    assert "blocks" in table and "blocks" in pairwise
    row = pairwise[(pairwise["method"].isin(["entropy", "margin"])) & (pairwise["versus"].isin(["entropy", "margin"]))]
    assert int(row["blocks"].iloc[0]) == int((pop.present[:, i] & pop.present[:, j]).sum())
    assert any("exclude rules" in line for line in est.notes())


def test_two_rounds_with_a_surrogate_stay_unbiased_with_excluded_cells():
    runs = excluded_runs()
    pop = population(runs)
    values = pop.values(runs, "auc_accuracy")
    truth, _ = full_grid_truth(values, pop.present)
    means, _, _, _, _ = _over_seeds(pop, values, 14, range(80), rounds=2)
    mc_se = means.std(axis=0, ddof=1) / np.sqrt(len(means))
    assert np.all(np.abs(means.mean(axis=0) - truth) <= 4 * mc_se)


def test_a_census_with_excluded_cells_is_each_methods_plain_mean():
    runs = excluded_runs()
    pop = population(runs)
    _, est = simulate(pop, pop.values(runs, "auc_accuracy"), pop.n_blocks, "auc_accuracy", Options(rounds=2))
    plain = runs.groupby("strategy")["auc_accuracy"].mean().reindex(pop.methods).to_numpy()
    np.testing.assert_allclose(est.mean, plain, rtol=1e-12, atol=0)
    assert not est.covariance.any() and est.runs_used == est.runs_total == len(runs)


def test_without_excludes_or_failures_the_pairs_are_the_differences_of_the_means():
    runs = synthetic_runs(["iris", "wine"], ["logreg", "gnb"], ["random", "margin", "entropy"], [1, 5], 3)
    pop = population(runs)
    _, est = simulate(pop, pop.values(runs, "auc_accuracy"), 6, "auc_accuracy", Options(seed=4))
    assert est.complete and not est.notes() and "blocks" not in est.table()
    np.testing.assert_allclose(est.pair_difference, est.mean[:, None] - est.mean[None, :], atol=1e-12)
    contrast = np.diag(est.covariance)[:, None] + np.diag(est.covariance)[None, :] - 2 * est.covariance
    np.testing.assert_allclose(est.pair_variance, contrast, atol=1e-15)


def _with_failures(seed=3):
    """Known values with failed cells: margin fails in a third of the digits blocks, random in two blocks."""
    runs = synthetic_runs(["iris", "wine", "digits"], ["logreg", "gnb"], ["random", "margin", "entropy"], [1, 5], 4,
                          seed=seed)
    pop = population(runs)
    values = pop.values(runs, "auc_accuracy")
    failed = np.zeros(values.shape, dtype=bool)
    digits = np.flatnonzero(pop.blocks["dataset"].eq("digits").to_numpy())
    failed[digits[::3], pop.methods.index("margin")] = True
    failed[[0, 7], pop.methods.index("random")] = True
    return pop, np.where(failed, np.nan, values), failed


def test_failed_runs_are_missing_values_the_ratio_estimate_follows_the_successful_runs():
    pop, values, failed = _with_failures()
    ok = ~failed
    truth = np.array([values[ok[:, i], i].mean() for i in range(3)])
    means, halves, _, _, _ = _over_seeds(pop, values, 12, range(200))
    _unbiased_and_covered(means, halves, truth)
    design_rows, est = simulate(pop, values, 12, "auc_accuracy", Options(seed=5))
    sampled = pop.blocks["block_id"].isin(set(design_rows["block_id"])).to_numpy()
    assert list(est.failed) == list(failed[sampled].sum(axis=0))
    assert est.runs_used == 12 * 3  # failed runs were run: they count
    if est.failed.any():
        assert "failed" in est.table() and any("Failed runs" in line for line in est.notes())


def test_a_method_failing_in_a_tenth_of_its_sampled_blocks_is_named_with_its_counts():
    """At a census of the 48 blocks, margin fails in 6 (a third of the digits blocks: a tenth or more) and is
    named with its counts; random fails in 2 and is not."""
    pop, values, failed = _with_failures()
    _, est = simulate(pop, values, pop.n_blocks, "auc_accuracy", Options(seed=0))
    assert list(est.sampled_cells) == [pop.n_blocks] * 3 and list(est.failed) == list(failed.sum(axis=0))
    [line] = [line for line in est.notes() if line.startswith("Failing in a tenth")]
    assert f"margin (6 of {pop.n_blocks})" in line and "random (" not in line, line
    fewer = np.where(failed & (np.arange(3) == pop.methods.index("margin")), values[~failed].mean(), values)
    _, est = simulate(pop, fewer, pop.n_blocks, "auc_accuracy", Options(seed=0))
    assert {m: int(n) for m, n in zip(est.methods, est.failed)} == {"random": 2, "margin": 0, "entropy": 0}
    assert not any(line.startswith("Failing in a tenth") for line in est.notes())  # 2 of 48: under a tenth


def test_a_method_whose_every_sampled_run_failed_has_no_estimate_and_ranks_last():
    runs = synthetic_runs(["iris", "wine"], ["logreg"], ["random", "margin"], [1], 4, seed=1)
    pop = population(runs)
    values = pop.values(runs, "auc_accuracy").copy()
    values[:, pop.methods.index("margin")] = np.nan
    _, est = simulate(pop, values, 4, "auc_accuracy", Options(seed=0))
    assert np.isnan(est.mean[pop.methods.index("margin")]) and est.table()["method"].iloc[-1] == "margin"
    assert not est.settled()


def test_methods_identical_on_every_sampled_block_get_no_zero_width_interval():
    """Margin and entropy pick the same points on binary data: the same metric in every block."""
    runs = synthetic_runs(["iris", "wine"], ["logreg", "gnb"], ["random", "margin", "entropy"], [1, 5], 2, seed=4)
    margin = runs[runs["strategy"] == "margin"].set_index(["dataset", "learner", "batch_size", "start_point"])
    entropy_rows = runs["strategy"] == "entropy"
    keys = runs.loc[entropy_rows, ["dataset", "learner", "batch_size", "start_point"]].itertuples(index=False)
    runs.loc[entropy_rows, "auc_accuracy"] = [margin.loc[tuple(k), "auc_accuracy"] for k in keys]
    pop = population(runs)
    values = pop.values(runs, "auc_accuracy")
    _, est = simulate(pop, values, 6, "auc_accuracy", Options(seed=1))
    pairs = est.pairwise()
    twin = pairs[pairs["method"].isin(["margin", "entropy"]) & pairs["versus"].isin(["margin", "entropy"])].iloc[0]
    assert twin["difference"] == 0 and np.isnan(twin["se"]) and np.isnan(twin["ci_low"])
    assert twin["note"] == "identical"
    others = pairs[pairs["note"] == ""]
    assert len(others) == 2 and (others["se"] > 0).all()
    table = est.table().set_index("method")
    assert table.loc[["margin", "entropy"], "p_rank_right"].isna().all()
    assert np.isfinite(table.loc["random", "p_rank_right"])
    assert any("Identical on every sampled block: " in line for line in est.notes())
    _, census = simulate(pop, values, pop.n_blocks, "auc_accuracy")
    assert census.identical is None and "note" not in census.pairwise()  # the whole grid: a zero se is exact


TINY_EXCLUDED = {"name": "tiny-ab-exclude", "kind": "al", "params": {
    "dataset": ["iris", "wine"], "learner": "logreg", "strategy": ["random", "margin"],
    "batch_size": [1, 2], "budget": 2, "start_point": {"range": [0, 2]}},
    "exclude": [{"dataset": "wine", "strategy": "margin", "batch_size": 2}]}  # 8 blocks, 14 runs


def test_a_grid_with_an_exclude_rule_samples_runs_and_estimates_each_run_once(tmp_path):
    grid = grid_from_dict(TINY_EXCLUDED)
    store = Store(tmp_path)
    half = sample(grid, tmp_path, 4, lambda sub: run_grid(sub, store))
    design_rows = records.read_design(tmp_path)
    runs = store.read("runs")
    assert set(runs["run_id"]) == set(design_rows["run_id"]) and len(runs) == half.estimate.runs_used
    assert half.estimate.runs_total == 14 and not half.estimate.complete
    full = sample(grid, tmp_path, 8, lambda sub: run_grid(sub, store))
    runs = store.read("runs")
    assert len(runs) == runs["run_id"].nunique() == 14
    plain = runs.groupby("strategy")["auc_accuracy"].mean().reindex(full.estimate.methods).to_numpy()
    np.testing.assert_allclose(full.estimate.mean, plain, rtol=1e-12)
    np.testing.assert_allclose(estimate_folder(tmp_path).mean, plain, rtol=1e-12)


FAILING_PLUGIN = '''
from albench.strategy import Strategy, register


@register("test_fails_on_wine", "raises on wine (13 features); picks like random elsewhere")
class FailsOnWine(Strategy):
    def query(self, state, batch_size, rng):
        if state.X.shape[1] == 13:
            raise ValueError("fails on wine on purpose")
        return rng.choice(state.unlabelled, size=min(batch_size, len(state.unlabelled)), replace=False)
'''


def test_failed_runs_of_sampled_blocks_are_counted_reported_and_rerun(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from albench.cli import app
    from executor_helpers import registry_restored

    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "failing.py").write_text(FAILING_PLUGIN)
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump({"name": "failing", "kind": "al", "plugins": ["plugins"], "params": {
        "dataset": ["iris", "wine"], "learner": "gnb", "strategy": ["random", "test_fails_on_wine"], "budget": 2,
        "seed": {"range": [0, 4]}}}))
    out = tmp_path / "res"
    with registry_restored():
        first = CliRunner().invoke(app, ["grid", "sample", str(path), "--budget", "50%", "--out", str(out)])
        assert first.exit_code == 0, first.output
        est = estimate_folder(out)
        runs = Store(out).read("runs")
        wine_failed = runs[(runs["strategy"] == "test_fails_on_wine") & (runs["dataset"] == "wine")]
        assert len(wine_failed) >= 1 and (wine_failed["status"] == "error").all()
        k = est.methods.index("test_fails_on_wine")
        assert est.failed[k] == len(wine_failed) and est.runs_used == len(runs) == 8
        ok = runs[(runs["strategy"] == "test_fails_on_wine") & (runs["status"] == "ok")]
        assert ok["dataset"].eq("iris").all() and np.isfinite(est.mean[k])
        assert "Failed runs (error/timeout) in the sampled blocks: test_fails_on_wine" in first.output
        again = CliRunner().invoke(app, ["grid", "sample", str(path), "--budget", "50%", "--out", str(out),
                                         "--rerun-failed"])
        assert again.exit_code == 0, again.output
        assert f"0 done, {8 - len(wine_failed)} skipped (already stored), {len(wine_failed)} failed" in again.output
        rerun = Store(out).read("runs")
        assert len(rerun) == rerun["run_id"].nunique() == 8
