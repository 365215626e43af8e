"""Checking and repairing a results folder: damaged parts and duplicate rows moved aside.

``check(root)`` reads every part file completely and lists what is wrong;
``repair(root)`` checks again under the writer lock and moves what it found
into ``<root>/quarantine/``, never deleting a row:

- a part that cannot be read (truncated, zero bytes, not Parquet) is moved
  there with its partner of the same name in the other table, so the runs it
  held are no longer stored and the next ``grid run`` runs them again;
- a curves part without its runs part (a crash between the two renames) is
  moved there;
- a run_id stored in more than one runs row (folders written by two
  processes at once before the writer lock) keeps one row, the ``ok`` one if
  any, else the last finished; the other rows and their curves rows (same part
  name) are rewritten into ``quarantine/`` and out of their parts, a row group
  at a time (``albench.part_rewrite``);
- parts that a compacted file replaces (``albench.compaction``: a compaction
  interrupted after its commit) hold rows that the compacted file holds too,
  and no reader counts them; they are moved there (not counted as
  duplicates);
- leftover temporary files of a crashed writer are deleted.

Everything happens under the folder's writer lock, so never while a grid
writes there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from albench.part_rewrite import rewrite_without
from albench.store import TABLES, DamagedPart, Store, read_part, replaced_names, row_groups
from albench.wording import counted

QUARANTINE = "quarantine"


@dataclass
class Findings:
    damaged: list[Path] = field(default_factory=list)  # unreadable parts (and their partners, moved with them)
    partners: list[Path] = field(default_factory=list)
    orphans: list[Path] = field(default_factory=list)  # curves parts without a runs part
    duplicates: dict[str, list[str]] = field(default_factory=dict)  # runs part name -> run_ids to move out
    temporary: list[Path] = field(default_factory=list)
    replaced: list[Path] = field(default_factory=list)  # parts a compacted file replaces (its rows are there)
    reasons: dict[Path, str] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not (self.damaged or self.orphans or self.duplicates or self.temporary or self.replaced)

    def lines(self) -> list[str]:
        out = [f"damaged: {p} ({self.reasons[p]})" for p in self.damaged]
        out += [f"partner of a damaged part: {p}" for p in self.partners]
        out += [f"orphan curves part (no runs part): {p}" for p in self.orphans]
        out += [f"duplicate rows: {counted(len(ids), 'run')} stored again in runs/{name}"
                for name, ids in sorted(self.duplicates.items())]
        out += [f"temporary file of a crashed writer: {p}" for p in self.temporary]
        out += [f"replaced by a compacted file (an interrupted compaction), rows stored there: {p}"
                for p in self.replaced]
        return out


def check(root: Path) -> Findings:
    """What is wrong with the results folder ``root`` (reads every part in full, a row group at a time)."""
    store, found = Store(root), Findings()
    readable: dict[str, set[str]] = {}
    for table in TABLES:
        readable[table] = set()
        for path in sorted(store.dir(table).glob("part-*.parquet")):
            try:
                for _ in row_groups(path):  # decodes every row group, holding one at a time
                    pass
            except DamagedPart as exc:
                found.damaged.append(path)
                found.reasons[path] = str(exc).split("damaged part file (", 1)[-1].split(");", 1)[0]
                continue
            readable[table].add(path.name)
        found.temporary += sorted(store.dir(table).glob(".part-*.tmp"))
    replaced = replaced_names([store.dir("runs") / n for n in sorted(readable["runs"])])
    for table in TABLES:
        found.replaced += [store.dir(table) / n for n in sorted(replaced & readable[table])]
        found.replaced += [p for p in found.damaged if p.parent.name == table and p.name in replaced]
        readable[table] -= replaced
    found.damaged = [p for p in found.damaged if p.name not in replaced]
    damaged_names = {p.name for p in found.damaged}
    for table in TABLES:
        found.partners += [store.dir(table) / n for n in sorted(readable[table] & damaged_names)]
    found.orphans = [store.dir("curves") / n for n in sorted(readable["curves"] - readable["runs"] - damaged_names)]
    found.duplicates = _duplicates(store, sorted(readable["runs"] - damaged_names))
    return found


def _duplicates(store: Store, names: list[str]) -> dict[str, list[str]]:
    """Per runs part, the run_ids whose row there is not the one kept: of a run_id's rows, those ranking
    highest by (status ok, finished_at, part name) are kept. Vectorised: only the run_id, status and
    finished_at columns are read, and only rows of repeated run_ids are ranked."""
    frames = []
    for name in names:
        t = read_part(store.dir("runs") / name, ["run_id", "status", "finished_at"])
        if "run_id" not in t.column_names:
            continue
        frame = pd.DataFrame({"run_id": t["run_id"].to_numpy(zero_copy_only=False)})
        frame["ok"] = (t["status"].to_numpy(zero_copy_only=False) == "ok") if "status" in t.column_names else False
        finished = (pc.cast(pc.cast(t["finished_at"], pa.timestamp("us", "UTC")), pa.int64()).to_numpy(
            zero_copy_only=False) if "finished_at" in t.column_names else None)
        frame["finished"] = (pd.Series(finished, dtype="float64").fillna(0.0).to_numpy() / 1e6
                             if finished is not None else 0.0)
        frame["part"] = name
        frames.append(frame)
    if not frames:
        return {}
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[rows["run_id"].duplicated(keep=False)]
    if rows.empty:
        return {}
    rank = ["ok", "finished", "part"]
    best = rows.sort_values(rank, kind="stable").groupby("run_id", sort=False)[rank].last()
    top = rows.join(best.add_suffix("_best"), on="run_id")
    beaten = ~np.logical_and.reduce([top[c].to_numpy() == top[f"{c}_best"].to_numpy() for c in rank])
    out: dict[str, list[str]] = {}
    for name, run_id in zip(top["part"][beaten], top["run_id"][beaten]):
        out.setdefault(name, []).append(run_id)
    return out


def repair(root: Path) -> Findings:
    """Check ``root`` and move what is wrong into ``<root>/quarantine/`` (see the module docstring), under its lock."""
    store = Store(root)
    with store.writing():
        found = check(root)
        for path in found.damaged + found.partners + found.orphans + found.replaced:
            target = root / QUARANTINE / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        for name, run_ids in found.duplicates.items():
            ids = pa.array(sorted(set(run_ids)))
            for table in ("curves", "runs"):  # curves first, as Store.drop_runs
                path = store.dir(table) / name
                if not path.exists():
                    continue
                target = root / QUARANTINE / table / f"duplicates-{name}"
                target.parent.mkdir(parents=True, exist_ok=True)
                rewrite_without(path, ids, moved_to=target)  # a row group at a time
        for path in found.temporary:
            path.unlink(missing_ok=True)
    return found
