"""Import the published OGAL study (Olympic Games of Active Learning, OPARA archive) as albench results.

``import_ogal(src, out)`` reads OGAL's results folder (``full_exp_jan/`` of
the archive; the layout its own code writes) and writes ``out/runs/`` and
``out/curves/`` as :class:`albench.store.Store` does, one (strategy, data set)
folder at a time, so memory holds the workload's id columns (about 80 bytes
per workload row) and one folder's metric files, never the whole study.
Reading and parsing OGAL's files is ``albench.importers.ogal_files``.

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
import pyarrow.compute as pc

from albench.al_loop import EDGE_CYCLES, METRICS
from albench.importers import ogal_codes
from albench.importers.ogal_files import (ID, OgalError, enum_name, find, ints, matrix, read_csv, read_workload,
                                          selections, subset)
from albench.store import Store, StoreError
from albench.table_schema import schemas_for

DONE, FAILED, STARTED = "05_done_workload.csv", "05_failed_workloads.csv", "05_started_oom_workloads.csv"
# OGAL metric file -> albench column
SCORES = {"accuracy": "accuracy", "macro_f1-score": "macro_f1", "weighted_f1-score": "weighted_f1",
          "macro_precision": "macro_precision", "weighted_precision": "weighted_precision",
          "macro_recall": "macro_recall", "weighted_recall": "weighted_recall"}
FIT_TIME, QUERY_TIME, SELECTED = "learner_training_time", "query_selection_time", "selected_indices"
ALBENCH_METRICS = METRICS  # auc_, final_, auc_no_start_, first5_, last5_ as albench computes them
TEST_FRACTION = 0.4
SCHEMAS = schemas_for("al")


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


def _trapezoid(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``albench.al_loop.area_under_curve`` of each row's first ``lengths`` values."""
    inside = np.arange(values.shape[1])[None, :] < lengths[:, None]
    v = np.where(inside & np.isfinite(values), values, 0.0)
    total = v.sum(axis=1)
    first = v[:, 0] if v.shape[1] else np.zeros(len(v))
    last = v[np.arange(len(v)), np.maximum(lengths - 1, 0)] if v.shape[1] else first
    with np.errstate(invalid="ignore", divide="ignore"):
        area = (total - (first + last) / 2) / (lengths - 1)
    complete = (np.isfinite(values) & inside).sum(axis=1) == lengths  # a metric missing for the run: NaN
    return np.where(complete & (lengths > 0), np.where(lengths > 1, area, first), np.nan)


def _window_mean(values: np.ndarray, start: np.ndarray | int, stop: np.ndarray) -> np.ndarray:
    """Each row's mean over the iterations start <= c < stop (NaN where empty)."""
    c = np.arange(values.shape[1])[None, :]
    inside = (c >= np.reshape(start, (-1, 1))) & (c < np.reshape(stop, (-1, 1))) & np.isfinite(values)
    counts = inside.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, np.where(inside, values, 0.0).sum(axis=1) / counts, np.nan)


def _ogal_full_auc(values: np.ndarray) -> np.ndarray:
    """OGAL's full_auc: the mean of the non-missing iterations after the first."""
    rest = values[:, 1:]
    counts = np.isfinite(rest).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, np.nansum(rest, axis=1) / counts, np.nan)


def read_folder(folder: Path) -> tuple[dict[str, Path | None], dict[str, pa.Table | None]]:
    """One (strategy, data set) folder's metric files and their tables (None where a file is absent)."""
    files = {m: find(folder, f"{m}.csv") for m in (*SCORES, FIT_TIME, QUERY_TIME, SELECTED)}
    return files, {m: (read_csv(p, required=(ID,)) if p else None) for m, p in files.items()}


