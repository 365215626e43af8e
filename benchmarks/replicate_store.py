"""A larger synthetic store from a compacted one: copies with new data sets and new run_ids.

Writing ``benchmarks/synthetic_store.py`` row by row takes about half an hour per 10^6 runs, so OGAL's
4.6 x 10^6 runs are made from a compacted 10^6-run store (``albench compact``) instead: copy k of each
pair of part files (``runs/`` and ``curves/`` under one name) gets run_ids hashed with k and its data sets'
``data_seed`` shifted by k x (number of data sets), so every copy is a new set of blocks. A fractional
last copy keeps the data sets with the lowest ``data_seed``, whole blocks only. Values repeat across copies
(the noise of copy 0): the result measures how the analysis scales, not what it finds. The layout is the
compacted one (pairs ``part-compact-<uuid>.parquet``, row groups of ``compaction.ROW_GROUP_ROWS``).

    python -m benchmarks.replicate_store /tmp/albench-scale/1000000-compact /tmp/albench-scale/4600000 4.6
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from albench.store import COMPACTED_PREFIX, ROW_GROUP_ROWS


def _new_ids(ids: pa.Array, copy: int) -> pa.Array:
    if copy == 0:
        return ids
    return pa.array([hashlib.blake2b(f"{i}/{copy}".encode(), digest_size=8).hexdigest() for i in ids.to_pylist()])


def _mapped(column: pa.ChunkedArray, mapping) -> pa.Array:
    """``column`` with each distinct value v replaced by ``mapping(v)`` (computed once per distinct value)."""
    encoded = pc.dictionary_encode(column.combine_chunks())
    return pc.take(mapping(encoded.dictionary), encoded.indices)


def _seed_of(params: str) -> int:
    return json.loads(params).get("data_seed", 0)  # 0 is the default, left out of the params


def replicate(source: Path, target: Path, copies: float) -> int:
    """Write ``copies`` copies of the store at ``source`` into ``target``; returns the runs written."""
    source, target = Path(source), Path(target)
    names = sorted(p.name for p in (source / "runs").glob("part-*.parquet"))
    seeds = sorted({_seed_of(p) for name in names
                    for p in pq.read_table(source / "runs" / name, columns=["dataset_params"])
                    ["dataset_params"].unique().to_pylist()})
    n_sets = len(seeds)
    shutil.rmtree(target, ignore_errors=True)
    (target / "runs").mkdir(parents=True)
    (target / "curves").mkdir()
    written = 0
    for copy in range(math.ceil(copies)):
        keep = n_sets if copy + 1 <= copies else round((copies - copy) * n_sets)
        written += sum(write_copy(source, target, name, copy, set(seeds[:keep]), copy * n_sets) for name in names)
    return written


def write_copy(source: Path, target: Path, name: str, copy: int, kept: set[int], shift: int) -> int:
    """Copy ``copy`` of the pair of parts ``name``: the runs of the data sets ``kept``, data seeds shifted by
    ``shift``; returns the runs written."""
    runs = pq.read_table(source / "runs" / name).replace_schema_metadata(None)
    in_copy = _mapped(runs["dataset_params"], lambda d: pa.array([_seed_of(v) in kept for v in d.to_pylist()]))
    runs = runs.filter(in_copy)
    if not len(runs):
        return 0
    old = runs["run_id"].combine_chunks()
    new = _new_ids(old, copy)
    lookup = dict(zip(old.to_pylist(), new.to_pylist()))
    runs = runs.set_column(runs.schema.get_field_index("run_id"), "run_id", new)
    if shift:  # copy 0 keeps its params as stored (data_seed 0, the default, is left out)
        params = _mapped(runs["dataset_params"], lambda d: pa.array(
            [json.dumps({**json.loads(v), "data_seed": _seed_of(v) + shift}) for v in d.to_pylist()], pa.string()))
        runs = runs.set_column(runs.schema.get_field_index("dataset_params"), "dataset_params", params)
    out = f"{COMPACTED_PREFIX}{uuid.uuid4().hex}.parquet"
    reader = pq.ParquetFile(source / "curves" / name)
    with pq.ParquetWriter(target / "curves" / out, reader.schema_arrow.remove_metadata()) as writer:
        for group in range(reader.num_row_groups):
            curves = reader.read_row_group(group).replace_schema_metadata(None)
            curves = curves.filter(pc.is_in(curves["run_id"], value_set=old))
            if len(curves):
                ids = _mapped(curves["run_id"], lambda d: pa.array([lookup[v] for v in d.to_pylist()], pa.string()))
                writer.write_table(curves.set_column(0, "run_id", ids), row_group_size=ROW_GROUP_ROWS)
    pq.write_table(runs, target / "runs" / out, row_group_size=ROW_GROUP_ROWS)  # last: the pair is complete
    return len(runs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a compacted synthetic store (albench compact)")
    parser.add_argument("target", type=Path)
    parser.add_argument("copies", type=float, help="e.g. 4.6 for 4.6 x the source's runs")
    args = parser.parse_args(argv)
    print(f"{replicate(args.source, args.target, args.copies)} runs written to {args.target}")


if __name__ == "__main__":
    main()
