"""Verdicts on synthetic results whose truth is known, written in the real results layout.

The learner reverses the ranking (under ``a``: s3 > s2 > s1 > random; under
``b`` the reverse); the batch size lowers every method's metric by the same
0.1 (a level shift, no effect on the ranking); noise is small next to the
0.02 gaps between methods.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from baycomp import SignedRankTest
from scipy import stats

from typer.testing import CliRunner

import albench.results
from albench.cli import app
from albench.analysis.effects import compare_pair, effect_sizes, sentence, signed_rank, verdict
from albench.analysis.frame import prepare
from albench.analysis.influence import gain_importance, importances
from albench.analysis.leaderboard import compare
from albench.analysis.stability import agreement, jaccard_first, query_sequences, ranking_lines
from albench.analysis.stats import blocks_to_separate, critical_difference
from albench.analysis.summary import analyze
from albench.store import Store

STRATEGIES = ["random", "s1", "s2", "s3"]
POOL = 200


def flip_results(seed: int = 0, noise: float = 0.002) -> tuple[pd.DataFrame, pd.DataFrame]:
    gen = np.random.default_rng(seed)
    datasets = [f"d{i}" for i in range(5)]
    level = dict(zip(datasets, gen.uniform(0.5, 0.8, len(datasets))))
    runs, curves = [], []
    for d, s, learner, b, rep in itertools.product(datasets, STRATEGIES, ["a", "b"], [1, 10], range(2)):
        rank = STRATEGIES.index(s)
        effect = 0.02 * (rank if learner == "a" else 3 - rank)
        value = level[d] + effect - 0.1 * (b == 10) + gen.normal(0, noise)
        run_id = f"{d}-{s}-{learner}-{b}-{rep}"
        runs.append({"run_id": run_id, "kind": "al", "status": "ok", "dataset": d, "strategy": s,
                     "learner": learner, "batch_size": b, "seed": rep, "auc_accuracy": value})
        picks = gen.permutation(POOL)[:8]
        curves += [{"run_id": run_id, "cycle": c, "queried": picks[4 * c:4 * c + 4].tolist()} for c in range(2)]
    return pd.DataFrame(runs), pd.DataFrame(curves)


@pytest.fixture(scope="module")
def flip():
    runs, curves = flip_results()
    frame = prepare(runs)
    return runs, curves, frame, agreement(frame, "auc_accuracy", curves, n_resamples=200)


def test_reversing_hyperparameter_is_reported_as_a_flip_with_its_pair(flip):
    runs, _, frame, agree = flip
    assert frame.block_parts == ("dataset", "learner", "batch_size")
    # reference: each learner's leaderboard straight from pandas, compared with scipy
    boards = {}
    for learner, rows in runs.groupby("learner"):
        means = rows.groupby(["dataset", "batch_size", "strategy"])["auc_accuracy"].mean().unstack()
        boards[learner] = means.rank(axis=1, ascending=False).mean(axis=0).reindex(STRATEGIES)
    expected = stats.kendalltau(boards["a"], boards["b"]).statistic
    assert expected == pytest.approx(-1.0)
    row = agree.table.loc["learner"]
    assert row["kendall_tau"] == pytest.approx(expected) and row["kendall_tau_worst"] == pytest.approx(expected)
    assert row["kendall_tau_worst_pair"] == "a vs b"
    matrix = agree.matrices["learner"]["kendall_tau"]
    assert matrix.loc["a", "b"] == pytest.approx(expected) and matrix.loc["a", "a"] == 1.0
    assert "learner flips the ranking: a vs b, tau = -1.00 (mean over pairs -1.00)" in ranking_lines(agree.table)


def test_level_shift_has_metric_importance_but_no_ranking_influence(flip):
    _, _, frame, agree = flip
    level = importances(frame, "auc_accuracy")["fanova"]
    gain = gain_importance(frame, "auc_accuracy")
    # the data sets' levels (0.5 to 0.8) and the batch size's 0.1 dominate the metric ...
    assert level["dataset"] > 0.5 and level["batch_size"] > 0.15 and level["learner"] < 0.02
    # ... and cancel against the matched random runs
    assert gain["dataset"] < 0.02 and gain["batch_size"] < 0.02
    assert gain["learner"] > 0.5  # the learner decides whether AL gains over random at all
    # pooled over both learners every method ties (mean rank 2.5): tau is undefined, not 1
    assert np.isnan(agree.table.loc["batch_size", "kendall_tau"])
    runs = frame.runs[frame.runs["learner"] == "a"]
    table = agreement(prepare(runs), "auc_accuracy", None, n_resamples=50).table
    row = table.loc["batch_size"]
    assert row["kendall_tau"] == pytest.approx(1.0) and row["kendall_tau_worst"] == pytest.approx(1.0)
    assert any(line.startswith("batch_size keeps the ranking") for line in ranking_lines(table))


def test_pairwise_matrix_for_every_pair_of_values(flip):
    runs, _, frame, agree = flip
    seeds = agree.matrices["seed"]
    assert set(seeds) == {"kendall_tau", "pearson_r", "jaccard"}
    r = seeds["pearson_r"].loc["0", "1"]
    # reference: Pearson r of matched runs within each data set, averaged over data sets
    per_dataset = []
    for _, group in runs.groupby("dataset"):
        wide = group.pivot_table(index=["strategy", "learner", "batch_size"], columns="seed", values="auc_accuracy")
        per_dataset.append(np.corrcoef(wide[0], wide[1])[0, 1])
    assert r == pytest.approx(np.mean(per_dataset))
    three = prepare(pd.concat([runs, runs.assign(run_id=runs["run_id"] + "x", seed=2)]))
    matrices = agreement(three, "auc_accuracy", None, n_resamples=50).matrices["seed"]["kendall_tau"]
    assert matrices.shape == (3, 3) and list(matrices.index) == ["0", "1", "2"]


def test_vectorised_jaccard_equals_python_sets():
    gen = np.random.default_rng(5)
    curves, sequences = [], {}
    for run in range(30):
        n_cycles = int(gen.integers(1, 5))
        picks = gen.choice(50, size=3 * n_cycles, replace=False)
        sequences[f"r{run:02d}"] = picks
        curves += [{"run_id": f"r{run:02d}", "cycle": c, "queried": picks[3 * c:3 * c + 3].tolist()}
                   for c in range(n_cycles)]
    seqs = query_sequences(pd.DataFrame(curves).sample(frac=1.0, random_state=1))
    a, b = gen.integers(0, 30, 40), gen.integers(0, 30, 40)
    got = jaccard_first(seqs, a, b)
    for i, j, value in zip(a, b, got):
        x, y = sequences[f"r{i:02d}"], sequences[f"r{j:02d}"]
        n = min(len(x), len(y))
        assert value == pytest.approx(len(set(x[:n]) & set(y[:n])) / len(set(x[:n]) | set(y[:n])))


def test_effect_sizes_equal_hand_computation_scipy_and_baycomp():
    gen = np.random.default_rng(2)
    matrix = pd.DataFrame({"random": gen.uniform(0.6, 0.7, 8)})
    matrix["good"] = matrix["random"] + 0.03 + gen.normal(0, 0.005, 8)
    matrix["same"] = matrix["random"] + gen.normal(0, 0.002, 8)
    effects = effect_sizes(matrix, ["good", "same", "random"], True, rope=0.01, n_resamples=2000, seed=0)
    row = effects[(effects["method"] == "random") & (effects["reference"] == "good")].iloc[0]
    diff = (matrix["random"] - matrix["good"]).to_numpy()
    assert row["effect"] == pytest.approx(diff.mean())
    ci = stats.bootstrap((np.arange(8),), lambda idx, axis=-1: diff[idx].mean(axis=-1), vectorized=True,
                         n_resamples=2000, method="percentile", rng=np.random.default_rng(0)).confidence_interval
    assert (row["effect_low"], row["effect_high"]) == pytest.approx((ci.low, ci.high))
    assert (row["wins"], row["ties"], row["losses"]) == (0, 0, 8) and row["reliable"]
    worse, equivalent, better = SignedRankTest.probs(np.zeros(8), diff, rope=0.01, nsamples=20_000, random_state=0)
    assert (row["p_better"], row["p_equivalent"], row["p_worse"]) == pytest.approx((better, equivalent, worse))
    assert row["p_worse"] > 0.95
    same = effects[(effects["method"] == "same") & (effects["reference"] == "random")].iloc[0]
    assert same["ties"] == 8 and same["p_equivalent"] > 0.95
    lines = verdict(effects, "good", "auc_accuracy", 0.01)
    assert lines[0].startswith("good ranks first (ROPE ±0.01); against the runner-up, good clearly beats same")
    assert lines[1].startswith("against the baseline, good clearly beats random: mean difference +0.0")
    assert "over 8 blocks, W/T/L 8/0/0; P(better, equivalent, worse) = 1.00, 0.00, 0.00" in lines[1]


@pytest.mark.parametrize("n, rope, shift", [(2, 0.01, 0.0), (6, 0.01, 0.004), (12, 0.0, 0.002), (25, 0.02, 0.015)])
def test_vectorised_signed_rank_equals_baycomp(n, rope, shift):
    diff = np.random.default_rng(n).normal(shift, 0.01, n)
    better, equivalent, worse = signed_rank(diff, rope, seed=7, nsamples=5000)
    reference = SignedRankTest.probs(np.zeros(n), diff, rope=rope, nsamples=5000, random_state=7)
    if rope > 0:  # baycomp: (P(x better), P(rope), P(y better)), x the reference, y the method
        assert (worse, equivalent, better) == pytest.approx(reference, abs=1e-9)
    else:
        assert (worse, better) == pytest.approx(reference, abs=1e-9) and equivalent == 0.0


def test_lower_is_better_and_few_blocks():
    matrix = pd.DataFrame({"fast": [1.0, 2.0, 1.5], "slow": [3.0, 2.5, 4.0]})
    effects = effect_sizes(matrix, ["fast", "slow"], False, baseline=None, rope=0.1, n_resamples=200)
    row = effects.iloc[0]
    assert row["method"] == "slow" and row["effect"] == pytest.approx(-(2.0 + 0.5 + 2.5) / 3)  # > 0: better
    assert not row["reliable"] and row["losses"] == 3
    assert "interval unreliable: 3 blocks" in verdict(effects, "fast", "fit_s", 0.1)[0]
    assert signed_rank(np.zeros(4), 0.1) == (0.0, 1.0, 0.0)


def test_few_blocks_never_read_as_clearly():
    """Below 5 blocks the signed-rank test's prior weighs as much as the data: P >= 0.95 reads "probably"."""
    for n in (2, 3, 4, 5):
        matrix = pd.DataFrame({"random": np.linspace(0.6, 0.7, n)})
        matrix["good"] = matrix["random"] + 0.05
        effects = effect_sizes(matrix, ["good", "random"], True, rope=0.01, n_resamples=200, seed=0)
        row = effects.iloc[0]
        assert row["p_worse"] >= 0.95 and row["losses"] == n  # random against good: certain, as the test goes
        line = verdict(effects, "good", "auc_accuracy", 0.01)[0]
        word = "clearly" if n >= 5 else "probably"
        assert line.startswith(f"good ranks first (ROPE ±0.01); against the runner-up, good {word} beats random"), line
    one = effect_sizes(matrix.head(1), ["good", "random"], True, rope=0.01, n_resamples=200, seed=0)
    assert "good cannot be tested against random: mean difference +0.05 auc_accuracy over 1 block, W/T/L 1/0/0" \
        in verdict(one, "good", "auc_accuracy", 0.01)[0]


