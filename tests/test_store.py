"""The results store: round trip, atomic parts, orphans, resume, reruns."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from albench import store as store_mod
from albench.execute import BatchWriter, run_grid
from albench.spec import grid_from_dict
from albench.store import Store, UnstorableRows
from albench.table_schema import hyperparameter_columns, schemas_for
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

    def crash(table, where, **kwargs):
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
    stored = {k: v for k, v in runs[runs.run_id == victim].iloc[0].to_dict().items() if not pd.isna(v)}
    s.write([{**stored, "status": "error", "error": "boom"}], [], schemas_for("al"))
    assert run_grid(bigger, s).done == 0
    redo = run_grid(bigger, s, rerun_failed=True)
    assert redo.done == 1
    runs = s.read("runs")
    assert len(runs) == runs["run_id"].nunique() == 6 and set(runs["status"]) == {"ok"}
    curves = s.read("curves")
    assert curves.groupby("run_id")["cycle"].apply(lambda c: c.is_unique).all()


def test_every_declared_column_is_in_every_part_typed_even_when_empty(tmp_path):
    grid = grid_from_dict(small_al_grid())
    run_grid(grid, Store(tmp_path))  # no run fails: error and error_traceback are empty everywhere
    declared = schemas_for("al")
    for table in ("runs", "curves"):
        parts = Store(tmp_path).parts(table)
        assert parts
        for part in parts:
            schema = pq.read_schema(part)
            for field in declared[table]:
                assert schema.field(field.name).type == field.type, (part, field)
    con = duckdb.connect()
    ok = con.execute(f"SELECT count(*) FROM read_parquet('{tmp_path}/runs/*.parquet') WHERE error IS NULL").fetchone()
    assert ok == (4,)


@pytest.mark.parametrize("kind, doc", [
    ("al", small_al_grid()),
    ("at", {"name": "t", "kind": "at", "params": {"dataset": "iris", "model": "logreg", "budget": 3}}),
])
def test_declared_hyperparameter_columns_are_the_runspec_columns(kind, doc):
    spec = next(grid_from_dict(doc).specs())
    declared = hyperparameter_columns(kind)
    assert set(spec.columns()) <= set(declared)  # an optional component left empty has no <key>_params
    for key, value in spec.columns().items():
        pa.array([value], type=declared[key])  # each value fits its column's type
    assert declared["dataset_params"] == pa.string() and declared["seed"] == pa.int64()


def test_declared_result_columns_are_what_a_run_returns(tmp_path):
    from albench.execute import execute_run

    for doc in (small_al_grid(), {"name": "t", "kind": "at", "params": {"dataset": "iris", "model": "logreg",
                                                                          "budget": 3}}):
        spec = next(grid_from_dict(doc).specs())
        row, curves = execute_run(spec, "g")
        assert row["status"] == "ok", row.get("error")
        declared = schemas_for(spec.kind)
        optional = {"error_traceback", "torch_version", "modal_python_version"}  # absent when not needed/installed
        optional |= {f"{key}_params" for key, value in row.items() if value is None}  # an empty optional component
        missing = set(declared["runs"].names) - set(row) - optional
        assert not missing, missing
        assert set(declared["curves"].names) <= set(curves[0])


def test_a_value_the_schema_cannot_hold_becomes_an_error_row_and_the_batch_is_kept(tmp_path):
    store = Store(tmp_path)
    good = {"run_id": "good", "grid": "g", "kind": "al", "status": "ok", "seed": 1, "auc_accuracy": 0.5}
    poison = {"run_id": "poison", "grid": "g", "kind": "al", "status": "ok", "seed": 10**20, "auc_accuracy": 0.7}
    curves = [{"run_id": "good", "cycle": 0, "queried": [1]}, {"run_id": "poison", "cycle": 0, "queried": [2]}]
    with pytest.raises(UnstorableRows) as info:  # nothing of the batch reaches the disk
        store.write([good, poison], curves, schemas_for("al"))
    assert list(info.value.bad) == [1] and info.value.bad[1].startswith("column 'seed': ")
    assert not list(tmp_path.glob("*/part-*")) and not list(tmp_path.glob("*/.part-*"))

    writer = BatchWriter(store, schemas=schemas_for("al"))
    writer.add(good, curves[:1])
    writer.add(poison, curves[1:])
    writer.flush()
    runs = store.read("runs").set_index("run_id")
    assert runs.loc["good", "status"] == "ok" and runs.loc["good", "auc_accuracy"] == 0.5
    assert runs.loc["poison", "status"] == "error"
    assert runs.loc["poison", "error"].startswith("the run finished but its row cannot be stored (column 'seed'")
    assert pd.isna(runs.loc["poison", "seed"]) and runs.loc["poison", "auc_accuracy"] == 0.7  # what fits is kept
    assert store.read("curves")["run_id"].tolist() == ["good"]
    assert [p.name for p in store.parts("curves")] == [p.name for p in store.parts("runs")]  # no orphan part
    # the error row is rerun by --rerun-failed like any failure
    assert store.finished(statuses=("error",)) == {"poison"}


def test_reading_only_run_id_and_status_reads_only_those_columns(tmp_path, monkeypatch):
    s = Store(tmp_path)
    s.write([{"run_id": "a", "status": "ok", "big": "x" * 1000}], [])
    asked = []

    class Spy(pq.ParquetFile):
        def read(self, columns=None, **kw):
            asked.append(columns)
            return super().read(columns=columns, **kw)

    monkeypatch.setattr(store_mod.pq, "ParquetFile", Spy)
    assert s.finished() == {"a"}
    assert asked == [["run_id", "status"]]


def test_pending_runs_stream_from_the_grid_and_resume_reads_two_columns(tmp_path):
    import itertools
    import tracemalloc

    from albench.execute import pending

    axes = {"seed": {"range": [0, 1000]}, "split": {"range": [0, 1000]}, "start_point": {"range": [0, 10]}}
    huge = grid_from_dict(small_al_grid(params=axes))  # 2 x 10^7 runs from 2,000 values
    tracemalloc.start()
    todo, skipped = pending(huge, Store(tmp_path / "empty"))
    first = list(itertools.islice(todo, 3))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert (len(todo), skipped, len(first)) == (20_000_000, 0, 3)
    assert peak < 5e6  # listing the RunSpecs would take gigabytes

    store = Store(tmp_path / "some")
    run_grid(grid_from_dict(small_al_grid()), store)  # 4 runs stored
    big = grid_from_dict(small_al_grid(params={"seed": {"range": [0, 5_000]}}))
    tracemalloc.start()
    todo, skipped = pending(big, store)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert (len(todo), skipped) == (10_000 - 4, 4)
    assert peak < 3e6  # 10,000 listed RunSpecs take about 10 MB
    assert not {s.run_id for s in itertools.islice(todo, 10)} & store.finished()
