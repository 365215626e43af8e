"""The results store: round trip, atomic parts, orphans, resume, reruns."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pytest

from albench import store as store_mod
from albench.execute import run_grid
from albench.spec import grid_from_dict
from albench.store import Store
from conftest import small_al_grid


def test_round_trip_and_readers_agree(tmp_path):
    s = Store(tmp_path)
    s.write([{"run_id": "a", "status": "ok", "auc": 0.5, "error": None}],
            [{"run_id": "a", "cycle": 0, "queried": [1, 2]}, {"run_id": "a", "cycle": 1, "queried": []}])
    s.write([{"run_id": "b", "status": "error", "error": "boom"}], [])
    runs = s.read("runs").sort_values("run_id").reset_index(drop=True)
    assert runs["run_id"].tolist() == ["a", "b"]
    assert runs.loc[0, "auc"] == 0.5 and pd.isna(runs.loc[1, "auc"])
    assert runs.loc[1, "error"] == "boom"
    curves = s.read("curves")
    assert curves["queried"].map(list).tolist() == [[1, 2], []]
    # DuckDB and pyarrow read the same parts (columns unified by name)
    con = duckdb.connect()
    got = con.execute(f"SELECT run_id, auc FROM read_parquet('{tmp_path}/runs/*.parquet', union_by_name=true) "
                      "ORDER BY run_id").fetchall()
    assert got == [("a", 0.5), ("b", None)]
    assert ds.dataset(str(tmp_path / "curves"), format="parquet").count_rows() == 2


def test_a_crash_mid_write_leaves_no_readable_half_file(tmp_path, monkeypatch):
    s = Store(tmp_path)
    s.write([{"run_id": "a", "status": "ok"}], [{"run_id": "a", "cycle": 0}])

    def crash(table, where):
        where.write_bytes(b"PAR1 half a file")
        raise OSError("disk gone")

    monkeypatch.setattr(store_mod.pq, "write_table", crash)
    with pytest.raises(OSError):
        s.write([{"run_id": "b", "status": "ok"}], [{"run_id": "b", "cycle": 0}])
    monkeypatch.undo()
    assert s.finished() == {"a"}
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [s.parts("runs")[0].name]
    assert not list((tmp_path / "curves").glob(".*"))  # the temporary file was removed


def test_orphan_curves_are_ignored_and_cleaned(tmp_path):
    s = Store(tmp_path)
    s.write([{"run_id": "a", "status": "ok"}], [{"run_id": "a", "cycle": 0}])
    # a crash between the curves rename and the runs rename leaves an orphan curves part
    orphan = tmp_path / "curves" / "part-orphan.parquet"
    pd.DataFrame({"run_id": ["b"], "cycle": [0]}).to_parquet(orphan)
    assert set(s.read("curves")["run_id"]) == {"a"}
    s.remove_orphans()
    assert not orphan.exists()


def test_resume_skips_finished_runs_and_rerun_failed_keeps_one_row(tmp_path):
    grid = grid_from_dict(small_al_grid())
    s = Store(tmp_path)
    first = run_grid(grid, s)
    assert (first.done, first.skipped) == (4, 0)
    again = run_grid(grid, s)
    assert (again.done, again.skipped) == (0, 4)
    bigger = grid_from_dict(small_al_grid(params={"seed": {"range": [0, 3]}}))
    more = run_grid(bigger, s)
    assert (more.done, more.skipped) == (2, 4)
    runs = s.read("runs")
    assert len(runs) == runs["run_id"].nunique() == 6
    # a stored error row is rerun once asked, and the run is then stored once
    victim = runs["run_id"].iloc[0]
    s.drop_runs({victim})
    s.write([{**runs[runs.run_id == victim].iloc[0].to_dict(), "status": "error"}], [])
    assert run_grid(bigger, s).done == 0
    redo = run_grid(bigger, s, rerun_failed=True)
    assert redo.done == 1
    runs = s.read("runs")
    assert len(runs) == runs["run_id"].nunique() == 6 and set(runs["status"]) == {"ok"}
    curves = s.read("curves")
    assert curves.groupby("run_id")["cycle"].apply(lambda c: c.is_unique).all()
