"""The scale benchmark's pieces on tiny inputs: the synthetic store and the subprocess meter."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import albench.results
from albench.al_loop import area_under_curve
from albench.execute import pending
from albench.spec import load_grid
from albench.store import Store
from benchmarks import bench_scale, synthetic_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic") / "s"
    synthetic_store.write_store(root, 1000, seed=3)
    return root


def test_store_holds_every_run_of_its_grid_in_parts_of_200(store):
    grid = load_grid(store / "grid.yaml")
    todo, skipped = pending(grid, Store(store))
    assert (len(todo), skipped) == (0, 1000)
    assert len(Store(store).parts("runs")) == 5 == len(Store(store).parts("curves"))
    res = albench.results.open(store)
    ok = res.runs[res.runs["status"] == "ok"]
    assert len(res.curves) == len(ok) * synthetic_store.CYCLES
    assert 0 < (res.runs["status"] == "error").sum() < 30  # about ERROR_FRACTION of 1000
    assert len(load_grid(store / "grid-exclude.yaml")) == 1000 - 1000 // 20  # gnb x coreset left out


def test_summaries_are_those_albench_computes_from_the_curves(store):
    res = albench.results.open(store)
    curves = res.curves.sort_values(["run_id", "cycle"])
    runs = res.runs[res.runs["status"] == "ok"].set_index("run_id")
    for run_id, c in list(curves.groupby("run_id"))[:20]:
        assert runs.loc[run_id, "auc_accuracy"] == pytest.approx(area_under_curve(c["accuracy"].to_numpy()))
        assert runs.loc[run_id, "final_accuracy"] == c["accuracy"].iloc[-1]
        k = runs.loc[run_id, "batch_size"]
        assert [len(q) for q in c["queried"]] == [k] * (synthetic_store.CYCLES - 1) + [0]
        picked = np.concatenate(c["queried"].to_numpy())
        assert len(np.unique(picked)) == len(picked)  # a run never queries a point twice


def test_strategy_effects_are_recovered_from_the_stored_rows(store):
    truth = json.loads((store / "truth.json").read_text())
    auc = albench.results.open(store).sql("SELECT strategy, avg(auc_accuracy) AS auc FROM runs "
                                          "WHERE status = 'ok' GROUP BY 1").set_index("strategy")["auc"]
    gain = auc - auc["random"]
    expected = truth["expected_auc_gain_over_random"]
    # 100 runs per strategy, run noise sd 0.01 plus batch/learner imbalance from failed runs: se ~ 0.002
    for strategy, want in expected.items():
        assert gain[strategy] == pytest.approx(want, abs=0.006), strategy
    assert list(gain.sort_values().index[[0, -1]]) == ["random", "cluster_margin"]


def test_sizes_must_fill_whole_cells():
    assert synthetic_store.axes_for(10_000) == (1, 20)
    assert synthetic_store.axes_for(1_000_000) == (100, 20)
    assert synthetic_store.axes_for(1500) == (1, 3)
    with pytest.raises(ValueError, match="multiple of 500"):
        synthetic_store.axes_for(1234)


def test_measure_reports_peak_memory_cpu_and_kills_past_the_cap():
    big = [sys.executable, "-c", "import numpy as np, time; a = np.ones(2**26); time.sleep(0.3)"]  # 0.5 GiB
    fig = bench_scale.measure(big)
    assert fig["status"] == "ok" and 0.45 < fig["peak_gib"] < 1.0 and fig["cpu_s"] > 0
    small = bench_scale.measure([sys.executable, "-c", "pass"])
    assert small["peak_gib"] < 0.1  # not the parent's RSS (ru_maxrss after fork would say so)
    killed = bench_scale.measure(big, memory_cap_gib=0.2)
    assert killed["status"] == "killed above 0.2 GiB"
    failed = bench_scale.measure([sys.executable, "-c", "import sys; sys.exit('bad input')"])
    assert failed["status"] == "exit 1: bad input"


def test_growth_exponent():
    by_size = {"10": {"cpu_s": 1.0, "status": "ok"}, "100": {"cpu_s": 10.0, "status": "ok"},
               "1000": {"cpu_s": 1000.0, "status": "ok"}, "10000": {"cpu_s": 0.0, "status": "killed above 12 GiB"}}
    assert bench_scale.growth([10, 100, 1000, 10000], by_size) == {"10->100": 1.0, "100->1000": 2.0,
                                                                   "1000->10000": None}


def test_parts_have_the_columns_and_types_of_a_real_grid_run(store, tmp_path):
    from albench.execute import run_grid
    from albench.spec import grid_from_dict

    grid = grid_from_dict({"name": "real", "kind": "al", "params": {
        "dataset": {"name": "blobs", "data_seed": 1}, "learner": "gnb", "strategy": ["random", "margin"],
        "batch_size": 5, "budget": 3}})
    run_grid(grid, Store(tmp_path / "real"))
    for table in ("runs", "curves"):
        real = pq.read_schema(Store(tmp_path / "real").parts(table)[0])
        synthetic = pq.read_schema(Store(store).parts(table)[0])
        assert {f.name: f.type for f in synthetic} == {f.name: f.type for f in real}, table


def test_many_values_grid_has_one_axis_of_100_seeds(tmp_path):
    grid = synthetic_store.write_store(tmp_path / "m", None, grid_text=synthetic_store.many_seeds_yaml())
    g = load_grid(grid)
    assert len(g) == 800 and len(g.axes["seed"]) == 100 and len(g.axes["strategy"]) == 8
    assert pending(g, Store(tmp_path / "m"))[1] == 800


def test_compact_step_measures_a_copy_and_leaves_the_cached_store_as_it_was(tmp_path):
    out = bench_scale.compact_figures(500, cache=tmp_path)
    assert (out["parts_before"], out["parts_after"]) == (500 // bench_scale.COMPACT_RUNS_PER_PART, 1)
    steps = ("pending_before", "query_before", "compact", "pending_after", "query_after")
    assert [out[s]["status"] for s in steps] == ["ok"] * 5  # pending exits 1 if it finds a run left
    cached = Store(tmp_path / f"500-parts{bench_scale.COMPACT_RUNS_PER_PART}-v{bench_scale.STORE_VERSION}")
    assert len(cached.parts("runs")) == 100 and len(cached.read("runs")) == 500


def test_stored_ids_step_finds_every_id_both_ways():
    out = bench_scale.stored_ids_figures(20_000)
    assert out["python_set"]["found_all"] and out["run_ids"]["found_all"]
    assert out["run_ids"]["mib"] < out["python_set"]["mib"]  # 8 bytes an id against a str and a set slot


def test_replicas_are_new_data_sets_and_run_ids_with_the_same_curves(store, tmp_path):
    import shutil

    from albench.compaction import compact
    from benchmarks.replicate_store import replicate

    source = tmp_path / "compacted"
    shutil.copytree(store, source)
    compact(source)
    assert replicate(source, tmp_path / "x", 2.5) == 2000  # the half copy would split the one data set: left out
    copies = albench.results.open(tmp_path / "x")
    runs, original = copies.runs, albench.results.open(source).runs
    assert runs["run_id"].is_unique and set(original["run_id"]) < set(runs["run_id"])
    assert sorted(runs["dataset_params"].unique()) == sorted({*original["dataset_params"], '{"data_seed": 1}'})
    new = runs[~runs["run_id"].isin(original["run_id"])]
    columns = ["strategy", "learner", "batch_size", "split", "start_point", "auc_accuracy"]
    def rows(frame):
        return frame[columns].sort_values(columns).reset_index(drop=True)

    pd.testing.assert_frame_equal(rows(new), rows(original))
    curves = copies.curves
    assert len(curves) == 2 * len(albench.results.open(source).curves) and set(curves["run_id"]) <= set(runs["run_id"])
    assert all(p.name.startswith("part-compact-") for p in Store(tmp_path / "x").parts("runs"))
    # the run_ids are the replicated grid's own: the "what is left" check finds every run stored
    grid = load_grid(tmp_path / "x" / "grid.yaml")
    assert len(grid) == 2000 and {s.run_id for s in grid.specs()} == set(runs["run_id"])
    assert len(pending(grid, Store(tmp_path / "x"))[0]) == 0
    assert len(load_grid(tmp_path / "x" / "grid-exclude.yaml")) < 2000