@pytest.mark.parametrize("k", [2, 3, 4, 6, 10])
def test_blocks_needed_to_separate_anything(k):
    need = blocks_to_separate(k)
    assert critical_difference(k, need) < k - 1 <= critical_difference(k, need - 1)


def test_comparison_says_when_nothing_can_be_separated():
    rows = [{"run_id": f"{d}{s}", "kind": "al", "status": "ok", "dataset": d, "strategy": s,
             "auc_accuracy": v + i} for i, d in enumerate("xy") for s, v in zip("abc", (0.3, 0.2, 0.1))]
    comparison = compare(prepare(pd.DataFrame(rows)), "auc_accuracy")
    assert not comparison.can_separate and comparison.blocks == ("dataset",)
    note = comparison.power_note()
    assert note.startswith("the Nemenyi test cannot separate any pair") and f"at least {blocks_to_separate(3)} " \
        "blocks" in note
    assert note.endswith("(more data sets)")  # no other hyperparameter to block by
    summary = comparison.summary()
    assert summary["block_columns"] == ["dataset"] and summary["can_separate"] is False
    with_learner = pd.DataFrame(rows).assign(learner="l1")
    with_learner = pd.concat([with_learner, with_learner.assign(learner="l2", run_id=with_learner["run_id"] + "2")])
    coarse = compare(prepare(with_learner, block="dataset"), "auc_accuracy")
    assert coarse.power_note().endswith("(more data sets, or finer blocks, e.g. --block dataset,learner)")


