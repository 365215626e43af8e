"""What albench's executors cost: against the learner's own work, a second worker, a plain loop.

- ``overhead_vs_limit``: wall time of the quick grid on a 1-worker LocalCluster
  (from calling ``run_grid_dask`` on a started cluster until every row is
  written, so the worker's data loading, every store write and all scheduling
  count) divided by the seconds spent inside the learners' own ``fit`` and
  ``predict_proba`` during those runs (``benchmarks/learner_timer.py``, clocked
  on the worker). Goal <= 1.10.
- ``overhead_vs_compute``: the same wall time divided by the runs' own measured
  compute, the sum of ``fit_s + query_s + eval_s + prepare_s`` (so the
  strategy's scoring and the metrics count as work). Goal <= 1.10.
- ``scaling_2_workers``: that 1-worker wall time divided by the same grid's
  wall time on 2 workers. Goal >= 1.7 on two cores.
- ``vs_modal_loop``: the same AL runs (the uncertainty strategies, modAL's
  information density and random on logistic regression) done by the
  modAL-style loop of ``benchmarks/modal_style_loop.py`` and by albench's local
  executor (``run_grid`` into a fresh store), in this process with one BLAS
  thread: the loop's wall time divided by albench's, best of ``repeats``
  alternating rounds each. Above 1 means albench is faster.
  ``vs_modal_loop_same_picks`` is the fraction of runs in which both picked the
  same data-set rows in every cycle (must be 1.0); ``vs_modal_loop_min_run`` the
  smallest per-run ratio (the loop's time for the run over the run's
  ``total_s`` in albench, best of the rounds); ``vs_modal_loop_by_strategy``
  the ratio of summed times per strategy.

Quick mode runs one seed and one batch size of the quick grid, and the loop
comparison on two data sets. Stores go to temporary folders; ``results/`` is
not touched.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import yaml

from albench import datasets
from albench.spec import Grid, grid_from_dict
from albench.store import Store
from benchmarks import figure, learner_timer, modal_style_loop

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "python -m benchmarks --only executor"


def quick_grid(quick: bool) -> Grid:
    doc = yaml.safe_load((ROOT / "grids" / "quick.yaml").read_text())
    if quick:
        doc["params"].update(seed=0, batch_size=10)
    return grid_from_dict(doc, str(ROOT / "grids" / "quick.yaml"))


def loop_grid(quick: bool, datasets_: list[str] | None = None, budget: int = 20) -> Grid:
    """The runs compared with the modAL-style loop: every strategy the loop has a twin of, on logreg."""
    names = datasets_ or (["iris", "wine"] if quick else ["iris", "wine", "breast_cancer", "digits"])
    strategies = ["random", "least_confident", "margin", "entropy",
                  {"name": "information_density", **modal_style_loop.DENSITY}]
    return grid_from_dict({"name": "vs-modal", "kind": "al", "params": {
        "dataset": names, "learner": "logreg", "strategy": strategies,
        "batch_size": [1, 10], "budget": budget, "seed": 0}})


def on_cluster(grid: Grid, workers: int, clock_learners: bool = False):
    """(wall seconds, runs table, seconds inside the learners or None) of ``grid`` on a new LocalCluster."""
    from albench.dask_executor import connect, run_grid_dask

    learners = sorted({(s.params["learner"]["name"], str(s.params["learner"]["params"])): s.params["learner"]
                       for s in grid.specs()}.items())
    print(f"  {grid.name} grid ({len(grid)} runs) on {workers} worker(s)", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as tmp, connect(workers=workers) as client:
        if clock_learners:
            client.run(learner_timer.install, [learner for _, learner in learners])
            client.run(learner_timer.reset)
        t0 = time.perf_counter()
        run_grid_dask(grid, Store(tmp), client)
        wall = time.perf_counter() - t0
        inside = sum(client.run(learner_timer.seconds).values()) if clock_learners else None
        return wall, Store(tmp).read("runs"), inside


def executor_figures(quick: bool) -> dict:
    grid = quick_grid(quick)
    wall_1, runs, learner_s = on_cluster(grid, 1, clock_learners=True)
    wall_2, runs_2, _ = on_cluster(grid, 2)
    ok = runs[runs["status"] == "ok"]
    compute = float((ok["fit_s"] + ok["query_s"] + ok["eval_s"] + ok["prepare_s"]).sum())
    common = dict(runs=len(runs), failed=int((runs["status"] != "ok").sum() + (runs_2["status"] != "ok").sum()))
    return {
        "overhead_vs_limit": figure(wall_1 / learner_s, COMMAND, goal="<= 1.10", wall_1_worker_s=wall_1,
                                    learner_s=learner_s, definition="1-worker wall / seconds inside the "
                                    "learners' fit and predict_proba", **common),
        "overhead_vs_compute": figure(wall_1 / compute, COMMAND, goal="<= 1.10", wall_1_worker_s=wall_1,
                                      compute_s=compute,
                                      definition="1-worker wall / sum(fit_s + query_s + eval_s + prepare_s)",
                                      **common),
        "scaling_2_workers": figure(wall_1 / wall_2, COMMAND, goal=">= 1.7", wall_1_worker_s=wall_1,
                                    wall_2_workers_s=wall_2, definition="1-worker wall / 2-worker wall",
                                    **common),
    }


def time_loop(grid: Grid, folder: Path) -> tuple[float, dict, dict]:
    """(wall, picks by run_id, seconds by run_id) of the modAL-style loop over the grid's runs."""
    datasets._load_cached.cache_clear()
    picks, seconds = {}, {}
    t0 = time.perf_counter()
    for spec in grid.specs():
        t = time.perf_counter()
        picks[spec.run_id] = modal_style_loop.run(spec.params, folder / "loop.csv", spec.run_id)
        seconds[spec.run_id] = time.perf_counter() - t
    return time.perf_counter() - t0, picks, seconds


