"""Rows (plain dicts) as typed Arrow tables, naming the rows whose values do not fit.

``to_table`` puts the declared columns first, with their types
(``albench.table_schema``), then the others, inferred; a value that cannot be
converted marks its row (or, for a curves row, its run's row: ``owner_index``)
with the reason instead of failing the batch. A column whose values convert
one by one but not together (mixed types) is kept as text. ``storable_values``
is what of one row its columns can hold, for the error row of a run that
cannot be stored. ``albench.store`` writes the tables.
"""

from __future__ import annotations

import pyarrow as pa

from albench.store_errors import StoreError

_CONVERSION_ERRORS = (OverflowError, TypeError, ValueError, pa.ArrowInvalid, pa.ArrowTypeError,
                      pa.ArrowNotImplementedError)


class Converted:
    """A converted table, or None with ``bad``: row index -> why its values do not fit."""

    def __init__(self, table: pa.Table | None, bad: dict[int, str]):
        self.table, self.bad = table, bad


def owner_index(runs: list[dict], curves: list[dict]) -> list[int]:
    """For each curves row, the index of its run's row (a bad curve row makes its run unstorable)."""
    index = {row.get("run_id"): i for i, row in enumerate(runs)}
    return [index.get(row.get("run_id"), 0) for row in curves]


def _column(values: list, dtype: pa.DataType | None) -> pa.Array:
    return pa.array(values, type=dtype) if dtype is not None else pa.array(values)


def to_table(rows: list[dict], schema: pa.Schema | None, owners: list[int] | None = None) -> Converted:
    """Rows as a table: declared columns first, with their types, then the others inferred.

    A value that cannot be converted marks its row (``owners[i]``: the runs row
    it belongs to) in ``bad`` with the reason.
    """
    declared = {f.name: f.type for f in schema} if schema is not None else {}
    keys: dict[str, None] = dict.fromkeys(declared)
    for row in rows:
        for k, v in row.items():
            if v is not None:
                keys.setdefault(k)
    arrays, bad = {}, {}
    for key in keys:
        values = [row.get(key) for row in rows]
        try:
            arrays[key] = _column(values, declared.get(key))
            continue
        except _CONVERSION_ERRORS as exc:
            column_error = exc
        found = False
        for i, v in enumerate(values):  # which rows? only on this (rare) path
            try:
                _column([v], declared.get(key))
            except _CONVERSION_ERRORS as exc:
                found = True
                owner = owners[i] if owners is not None else i
                bad.setdefault(owner, f"column {key!r}: {type(exc).__name__}: {exc}")
        if not found:  # every value alone converts, not together (mixed types): keep them as text
            if key in declared:
                raise StoreError(f"column {key!r}: {column_error}") from None
            arrays[key] = pa.array([None if v is None else str(v) for v in values], type=pa.string())
    if bad:
        return Converted(None, bad)
    return Converted(pa.table(arrays), {})


def storable_values(row: dict, schema: pa.Schema | None) -> dict:
    """The items of ``row`` whose value its column can hold (declared in ``schema``, else inferred)."""
    declared = {f.name: f.type for f in schema} if schema is not None else {}
    kept = {}
    for key, value in row.items():
        try:
            _column([value], declared.get(key))
        except _CONVERSION_ERRORS:
            continue
        kept[key] = value
    return kept
