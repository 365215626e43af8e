"""Stored results as tables: pandas or Dask DataFrames, and SQL through DuckDB.

    import albench.results
    res = albench.results.open("results/quick")
    res.runs                     # pandas DataFrame, one row per run
    res.curves                   # one row per AL cycle (active testing: per label and estimator)
    res.sql("SELECT strategy, avg(auc_accuracy) FROM runs GROUP BY 1")
    albench.results.open("results/big", lazy=True).curves   # Dask DataFrame, read part by part
    albench.results.open("results/quick", run_ids=grid_run_ids("grids/quick.yaml"))  # only this grid's rows

Part files may differ in their columns (a grid extended later): pandas and
Dask readers unify them by name, DuckDB reads them with ``union_by_name``;
a column missing from a part reads as null. Curves parts whose runs part was
never written (a crash between the two) are left out, as in the store.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from albench.store import TABLES, Store


class ResultsError(ValueError):
    """A results folder that cannot be read, or a query that fails; the message says why."""


@dataclass
class Results:
    """The tables of one results folder (see the module docstring)."""

    root: Path
    lazy: bool = False
    run_ids: frozenset[str] | None = None  # keep only these runs (the current grid's); None: every run
    _cache: dict = field(default_factory=dict, repr=False)

    def parts(self, table: str) -> list[Path]:
        return Store(self.root).parts(table)

    @property
    def runs(self):
        return self.table("runs")

    @property
    def curves(self):
        return self.table("curves")

    def table(self, name: str):
        """``runs`` or ``curves`` as a pandas DataFrame (a Dask DataFrame when lazy); read once."""
        if name not in TABLES:
            raise ResultsError(f"unknown table '{name}'; tables: {', '.join(TABLES)}")
        if name not in self._cache:
            files = self.parts(name)
            df = _dask_frame(files) if self.lazy else Store(self.root).read(name)
            if self.run_ids is not None and "run_id" in df.columns:
                df = df[df["run_id"].isin(sorted(self.run_ids))]
                df = df if self.lazy else df.reset_index(drop=True)
            self._cache[name] = df
        return self._cache[name]

    def columns(self, name: str) -> list[str]:
        """The column names of a table, over all its parts (first seen first)."""
        from albench.store import read_part

        names: dict[str, None] = {}
        for f in self.parts(name):
            try:
                names.update(dict.fromkeys(pq.read_schema(f).names))
            except (OSError, pa.ArrowException):
                read_part(f)  # raises the store's error naming the damaged (or vanished) part
        return list(names)

    def read(self, name: str, columns: list[str]) -> pd.DataFrame:
        """Only ``columns`` of a table (those that exist), as pandas, this grid's runs only; not cached."""
        df = Store(self.root).read(name, columns)
        if self.run_ids is not None and "run_id" in df.columns:
            df = df[df["run_id"].isin(sorted(self.run_ids))].reset_index(drop=True)
        return df

    def sql(self, query: str, read_only: bool = False) -> pd.DataFrame:
        """Run one SQL query over the tables ``runs`` and ``curves`` and return its rows.

        ``read_only=True`` for SQL written by someone else: see ``connect``.
        """
        import duckdb

        with connect(self, read_only=read_only) as con:
            try:
                relation = con.sql(query)
                return relation.df() if relation is not None else pd.DataFrame()
            except duckdb.Error as exc:
                raise ResultsError(sql_error_line(exc)) from None


def open(path: str | os.PathLike, lazy: bool = False,  # noqa: A001  (albench.results.open)
         run_ids: set[str] | frozenset[str] | None = None) -> Results:
    """The results folder ``path`` (``results/<grid>``); raises ResultsError if it holds no runs.

    ``run_ids`` restricts every table (and SQL view) to those runs, e.g. the
    runs of the current grid (``grid_run_ids``), leaving out rows of earlier
    versions of it.

    ``lazy=True`` gives Dask DataFrames for results larger than memory:
    one partition per part file, integer and boolean columns as pandas'
    nullable dtypes so that every partition agrees on its types.
    """
    root = Path(path)
    if not root.is_dir():
        raise ResultsError(f"no results folder at {root}")
    if not Store(root).parts("runs"):
        inside = _results_folders_in(root)
        hint = f"; results folders in it: {', '.join(inside[:10])}" + (", ..." if len(inside) > 10 else "") \
            if inside else ""
        raise ResultsError(f"no runs stored in {root} (expected {root / 'runs'}/part-*.parquet){hint}")
    return Results(root, lazy, frozenset(run_ids) if run_ids is not None else None)


