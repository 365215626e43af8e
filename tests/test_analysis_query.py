"""SQL over stored part files (DuckDB), ``albench.results.open`` and ``albench query``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import albench.results
from albench.execute import run_grid
from albench.spec import grid_from_dict
from albench.store import Store

from conftest import invoke, small_al_grid

AVG_SQL = "SELECT strategy, avg(auc_accuracy) AS auc, count(*) AS n FROM runs GROUP BY 1 ORDER BY 1"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Two batches of real runs (two part files), from a grid run once and extended later."""
    root = tmp_path_factory.mktemp("results") / "small"
    run_grid(grid_from_dict(small_al_grid(params={"budget": 2})), Store(root))
    run_grid(grid_from_dict(small_al_grid(params={"budget": 2, "strategy": ["random", "margin", "entropy"]})),
             Store(root))
    assert len(Store(root).parts("runs")) == 2
    return root


def test_sql_aggregate_equals_pandas(results):
    res = albench.results.open(results)
    got = res.sql(AVG_SQL).set_index("strategy")
    ref = res.runs.groupby("strategy")["auc_accuracy"].agg(["mean", "size"])
    assert list(got.index) == sorted(ref.index) == ["entropy", "margin", "random"]
    assert got["auc"].to_numpy() == pytest.approx(ref.loc[got.index, "mean"].to_numpy())
    assert got["n"].tolist() == ref.loc[got.index, "size"].tolist() == [2, 2, 2]


def test_sql_joins_runs_and_curves(results):
    res = albench.results.open(results)
    got = res.sql("SELECT r.strategy, avg(c.accuracy) AS acc, count(*) AS cycles FROM curves c "
                  "JOIN runs r USING (run_id) GROUP BY 1 ORDER BY 1")
    merged = res.curves.merge(res.runs[["run_id", "strategy"]], on="run_id")
    ref = merged.groupby("strategy")["accuracy"].agg(["mean", "size"])
    assert got["acc"].to_numpy() == pytest.approx(ref["mean"].to_numpy())
    assert got["cycles"].tolist() == ref["size"].tolist() == [2 * 3] * 3  # 2 seeds x (budget 2 + 1) cycles


def test_parts_with_different_columns_read_by_name(tmp_path):
    store = Store(tmp_path)
    store.write([{"run_id": "a", "status": "ok", "strategy": "x", "auc_accuracy": 0.5},
                 {"run_id": "b", "status": "ok", "strategy": "y", "auc_accuracy": 0.7}], [])
    # the grid gained a hyperparameter later: only the new part has the column
    store.write([{"run_id": "c", "status": "ok", "strategy": "x", "auc_accuracy": 0.9, "warm_start": 3}], [])
    res = albench.results.open(tmp_path)
    got = res.sql("SELECT count(*) AS n, count(warm_start) AS with_new, sum(warm_start) AS total, "
                  "avg(auc_accuracy) FILTER (WHERE strategy = 'x') AS x FROM runs").iloc[0]
    assert (got["n"], got["with_new"], got["total"]) == (3, 1, 3)
    assert got["x"] == pytest.approx(0.7)
    runs = res.runs.set_index("run_id")
    assert np.isnan(runs.loc["a", "warm_start"]) and runs.loc["c", "warm_start"] == 3
    lazy = albench.results.open(tmp_path, lazy=True).runs
    assert lazy.npartitions == 2
    computed = lazy.compute().set_index("run_id").sort_index()
    assert computed["warm_start"].isna().tolist() == [True, True, False]
    assert lazy.groupby("strategy")["auc_accuracy"].mean().compute().to_dict() == pytest.approx({"x": 0.7, "y": 0.7})


def test_orphan_curves_parts_are_left_out(tmp_path):
    store = Store(tmp_path)
    store.write([{"run_id": "a", "status": "ok"}], [{"run_id": "a", "cycle": 0}])
    orphan = tmp_path / "curves" / "part-orphan.parquet"
    pd.DataFrame({"run_id": ["z"], "cycle": [0]}).to_parquet(orphan)  # a crash before its runs part
    res = albench.results.open(tmp_path)
    assert res.sql("SELECT count(*) AS n FROM curves")["n"].item() == 1 == len(res.curves)


