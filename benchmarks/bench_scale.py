"""How albench's analysis and grid bookkeeping grow with the number of stored runs.

For each size n (runs; 20 cycles each, so 20 n curve rows) a synthetic results
folder in the real layout is written by ``benchmarks/synthetic_store.py``
(kept in ``$TMPDIR/albench-scale/<n>`` and reused while complete), and each
step below runs in its own subprocess, timed by ``os.wait4``: CPU seconds
(user + system, every thread), wall seconds and peak resident memory (GiB,
the child's VmHWM sampled every 50 ms).
A step whose memory passes ``MEMORY_CAP_GIB`` or whose wall time passes
``TIME_CAP_S`` is killed and reported as such, with the figure it reached.

- ``open``: ``albench.results.open(dir)`` and reading ``.runs`` and ``.curves``.
- ``analyze``: ``albench analyze dir --json`` (leaderboard, statistics,
  influence, minimal design, stability with bootstrap intervals).
- ``report``: ``albench report dir``.
- ``grid_show`` / ``grid_show_exclude``: ``albench grid show`` of the grid
  that produced the store, without and with one exclude rule.
- ``pending``: ``albench.execute.pending(grid, store)``, the "what is left
  to run" check (must find 0 left: the store holds every run of the grid).
- ``rerun``: ``albench grid run grid.yaml --out dir`` on the complete store
  (the check, then the closing leaderboard).
- ``duckdb_groupby``: the reference, ``SELECT strategy, avg(auc_accuracy)
  FROM runs GROUP BY 1`` in DuckDB over the runs parts.
- ``compact`` (sizes up to ``COMPACT_MAX_RUNS``): a store of the same grid
  written in parts of ``COMPACT_RUNS_PER_PART`` runs (as slow runs left them
  when parts were written every 10 s; cached as ``<n>-parts<k>-v<version>``)
  is copied to a temporary folder, then: ``pending`` and ``query`` (``albench
  query dir "SELECT strategy, avg(auc_accuracy) FROM runs GROUP BY 1"``) are
  measured before compaction, ``albench compact`` itself (time, peak memory),
  and ``pending`` and ``query`` again after it. Figure ``scale_compact``: per
  size, the part counts before and after and the five measurements.
- ``compacted`` (every size, and 4.6 x 10^6 with the full sizes): ``analyze`` and
  ``report`` again on the store as a finished ``grid run`` leaves it: a copy
  compacted by ``albench compact`` (a grid that leaves more than 100 parts
  compacts by itself; cached as ``<n>-compact-v<version>``). OGAL's 4.6 x
  10^6 runs are ``benchmarks/replicate_store.py``'s 4.6 copies of the
  compacted 10^6 store (new data sets and run_ids, the same values), since
  writing them run by run takes hours. Figures ``scale_compacted_<step>``,
  their growth and the goals at 10^6 and 4.6 x 10^6 (``--steps
  compacted_analyze`` or ``compacted_report``: one of the two).
- ``ogal_grid`` (with the full sizes, or when asked for): the grid checks
  at OGAL's size, on that 4.6 x 10^6-run store (its run_ids are those of
  its grid file): ``grid_show`` and ``grid_show_exclude``, ``pending`` and
  ``pending_exclude`` (must find 0 left; the second with the exclude rule of
  ``grid-exclude.yaml``) and ``rerun``. Figures ``scale_compacted_<step>`` and
  their goals.
- ``stored_ids`` (in this process, once, at ``STORED_IDS`` = 4.6 x 10^6
  random 16-hex-digit run_ids): the set of stored run_ids that the "what is
  left" check builds, the old way (a pandas column made a Python set) and
  as ``albench.run_ids.RunIds`` (sorted integer keys): seconds to build from
  an Arrow column, MiB held (tracemalloc), and microseconds per lookup of
  every id in batches of ``execute.LOOKUP_CHUNK``. Figure ``scale_stored_ids``.
- ``many_values_analyze``: ``albench analyze`` on 800 runs (8 strategies x
  100 seeds, ``synthetic_store.many_seeds_yaml``): a hyperparameter with many
  values must not stall the influence step (goal: under 30 s).

Figures: ``scale_<step>`` (per size: cpu_s, wall_s, peak_gib, status) and
``scale_<step>_growth`` (the exponent b of cpu_s ~ n^b between each pair of
consecutive sizes; the issue's goal for analyze and report is b <= 1.1 from
10^4 to 10^6). Where a size is a goal's size (analyze and report at 10^6
runs; the grid checks at 4.6 x 10^6), the goal figures are added.

Sizes: quick 1000 and 5000 runs; full 10^4, 10^5 and 10^6 runs (the store
takes about 30 MB of disk and 15 s of CPU per 10^4 runs, so about 3 GB and
half an hour at 10^6). ``python -m benchmarks --only scale --sizes 10000
100000`` picks others (multiples of 500); ``run(quick, sizes, only=[...],
time_cap_s=...)`` runs some steps only.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import figure, synthetic_store

QUICK_SIZES = (1000, 5000)
FULL_SIZES = (10_000, 100_000, 1_000_000)
MEMORY_CAP_GIB = 12.0
TIME_CAP_S = 1800.0
CACHE = Path(tempfile.gettempdir()) / "albench-scale"
STORE_VERSION = 2  # bump when synthetic_store's layout changes, so cached stores are rewritten
GIB = 1024 ** 3

PY = sys.executable
ALBENCH = [PY, "-m", "albench"]
OPEN = "import sys, albench.results as r; x = r.open(sys.argv[1]); print(len(x.runs), len(x.curves))"
PENDING = ("import sys; from albench.spec import load_grid; from albench.store import Store; "
           "from albench.execute import pending; todo, skipped = pending(load_grid(sys.argv[1]), Store(sys.argv[2])); "
           "print(len(todo), skipped); sys.exit(1 if todo else 0)")
STORED_IDS = 4_600_000
OGAL_RUNS = 4_600_000
COMPACTED_STEPS = ("analyze", "report")
OGAL_GRID_STEPS = ("grid_show", "grid_show_exclude", "pending", "pending_exclude", "rerun")
REPLICA_VERSION = 3  # bump when replicate_store changes (3: the run_ids of the replicated grid)
QUERY_SQL = "SELECT strategy, avg(auc_accuracy) FROM runs GROUP BY 1"
COMPACT_MAX_RUNS = 10_000  # the many-parts store takes about 25 s per 10^3 parts to write
COMPACT_RUNS_PER_PART = 5
DUCKDB = ("import sys, duckdb; print(duckdb.sql(\"SELECT strategy, avg(auc_accuracy) FROM read_parquet('\" "
          "+ sys.argv[1] + \"/runs/*.parquet', union_by_name=true) GROUP BY 1\").fetchall())")

# goals of issue 14: (step, size) -> (wall seconds, peak GiB)
GOALS = {("analyze", 1_000_000): (300, 4), ("report", 1_000_000): (300, 4),
         ("analyze", 4_600_000): (None, 8), ("report", 4_600_000): (None, 8),
         ("pending", 4_600_000): (60, 2), ("pending_exclude", 4_600_000): (60, 2), ("rerun", 4_600_000): (60, 2),
         ("grid_show", 4_600_000): (10, None), ("grid_show_exclude", 4_600_000): (10, None)}


def steps(root: Path) -> dict[str, list[str]]:
    grid, grid_x = str(root / "grid.yaml"), str(root / "grid-exclude.yaml")
    return {
        "open": [PY, "-c", OPEN, str(root)],
        "analyze": [*ALBENCH, "analyze", str(root), "--json"],
        "report": [*ALBENCH, "report", str(root), "--out", str(root / "report"), "--json"],
        "grid_show": [*ALBENCH, "grid", "show", grid],
        "grid_show_exclude": [*ALBENCH, "grid", "show", grid_x],
        "pending": [PY, "-c", PENDING, grid, str(root)],
        "pending_exclude": [PY, "-c", PENDING, grid_x, str(root)],
        "rerun": [*ALBENCH, "grid", "run", grid, "--out", str(root)],
        "duckdb_groupby": [PY, "-c", DUCKDB, str(root)],
    }


def compact_figures(n_runs: int, time_cap_s: float = TIME_CAP_S, cache: Path = CACHE) -> dict:
    """The ``compact`` step at ``n_runs``: pending and query before and after compacting a copy of the
    many-parts store (see the module docstring)."""
    source = cache / f"{n_runs}-parts{COMPACT_RUNS_PER_PART}-v{STORE_VERSION}"
    if not (source / "truth.json").exists():
        shutil.rmtree(source, ignore_errors=True)
        synthetic_store.write_store(source, n_runs, runs_per_part=COMPACT_RUNS_PER_PART)
    with tempfile.TemporaryDirectory(prefix="albench-compact-") as tmp:
        root = Path(tmp) / "store"
        shutil.copytree(source, root)  # the cached store keeps its many parts
        grid = str(root / "grid.yaml")
        query = [*ALBENCH, "query", str(root), QUERY_SQL]
        out: dict = {"parts_before": _count_parts(root)}
        out["pending_before"] = measure([PY, "-c", PENDING, grid, str(root)], time_cap_s=time_cap_s)
        out["query_before"] = measure(query, time_cap_s=time_cap_s)
        out["compact"] = measure([*ALBENCH, "compact", str(root)], time_cap_s=time_cap_s)
        out["parts_after"] = _count_parts(root)
        out["pending_after"] = measure([PY, "-c", PENDING, grid, str(root)], time_cap_s=time_cap_s)
        out["query_after"] = measure(query, time_cap_s=time_cap_s)
    return out


def stored_ids_figures(n: int = STORED_IDS, seed: int = 0) -> dict:
    """The ``stored_ids`` step (see the module docstring): the old set of str against ``RunIds``."""
    import tracemalloc

    import numpy as np
    import pyarrow as pa

    from albench.execute import LOOKUP_CHUNK
    from albench.run_ids import RunIds

    rng = np.random.default_rng(seed)
    ids = np.char.mod("%016x", rng.integers(0, 1 << 62, size=n, dtype=np.int64)).astype(object).tolist()
    column = pa.array(ids, pa.string())
    out = {}
    for name, build, lookups in (
            ("python_set", lambda: set(column.to_pandas()), lambda held: sum(i in held for i in ids)),
            ("run_ids", lambda: RunIds.from_arrow(column), lambda held: sum(
                int(held.contains(ids[i:i + LOOKUP_CHUNK]).sum()) for i in range(0, n, LOOKUP_CHUNK)))):
        tracemalloc.start()
        t0 = time.perf_counter()
        held = build()
        build_s = time.perf_counter() - t0
        mib = tracemalloc.get_traced_memory()[0] / 1024 ** 2
        tracemalloc.stop()
        t0 = time.perf_counter()
        found = lookups(held)
        out[name] = {"build_s": round(build_s, 2), "mib": round(mib, 1),
                     "lookup_us": round((time.perf_counter() - t0) / n * 1e6, 3), "found_all": found == n}
        del held
    return out


def _count_parts(root: Path) -> int:
    return len(list((root / "runs").glob("part-*.parquet")))


def measure(cmd: list[str], memory_cap_gib: float = MEMORY_CAP_GIB, time_cap_s: float = TIME_CAP_S) -> dict:
    """Run ``cmd``; its CPU seconds, wall seconds, peak RSS (GiB) and status (ok, exit <rc>, killed ...)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "COLUMNS": "200"})
    status, peak_seen = None, 0.0
    while True:
        pid, code, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak_seen = max(peak_seen, _peak_rss_gib(proc.pid))
        elapsed = time.perf_counter() - t0
        if peak_seen > memory_cap_gib or elapsed > time_cap_s:
            status = (f"killed above {memory_cap_gib:g} GiB" if peak_seen > memory_cap_gib
                      else f"killed after {time_cap_s:g} s")
            os.kill(proc.pid, signal.SIGKILL)
            pid, code, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(code)  # reaped by wait4; keeps Popen from waiting again
    stderr = proc.stderr.read().decode(errors="replace").strip().splitlines() if proc.stderr else []
    if status is None:
        status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}: {stderr[-1] if stderr else ''}"
    return {"cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "wall_s": round(time.perf_counter() - t0, 2),
            "peak_gib": round(peak_seen, 3), "status": status}