def _folder_parts(folder: Path, w: dict[str, np.ndarray], grid: str, src: Path, files: dict,
                  tables: dict) -> tuple[dict[str, list], pa.Table | None]:
    """Runs columns and curves table of done runs ``w`` of one (strategy, data set) folder."""
    ids = w[ID]
    acc = matrix(tables["accuracy"], ids, files["accuracy"])
    if acc is None:
        acc = np.full((len(ids), 1), np.nan)
    n_cycles = acc.shape[1]
    lengths = np.cumprod(~np.isnan(acc), axis=1).sum(axis=1)  # iterations up to the first missing one
    ok = lengths > 0
    n = len(ids)
    scores = {col: _fit(matrix(tables[m], ids, files[m]), n, n_cycles) for m, col in SCORES.items()}
    fit = _fit(matrix(tables[FIT_TIME], ids, files[FIT_TIME]), n, n_cycles)
    query = _fit(matrix(tables[QUERY_TIME], ids, files[QUERY_TIME]), n, n_cycles)
    selected = selections(tables[SELECTED], ids, n_cycles, files[SELECTED])
    sizes = np.stack([pc.list_value_length(s).to_numpy(zero_copy_only=False) for s in selected], axis=1)
    in_run = np.arange(n_cycles)[None, :] < lengths[:, None]
    for m in scores.values():
        m[~in_run] = np.nan
    labelled = np.cumsum(np.where(in_run, sizes, 0), axis=1)

    runs = _base_columns(w, grid, src / DONE)
    runs["status"] = np.where(ok, "ok", "timeout").tolist()
    limit = ("OGAL: stopped by its time limit (EXP_QUERY_SELECTION_RUNTIME_SECONDS_LIMIT): in "
             f"{DONE} without metrics in {folder.relative_to(src)}")
    runs["error"] = [None if o else limit for o in ok]
    last = np.maximum(lengths - 1, 0)
    for col, m in scores.items():
        runs[f"auc_{col}"] = _nulls(_trapezoid(m, lengths), ok)
        runs[f"ogal_full_auc_{col}"] = _nulls(_ogal_full_auc(m), ok)
    queried_any = ok & (lengths > 1)
    for col in ALBENCH_METRICS:
        m = scores[col]
        runs[f"final_{col}"] = _nulls(m[np.arange(n), last], ok)
        runs[f"auc_no_start_{col}"] = _nulls(_trapezoid(m[:, 1:], lengths - 1), queried_any)
        runs[f"first5_{col}"] = _nulls(_window_mean(m, 1, np.minimum(lengths, 1 + EDGE_CYCLES)), queried_any)
        runs[f"last5_{col}"] = _nulls(_window_mean(m, np.maximum(1, lengths - EDGE_CYCLES), lengths), queried_any)
    runs["n_queries"] = _nulls(lengths - 1, ok, int)
    runs["n_labelled_start"] = _nulls(sizes[:, 0], ok, int)
    runs["n_labelled_final"] = _nulls(labelled[np.arange(n), last], ok, int)
    runs["fit_cpu_s"] = _nulls(np.nansum(np.where(in_run, fit, np.nan), axis=1), ok)
    runs["query_cpu_s"] = _nulls(np.nansum(np.where(in_run[:, 1:], query[:, 1:], np.nan), axis=1), ok)

    rr, cc = np.nonzero(in_run)
    if not len(rr):
        return runs, None
    has_next = cc + 1 < lengths[rr]
    nxt = np.minimum(cc + 1, n_cycles - 1)
    # queried: the next iteration's selection, from the cycle-major concatenation plus one empty list
    stacked = pa.concat_arrays([*selected, pa.array([[]], type=pa.list_(pa.int64()))])
    take = np.where(has_next, nxt * n + rr, len(stacked) - 1)
    curves = {"run_id": pa.array(np.asarray(runs["run_id"], dtype=object)[rr], pa.string()),
              "cycle": pa.array(cc.astype(np.int64)), "n_labelled": pa.array(labelled[rr, cc].astype(np.int64))}
    for col, m in scores.items():
        curves[col] = pa.array(m[rr, cc], from_pandas=True)
    curves["fit_cpu_s"] = pa.array(fit[rr, cc], from_pandas=True)
    curves["query_cpu_s"] = pa.array(np.where(has_next, query[rr, nxt], 0.0), from_pandas=True)
    curves["queried"] = stacked.take(pa.array(take))
    return runs, _conform(pa.table(curves), SCHEMAS["curves"])


def _fit(m: np.ndarray | None, n_runs: int, n_cycles: int) -> np.ndarray:
    """``m`` cut or padded (NaN) to ``n_cycles`` columns; all NaN without a file."""
    if m is None:
        return np.full((n_runs, n_cycles), np.nan)
    if m.shape[1] >= n_cycles:
        return m[:, :n_cycles].copy()
    return np.hstack([m, np.full((len(m), n_cycles - m.shape[1]), np.nan)])


def _nulls(values: np.ndarray, ok: np.ndarray, cast=float) -> list:
    return [cast(v) if o and not (isinstance(v, float) and np.isnan(v)) else None for v, o in zip(values.tolist(), ok)]


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """As ``Store.write`` stores a batch: every declared column, typed (null where OGAL has no value), then
    the others (all-null ones left out)."""
    columns = {}
    for f in schema:
        columns[f.name] = (pc.cast(table[f.name], f.type) if f.name in table.column_names
                           else pa.nulls(len(table), f.type))
    for name in table.column_names:
        if name not in columns and table[name].null_count < len(table):
            columns[name] = table[name]
    return pa.table(columns)


def _runs_table(columns: dict[str, list]) -> pa.Table:
    return _conform(pa.table({k: pa.array(v) for k, v in columns.items()}), SCHEMAS["runs"])


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
            runs, curves = _folder_parts(folder, subset(group, rows), grid, src, files, tables)
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
