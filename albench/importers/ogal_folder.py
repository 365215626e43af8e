"""One (strategy, data set) folder of OGAL's metric files as albench's runs columns and curves table.

``read_folder`` reads the folder's metric files once; ``folder_parts`` turns
the matrices of some of its done runs (one row per run, one column per AL
iteration) into the runs' status and summary columns (albench's trapezoid
AUC, OGAL's ``full_auc``, final, first5/last5 window means, CPU time sums)
and their curves rows, as the field mapping in ``albench.importers.ogal``
describes. ``conform`` gives a table every column of albench's declared
schema, typed, as ``Store.write`` stores a batch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from albench.al_loop import EDGE_CYCLES, METRICS
from albench.importers.ogal_files import DONE, ID, find, matrix, read_csv, selections
from albench.table_schema import schemas_for

# OGAL metric file -> albench column
SCORES = {"accuracy": "accuracy", "macro_f1-score": "macro_f1", "weighted_f1-score": "weighted_f1",
          "macro_precision": "macro_precision", "weighted_precision": "weighted_precision",
          "macro_recall": "macro_recall", "weighted_recall": "weighted_recall"}
FIT_TIME, QUERY_TIME, SELECTED = "learner_training_time", "query_selection_time", "selected_indices"
ALBENCH_METRICS = METRICS  # auc_, final_, auc_no_start_, first5_, last5_ as albench computes them
SCHEMAS = schemas_for("al")


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


def folder_parts(folder: Path, w: dict[str, np.ndarray], runs: dict[str, list], src: Path, files: dict,
                 tables: dict) -> tuple[dict[str, list], pa.Table | None]:
    """Runs columns and curves table of done runs ``w`` of one (strategy, data set) folder of ``src``.

    ``runs`` holds the runs' identity columns (run_id first); their status and
    metric columns are added to it. ``files`` and ``tables`` are ``read_folder``'s.
    """
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
    return runs, conform(pa.table(curves), SCHEMAS["curves"])


def _fit(m: np.ndarray | None, n_runs: int, n_cycles: int) -> np.ndarray:
    """``m`` cut or padded (NaN) to ``n_cycles`` columns; all NaN without a file."""
    if m is None:
        return np.full((n_runs, n_cycles), np.nan)
    if m.shape[1] >= n_cycles:
        return m[:, :n_cycles].copy()
    return np.hstack([m, np.full((len(m), n_cycles - m.shape[1]), np.nan)])


def _nulls(values: np.ndarray, ok: np.ndarray, cast=float) -> list:
    return [cast(v) if o and not (isinstance(v, float) and np.isnan(v)) else None for v, o in zip(values.tolist(), ok)]


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
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
