"""The store's maintenance paths on a compacted store: ``Store.drop_runs`` (``--rerun-failed``, ``prune``,
``--rerun-changed``).

For each size n (runs), ``bench_scale``'s compacted synthetic store (seed 0, cached in
``$TMPDIR/albench-scale/<n>-compact-v<version>``, made only if missing; other benchmarks read it, so it
is never changed) is mirrored into a temporary folder by symbolic links to its part files (``link_copy``:
``drop_runs`` replaces a file it rewrites by a rename, which replaces the link and never writes through
it), and a fresh process drops ``DROPPED`` run_ids from the mirror (evenly spaced among the run_ids of
its first runs file, so one pair of compacted files holds them), timed by ``bench_scale.measure``: CPU
seconds, wall seconds, peak RSS (GiB). Then the mirror is checked (every dropped id gone, every other
run still there) and deleted. Figure ``store_drop_runs``: per size, those three, the status, the runs
files in the store, the files rewritten and ``checked``.

Sizes: quick 10^4, full 10^5 and 10^6 (``--sizes N ...``: others, multiples of 500).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

from albench.store import TABLES, Store
from benchmarks import bench_scale, figure

QUICK_SIZES = (10_000,)
FULL_SIZES = (100_000, 1_000_000)
DROPPED = 10
DROP = "import sys; from albench.store import Store; Store(sys.argv[1]).drop_runs(set(sys.argv[2:]))"


def victims(store: Store, n: int = DROPPED) -> list[str]:
    """``n`` run_ids evenly spaced among those of the store's first runs file."""
    ids = pq.read_table(store.parts("runs")[0], columns=["run_id"])["run_id"].to_pylist()
    return ids[:: max(1, len(ids) // n)][:n]


def drop_figures(root: Path, n: int = DROPPED) -> dict:
    """Drop ``n`` run_ids from the store ``root`` (changed in place) in a fresh process: its measurement,
    the runs files, the files rewritten, and whether exactly those runs are gone."""
    store = Store(root)
    dropped = victims(store, n)
    before = store.finished_ids()
    files = {f: f.stat().st_ino for t in TABLES for f in store.dir(t).glob("part-*.parquet")}
    out = bench_scale.measure([sys.executable, "-c", DROP, str(root), *dropped])
    after = store.finished_ids()
    out["runs_files"] = len(store.parts("runs"))
    out["rewritten"] = sum(f.stat().st_ino != inode for f, inode in files.items())
    out["checked"] = (len(after) == len(before) - len(dropped) and not any(i in after for i in dropped))
    return out


def link_copy(source: Path, target: Path) -> Store:
    """A results folder at ``target`` whose part files are symbolic links to those of ``source``."""
    for table in TABLES:
        (target / table).mkdir(parents=True)
        for f in Store(source).dir(table).glob("part-*.parquet"):
            (target / table / f.name).symlink_to(f.resolve())
    return Store(target)


def cached_compacted_store(n: int) -> Path:
    """bench_scale's compacted store of ``n`` runs (named as ``bench_scale.compacted_store_for`` names it),
    left as it is when cached: that function also deletes the store's ``report/``, which a scale benchmark
    running meanwhile may be writing."""
    root = bench_scale.compacted_root(n)
    return root if (root / ".complete").exists() else bench_scale.compacted_store_for(n)


def run(quick: bool, sizes: list[int] | None = None) -> dict:
    sizes = sorted(sizes or (QUICK_SIZES if quick else FULL_SIZES))
    command = "python -m benchmarks --only store_maintenance" + (
        "" if sizes in (list(QUICK_SIZES), list(FULL_SIZES)) else " --sizes " + " ".join(map(str, sizes)))
    by_size = {}
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="albench-drop-") as tmp:
            mirror = link_copy(cached_compacted_store(n), Path(tmp) / "store")
            by_size[str(n)] = drop_figures(mirror.root)
        print(f"store_maintenance {n}: drop_runs {by_size[str(n)]}", file=sys.stderr, flush=True)
    return {"store_drop_runs": figure(by_size, command, definition=(
        f"Store.drop_runs of {DROPPED} run_ids (one compacted pair holds them) on a mirror of the compacted "
        "synthetic store: cpu_s, wall_s, peak_gib, runs files, files rewritten, checked per runs"))}