def test_a_key_tied_to_some_methods_is_averaged_within_blocks_and_said(flip):
    """An exclude rule runs learner b for s3 only: learner leaves the default blocks (no block would hold every
    method), and the note says that each method is ranked over a different mix of learners."""
    runs, _, frame, _ = flip
    assert frame.notes == []  # every key crossed with every method
    tied = runs[(runs["learner"] == "a") | (runs["strategy"] == "s3")]
    tied_frame = prepare(tied)
    assert tied_frame.block_parts == ("dataset", "batch_size")
    assert tied_frame.notes == [
        "learner is not crossed with every method (exclude rules tie some values to some methods), so the ranking "
        "averages over a different mix of learner for each method; `albench analyze --block "
        "dataset,batch_size,learner` ranks within each learner (blocks that lack a method are left out)"]
    assert prepare(tied, block="dataset,batch_size").notes == []  # blocks the user chose
    within = compare(prepare(tied, block="dataset,batch_size,learner"), "auc_accuracy")
    assert within.n_dropped_blocks == 10 and len(within.matrix) == 10  # learner b's blocks lack three methods


def test_block_option_and_its_errors(flip):
    runs, _, _, _ = flip
    assert prepare(runs, block="dataset,learner").block_parts == ("dataset", "learner")
    assert compare(prepare(runs, block="dataset"), "auc_accuracy").matrix.shape == (5, 4)
    with pytest.raises(ValueError, match="--block: unknown column 'lerner'; did you mean 'learner'\\? allowed: .*learner"):
        prepare(runs, block="dataset,lerner")