def time_albench(grid: Grid, folder: Path):
    """(wall, runs, picks by run_id) of albench's local executor over the grid, into a fresh store."""
    from albench.execute import run_grid

    datasets._load_cached.cache_clear()
    store = Store(folder)
    summary = run_grid(grid, store)
    runs, curves = store.read("runs"), store.read("curves")
    picks = {rid: [list(map(int, q)) for q in g.sort_values("cycle")["queried"] if len(q)]
             for rid, g in curves.groupby("run_id")}
    return summary.wall_s, runs, picks


def compare_with_loop(grid: Grid, repeats: int) -> dict:
    """Both sides over the same runs, alternating; best wall and best per-run time of each."""
    from threadpoolctl import threadpool_limits

    from albench.execute import RUN_THREADS

    loop_wall = albench_wall = float("inf")
    loop_s: dict[str, float] = {}
    albench_s: dict[str, float] = {}
    with threadpool_limits(limits=RUN_THREADS):  # the thread count albench uses, for both
        for i in range(repeats):
            print(f"  modAL-style loop and albench over {len(grid)} runs, round {i + 1} of {repeats}",
                  file=sys.stderr, flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                wall, loop_picks, seconds = time_loop(grid, Path(tmp))
            loop_wall = min(loop_wall, wall)
            for rid, s in seconds.items():
                loop_s[rid] = min(loop_s.get(rid, s), s)
            with tempfile.TemporaryDirectory() as tmp:
                wall, runs, albench_picks = time_albench(grid, Path(tmp))
            albench_wall = min(albench_wall, wall)
            for r in runs.itertuples():
                albench_s[r.run_id] = min(albench_s.get(r.run_id, r.total_s), r.total_s)
    strategy = {spec.run_id: spec.params["strategy"]["name"] for spec in grid.specs()}
    by_strategy = {name: sum(loop_s[r] for r in loop_s if strategy[r] == name)
                   / sum(albench_s[r] for r in albench_s if strategy[r] == name)
                   for name in sorted(set(strategy.values()))}
    return {"loop_wall_s": loop_wall, "albench_wall_s": albench_wall, "runs": len(loop_picks),
            "same_picks": sum(albench_picks.get(r) == p for r, p in loop_picks.items()) / len(loop_picks),
            "per_run": {r: loop_s[r] / albench_s[r] for r in loop_s if r in albench_s},
            "by_strategy": by_strategy}


def loop_figures(quick: bool) -> dict:
    c = compare_with_loop(loop_grid(quick), repeats=1 if quick else 3)
    return {
        "vs_modal_loop": figure(c["loop_wall_s"] / c["albench_wall_s"], COMMAND, goal=">= 1",
                                loop_wall_s=c["loop_wall_s"], albench_wall_s=c["albench_wall_s"], runs=c["runs"],
                                definition="modAL-style loop wall / albench in-process wall, same runs"),
        "vs_modal_loop_same_picks": figure(c["same_picks"], COMMAND, goal=">= 1.0",
                                           definition="fraction of runs where both picked the same rows every cycle"),
        "vs_modal_loop_min_run": figure(min(c["per_run"].values()), COMMAND, goal=">= 1",
                                        definition="smallest per-run ratio: loop time / albench total_s"),
        "vs_modal_loop_by_strategy": figure({k: round(v, 3) for k, v in c["by_strategy"].items()}, COMMAND,
                                            definition="loop time / albench time, summed over each strategy's runs"),
    }


def run(quick: bool) -> dict:
    return {**loop_figures(quick), **executor_figures(quick)}
