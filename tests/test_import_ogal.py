"""``albench import ogal`` on small folders written the way OGAL's own code writes them.

The writer below imitates OGAL: workload rows through ``csv.DictWriter`` with
the workload's keys (``framework_runners/base_runner.py``), metric rows as
``{0: v0, 1: v1, ..., "EXP_UNIQUE_ID": id}`` padded with ``nan``
(``metrics/base_metric.py``), then every metric CSV xz-compressed
(``02c_gzip_results.sh.slurm``). Expected values are computed by hand.
"""

from __future__ import annotations

import csv
import json
import lzma
import math

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import albench.results
from albench.cli import app
from albench.importers import ogal_codes
from albench.al_loop import area_under_curve, learning_curve_summary
from albench.importers.ogal import OgalError, import_ogal, run_id
from albench.store import Store
from albench.table_schema import schemas_for

# OGAL's workload column order (misc/config.py annotations, EXP_GRID_ -> EXP_)
KEYS = ["EXP_DATASET", "EXP_STRATEGY", "EXP_RANDOM_SEED", "EXP_START_POINT", "EXP_NUM_QUERIES", "EXP_BATCH_SIZE",
        "EXP_LEARNER_MODEL", "EXP_TRAIN_TEST_BUCKET_SIZE", "EXP_UNIQUE_ID"]
NUM_QUERIES = 4


def workload(uid, dataset=1, strategy=1, learner=1, batch=2, start=0, split=0):
    return {"EXP_DATASET": dataset, "EXP_STRATEGY": strategy, "EXP_RANDOM_SEED": 0, "EXP_START_POINT": start,
            "EXP_NUM_QUERIES": NUM_QUERIES, "EXP_BATCH_SIZE": batch, "EXP_LEARNER_MODEL": learner,
            "EXP_TRAIN_TEST_BUCKET_SIZE": split, "EXP_UNIQUE_ID": uid}


def append_rows(path, rows, keys):
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        if path.stat().st_size == 0:
            w.writeheader()
        for row in rows:
            w.writerow(row)