def _write_shuffled(root, runs: pd.DataFrame, curves: pd.DataFrame, seed: int) -> None:
    """The same rows in the real layout, in another order and split into other part files."""
    order = np.random.default_rng(seed).permutation(len(runs))
    store = Store(root)
    for chunk in np.array_split(order, 3 + seed):
        ids = set(runs["run_id"].iloc[chunk])
        store.write(runs.iloc[chunk].to_dict("records"), curves[curves["run_id"].isin(ids)].to_dict("records"))


def test_every_figure_is_identical_under_a_shuffled_part_order(tmp_path, flip):
    runs, curves, _, _ = flip
    outputs = []
    for seed in (0, 1):
        root = tmp_path / f"order{seed}"
        _write_shuffled(root, runs, curves, seed)
        res = albench.results.open(root)
        assert list(res.runs["run_id"]) != list(runs["run_id"])  # really another order
        outputs.append(analyze(res.runs, res.curves, n_resamples=100, seed=3).to_json())
    assert outputs[0] == outputs[1]
    data = json.loads(outputs[0])
    assert data["block_columns"] == ["dataset", "learner", "batch_size"]
    assert "learner flips the ranking: a vs b" in " ".join(data["ranking_lines"])
    assert data["agreement"]["learner"]["kendall_tau"]["matrix"][0][1] == pytest.approx(-1.0)
    # the printed analysis says the same, verdict first
    out = CliRunner().invoke(app, ["analyze", str(tmp_path / "order0"), "--resamples", "100", "--seed", "3"])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert text.startswith(" ".join(data["verdict"][0].split()))
    assert "within 20 blocks (dataset x learner x batch_size)" in text
    assert "the Nemenyi test can separate methods whose mean ranks differ by more than" in text
    assert "learner flips the ranking: a vs b, tau = -1.00" in text and "fANOVA gain" in text


def test_a_verdict_whose_mean_disagrees_with_the_signed_rank_test_says_why():
    # 18 blocks slightly better (+0.02), 2 blocks far worse (-0.5): most blocks win, the mean loses
    diff = np.array([0.02] * 18 + [-0.5] * 2)
    row = {"method": "m", "reference": "random", **compare_pair(diff, 0.01, 200, 0.95, 0)}
    text = sentence(row, "auc_accuracy")
    assert row["effect"] < 0 and row["p_better"] > row["p_worse"]
    assert "beats random: mean difference -0.032" in text and "pull the mean the other way" in text
    agreeing = sentence({**row, **{"effect": 0.02}}, "auc_accuracy")
    assert "pull the mean" not in agreeing


def test_a_split_signed_rank_test_is_read_as_undecided_whatever_the_mean():
    """Half the blocks win, half lose by as much: P(better) ~ P(worse), and the sentence says the test cannot
    tell, instead of "perhaps beats" or "perhaps loses" (an AT leaderboard's W/T/L 4/0/4 at ROPE 0)."""
    diff = np.array([0.1, -0.1] * 4)
    row = {"method": "m", "reference": "r", **compare_pair(diff, 0.0, 200, 0.95, 0)}
    assert abs(row["p_better"] - row["p_worse"]) < 0.1
    text = sentence(row, "squared_error")
    assert text.startswith("the signed-rank test cannot tell whether m beats or loses to r: mean difference +0 ")
    assert "pull the mean" not in text and "perhaps" not in text
    leaning = sentence({**row, "p_better": 0.3, "p_worse": 0.7}, "squared_error")
    assert leaning.startswith("m perhaps loses to r")
