"""What albench's executors cost: against the learner's own work, a second worker, a plain loop.

- ``overhead_vs_limit``: wall time of the quick grid on a 1-worker LocalCluster
  (from calling ``run_grid_dask`` on a started cluster until every row is
  written, so the workers' imports and data loading count) divided by the sum
  over runs of ``fit_s + eval_s``: the learner's fits, plus its predictions on
  the test split and the three metrics computed from them. Goal <= 1.10.
- ``overhead_vs_compute``: the same wall time divided by the sum of
  ``fit_s + query_s + eval_s + prepare_s`` (the runs' whole measured compute).
- ``scaling_2_workers``: that 1-worker wall time divided by the same grid's
  wall time on 2 workers. Goal >= 1.7 on two cores.
- ``vs_modal_loop``: the same AL runs done by the modAL-style loop of
  ``benchmarks/modal_style_loop.py`` and by albench's local executor
  (``run_grid`` into a fresh store), both with one BLAS thread in this process:
  the loop's wall time divided by albench's (best of ``repeats`` each). Above
  1 means albench is faster. ``vs_modal_loop_same_picks`` is the fraction of
  runs in which both picked the same indices in every cycle (must be 1.0);
  ``vs_modal_loop_min_run`` is the smallest per-run ratio (loop time over the
  run's ``total_s`` in albench).

Quick mode uses one seed and one batch size of the quick grid. Stores go to
temporary folders; ``results/`` is not touched.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import yaml

from albench import datasets
from albench.spec import Grid, grid_from_dict
from albench.store import Store
from benchmarks import figure
from benchmarks import modal_style_loop

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "python -m benchmarks --only executor"


def quick_grid(quick: bool) -> Grid:
    doc = yaml.safe_load((ROOT / "grids" / "quick.yaml").read_text())
    if quick:
        doc["params"].update(seed=0, batch_size=10)
    return grid_from_dict(doc, str(ROOT / "grids" / "quick.yaml"))


def loop_grid(quick: bool) -> Grid:
    """The runs compared with the modAL-style loop: every uncertainty twin and random, on logreg."""
    return grid_from_dict({"name": "vs-modal", "kind": "al", "params": {
        "dataset": ["iris", "wine"] if quick else ["iris", "wine", "breast_cancer", "digits"],
        "learner": "logreg", "strategy": ["random", "least_confident", "margin", "entropy"],
        "batch_size": [1, 10], "budget": 20, "seed": 0}})


def _on_cluster(grid: Grid, workers: int) -> tuple[float, object]:
    from albench.dask_executor import connect, run_grid_dask

    with tempfile.TemporaryDirectory() as tmp, connect(workers=workers) as client:
        t0 = time.perf_counter()
        run_grid_dask(grid, Store(tmp), client)
        wall = time.perf_counter() - t0
        return wall, Store(tmp).read("runs")


def executor_figures(quick: bool) -> dict:
    grid = quick_grid(quick)
    wall_1, runs = _on_cluster(grid, 1)
    wall_2, _ = _on_cluster(grid, 2)
    ok = runs[runs["status"] == "ok"]
    limit = float((ok["fit_s"] + ok["eval_s"]).sum())
    compute = float((ok["fit_s"] + ok["query_s"] + ok["eval_s"] + ok["prepare_s"]).sum())
    command = COMMAND + (" --quick" if quick else "")
    common = dict(runs=len(runs), failed=int((runs["status"] != "ok").sum()))
    return {
        "overhead_vs_limit": figure(wall_1 / limit, command, goal="<= 1.10", wall_1_worker_s=wall_1,
                                    fit_plus_eval_s=limit, definition="1-worker wall / sum(fit_s + eval_s)",
                                    **common),
        "overhead_vs_compute": figure(wall_1 / compute, command, wall_1_worker_s=wall_1, compute_s=compute,
                                      definition="1-worker wall / sum(fit_s + query_s + eval_s + prepare_s)",
                                      **common),
        "scaling_2_workers": figure(wall_1 / wall_2, command, goal=">= 1.7", wall_1_worker_s=wall_1,
                                    wall_2_workers_s=wall_2, definition="1-worker wall / 2-worker wall",
                                    **common),
    }


def _time_loop(grid: Grid, folder: Path) -> tuple[float, dict, dict]:
    datasets._load_cached.cache_clear()
    picks, seconds = {}, {}
    t0 = time.perf_counter()
    for spec in grid.specs():
        t = time.perf_counter()
        picks[spec.run_id] = modal_style_loop.run(spec.params, folder / "loop.csv", spec.run_id)
        seconds[spec.run_id] = time.perf_counter() - t
    return time.perf_counter() - t0, picks, seconds


def _time_albench(grid: Grid, folder: Path):
    from albench.execute import run_grid

    datasets._load_cached.cache_clear()
    store = Store(folder)
    summary = run_grid(grid, store)
    return summary.wall_s, store


def loop_figures(quick: bool) -> dict:
    from threadpoolctl import threadpool_limits

    from albench.execute import RUN_THREADS

    grid, repeats = loop_grid(quick), 1 if quick else 2
    loop_walls, albench_walls = [], []
    with threadpool_limits(limits=RUN_THREADS):  # the thread count albench uses, for both
        for i in range(repeats):
            with tempfile.TemporaryDirectory() as tmp:
                wall, picks, loop_seconds = _time_loop(grid, Path(tmp))
                loop_walls.append(wall)
            with tempfile.TemporaryDirectory() as tmp:
                wall, store = _time_albench(grid, Path(tmp))
                albench_walls.append(wall)
                runs, curves = store.read("runs"), store.read("curves")
    albench_picks = {rid: [list(map(int, q)) for q in g.sort_values("cycle")["queried"] if len(q)]
                     for rid, g in curves.groupby("run_id")}
    same = sum(albench_picks.get(rid) == p for rid, p in picks.items()) / len(picks)
    per_run = {r.run_id: loop_seconds[r.run_id] / r.total_s for r in runs.itertuples()}
    command = COMMAND + (" --quick" if quick else "")
    return {
        "vs_modal_loop": figure(min(loop_walls) / min(albench_walls), command, goal=">= 1",
                                loop_wall_s=min(loop_walls), albench_wall_s=min(albench_walls), runs=len(picks),
                                definition="modAL-style loop wall / albench in-process wall, same runs"),
        "vs_modal_loop_same_picks": figure(same, command, goal=">= 1.0",
                                           definition="fraction of runs where both picked the same indices"),
        "vs_modal_loop_min_run": figure(min(per_run.values()), command,
                                        definition="smallest per-run ratio: loop time / albench total_s"),
    }


def run(quick: bool) -> dict:
    return {**loop_figures(quick), **executor_figures(quick)}