def test_lazy_frames_match_pandas(results):
    eager, lazy = albench.results.open(results), albench.results.open(results, lazy=True)
    assert lazy.curves.npartitions == 2
    a = lazy.curves.compute().sort_values(["run_id", "cycle"]).reset_index(drop=True)
    b = eager.curves.sort_values(["run_id", "cycle"]).reset_index(drop=True)
    assert a["accuracy"].to_numpy() == pytest.approx(b["accuracy"].to_numpy())
    assert [list(q) for q in a["queried"]] == [list(q) for q in b["queried"]]


def test_cli_query_prints_json_and_writes_files(results, tmp_path):
    out = invoke("query", results, AVG_SQL, "--json")
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    ref = albench.results.open(results).sql(AVG_SQL)
    assert [r["strategy"] for r in rows] == ref["strategy"].tolist()
    assert [r["auc"] for r in rows] == pytest.approx(ref["auc"].tolist())
    for name in ("out.csv", "out.parquet"):
        out = invoke("query", results, AVG_SQL, "--out", tmp_path / name)
        assert out.exit_code == 0, out.output
        back = pd.read_csv(tmp_path / name) if name.endswith(".csv") else pd.read_parquet(tmp_path / name)
        assert back["auc"].to_numpy() == pytest.approx(ref["auc"].to_numpy())
    table = invoke("query", results, AVG_SQL)
    assert table.exit_code == 0 and "margin" in table.output and "0 rows" not in table.output
    none = invoke("query", results, "SELECT strategy FROM runs WHERE strategy = 'nope'")
    assert none.exit_code == 0 and none.output.rstrip().endswith("0 rows"), none.output


@pytest.mark.parametrize("args, message", [
    (["SELECT nope FROM runs"], "query failed: Binder Error"),
    (["SELEC 1"], "query failed: Parser Error"),
    (["SELECT 1", "--out", "x.txt"], "must end in .csv or .parquet"),
])
def test_cli_query_errors_are_one_line(results, args, message):
    out = invoke("query", results, *args)
    assert out.exit_code == 2
    assert message in out.output and "Traceback" not in out.output
    assert len(out.output.strip().splitlines()) == 1


def test_cli_missing_results_folder(tmp_path):
    for command in (["query", tmp_path / "none", "SELECT 1"], ["analyze", tmp_path / "none"],
                    ["report", tmp_path / "none"], ["analyze", tmp_path]):
        out = invoke(*command)
        assert out.exit_code == 2, out.output
        assert "no results folder" in out.output or "no runs stored" in out.output
        assert len(out.output.strip().splitlines()) == 1


def test_a_folder_of_results_folders_names_them(results, tmp_path):
    """`albench analyze results` (the parent of results/<grid>): the error lists the folders that hold runs."""
    import shutil

    parent = tmp_path / "results"
    for name in ("b_grid", "a_grid"):
        shutil.copytree(results, parent / name)
    (parent / "empty").mkdir()
    out = invoke("analyze", parent)
    assert out.exit_code == 2
    assert f"no runs stored in {parent} (expected {parent / 'runs'}/part-*.parquet); results folders in it: " \
           "a_grid, b_grid" in " ".join(out.output.split())


def test_cli_query_error_keeps_duckdbs_hint(results):
    """DuckDB's "Candidate bindings" and "Did you mean" stay on the one line; the quoted query does not."""
    column = invoke("query", results, "SELECT avg(auc_acuracy) FROM runs")
    assert column.exit_code == 2 and 'Candidate bindings: "auc_accuracy"' in column.output, column.output
    table = invoke("query", results, "SELECT * FROM runz")
    assert table.exit_code == 2 and 'Did you mean "runs"?' in table.output and "LINE 1" not in table.output