def _results_folders_in(root: Path) -> list[str]:
    """The sub-folders of ``root`` that hold runs (``albench analyze results`` meant ``results/<grid>``)."""
    try:
        return sorted(p.name for p in root.iterdir() if p.is_dir() and Store(p).parts("runs"))
    except OSError:  # an unreadable folder: no hint
        return []


def grid_run_ids(grid_file: str | os.PathLike) -> set[str]:
    """The run_ids of every run of a grid file (ResultsError naming the file if it does not load)."""
    from albench.spec import GridError, load_grid

    try:
        return {spec.run_id for spec in load_grid(grid_file).specs()}
    except (GridError, OSError) as exc:
        raise ResultsError(f"--grid {grid_file}: {exc}") from None


NAN_UNSAFE_OPTIMIZERS = "statistics_propagation,filter_pushdown"
# DuckDB spills to disk past this much memory: the analysis must stay within a few GiB at 10^6 runs
MEMORY_LIMIT = "1500MB"


def duckdb_connection(spill: bool = False):
    """An in-memory DuckDB connection that reads stored NaNs right; ``spill``: bounded memory (past
    ``MEMORY_LIMIT`` DuckDB spills to disk) and rows in any order, as the analysis's group-bys want."""
    import duckdb

    con = duckdb.connect()
    # pyarrow's Parquet statistics leave NaN out of min/max, and DuckDB's optimizer trusts them: with these
    # two on, `isnan(x)` reads as false for every row of a part whose stored NaNs it cannot see
    con.execute(f"SET disabled_optimizers = '{NAN_UNSAFE_OPTIMIZERS}'")
    if spill:
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        con.execute("SET preserve_insertion_order = false")  # the figures sort what they show
    return con


def connect(results: Results, read_only: bool = False, spill: bool = False):
    """A ``duckdb_connection`` with one view per table, reading the part files in place.

    DuckDB SQL can read and write any file the user can (``COPY ... TO``,
    ``ATTACH``, ``read_csv('/etc/passwd')``) and install extensions.
    ``read_only=True`` turns that off once the views exist: only the folder's
    own part files can be read (``allowed_paths``), nothing written or
    installed, and the setting is locked against ``SET``.
    """
    import duckdb

    con = duckdb_connection(spill)
    allowed: list[str] = []
    where = ""
    if results.run_ids is not None:
        con.register("_grid_run_ids", pd.DataFrame({"run_id": sorted(results.run_ids)}, dtype=object))
        where = " WHERE run_id IN (SELECT run_id FROM _grid_run_ids)"
    for table in TABLES:
        files = results.parts(table)
        if files:
            listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
            try:
                con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet([{listed}], union_by_name = true)"
                            + where)
            except duckdb.Error as exc:  # a damaged part: the table's every query fails saying which and why
                reason = f"{sql_error_line(exc)}; run `albench fsck {results.root}` to move damaged parts aside"
                quoted = "'" + reason.replace("'", "''") + "'"
                con.execute(f"CREATE VIEW {table} AS SELECT * FROM range(1) WHERE error({quoted}) IS NULL")
            allowed += [str(f) for f in files]
    if read_only:
        con.execute("SET allowed_paths = $paths", {"paths": allowed})
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    return con


def stored_kinds(results: Results) -> list[str]:
    """The grid kinds of the stored runs (none without a ``kind`` column), sorted."""
    return sorted({g.kind for g in stored_grids(results) if g.kind is not None})


