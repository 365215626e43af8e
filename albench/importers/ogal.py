"""Import the published OGAL study (Olympic Games of Active Learning, OPARA archive) as albench results.

``import_ogal(src, out)`` reads OGAL's results folder (``full_exp_jan/`` of
the archive; the layout its own code writes) and writes ``out/runs/`` and
``out/curves/`` as :class:`albench.store.Store` does, one (strategy, data set)
folder at a time, so memory holds the workload's id columns (about 80 bytes
per workload row) and one folder's metric files, never the whole study.
Reading and parsing OGAL's files is ``albench.importers.ogal_files``; one
(strategy, data set) folder's metrics become runs columns and curves rows in
``albench.importers.ogal_folder``.

OGAL's layout (decoded from its code: ``framework_runners/base_runner.py``,
``metrics/base_metric.py``, ``misc/config.py``,
``resources/slurm_templates/02c_gzip_results.sh.slurm``):

- ``05_done_workload.csv``: one row per finished run: ``EXP_UNIQUE_ID``,
  ``EXP_DATASET``, ``EXP_STRATEGY``, ``EXP_LEARNER_MODEL`` (integer enum ids,
  see ``albench.importers.ogal_codes``), ``EXP_BATCH_SIZE``,
  ``EXP_START_POINT``, ``EXP_TRAIN_TEST_BUCKET_SIZE`` (the split),
  ``EXP_NUM_QUERIES``, ``EXP_RANDOM_SEED``. A run stopped by OGAL's time limit
  (``EXP_QUERY_SELECTION_RUNTIME_SECONDS_LIMIT`` on one query) is written here
  too, but its metrics are not (``scripts/fix_apply_runtime_limit_post_mortem.py``
  also removes the metrics of runs with one query over the limit).
- ``05_failed_workloads.csv``: the same columns plus ``error`` (the exception
  class, e.g. ``<class 'ValueError'>``) for runs that raised.
- ``05_started_oom_workloads.csv``: every run when it started; a run listed
  here but neither done nor failed died without a word (out of memory, or
  killed with its job).
- ``<STRATEGY name>/<DATASET name>/<metric>.csv.xz`` (xz-compressed CSV; gzip,
  bz2 or plain CSV read as well): one row per run, columns ``0`` .. ``N-1``
  (AL iterations) and ``EXP_UNIQUE_ID``. Iteration 0 is OGAL's "fake" first
  iteration: its selection is the start set and its metrics are those of the
  learner fitted on it; iteration i >= 1 selects a batch, refits, evaluates.
  Cells past an early stop are empty or ``nan``. Metrics read:
  ``accuracy``, ``macro_f1-score``, ``weighted_f1-score``,
  ``macro_precision``, ``weighted_precision``, ``macro_recall``,
  ``weighted_recall``, ``learner_training_time``, ``query_selection_time``
  (CPU seconds, ``time.process_time``) and ``selected_indices`` (a list per
  cell, data set row indices). Files written concurrently can repeat their
  header line or a run: repeated headers are skipped, the first row of a run
  is kept.

Field mapping (runs table; every run has ``kind = al``, ``grid`` = the
folder's name unless given):

================================  ============================================
albench column                    from OGAL
================================  ============================================
run_id                            hash of (dataset, strategy, learner,
                                  batch_size, start_point, split, budget,
                                  seed), as ``albench.spec.run_id_of`` does
ogal_exp_unique_id                EXP_UNIQUE_ID
dataset / strategy / learner      the enum names (``Iris``, ``ALIPY_RANDOM``,
                                  ``RF``); ``*_params`` = ``{}``
ogal_strategy_class,              the class OGAL instantiates and its keyword
ogal_learner_class                arguments (``resources/data_types.py``)
batch_size                        EXP_BATCH_SIZE
start_point                       EXP_START_POINT
split                             EXP_TRAIN_TEST_BUCKET_SIZE
budget                            EXP_NUM_QUERIES - 1 (iteration 0 is the
                                  start set, so N iterations query N - 1 times)
seed                              EXP_RANDOM_SEED
initial_size                      ``ogal`` (OGAL's precomputed start sets;
                                  their size is ``n_labelled_start``)
test_fraction                     0.4 (``DATASETS_TEST_SIZE_PERCENTAGE``)
status, error                     ok: done with metrics; timeout: done without
                                  metrics; error: failed (``error`` = OGAL's
                                  exception class) or started and never
                                  finished (out of memory or killed)
auc_<m>                           albench's trapezoid over every iteration,
                                  iteration 0 included (``area_under_curve``)
ogal_full_auc_<m>                 OGAL's ``full_auc_<m>``
                                  (``metrics/computed/STANDARD_AUC.py``): the
                                  mean over the iterations after the first
final_<m>, auc_no_start_<m>,      as albench computes them
first5_<m>, last5_<m>             (``albench.al_loop.learning_curve_summary``)
                                  from the iterations with a value
n_queries                         iterations with a value - 1
n_labelled_start / _final         size of the start set / of the labelled set
                                  at the end
fit_cpu_s, query_cpu_s            sums of learner_training_time and of
                                  query_selection_time (iterations >= 1);
                                  OGAL measures CPU time, so the wall-time
                                  columns fit_s, query_s stay empty
================================  ============================================

``<m>`` for ``auc_`` and ``ogal_full_auc_`` is ``accuracy``, ``macro_f1``,
``weighted_f1`` (OGAL's ``*_f1-score``), ``macro_precision``,
``weighted_precision``, ``macro_recall``, ``weighted_recall``; for the others
albench's five (``albench.al_loop.METRICS``). Curves table: one row per
iteration c with a value; ``cycle`` = c, the metrics of iteration c,
``n_labelled`` = labels after iteration c's selection, ``fit_cpu_s`` = its
learner_training_time, and, as in albench's own curves, ``queried`` and
``query_cpu_s`` = the batch selected next (iteration c + 1) and its
query_selection_time (``[]`` and 0.0 on the last). Parts hold every column of
albench's declared schema (``albench.table_schema``); what OGAL does not
record (wall times, evaluation time, pool and test sizes, library versions)
is null. Metric rows whose run is not in the done workload are counted as
``unmatched`` and left out. The import holds the results folder's writer
lock.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from albench.importers import ogal_codes
from albench.importers.ogal_files import (DONE, FAILED, ID, STARTED, OgalError, enum_name, find, ints, read_workload,
                                          subset)
from albench.importers.ogal_folder import SCHEMAS, conform, folder_parts, read_folder
from albench.store import Store, StoreError

TEST_FRACTION = 0.4


@dataclass
class ImportSummary:
    ok: int = 0
    error: int = 0
    timeout: int = 0
    duplicates: int = 0  # repeated EXP_UNIQUE_IDs in the workload tables (first kept)
    unmatched: int = 0  # metric rows whose run is not in the done workload of that folder
    unmatched_folders: int = 0  # metric folders no done run points to
    parts: int = 0

    def line(self) -> str:
        return (f"{self.ok} ok, {self.timeout} timeout, {self.error} error runs in {self.parts} parts; left out: "
                f"{self.duplicates} duplicate workload rows, {self.unmatched} unmatched metric rows, "
                f"{self.unmatched_folders} metric folders without done runs")


def _implementation(entry: tuple) -> str:
    _, cls, kwargs = entry
    if isinstance(kwargs, str):
        return f"{cls}(**{kwargs})"
    return f"{cls}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def run_id(dataset: str, strategy: str, learner: str, batch_size: int, start_point: int, split: int,
           budget: int, seed: int) -> str:
    """A stable id of one OGAL run's hyperparameters (``albench.spec.run_id_of``'s canonical JSON and hash)."""
    params = {"batch_size": batch_size, "budget": budget, "dataset": dataset, "learner": learner, "seed": seed,
              "split": split, "start_point": start_point, "strategy": strategy}
    canonical = json.dumps({"kind": "ogal", **params}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _base_columns(w: dict[str, np.ndarray], grid: str, path: Path) -> dict[str, list]:
    """The hyperparameter and bookkeeping columns of workload rows ``w``."""
    n = len(w[ID])
    ds = [enum_name("EXP_DATASET", int(v), path) for v in w["EXP_DATASET"]]
    st = [enum_name("EXP_STRATEGY", int(v), path) for v in w["EXP_STRATEGY"]]
    le = [enum_name("EXP_LEARNER_MODEL", int(v), path) for v in w["EXP_LEARNER_MODEL"]]
    budget = (w["EXP_NUM_QUERIES"] - 1).tolist()
    cols = {"batch_size": w["EXP_BATCH_SIZE"].tolist(), "start_point": w["EXP_START_POINT"].tolist(),
            "split": w["EXP_TRAIN_TEST_BUCKET_SIZE"].tolist(), "seed": w["EXP_RANDOM_SEED"].tolist()}
    ids = [run_id(ds[i], st[i], le[i], cols["batch_size"][i], cols["start_point"][i], cols["split"][i],
                  budget[i], cols["seed"][i]) for i in range(n)]
    return {"run_id": ids, "grid": [grid] * n, "kind": ["al"] * n, "dataset": ds, "dataset_params": ["{}"] * n,
            "learner": le, "learner_params": ["{}"] * n, "strategy": st, "strategy_params": ["{}"] * n,
            "batch_size": cols["batch_size"], "initial_size": ["ogal"] * n, "start_point": cols["start_point"],
            "split": cols["split"], "test_fraction": [TEST_FRACTION] * n, "budget": budget, "seed": cols["seed"],
            "ogal_exp_unique_id": w[ID].tolist(),
            "ogal_strategy_class": [_implementation(ogal_codes.STRATEGIES[int(v)]) for v in w["EXP_STRATEGY"]],
            "ogal_learner_class": [_implementation(ogal_codes.LEARNERS[int(v)]) for v in w["EXP_LEARNER_MODEL"]]}


def _runs_table(columns: dict[str, list]) -> pa.Table:
    return conform(pa.table({k: pa.array(v) for k, v in columns.items()}), SCHEMAS["runs"])


def _write(store: Store, runs: pa.Table, curves: pa.Table | None) -> None:
    """One part in each table, as ``Store.write`` does: curves renamed first, then the runs part."""
    store.write_tables({"runs": runs, "curves": curves if curves is not None and len(curves) else None})


def _chunks(n: int, size: int):
    for start in range(0, n, size):
        yield np.arange(start, min(n, start + size))


def import_ogal(src: str | os.PathLike, out: str | os.PathLike, *, grid: str | None = None,
                runs_per_part: int = 2000, progress: Callable[[str], None] | None = None) -> ImportSummary:
    """Convert OGAL's results folder ``src`` into albench's results folder ``out`` (see the module docstring)."""
    src, store = Path(src), Store(out)
    grid = grid or src.resolve().name
    done_path = find(src, DONE)
    if done_path is None:
        raise OgalError(f"{src}: no {DONE} (OGAL's done-workload table); is this OGAL's results folder "
                        "(e.g. full_exp_jan/)?")
    if store.parts("runs"):
        raise OgalError(f"{out}: already holds results; import into a new folder")
    try:
        with store.writing():  # the one-writer lock, for the whole import
            return _import(src, store, grid, done_path, runs_per_part, progress)
    except StoreError as exc:
        raise OgalError(str(exc)) from None


def _import(src: Path, store: Store, grid: str, done_path: Path, runs_per_part: int,
            progress: Callable[[str], None] | None) -> ImportSummary:
    summary = ImportSummary()
    done = read_workload(done_path)
    summary.duplicates += int(done["duplicates"][0])

    order = np.lexsort((done[ID], done["EXP_DATASET"], done["EXP_STRATEGY"]))
    done = subset(done, order)
    keys = np.stack([done["EXP_STRATEGY"], done["EXP_DATASET"]], axis=1)
    starts = np.flatnonzero(np.r_[True, (keys[1:] != keys[:-1]).any(axis=1)]) if len(keys) else np.array([], int)
    bounds = np.r_[starts, len(keys)]
    metric_folders = {p.parent for p in src.glob("*/*/accuracy.csv*")}
    wanted = {src / enum_name("EXP_STRATEGY", int(s), done_path) / enum_name("EXP_DATASET", int(d), done_path)
              for s, d in keys[starts]}
    if metric_folders and not metric_folders & wanted:
        raise OgalError(f"{src}: none of the {len(wanted)} <STRATEGY>/<DATASET> folders that {DONE} points to "
                        f"holds metrics, but {len(metric_folders)} other folders do; the archive's "
                        "enumerations differ from OGAL's code")
    for a, b in zip(bounds[:-1], bounds[1:]):
        group = subset(done, np.arange(a, b))
        strategy = enum_name("EXP_STRATEGY", int(group["EXP_STRATEGY"][0]), done_path)
        dataset = enum_name("EXP_DATASET", int(group["EXP_DATASET"][0]), done_path)
        if progress:
            progress(f"{strategy}/{dataset}")
        metric_folders.discard(src / strategy / dataset)
        folder = src / strategy / dataset
        files, tables = read_folder(folder)  # once per folder, whatever the number of parts
        if tables["accuracy"] is not None:
            summary.unmatched += int(len(np.setdiff1d(ints(tables["accuracy"], ID, files["accuracy"]), group[ID])))
        for rows in _chunks(b - a, runs_per_part):
            part = subset(group, rows)
            runs, curves = folder_parts(folder, part, _base_columns(part, grid, src / DONE), src, files, tables)
            _write(store, _runs_table(runs), curves)
            summary.parts += 1
            statuses = runs["status"]
            summary.ok += statuses.count("ok")
            summary.timeout += statuses.count("timeout")

    for rows, reason in _failed_runs(src, done[ID], summary):
        for chunk in _chunks(len(rows[ID]), runs_per_part):
            part = subset(rows, chunk)
            columns = _base_columns(part, grid, src / DONE)
            columns["status"] = ["error"] * len(chunk)
            columns["error"] = [reason(i) for i in chunk]
            _write(store, _runs_table(columns), None)
            summary.parts += 1
            summary.error += len(chunk)
    summary.unmatched_folders = len(metric_folders)
    if summary.ok == 0 and summary.unmatched:
        raise OgalError(f"{src}: no metric row matches a run of {DONE} in its <STRATEGY>/<DATASET> folder "
                        f"({summary.unmatched} unmatched rows); the archive's run ids differ from its done "
                        f"workload's; remove {store.root} before importing again")
    return summary


def _failed_runs(src: Path, done_ids: np.ndarray, summary: ImportSummary):
    """(workload rows, error message of row i) of failed runs, then of runs that started and never finished."""
    seen = done_ids
    failed_path = find(src, FAILED)
    if failed_path is not None:
        failed = read_workload(failed_path, with_error=True)
        summary.duplicates += int(failed["duplicates"][0])
        failed = subset(failed, ~np.isin(failed[ID], seen))
        seen = np.concatenate([seen, failed[ID]])
        yield failed, lambda i, e=failed["error"]: f"OGAL: {e[i] or 'failed'} ({FAILED})"
    started_path = find(src, STARTED)
    if started_path is not None:
        started = read_workload(started_path)
        summary.duplicates += int(started["duplicates"][0])
        lost = subset(started, ~np.isin(started[ID], seen))
        yield lost, lambda i: (f"OGAL: started and never finished: out of memory or killed ({STARTED}, "
                               f"neither in {DONE} nor in {FAILED})")
