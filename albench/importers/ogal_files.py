"""Reading OGAL's files: (compressed) CSV tables, workload tables, metric matrices and index lists.

Everything is read as text first (OGAL's CSVs were appended concurrently: a
repeated header line is dropped, a run repeated keeps its first row), then
converted with a one-line ``OgalError`` naming the file, column and value
that do not fit. See ``albench.importers.ogal`` for the layout.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from albench.importers import ogal_codes

DONE, FAILED, STARTED = "05_done_workload.csv", "05_failed_workloads.csv", "05_started_oom_workloads.csv"
ID = "EXP_UNIQUE_ID"
ENUM_COLUMNS = {"EXP_DATASET": "DATASET", "EXP_STRATEGY": "AL_STRATEGY", "EXP_LEARNER_MODEL": "LEARNER_MODEL"}
WORKLOAD_COLUMNS = (ID, "EXP_DATASET", "EXP_STRATEGY", "EXP_LEARNER_MODEL", "EXP_BATCH_SIZE", "EXP_START_POINT",
                    "EXP_TRAIN_TEST_BUCKET_SIZE", "EXP_NUM_QUERIES", "EXP_RANDOM_SEED")
SUFFIXES = (".xz", ".gz", ".bz2", "")
NULLS = ["", "nan", "NaN", "None", "null"]


class OgalError(ValueError):
    """An OGAL folder that cannot be imported; the message names the file and what is wrong."""



def find(folder: Path, name: str) -> Path | None:
    """``folder/name`` as written, xz-, gzip- or bz2-compressed, or None."""
    for suffix in SUFFIXES:
        path = folder / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def open_compressed(path: Path):
    opener = {".xz": lzma.open, ".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix, open)
    return opener(path, "rb")


def read_csv(path: Path, required: tuple[str, ...] = ()) -> pa.Table:
    """Every column as strings (empty and ``nan`` cells null), repeated header lines dropped."""
    with open_compressed(path) as f:
        data = f.read()
    header = data.split(b"\n", 1)[0].decode().strip().split(",")
    missing = [c for c in required if c not in header]
    if missing:
        raise OgalError(f"{path}: no column {', '.join(missing)}; columns: {', '.join(header)}")
    try:
        table = pacsv.read_csv(io.BytesIO(data), convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in header}, null_values=NULLS, strings_can_be_null=True))
    except pa.ArrowInvalid as exc:
        raise OgalError(f"{path}: not a readable CSV file ({str(exc).splitlines()[0]})") from None
    if ID in header:
        table = table.filter(pc.fill_null(pc.not_equal(table[ID], ID), True))
    return table


def ints(table: pa.Table, column: str, path: Path) -> np.ndarray:
    try:  # ids can be written as 12.0 by pandas merges
        return pc.cast(pc.cast(table[column], pa.float64()), pa.int64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        bad = next(v for v in table[column].to_pylist() if not is_number(v))
        raise OgalError(f"{path}: column {column}: value {bad!r} is not a number") from None


def is_number(value) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def enum_ids(table: pa.Table, column: str, path: Path) -> np.ndarray:
    """Enum ids of a workload column written as ids (``3``) or names (``Iris``, ``DATASET.Iris``)."""
    values = table[column].to_pylist()
    if all(is_number(v) for v in values):
        return ints(table, column, path)
    by_name = {name: i for i, name in enum_names(column).items()}
    out = np.empty(len(values), dtype=np.int64)
    for k, v in enumerate(values):
        if is_number(v):
            out[k] = int(float(v))
            continue
        name = str(v).rsplit(".", 1)[-1] if str(v).startswith(ENUM_COLUMNS[column] + ".") else str(v)
        if name not in by_name:
            raise OgalError(f"{path}: column {column}: unknown {ENUM_COLUMNS[column]} '{v}'")
        out[k] = by_name[name]
    return out


def enum_names(column: str) -> dict[int, str]:
    if column == "EXP_DATASET":
        return {i + 1: name for i, name in enumerate(ogal_codes.DATASETS)}
    table = ogal_codes.STRATEGIES if column == "EXP_STRATEGY" else ogal_codes.LEARNERS
    return {i: entry[0] for i, entry in table.items()}


def read_workload(path: Path, with_error: bool = False) -> dict[str, np.ndarray]:
    """A workload table as integer arrays per column (``error`` as strings), first row of each id kept."""
    table = read_csv(path, required=WORKLOAD_COLUMNS + (("error",) if with_error else ()))
    out = {c: (enum_ids(table, c, path) if c in ENUM_COLUMNS else ints(table, c, path)) for c in WORKLOAD_COLUMNS}
    if with_error:
        out["error"] = np.array(table["error"].fill_null("").to_pylist(), dtype=object)
    _, first = np.unique(out[ID], return_index=True)
    first.sort()
    out["duplicates"] = np.array([len(out[ID]) - len(first)])
    return {c: (v if c == "duplicates" else v[first]) for c, v in out.items()}


def subset(workload: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    return {c: (v if c == "duplicates" else v[keep]) for c, v in workload.items()}


def enum_name(column: str, value: int, path: Path) -> str:
    names = enum_names(column)
    if value not in names:
        raise OgalError(f"{path}: column {column}: {ENUM_COLUMNS[column]} id {value} is not in OGAL's code "
                        f"(known ids: {min(names)}..{max(names)})")
    return names[value]



def matrix(table: pa.Table | None, ids: np.ndarray, path: Path | None) -> np.ndarray | None:
    """Per-iteration values of ``ids`` as a float matrix (NaN where absent), or None without a file."""
    if table is None:
        return None
    cycles = cycle_columns(table)
    rows = row_of(table, ids, path)
    out = np.full((len(ids), len(cycles)), np.nan)
    found = rows >= 0
    for j, c in enumerate(cycles):
        try:
            values = pc.cast(table[c], pa.float64()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:
            raise OgalError(f"{path}: column {c}: not numbers") from None
        out[found, j] = values[rows[found]]
    return out


def cycle_columns(table: pa.Table) -> list[str]:
    return sorted((c for c in table.column_names if c.isdigit()), key=int)


def row_of(table: pa.Table, ids: np.ndarray, path: Path | None) -> np.ndarray:
    """For each id, the first row of ``table`` holding it, or -1."""
    file_ids = ints(table, ID, path)
    uniq, first = np.unique(file_ids, return_index=True)
    pos = np.searchsorted(uniq, ids)
    pos = np.clip(pos, 0, max(len(uniq) - 1, 0))
    hit = (len(uniq) > 0) & (uniq[pos] == ids) if len(uniq) else np.zeros(len(ids), bool)
    return np.where(hit, first[pos] if len(uniq) else -1, -1)


def selections(table: pa.Table | None, ids: np.ndarray, n_cycles: int, path: Path | None) -> list[pa.ListArray]:
    """Per iteration, each run's selected indices as an int64 list array (empty where absent)."""
    empty = pa.array([[]] * len(ids), type=pa.list_(pa.int64()))
    if table is None:
        return [empty] * n_cycles
    rows = row_of(table, ids, path)
    cycles = cycle_columns(table)
    out = []
    for j in range(n_cycles):
        if j >= len(cycles):
            out.append(empty)
            continue
        cells = table[cycles[j]].combine_chunks().take(pa.array(np.where(rows >= 0, rows, 0)))
        texts = pc.if_else(pa.array(rows >= 0), pc.fill_null(cells, ""), "")
        inner = pc.utf8_trim(texts, characters="[] ")
        parts = pc.split_pattern_regex(inner, pattern=r"\s*,\s*")
        blank = pc.equal(inner, "").to_numpy(zero_copy_only=False)
        lengths = np.where(blank, 0, pc.list_value_length(parts).to_numpy(zero_copy_only=False))
        keep = np.repeat(~blank, pc.list_value_length(parts).to_numpy(zero_copy_only=False))
        flat = pc.list_flatten(parts).filter(pa.array(keep))
        try:
            flat = pc.cast(flat, pa.int64())
        except pa.ArrowInvalid:
            try:  # indices written as floats (12.0)
                flat = pc.cast(pc.cast(flat, pa.float64()), pa.int64())
            except pa.ArrowInvalid:
                raise OgalError(f"{path}: column {cycles[j]}: not lists of indices like [3, 17]") from None
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
        out.append(pa.ListArray.from_arrays(pa.array(offsets), flat))
    return out