def write_metric(folder, metric, runs: dict[int, list], compress=True, extra_lines: list[str] = ()):
    """One metric file: per run its values per iteration, padded with nan to EXP_NUM_QUERIES."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{metric}.csv"
    path.touch()
    for uid, values in runs.items():
        values = list(values) + [np.nan] * (NUM_QUERIES - len(values))
        row = {i: v for i, v in enumerate(values)}
        row["EXP_UNIQUE_ID"] = uid
        append_rows(path, [row], list(row))
    with open(path, "a") as f:
        f.writelines(extra_lines)
    if compress:
        path.with_name(path.name + ".xz").write_bytes(lzma.compress(path.read_bytes()))
        path.unlink()


def write_run(root, strategy, dataset, uid, acc, selected, fit=None, query=None, **extra_metrics):
    folder = root / strategy / dataset
    write_metric(folder, "accuracy", {uid: acc})
    for m in ("macro_f1-score", "weighted_f1-score"):
        write_metric(folder, m, {uid: extra_metrics.get(m, [a - 0.1 for a in acc])})
    write_metric(folder, "selected_indices", {uid: selected})
    write_metric(folder, "learner_training_time", {uid: fit or [0.1] * len(acc)})
    write_metric(folder, "query_selection_time", {uid: query or [0.0] + [0.5] * (len(acc) - 1)})


@pytest.fixture
def ogal_dir(tmp_path):
    return make_ogal_dir(tmp_path)


def make_ogal_dir(tmp_path):
    """Runs 1-2 ok, 3 early-stopped (pool exhausted), 4 timeout, 5 failed, 6 out of memory, 7 MLP, 8 RBF_SVM."""
    root = tmp_path / "full_exp_jan"
    root.mkdir()
    done, failed, started = (root / n for n in ("05_done_workload.csv", "05_failed_workloads.csv",
                                                "05_started_oom_workloads.csv"))
    for f in (done, failed, started):
        f.touch()
    done_rows = [workload(1), workload(2, strategy=2), workload(3, start=1), workload(4, start=2),
                 workload(7, learner=8), workload(8, learner=5)]
    append_rows(done, done_rows, KEYS)
    append_rows(failed, [{**workload(5, start=3), "error": "<class 'ValueError'>"}], KEYS + ["error"])
    append_rows(started, done_rows + [workload(5, start=3), workload(6, start=4)], KEYS)
    # run 1: start set of 3, then batches of 2; run 3 stops after one query
    write_run(root, "ALIPY_RANDOM", "Iris", 1, [0.5, 0.6, 0.8, 0.9], [[10, 11, 12], [1, 2], [3, 4], [5, 6]],
              fit=[0.1, 0.2, 0.3, 0.4], query=[0.0, 0.5, 0.6, 0.7])
    write_run(root, "ALIPY_UNCERTAINTY_LC", "Iris", 2, [0.4, 0.7, 0.7, 0.8], [[10, 11, 12], [7, 8], [9, 13], [14, 15]])
    folder = root / "ALIPY_RANDOM" / "Iris"
    for m in ("accuracy", "macro_f1-score", "weighted_f1-score", "selected_indices", "learner_training_time",
              "query_selection_time"):
        (folder / f"{m}.csv.xz").unlink()
    # one file per metric holding runs 1, 3, 7, 8 (as OGAL appends them), with a repeated header and run
    acc = {1: [0.5, 0.6, 0.8, 0.9], 3: [0.5, 0.7], 7: [0.3, 0.3, 0.3, 0.3], 8: [0.6, 0.6, 0.6, 0.6]}
    sel = {1: [[10, 11, 12], [1, 2], [3, 4], [5, 6]], 3: [[20, 21, 22], [23, 24]],
           7: [[1, 2, 3], [4, 5], [6, 7], [8, 9]], 8: [[1, 2, 3], [4, 5], [6, 7], [8, 9]]}
    broken = ["0,1,2,3,EXP_UNIQUE_ID\n", "0.0,0.0,0.0,0.0,1\n"]  # concurrent appends: header again, run 1 again
    write_metric(folder, "accuracy", acc, extra_lines=broken)
    for m in ("macro_f1-score", "weighted_f1-score"):
        write_metric(folder, m, {k: [a - 0.1 for a in v] for k, v in acc.items()})
    write_metric(folder, "selected_indices", sel)
    write_metric(folder, "learner_training_time", {1: [0.1, 0.2, 0.3, 0.4], 3: [0.1, 0.1], 7: [0.1] * 4, 8: [0.1] * 4})
    write_metric(folder, "query_selection_time", {1: [0.0, 0.5, 0.6, 0.7], 3: [0.0, 0.2], 7: [0.0] + [0.1] * 3,
                                                  8: [0.0] + [0.1] * 3})
    return root


@pytest.fixture
def imported(ogal_dir, tmp_path):
    out = tmp_path / "ogal"
    summary = import_ogal(ogal_dir, out)
    res = albench.results.open(out)
    return summary, res.runs.set_index("ogal_exp_unique_id"), res.curves, out


def test_statuses_follow_ogal_bookkeeping(imported):
    summary, runs, _, _ = imported
    assert (summary.ok, summary.timeout, summary.error) == (5, 1, 2)
    assert runs.loc[[1, 2, 3, 7, 8], "status"].eq("ok").all()
    assert runs.loc[4, "status"] == "timeout" and "time limit" in runs.loc[4, "error"]
    assert runs.loc[5, "status"] == "error" and "<class 'ValueError'>" in runs.loc[5, "error"]
    assert runs.loc[6, "status"] == "error" and "never finished" in runs.loc[6, "error"]
    assert summary.duplicates == 0 and summary.unmatched == 0


def test_enumerations_are_decoded_from_ogals_code_not_its_documentation(imported):
    _, runs, _, _ = imported
    # the docs say 1=RF, 2=MLP, 3=SVM; the code: RF = 1, RBF_SVM = 5, MLP = 8
    assert runs.loc[1, "learner"] == "RF" and runs.loc[7, "learner"] == "MLP" and runs.loc[8, "learner"] == "RBF_SVM"
    assert runs.loc[1, "dataset"] == "Iris"
    assert runs.loc[1, "strategy"] == "ALIPY_RANDOM" and runs.loc[2, "strategy"] == "ALIPY_UNCERTAINTY_LC"
    assert runs.loc[2, "ogal_strategy_class"] == "alipy.query_strategy.QueryInstanceUncertainty(measure='least_confident')"
    assert runs.loc[8, "ogal_learner_class"] == "sklearn.svm.SVC(kernel='rbf', probability=True)"
    assert len(ogal_codes.DATASETS) == 104 and ogal_codes.DATASETS[:3] == ("Iris", "wine_origin", "glass")


def test_hyperparameters_and_both_aucs_by_hand(imported):
    _, runs, _, _ = imported
    r = runs.loc[1]
    assert (r["batch_size"], r["start_point"], r["split"], r["seed"], r["budget"]) == (2, 0, 0, 0, NUM_QUERIES - 1)
    assert r["kind"] == "al" and r["grid"] == "full_exp_jan" and r["test_fraction"] == 0.4
    # albench: trapezoid with iteration 0, x scaled to [0, 1]; OGAL: mean of iterations 1..
    assert r["auc_accuracy"] == pytest.approx(((0.5 + 0.9) / 2 + 0.6 + 0.8) / 3)
    assert r["ogal_full_auc_accuracy"] == pytest.approx((0.6 + 0.8 + 0.9) / 3)
    assert r["auc_macro_f1"] == pytest.approx(((0.4 + 0.8) / 2 + 0.5 + 0.7) / 3)
    assert (r["final_accuracy"], r["n_queries"], r["n_labelled_start"], r["n_labelled_final"]) == (0.9, 3, 3, 9)
    assert r["fit_cpu_s"] == pytest.approx(1.0) and r["query_cpu_s"] == pytest.approx(1.8)  # process_time
    assert math.isnan(r["fit_s"])  # OGAL measured no wall time
    early = runs.loc[3]  # nan-padded after one query: both AUCs over what exists
    assert early["n_queries"] == 1 and early["auc_accuracy"] == pytest.approx(0.6)
    assert early["ogal_full_auc_accuracy"] == pytest.approx(0.7) and early["final_accuracy"] == 0.7
    assert math.isnan(runs.loc[4, "auc_accuracy"])  # timeout: no metrics
    assert r["run_id"] == run_id("Iris", "ALIPY_RANDOM", "RF", 2, 0, 0, NUM_QUERIES - 1, 0)
    assert runs["run_id"].is_unique


def test_curves_follow_albench_semantics(imported):
    _, runs, curves, _ = imported
    c = curves[curves["run_id"] == runs.loc[1, "run_id"]].sort_values("cycle")
    assert c["cycle"].tolist() == [0, 1, 2, 3]
    assert c["accuracy"].tolist() == [0.5, 0.6, 0.8, 0.9]
    assert c["n_labelled"].tolist() == [3, 5, 7, 9]
    # queried at cycle c is the batch OGAL selects in iteration c + 1, with its query time
    assert [list(q) for q in c["queried"]] == [[1, 2], [3, 4], [5, 6], []]
    assert c["query_cpu_s"].tolist() == pytest.approx([0.5, 0.6, 0.7, 0.0])
    assert c["fit_cpu_s"].tolist() == pytest.approx([0.1, 0.2, 0.3, 0.4])
    early = curves[curves["run_id"] == runs.loc[3, "run_id"]].sort_values("cycle")
    assert early["cycle"].tolist() == [0, 1] and [list(q) for q in early["queried"]] == [[23, 24], []]
    assert set(curves["run_id"]) == set(runs.loc[[1, 2, 3, 7, 8], "run_id"])


def test_parts_hold_albenchs_declared_columns_typed(imported):
    _, _, _, out = imported
    declared = schemas_for("al")
    for table in ("runs", "curves"):
        for part in Store(out).parts(table):
            got = pq.read_schema(part)
            assert [f for f in got if f.name in declared[table].names] == list(declared[table]), (table, part)


def test_curve_summaries_equal_albenchs_own(imported):
    _, runs, curves, _ = imported
    for uid in (1, 2, 3):
        c = curves[curves["run_id"] == runs.loc[uid, "run_id"]].sort_values("cycle")
        want = learning_curve_summary(c.to_dict("records"))
        for key, value in want.items():
            if value is None or (isinstance(value, float) and math.isnan(value)):
                assert math.isnan(runs.loc[uid, key]), key
            else:
                assert runs.loc[uid, key] == pytest.approx(value), (uid, key)
        assert runs.loc[uid, "auc_accuracy"] == pytest.approx(area_under_curve(c["accuracy"].to_numpy()))
    assert runs.loc[1, "auc_no_start_accuracy"] == pytest.approx(((0.6 + 0.9) / 2 + 0.8) / 2)  # by hand


def test_gzip_and_plain_csv_read_too(ogal_dir, tmp_path):
    folder = ogal_dir / "ALIPY_UNCERTAINTY_LC" / "Iris"
    import gzip

    data = lzma.decompress((folder / "accuracy.csv.xz").read_bytes())
    (folder / "accuracy.csv.xz").unlink()
    (folder / "accuracy.csv.gz").write_bytes(gzip.compress(data))
    plain = lzma.decompress((folder / "selected_indices.csv.xz").read_bytes())
    (folder / "selected_indices.csv.xz").unlink()
    (folder / "selected_indices.csv").write_bytes(plain)
    runs = albench.results.open(_import(ogal_dir, tmp_path / "o")).runs.set_index("ogal_exp_unique_id")
    assert runs.loc[2, "status"] == "ok" and runs.loc[2, "n_labelled_final"] == 9


def _import(src, out, **kw):
    import_ogal(src, out, **kw)
    return out


def test_runs_per_part_and_no_second_import_into_the_same_folder(ogal_dir, tmp_path):
    summary = import_ogal(ogal_dir, tmp_path / "o", runs_per_part=1)
    out = tmp_path / "o"
    assert len(Store(out).parts("runs")) == 8 == summary.parts
    assert (summary.ok, summary.unmatched) == (5, 0)  # a folder split over parts still matches every row
    with pytest.raises(OgalError, match="already holds results"):
        import_ogal(ogal_dir, out)


def test_duplicate_workload_rows_are_counted_and_kept_once(ogal_dir, tmp_path):
    append_rows(ogal_dir / "05_done_workload.csv", [workload(1)], KEYS)
    summary = import_ogal(ogal_dir, tmp_path / "o")
    assert summary.duplicates == 1 and summary.ok == 5


@pytest.mark.parametrize("edit, message", [
    (lambda root: (root / "05_done_workload.csv").unlink(), "no 05_done_workload.csv"),
    (lambda root: append_rows(root / "05_done_workload.csv", [workload(9, strategy=5)], KEYS),
     "05_done_workload.csv: column EXP_STRATEGY: AL_STRATEGY id 5 is not in OGAL's code"),
    (lambda root: (root / "05_done_workload.csv").write_text("EXP_UNIQUE_ID,EXP_DATASET\n1,1\n"),
     "05_done_workload.csv: no column EXP_STRATEGY"),
])
def test_bad_input_is_one_line_naming_file_and_value(ogal_dir, tmp_path, edit, message):
    edit(ogal_dir)
    with pytest.raises(OgalError, match=message) as info:
        import_ogal(ogal_dir, tmp_path / "o")
    assert "\n" not in str(info.value)


def test_wrong_enumeration_is_refused_rather_than_imported_as_timeouts(ogal_dir, tmp_path):
    # every done row points to a data set whose folder holds none of its runs
    done = ogal_dir / "05_done_workload.csv"
    done.write_text(done.read_text().replace("\n1,", "\n2,"))  # EXP_DATASET 1 (Iris) -> 2 (wine_origin)
    with pytest.raises(OgalError, match="enumerations differ"):
        import_ogal(ogal_dir, tmp_path / "o")
    assert not Store(tmp_path / "o").parts("runs")  # refused before writing anything


def test_command_line_imports_and_the_result_analyses(ogal_dir, tmp_path):
    out = tmp_path / "ogal"
    result = CliRunner().invoke(app, ["import", "ogal", str(ogal_dir), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ok"] == 5
    result = CliRunner().invoke(app, ["query", str(out), "SELECT strategy, count(*) n FROM runs "
                                      "WHERE status = 'ok' GROUP BY 1 ORDER BY 1", "--json"])
    assert json.loads(result.output) == [{"strategy": "ALIPY_RANDOM", "n": 4}, {"strategy": "ALIPY_UNCERTAINTY_LC", "n": 1}]
    bad = CliRunner().invoke(app, ["import", "ogal", str(tmp_path / "missing"), "--out", str(out)])
    assert bad.exit_code == 2 and "not a folder" in bad.output
