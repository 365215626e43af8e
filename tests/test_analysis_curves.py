"""The curves read where they lie (DuckDB over the parts) give what pandas gives on the whole frame."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

import albench.results
from albench.analysis import stability
from albench.analysis.curves import Curves, group_sums, identical, jaccard_first, query_sequences
from albench.analysis.frame import prepare
from albench.analysis.inputs import read_inputs
from albench.analysis.interactive import learning_curve_points
from albench.store import Store


def _results(seed: int = 0):
    """AL runs of 3 strategies x 2 learners x 2 batch sizes x 3 seeds on 2 data sets, with curves."""
    gen = np.random.default_rng(seed)
    runs, curves = [], []
    for d, s, learner, b, rep in itertools.product(["d0", "d1"], ["random", "margin", "entropy"], ["lr", "rf"],
                                                   [2, 5], range(3)):
        run_id = f"{d}-{s}-{learner}-{b}-{rep}"
        picks = gen.permutation(300)[: 4 * b]
        acc = np.clip(0.5 + 0.05 * np.arange(5) + gen.normal(0, 0.02, 5), 0, 1)
        if gen.random() < 0.1:
            acc[2] = np.nan  # an undefined cycle metric: skipped by means, never above a threshold
        runs.append({"run_id": run_id, "kind": "al", "status": "ok", "dataset": d, "strategy": s,
                     "learner": learner, "batch_size": b, "seed": rep, "auc_accuracy": float(np.nanmean(acc)),
                     "n_labelled_start": 4, "n_labelled_final": 4 + 4 * b})
        curves += [{"run_id": run_id, "cycle": c, "n_labelled": 4 + b * c, "accuracy": float(acc[c]),
                    "queried": (np.sort(picks[b * (c - 1): b * c])[::-1].tolist() if c else [])}
                   for c in range(5)]
    return pd.DataFrame(runs), pd.DataFrame(curves)


def _stored(tmp_path, runs, curves, parts: int = 3):
    store = Store(tmp_path)
    order = np.random.default_rng(1).permutation(len(runs))
    for chunk in np.array_split(order, parts):
        ids = set(runs["run_id"].iloc[chunk])
        store.write(runs.iloc[chunk].to_dict("records"), curves[curves["run_id"].isin(ids)].to_dict("records"))
    return albench.results.open(tmp_path)


def test_sequences_from_the_parts_equal_python_lists_in_cycle_order(tmp_path):
    runs, curves = _results()
    res = _stored(tmp_path, runs, curves)
    wanted = list(runs["run_id"].iloc[::3]) + ["no-such-run"]
    seqs = Curves.of(res).query_sequences(wanted)
    for run_id in wanted:
        rows = curves[curves["run_id"] == run_id].sort_values("cycle")
        expected = [i for batch in rows["queried"] for i in sorted(batch)]
        (row,) = seqs.rows([run_id])
        assert seqs.values[seqs.starts[row]:seqs.starts[row] + seqs.lengths[row]].tolist() == expected
    assert seqs.values.dtype == np.int32


def test_identical_and_jaccard_match_sets():
    runs, curves = _results()
    first = runs["run_id"][0]
    twin = curves[curves["run_id"] == first].assign(run_id="copy")  # the same batches, each in another order
    twin["queried"] = [list(reversed(q)) for q in twin["queried"]]
    both = pd.concat([curves, twin])
    batches = {r: [list(q) for q in g.sort_values("cycle")["queried"]] for r, g in both.groupby("run_id")}
    seqs = query_sequences(both)
    ids = list(seqs.row)
    gen = np.random.default_rng(0)
    a, b = gen.integers(0, len(ids), 60), gen.integers(0, len(ids), 60)
    a[0], b[0] = ids.index(first), ids.index("copy")
    same, overlap = identical(seqs, a, b), jaccard_first(seqs, a, b)
    for i, j, s, value in zip(a, b, same, overlap):
        x, y = batches[ids[i]], batches[ids[j]]
        assert s == ([set(q) for q in x] == [set(q) for q in y])
        x, y = [v for q in x for v in sorted(q)], [v for q in y for v in sorted(q)]
        n = min(len(x), len(y))
        assert value == pytest.approx(len(set(x[:n]) & set(y[:n])) / len(set(x[:n]) | set(y[:n])))
    assert same[0] and not same[1:].all()


def test_group_sums_equal_pandas_group_means(tmp_path):
    runs, curves = _results()
    res = _stored(tmp_path, runs, curves)
    labels = runs[["run_id", "strategy", "batch_size"]]
    sums = group_sums(Curves.of(res), labels, "n_labelled", "accuracy")
    got = (sums["total"] / sums["n"]).set_axis(pd.MultiIndex.from_frame(sums[["strategy", "batch_size",
                                                                              "n_labelled"]]))
    expected = curves.merge(labels, on="run_id").groupby(["strategy", "batch_size", "n_labelled"])["accuracy"].mean()
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)


def test_an_analysis_of_the_folder_equals_the_analysis_of_the_whole_frames(tmp_path):
    from albench.analysis.summary import analyze

    runs, curves = _results()
    res = _stored(tmp_path, runs, curves)
    stored_runs, stored_curves = read_inputs(res)
    assert not {"error_traceback", "started_at", "python_version"} & set(stored_runs.columns)
    from_folder = analyze(stored_runs, stored_curves, n_resamples=100, seed=2)
    from_frames = analyze(res.runs, res.curves, n_resamples=100, seed=2)
    assert from_folder.to_json() == from_frames.to_json()
    # ramp-up is listed but, costing two scans of the curves, computed only when it is ranked
    assert "rampup_accuracy" in from_folder.frame.metrics and "rampup_accuracy" not in from_folder.frame.runs
    ranked = analyze(stored_runs, stored_curves, metric="rampup_accuracy", n_resamples=20, seed=2)
    assert ranked.frame.runs["rampup_accuracy"].notna().all()
    frame = prepare(res.runs)
    points = learning_curve_points(frame, stored_curves, "auc_accuracy")[0]
    merged = res.curves.merge(frame.ok[["run_id", "dataset", "strategy", "learner", "batch_size"]], on="run_id")
    merged = merged[merged["accuracy"].notna()]
    expected = merged.groupby(["dataset", "strategy", "learner", "batch_size", "n_labelled"])["accuracy"]
    assert points["accuracy"].to_numpy() == pytest.approx(expected.mean().to_numpy())
    assert points["runs"].tolist() == expected.size().tolist()


def test_jaccard_past_its_memory_bound_compares_a_seeded_sample_of_contexts(monkeypatch):
    runs, curves = _results()
    frame = prepare(runs)
    exact = stability.agreement(frame, "auc_accuracy", curves, n_resamples=50).table
    assert (exact["jaccard_contexts"] == exact["jaccard_contexts_total"]).all()
    monkeypatch.setattr(stability, "MAX_INDICES", 400)
    sampled = [stability.agreement(frame, "auc_accuracy", curves, n_resamples=50, seed=s).table for s in (0, 0, 1)]
    pd.testing.assert_frame_equal(sampled[0], sampled[1])  # seeded
    for table in sampled:
        compared = table.loc["strategy"]
        assert 0 < compared["jaccard_contexts"] < compared["jaccard_contexts_total"]
        assert np.isfinite(compared["jaccard"])
    # every figure that does not read the picks is the same
    columns = [c for c in exact.columns if not c.startswith("jaccard")]
    pd.testing.assert_frame_equal(sampled[0][columns], exact[columns])


def test_jaccard_by_marks_equals_jaccard_by_sorted_keys(monkeypatch):
    from albench.analysis import curves as curves_module

    runs, curves = _results(seed=3)
    seqs = query_sequences(curves)
    gen = np.random.default_rng(1)
    a, b = gen.integers(0, len(seqs.row), 500), gen.integers(0, len(seqs.row), 500)
    by_marks = jaccard_first(seqs, a, b)
    monkeypatch.setattr(curves_module, "MIN_TABLE_PAIRS", 10 ** 9)  # as for a pool too large for marks
    monkeypatch.setattr(curves_module, "GATHER_CHUNK", 300)  # and many chunks
    np.testing.assert_array_equal(jaccard_first(seqs, a, b), by_marks)


def test_only_the_ranked_metric_is_read_and_an_unknown_one_still_lists_every_metric(tmp_path):
    from typer.testing import CliRunner

    from albench.analysis.inputs import run_columns
    from albench.cli import app

    runs, curves = _results()
    runs = runs.assign(final_accuracy=runs["auc_accuracy"] + 0.1, fit_s=1.0, python_version="3",
                       strategy_impl="albench.strategies.uncertainty@38863715c9f7")
    res = _stored(tmp_path, runs, curves)
    names = res.columns("runs")
    assert set(run_columns(names)) == set(names) - {"final_accuracy", "fit_s", "python_version", "strategy_impl"}
    assert "final_accuracy" in run_columns(names, "final_accuracy") and "auc_accuracy" not in run_columns(
        names, "final_accuracy")
    assert set(run_columns(names, "rampup_accuracy")) == set(names) - {"python_version", "strategy_impl"}
    out = CliRunner().invoke(app, ["analyze", str(tmp_path), "--metric", "final_accuracy", "--resamples", "50",
                                   "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["metric"] == "final_accuracy"
    bad = CliRunner().invoke(app, ["analyze", str(tmp_path), "--metric", "no_such_metric"])
    assert bad.exit_code == 2 and "final_accuracy" in bad.output and "fit_s" in bad.output


def test_static_learning_curves_are_seed_means_of_the_shared_cells_and_capped_in_panels(monkeypatch):
    from albench.analysis import plots

    runs, curves = _results()
    frame, scans = prepare(runs), []
    monkeypatch.setattr(plots, "group_sums", lambda *a: scans.append(1) or group_sums(*a))
    shared = Curves.of(curves)
    fig, caption = plots.learning_curves(frame, shared, "auc_accuracy")
    lines = {(ax.get_title(), line.get_label()): line for ax in fig.axes for line in ax.get_lines()}
    merged = curves.merge(runs[["run_id", "dataset", "strategy", "batch_size", "seed"]], on="run_id")
    per_seed = merged.groupby(["dataset", "batch_size", "strategy", "seed", "n_labelled"])["accuracy"].mean()
    expected = per_seed.groupby(["dataset", "batch_size", "strategy", "n_labelled"]).mean()
    line = lines[("d1, batch_size 5", "margin")]
    assert np.allclose(line.get_ydata(), expected.loc[("d1", 5, "margin")].to_numpy(), atol=1e-12)
    assert "First" not in caption
    learning_curve_points(frame, shared, "auc_accuracy")  # the interactive chart reuses the same scan
    assert len(scans) == 1
    monkeypatch.setattr(plots, "MAX_PANELS", 3)  # 2 batch sizes: one data set fits
    fig, caption = plots.learning_curves(prepare(runs), curves, "auc_accuracy")
    assert len(fig.axes) == 2 and "First 1 of 2 dataset values." in caption


def test_read_inputs_sorts_the_runs_so_the_frame_shares_their_columns(tmp_path):
    runs, curves = _results()
    stored, _ = read_inputs(_stored(tmp_path, runs, curves))  # parts written in a shuffled order
    assert stored["run_id"].is_monotonic_increasing
    frame = prepare(stored)
    assert np.shares_memory(frame.runs["auc_accuracy"].to_numpy(), stored["auc_accuracy"].to_numpy())
    shuffled = prepare(stored.sample(frac=1.0, random_state=0))
    pd.testing.assert_frame_equal(shuffled.runs, frame.runs)
