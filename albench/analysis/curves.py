"""The curves table where it lies: per-cycle rows queried through DuckDB, never loaded whole.

A study of OGAL's size stores 10^8 curve rows, which do not fit in memory as
a pandas frame. ``Curves`` wraps one DuckDB view ``curves`` (over the Parquet
parts of a results folder, or over a pandas frame in tests and notebooks) and
answers what the analysis asks of it: group-bys joined with tables of run
labels (``sql``, ``group_sums``) and the pool indices queried by chosen runs
(``query_sequences``), read as Arrow integer lists into one flat array, never
as Python lists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

GATHER_CHUNK = 4_000_000  # indices compared at once by ``jaccard_first`` and ``identical``


class Curves:
    """The curves of one results folder or frame, as a DuckDB view (see the module docstring)."""

    def __init__(self, con, columns: list[str]):
        self.con, self.columns = con, list(columns)

    @classmethod
    def of(cls, source) -> Curves | None:
        """``source`` as Curves: a Curves, a pandas frame, an ``albench.results.Results``; None for none."""
        if source is None or isinstance(source, Curves):
            return source
        if isinstance(source, pd.DataFrame):
            return cls.from_frame(source)
        return cls.from_results(source)

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> Curves | None:
        if df.empty or "run_id" not in df.columns:
            return None
        from albench.results import duckdb_connection

        con = duckdb_connection(spill=True)
        con.register("_curves_frame", df)
        con.execute("CREATE VIEW curves AS SELECT * FROM _curves_frame")
        return cls(con, list(df.columns))

    @classmethod
    def from_results(cls, results) -> Curves | None:
        """The curves parts of ``results`` (its ``run_ids`` filter applies), or None without any."""
        from albench.results import columns_of, connect

        if not results.parts("curves"):
            return None
        con = connect(results, spill=True)
        columns = columns_of(con, "curves")
        if "run_id" not in columns:
            return None
        return cls(con, columns)

    def has(self, *columns: str) -> bool:
        return all(c in self.columns for c in columns)

    def sql(self, query: str, **frames: pd.DataFrame) -> pd.DataFrame:
        """Run ``query`` (over the view ``curves`` and the given frames, by keyword name) and return its rows."""
        for name, frame in frames.items():
            self.con.register(name, frame)
        try:
            return self.con.execute(query).df()
        finally:
            for name in frames:
                self.con.unregister(name)

    def query_sequences(self, run_ids) -> QuerySequences | None:
        """The indices each of ``run_ids`` queried, cycle by cycle, each batch in ascending order
        (None without a ``queried`` column); runs without curves get empty sequences."""
        if "queried" not in self.columns:
            return None
        ids = pd.Index(pd.unique(np.asarray(list(run_ids), dtype=object)))
        self.con.register("_wanted", pd.DataFrame({"run_id": ids.astype(object)}))
        try:
            cycle = "cycle" if "cycle" in self.columns else "0"
            reader = self.con.sql(
                f"SELECT run_id, {cycle} AS cycle, CAST(queried AS INTEGER[]) AS queried FROM curves "
                "WHERE queried IS NOT NULL AND run_id IN (SELECT run_id FROM _wanted)").to_arrow_reader(1_000_000)
            batches = list(reader)
        finally:
            self.con.unregister("_wanted")
        return _sequences(ids, batches)


def quote(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def finite(column: str) -> str:
    """SQL: the column with NaN read as NULL (pandas skips NaN in means; DuckDB sorts NaN above every number)."""
    c = quote(column)
    return f"CASE WHEN isnan({c}) THEN NULL ELSE {c} END"


@dataclass
class QuerySequences:
    """Queried pool indices of many runs, concatenated: run ``i`` holds ``values[starts[i]:starts[i] + lengths[i]]``."""

    row: pd.Index  # run_id -> position (``row.get_indexer``)
    values: np.ndarray  # int32
    starts: np.ndarray  # int64, per run
    lengths: np.ndarray  # int64, per run
    span: int  # largest index + 1

    def rows(self, run_ids) -> np.ndarray:
        """Positions of ``run_ids`` (-1 for runs it does not hold)."""
        return self.row.get_indexer(np.asarray(run_ids, dtype=object))


def _sequences(ids: pd.Index, batches: list[pa.RecordBatch]) -> QuerySequences:
    codes, cycles, sizes, flats = [], [], [], []
    while batches:  # each batch is dropped once converted: the indices are held once, as int32
        batch = batches.pop(0)
        queried = batch.column("queried")
        codes.append(ids.get_indexer(batch.column("run_id").to_numpy(zero_copy_only=False)))
        cycles.append(batch.column("cycle").to_numpy(zero_copy_only=False))
        sizes.append(np.diff(queried.offsets.to_numpy()))
        flats.append(queried.flatten().to_numpy().astype(np.int32, copy=False))
    code = np.concatenate(codes) if codes else np.zeros(0, dtype=np.int64)
    cycle = np.concatenate(cycles) if cycles else np.zeros(0, dtype=np.int64)
    size = np.concatenate(sizes).astype(np.int64) if sizes else np.zeros(0, dtype=np.int64)
    flat = np.concatenate(flats) if flats else np.zeros(0, dtype=np.int32)
    del flats
    span = int(flat.max(initial=-1)) + 1
    # rows arrive in any order: order them by (run, cycle), then each cycle's batch by index (a batch is a set)
    order = np.lexsort((cycle, code))
    row_start = np.cumsum(size) - size
    size, code = size[order], code[order]
    flat = flat[_segments(row_start[order], size)]
    ends = np.cumsum(size)
    for part in _chunks(size):  # whole rows at a time, so the int64 sort keys stay small
        lo, hi = int(ends[part.start] - size[part.start]), int(ends[part.stop - 1])
        segment = np.repeat(np.arange(part.stop - part.start, dtype=np.int64), size[part])
        flat[lo:hi] = np.sort(segment * span + flat[lo:hi]) - segment * span
    lengths = np.bincount(code, weights=size, minlength=len(ids)).astype(np.int64)
    starts = np.cumsum(lengths) - lengths
    return QuerySequences(ids, flat, starts, lengths, max(span, 1))


def _segments(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Positions ``starts[i] + 0 .. lengths[i] - 1``, concatenated."""
    total = int(lengths.sum())
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(starts.astype(np.int64), lengths) + offsets