@dataclass(frozen=True)
class StoredGrid:
    """The stored runs one grid wrote: its name and kind (None where a row, or an older store, records
    none), how many, and how many of them failed (error or timeout)."""

    name: str | None
    kind: str | None
    runs: int
    failed: int


def stored_grids(results: Results) -> list[StoredGrid]:
    """Every grid that wrote stored runs, by name and kind, from one DuckDB group-by."""
    with connect(results, spill=True) as con:
        columns = set(columns_of(con, "runs"))
        if not columns:
            return []
        grid, kind = ("grid" if "grid" in columns else "NULL"), ("kind" if "kind" in columns else "NULL")
        failed = "status IN ('error', 'timeout')" if "status" in columns else "FALSE"
        rows = fetch(con, f"SELECT {grid}, {kind}, count(*), count(*) FILTER (WHERE {failed}) FROM runs "
                          "GROUP BY ALL")
    return sorted((StoredGrid(g, k, int(n), int(f)) for g, k, n, f in rows), key=lambda r: (str(r.name), str(r.kind)))


def of_grid(runs: pd.DataFrame, name: str, kind: str) -> pd.Series:
    """``grid_scope`` on rows read into pandas: which rows a grid of ``name`` and ``kind`` wrote."""
    mine = pd.Series(True, index=runs.index)
    for column, value in (("grid", name), ("kind", kind)):
        if column in runs.columns:
            mine &= runs[column].isna() | (runs[column] == value)
    return mine


def grid_scope(columns, name: str, kind: str) -> tuple[str, list]:
    """The rows a grid of ``name`` and ``kind`` wrote, as SQL conditions (each after an AND) and their
    parameters: a row that records no name or kind (an older albench) counts as this grid's."""
    scoped = [(c, v) for c, v in (("grid", name), ("kind", kind)) if c in columns]
    return "".join(f" AND ({c} IS NULL OR {c} = ?)" for c, _ in scoped), [v for _, v in scoped]


def fetch(con, query: str, params: list | None = None) -> list[tuple]:
    """The rows of one query on a ``connect`` connection; ``ResultsError`` (DuckDB's first line) if it fails."""
    import duckdb

    try:
        return con.execute(query, params or []).fetchall()
    except duckdb.Error as exc:
        raise ResultsError(sql_error_line(exc)) from None


def columns_of(con, table: str) -> list[str]:
    """The column names of a view of ``connect`` (read from the footers DuckDB has read already); none when
    the table has no parts (``connect`` then makes no view)."""
    if not fetch(con, "SELECT 1 FROM duckdb_views() WHERE view_name = ?", [table]):
        return []
    return [row[0] for row in fetch(con, f"DESCRIBE {table}")]


def sql_error_line(exc: Exception) -> str:
    """DuckDB's message on one line: the error and its hints ("Candidate bindings: ...", "Did you mean ...?"),
    without the quoted query and caret that follow them."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    head = list(itertools.takewhile(lambda line: not line.startswith("LINE "), lines))
    return " ".join(head or lines[:1]) or type(exc).__name__


# Dask: one partition per part file, each conformed to the schema of all parts.
_NULLABLE = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
             pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=_NULLABLE.get)


def _read_conformed(path: Path, schema: pa.Schema) -> pd.DataFrame:
    table = pq.read_table(path)
    columns = [table[f.name].cast(f.type) if f.name in table.column_names else pa.nulls(len(table), f.type)
               for f in schema]
    return _to_pandas(pa.Table.from_arrays(columns, schema=schema))


def _dask_frame(files: list[Path]):
    import dask
    import dask.dataframe as dd

    # pandas already reads strings as its own string dtype; Dask's conversion would
    # also turn the list columns (queried indices) into strings in the metadata
    with dask.config.set({"dataframe.convert-string": False}):
        if not files:
            return dd.from_pandas(pd.DataFrame(), npartitions=1)
        schema = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive")
        return dd.from_map(_read_conformed, files, schema=schema, meta=_to_pandas(schema.empty_table()),
                           enforce_metadata=False)