def _peak_rss_gib(pid: int) -> float:
    """The process's own high-water RSS (VmHWM). Not ``ru_maxrss``: after fork and exec, Linux reports
    at least the parent's RSS there, which made every small step look like this runner's 0.24 GiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / GIB
    except (OSError, ValueError):
        pass
    return 0.0


def store_for(n_runs: int, cache: Path = CACHE) -> Path:
    """The synthetic store of ``n_runs`` runs, written unless a complete one is cached (truth.json is last)."""
    root = cache / f"{n_runs}-v{STORE_VERSION}"
    if not (root / "truth.json").exists():
        shutil.rmtree(root, ignore_errors=True)
        synthetic_store.write_store(root, n_runs)
    shutil.rmtree(root / "report", ignore_errors=True)
    return root


def compacted_root(n_runs: int, cache: Path = CACHE) -> Path:
    """Where ``compacted_store_for`` caches the compacted store of ``n_runs`` runs."""
    replica = f"-replica{REPLICA_VERSION}" if n_runs == OGAL_RUNS else ""
    return cache / f"{n_runs}-compact-v{STORE_VERSION}{replica}"


def compacted_store_for(n_runs: int, cache: Path = CACHE) -> Path:
    """The synthetic store of ``n_runs`` runs compacted as ``grid run`` leaves it (4.6 x 10^6: 4.6 copies of
    the compacted 10^6 store), made unless cached (a ``.complete`` file is written last)."""
    from benchmarks.replicate_store import replicate

    root = compacted_root(n_runs, cache)
    if not (root / ".complete").exists():
        shutil.rmtree(root, ignore_errors=True)
        if n_runs == OGAL_RUNS:
            replicate(compacted_store_for(1_000_000, cache), root, OGAL_RUNS / 1_000_000)
        else:
            shutil.copytree(store_for(n_runs, cache), root)
            subprocess.run([*ALBENCH, "compact", str(root)], check=True, stdout=subprocess.DEVNULL)
        (root / ".complete").touch()
    shutil.rmtree(root / "report", ignore_errors=True)
    return root


def compacted_figures(sizes: list[int], time_cap_s: float = TIME_CAP_S,
                      which: tuple[str, ...] = COMPACTED_STEPS) -> dict[str, dict[str, dict]]:
    """The ``compacted`` step: ``which`` of analyze and report on compacted stores, per size."""
    out: dict[str, dict[str, dict]] = {}
    for n in sizes:
        commands = steps(compacted_store_for(n))
        for step in which:
            out.setdefault(step, {})[str(n)] = measure(commands[step], time_cap_s=time_cap_s)
            print(f"scale {n} compacted: {step} {out[step][str(n)]}", file=sys.stderr, flush=True)
    return out


def growth(sizes: list[int], by_size: dict[str, dict]) -> dict[str, float | None]:
    """Exponent b of cpu_s ~ n^b between consecutive sizes (None where a step did not finish)."""
    out = {}
    for a, b in zip(sizes, sizes[1:]):
        fa, fb = by_size.get(str(a), {}), by_size.get(str(b), {})
        ok = fa.get("status") == fb.get("status") == "ok" and fa["cpu_s"] > 0
        out[f"{a}->{b}"] = round(math.log(fb["cpu_s"] / fa["cpu_s"]) / math.log(b / a), 3) if ok else None
    return out


def run(quick: bool, sizes: list[int] | None = None, only: list[str] | None = None,
        time_cap_s: float = TIME_CAP_S) -> dict:
    """The figures of the module docstring; ``only`` limits the steps (from Python: ``run(False, [10**5],
    only=["pending", "rerun"])``), ``time_cap_s`` the wall time of each."""
    sizes = sorted(sizes or (QUICK_SIZES if quick else FULL_SIZES))
    command = "python -m benchmarks --only scale" + ("" if sizes in (list(QUICK_SIZES), list(FULL_SIZES))
                                                     else " --sizes " + " ".join(map(str, sizes)))
    command += " --steps " + " ".join(only) if only else ""
    results: dict[str, dict[str, dict]] = {}
    store_s: dict[str, float] = {}
    per_size = only is None or bool(set(only) & set(steps(CACHE)))
    for n in sizes if per_size else []:  # only the stores some step reads: 4.6e6 run by run takes hours
        t0 = time.perf_counter()
        root = store_for(n)
        store_s[str(n)] = round(time.perf_counter() - t0, 1)
        for step, cmd in steps(root).items():
            if only is not None and step not in only:
                continue
            if step == "rerun" and results.get("pending", {}).get(str(n), {}).get("status", "ok") != "ok":
                results.setdefault(step, {})[str(n)] = {"status": "skipped: pending found runs left"}
                continue
            results.setdefault(step, {})[str(n)] = measure(cmd, time_cap_s=time_cap_s)
            print(f"scale {n}: {step} {results[step][str(n)]}", file=sys.stderr, flush=True)
    if only is None or "compact" in only:
        for n in sizes:
            if n <= COMPACT_MAX_RUNS:
                results.setdefault("compact", {})[str(n)] = compact_figures(n, time_cap_s)
                print(f"scale {n}: compact {results['compact'][str(n)]}", file=sys.stderr, flush=True)
    compacted = {}
    which = tuple(s for s in COMPACTED_STEPS if only is None or "compacted" in only or f"compacted_{s}" in only)
    if which:
        # OGAL's size with the full sizes, or when asked for (--sizes ... 4600000)
        compacted = compacted_figures([*sizes, *([OGAL_RUNS] if sizes == list(FULL_SIZES) else [])], time_cap_s,
                                      which)
    if (only is None and sizes == list(FULL_SIZES)) or (only is not None and "ogal_grid" in only):
        commands = steps(compacted_store_for(OGAL_RUNS))  # OGAL's size: as the compacted step, not --quick
        for step in OGAL_GRID_STEPS:
            pending_ok = compacted.get("pending", {}).get(str(OGAL_RUNS), {}).get("status", "ok") == "ok"
            compacted.setdefault(step, {})[str(OGAL_RUNS)] = (
                measure(commands[step], time_cap_s=time_cap_s) if step != "rerun" or pending_ok
                else {"status": "skipped: pending found runs left"})
            print(f"scale {OGAL_RUNS} compacted: {step} {compacted[step][str(OGAL_RUNS)]}", file=sys.stderr,
                  flush=True)
    if only is None or "stored_ids" in only:
        results["stored_ids"] = stored_ids_figures()
        print(f"scale stored ids: {results['stored_ids']}", file=sys.stderr, flush=True)
    if only is None or "many_values_analyze" in only:
        root = CACHE / f"many-seeds-v{STORE_VERSION}"
        if not (root / "truth.json").exists():
            shutil.rmtree(root, ignore_errors=True)
            synthetic_store.write_store(root, None, grid_text=synthetic_store.many_seeds_yaml())
        results["many_values_analyze"] = {"800": measure(steps(root)["analyze"], time_cap_s=time_cap_s)}
        print(f"scale many values: {results['many_values_analyze']}", file=sys.stderr, flush=True)
    figures: dict = {"scale_store_write_s": figure(store_s, command, definition="seconds to write (or find "
                                                   "cached) each synthetic store")} if store_s else {}
    for step, by_size in results.items():
        if step == "stored_ids":
            figures["scale_stored_ids"] = figure(by_size, command, definition=(
                f"{STORED_IDS} stored run_ids as a Python set of str and as albench.run_ids.RunIds: seconds to "
                "build, MiB held, microseconds per lookup"))
            continue
        if step == "compact":
            figures["scale_compact"] = figure(by_size, command, definition=(
                f"per runs: runs parts before/after `albench compact` of a store in parts of "
                f"{COMPACT_RUNS_PER_PART} runs, and cpu_s, wall_s, peak_gib of pending and query before, "
                f"compact, pending and query after"))
            continue
        figures[f"scale_{step}"] = figure(by_size, command, definition=f"{step}: cpu_s, wall_s, peak_gib per runs")
        if step == "many_values_analyze":
            fig = by_size["800"]
            figures["scale_many_values_analyze_wall_s"] = figure(
                fig["wall_s"] if fig["status"] == "ok" else None, command, goal="< 30",
                definition="albench analyze on 800 runs, 8 strategies x 100 seeds")
            continue
        if len(sizes) > 1:
            goal = "<= 1.1" if step in ("analyze", "report") else None
            rates = growth(sizes, by_size)
            figures[f"scale_{step}_growth"] = figure(
                rates, command, definition="exponent b of cpu_s ~ runs^b between consecutive sizes"
                + (" (goal <= 1.1 from 10^4 to 10^6)" if goal else ""))
        for n in sizes:
            wall, gib = GOALS.get((step, n), (None, None))
            fig = by_size.get(str(n), {})
            finished = fig.get("status") == "ok"
            if wall is not None:
                figures[f"scale_{step}_{n}_wall_s"] = figure(fig["wall_s"] if finished else None,
                                                             command, goal=f"< {wall}")
            if gib is not None:
                figures[f"scale_{step}_{n}_peak_gib"] = figure(fig["peak_gib"] if finished else None,
                                                               command, goal=f"< {gib}")
    for step, by_size in compacted.items():
        name = f"scale_compacted_{step}"
        figures[name] = figure(by_size, command, definition=f"{step} on the compacted store: cpu_s, wall_s, "
                                                            "peak_gib per runs (4.6e6: replicate_store copies)")
        measured = sorted(int(n) for n in by_size)
        if len(measured) > 1:
            figures[f"{name}_growth"] = figure(growth(measured, by_size), command,
                                               definition="exponent b of cpu_s ~ runs^b (goal <= 1.1 to 10^6)")
        for n in measured:
            wall, gib = GOALS.get((step, n), (None, None))
            fig = by_size[str(n)]
            finished = fig.get("status") == "ok"
            if wall is not None:
                figures[f"{name}_{n}_wall_s"] = figure(fig["wall_s"] if finished else None, command, goal=f"< {wall}")
            if gib is not None:
                figures[f"{name}_{n}_peak_gib"] = figure(fig["peak_gib"] if finished else None, command,
                                                         goal=f"< {gib}")
    return figures
