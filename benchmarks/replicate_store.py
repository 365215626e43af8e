"""A larger synthetic store from a compacted one: copies with new data sets and new run_ids.

Writing ``benchmarks/synthetic_store.py`` row by row takes about half an hour per 10^6 runs, so OGAL's
4.6 x 10^6 runs are made from a compacted 10^6-run store (``albench compact``) instead: copy k of each
pair of part files (``runs/`` and ``curves/`` under one name) has its data sets' ``data_seed`` shifted by
k x (number of data sets), so every copy is a new set of blocks. A fractional last copy keeps the data sets
with the lowest ``data_seed``, whole blocks only. The target gets the source's grid files (``grid.yaml``,
``grid-exclude.yaml``) with the data sets of every copy, and every run the run_id of its RunSpec in that
grid, so ``albench grid run <target>/grid.yaml --out <target>`` finds nothing left to run. Values repeat
across copies (the noise of copy 0): the result measures how albench scales, not what it finds. The layout
is the compacted one (pairs ``part-compact-<uuid>.parquet``, row groups of ``compaction.ROW_GROUP_ROWS``).

    python -m benchmarks.replicate_store /tmp/albench-scale/1000000-compact /tmp/albench-scale/4600000 4.6
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import shutil
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from albench.spec import load_grid
from albench.store import COMPACTED_PREFIX, ROW_GROUP_ROWS

GRID_FILES = ("grid.yaml", "grid-exclude.yaml")  # as synthetic_store writes them
KEY = ("learner", "strategy", "batch_size", "start_point", "split")  # with the data seed: a run of the grid


def _spec_key(spec, shift: int) -> tuple:
    dataset = spec.params["dataset"]
    values = [v["name"] if isinstance(v, dict) else v for v in (spec.params[k] for k in KEY)]
    return (dataset["params"].get("data_seed", 0) - shift, *values)


def _row_keys(runs: pa.Table) -> list[tuple]:
    seeds = [_seed_of(p) for p in runs["dataset_params"].to_pylist()]
    return [(s, *v) for s, v in zip(seeds, zip(*(runs[k].to_pylist() for k in KEY)))]


def write_grids(source: Path, target: Path, seeds_per_copy: list[list[int]]) -> None:
    """The source's grid files with the data sets of every copy (copy by copy, so data sets stay outermost)."""
    for name in GRID_FILES:
        if not (source / name).exists():
            continue
        doc = yaml.safe_load((source / name).read_text())
        template = dict(doc["params"]["dataset"][0])
        doc["params"]["dataset"] = [{**template, "data_seed": s} for seeds in seeds_per_copy for s in seeds]
        (target / name).write_text(yaml.safe_dump(doc, sort_keys=False))


def id_maps(grid_file: Path, n_sets: int):
    """(copy, {run key: run_id}) for each copy of the grid in ``grid_file``, its specs streamed in grid order.

    Data sets are the grid's outermost axis, so each copy's runs come together; the run key is
    ``_row_keys``' (the copy's data seed shifted back to the source's)."""
    grid = load_grid(grid_file)
    if list(grid.axes)[0] != "dataset" or any(len(grid.axes[k]) > 1 for k in grid.axes if k not in (*KEY, "dataset")):
        raise ValueError(f"{grid_file}: not a benchmarks.synthetic_store grid (data sets first, only {KEY} vary)")
    seen = set()
    for copy, specs in itertools.groupby(grid.specs(), key=lambda s: s.params["dataset"]["params"]
                                         .get("data_seed", 0) // n_sets):
        if copy in seen:
            raise ValueError(f"{grid_file}: the copies' data sets are not contiguous")
        seen.add(copy)
        yield copy, {_spec_key(spec, copy * n_sets): spec.run_id for spec in specs}


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
    if seeds != list(range(n_sets)):
        raise ValueError(f"{source}: data seeds {seeds[:5]}... are not 0..{n_sets - 1} (a synthetic_store store?)")
    kept = [seeds[:n_sets if copy + 1 <= copies else round((copies - copy) * n_sets)]
            for copy in range(math.ceil(copies))]
    kept = [k for k in kept if k]
    shutil.rmtree(target, ignore_errors=True)
    (target / "runs").mkdir(parents=True)
    (target / "curves").mkdir()
    write_grids(source, target, [[s + copy * n_sets for s in k] for copy, k in enumerate(kept)])
    written = 0
    for copy, ids in id_maps(target / "grid.yaml", n_sets):
        written += sum(write_copy(source, target, name, set(kept[copy]), copy * n_sets, ids) for name in names)
    return written


def write_copy(source: Path, target: Path, name: str, kept: set[int], shift: int, ids: dict[tuple, str]) -> int:
    """One copy of the pair of parts ``name``: the runs of the data sets ``kept``, data seeds shifted by
    ``shift``, with the run_ids ``ids`` of the target grid (by ``_row_keys``); returns the runs written."""
    runs = pq.read_table(source / "runs" / name).replace_schema_metadata(None)
    in_copy = _mapped(runs["dataset_params"], lambda d: pa.array([_seed_of(v) in kept for v in d.to_pylist()]))
    runs = runs.filter(in_copy)
    if not len(runs):
        return 0
    old = runs["run_id"].combine_chunks()
    try:
        new = pa.array([ids[key] for key in _row_keys(runs)], pa.string())
    except KeyError as missing:
        raise ValueError(f"{source / 'runs' / name}: run {missing} is not in the target grid") from None
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
                renamed = _mapped(curves["run_id"], lambda d: pa.array([lookup[v] for v in d.to_pylist()], pa.string()))
                writer.write_table(curves.set_column(0, "run_id", renamed), row_group_size=ROW_GROUP_ROWS)
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