def _chunks(n: np.ndarray, max_pairs: int | None = None):
    """Slices of pairs whose first-n prefixes hold about GATHER_CHUNK indices together (and at most
    ``max_pairs`` pairs)."""
    if not len(n):
        return
    total = np.cumsum(n)
    cuts = np.searchsorted(total, np.arange(1, int(total[-1]) // GATHER_CHUNK + 1) * GATHER_CHUNK, side="right")
    if max_pairs:
        cuts = np.concatenate([cuts, np.arange(max_pairs, len(n), max_pairs)])
    edges = np.unique(np.concatenate([[0], cuts, [len(n)]]))
    for start, end in zip(edges[:-1], edges[1:]):
        yield slice(int(start), int(end))


MIN_TABLE_PAIRS = 256  # below this many pairs per chunk of marks, sorting keys is the cheaper way


def _intersections(seqs: QuerySequences, a: np.ndarray, b: np.ndarray, n: np.ndarray) -> np.ndarray:
    """|first n of run a[i]  ∩  first n of run b[i]| per pair (the indices of one run are distinct)."""
    out = np.zeros(len(a))
    rows = GATHER_CHUNK // seqs.span
    marks = np.zeros(min(rows, len(a)) * seqs.span, dtype=bool) if rows >= MIN_TABLE_PAIRS else None
    for part in _chunks(n, rows if marks is not None else None):
        m = n[part]
        pair = np.repeat(np.arange(len(m), dtype=np.int64), m)
        x = seqs.values[_segments(seqs.starts[a[part]], m)]
        y = seqs.values[_segments(seqs.starts[b[part]], m)]
        if marks is not None:  # O(indices): mark a's picks in one row per pair, look b's up, unmark
            cells = pair * seqs.span + x
            marks[cells] = True
            out[part] = np.bincount(pair, weights=marks[pair * seqs.span + y], minlength=len(m))
            marks[cells] = False
        else:  # a huge pool: keys that occur twice
            keys = np.concatenate([pair * seqs.span + x, pair * seqs.span + y])
            keys.sort()
            out[part] = np.bincount(keys[1:][keys[1:] == keys[:-1]] // seqs.span, minlength=len(m))
    return out


def jaccard_first(seqs: QuerySequences, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Jaccard overlap of the first n indices of runs ``a[i]`` and ``b[i]`` (positions), n the shorter length."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    n = np.minimum(seqs.lengths[a], seqs.lengths[b])
    inter = _intersections(seqs, a, b, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, inter / (2 * n - inter), math.nan)


def identical(seqs: QuerySequences, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether runs ``a[i]`` and ``b[i]`` queried the same batches (as sets) in every cycle."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    same = seqs.lengths[a] == seqs.lengths[b]
    n = np.where(same, seqs.lengths[a], 0)
    for part in _chunks(n):
        m = n[part]
        differ = seqs.values[_segments(seqs.starts[a[part]], m)] != seqs.values[_segments(seqs.starts[b[part]], m)]
        pair = np.repeat(np.arange(len(m), dtype=np.int64), m)
        same[part] &= np.bincount(pair[differ], minlength=len(m)) == 0
    return same


def query_sequences(curves, run_ids=None) -> QuerySequences | None:
    """``Curves.of(curves).query_sequences(run_ids)``; every run with curves (sorted by run_id) for None."""
    curves = Curves.of(curves)
    if curves is None:
        return None
    if run_ids is None:
        run_ids = sorted(curves.sql("SELECT DISTINCT run_id FROM curves WHERE run_id IS NOT NULL")["run_id"])
    return curves.query_sequences(run_ids)


def group_sums(curves: Curves, runs: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Per group of runs (the values of every column of ``runs`` but run_id) and value of ``x``: ``total``
    and ``n``, the sum and count of the finite values of ``y`` over the curves of the group's runs.

    One group-by in DuckDB over the curves joined with a table of run groups; the sums are compensated
    (``fsum``) so that the order the part files are read in does not show in the figures.
    """
    keys = [c for c in runs.columns if c != "run_id"]
    runs = runs.drop_duplicates("run_id").reset_index(drop=True)
    group = runs.groupby(keys, sort=False, dropna=False, observed=True).ngroup().to_numpy()
    labels = pd.DataFrame({"run_id": runs["run_id"].astype(object).to_numpy(), "_g": group})
    sums = curves.sql(f"SELECT l._g, c.{quote(x)} AS _x, fsum({finite(y)}) AS total, count({finite(y)}) AS n "
                      "FROM curves c JOIN _labels l ON c.run_id = l.run_id GROUP BY ALL", _labels=labels)
    first = runs.assign(_g=group).drop_duplicates("_g").set_index("_g")[keys]
    out = sums.join(first, on="_g").drop(columns="_g").rename(columns={"_x": x})
    return out[[*keys, x, "total", "n"]].sort_values([*keys, x], kind="stable").reset_index(drop=True)
