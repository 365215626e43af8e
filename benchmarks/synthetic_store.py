"""Synthetic AL results in albench's real layout, with a known ground truth.

``write_store(root, n_runs)`` writes the grid file ``<root>/grid.yaml`` and,
through :class:`albench.store.Store`'s own writer, the results folder
``<root>/runs/`` and ``<root>/curves/``: one part per 200 runs (``runs_per_part``),
20 cycles per run (budget 19), every column an AL run stores, typed by the declared
schema (``albench.table_schema``; ``queried`` as integer lists). The run_ids are those of the grid's real RunSpecs, so ``albench grid
run <root>/grid.yaml --out <root>`` finds nothing left to run.

The grid: 10 strategies x 2 learners x 5 batch sizes x 5 splits x S start
points x D data sets (``blobs`` with ``data_seed`` 0..D-1), S = min(20,
n_runs / 500), D = n_runs / (500 S); ``n_runs`` must be a multiple of 500.
Runs are written part by part (streaming: memory does not grow with
``n_runs``), strategies varying fastest, so every part holds whole blocks.

Ground truth (also written to ``<root>/truth.json``): accuracy at cycle c of
20 is ``base[dataset] + gain (1 - exp(-c / 5)) + strategy_effect * c / 19 +
batch_effect + learner_effect + run noise + cycle noise``, so the expected
trapezoid AUC of a strategy exceeds random's by ``strategy_effect / 2``;
splits and start points have no effect beyond noise. A fraction
``ERROR_FRACTION`` of runs are ``status=error`` rows without curves.

    python -m benchmarks.synthetic_store results/synthetic-1e5 --runs 100000
"""

from __future__ import annotations

import argparse
import json
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from albench.al_loop import learning_curve_summary
from albench.execute import base_row, library_versions
from albench.spec import load_grid
from albench.store import Store
from albench.table_schema import schemas_for

STRATEGIES = ("random", "least_confident", "margin", "entropy", "coreset", "kmeans",
              "information_density", "consensus_entropy", "kl_divergence", "cluster_margin")
STRATEGY_EFFECT = dict(zip(STRATEGIES, np.round(np.linspace(0.0, 0.045, len(STRATEGIES)), 4).tolist()))
LEARNERS = {"gnb": 0.0, "logreg": 0.01}
BATCH_SIZES = {1: 0.0, 5: -0.002, 10: -0.004, 20: -0.008, 50: -0.016}
SPLITS = 5
MAX_START_POINTS = 20
CYCLES = 20  # cycle 0 (start set) and 19 queries
RUNS_PER_PART = 200
RUN_NOISE, CYCLE_NOISE, GAIN = 0.01, 0.005, 0.2
ERROR_FRACTION = 0.005
CELL = len(STRATEGIES) * len(LEARNERS) * len(BATCH_SIZES) * SPLITS  # runs per (data set, start point)


def axes_for(n_runs: int) -> tuple[int, int]:
    """(data sets, start points) giving exactly ``n_runs`` runs."""
    if n_runs <= 0 or n_runs % CELL:
        raise ValueError(f"--runs {n_runs}: must be a positive multiple of {CELL}")
    starts = min(MAX_START_POINTS, n_runs // CELL)
    while (n_runs // CELL) % starts:
        starts -= 1
    return n_runs // (CELL * starts), starts


def grid_yaml(n_runs: int, name: str = "synthetic", exclude: bool = False) -> str:
    """The grid file of ``n_runs`` runs (``exclude``: plus one rule, for counting with exclusions)."""
    n_datasets, n_starts = axes_for(n_runs)
    datasets = ", ".join(f"{{name: blobs, data_seed: {d}}}" for d in range(n_datasets))
    text = (f"name: {name}\nkind: al\nparams:\n  dataset: [{datasets}]\n"
            f"  learner: [{', '.join(LEARNERS)}]\n  batch_size: {list(BATCH_SIZES)}\n"
            f"  split: {{range: [0, {SPLITS}]}}\n  start_point: {{range: [0, {n_starts}]}}\n"
            f"  strategy: [{', '.join(STRATEGIES)}]\n  budget: {CYCLES - 1}\n  seed: 0\n")
    if exclude:
        text += "exclude:\n  - {learner: gnb, strategy: coreset}\n"
    return text


def many_seeds_yaml(n_seeds: int = 100, n_strategies: int = 8, name: str = "synthetic-seeds") -> str:
    """A grid where one hyperparameter (seed) has many values: n_strategies x n_seeds runs, one data set."""
    return (f"name: {name}\nkind: al\nparams:\n  dataset: [{{name: blobs, data_seed: 0}}]\n  learner: [gnb]\n"
            f"  batch_size: 5\n  strategy: [{', '.join(STRATEGIES[:n_strategies])}]\n  budget: {CYCLES - 1}\n"
            f"  seed: {{range: [0, {n_seeds}]}}\n")


def truth(n_runs: int | None = None) -> dict:
    n_datasets, n_starts = axes_for(n_runs) if n_runs else (None, None)
    return {"n_runs": n_runs, "datasets": n_datasets, "start_points": n_starts, "cycles": CYCLES,
            "strategy_effect": STRATEGY_EFFECT, "expected_auc_gain_over_random":
                {s: e / 2 for s, e in STRATEGY_EFFECT.items()},
            "learner_effect": LEARNERS, "batch_size_effect": {str(k): v for k, v in BATCH_SIZES.items()},
            "base": "0.45 + 0.25 * u, u ~ U(0, 1) seeded per data set", "gain": GAIN,
            "run_noise_sd": RUN_NOISE, "cycle_noise_sd": CYCLE_NOISE, "error_fraction": ERROR_FRACTION}


def _dataset_base(data_seed: int) -> float:
    return 0.45 + 0.25 * np.random.default_rng([7, data_seed]).random()


def _pool_size(data_seed: int) -> int:
    return 1000 + 100 * (data_seed % 5)  # every batch of 50 x 19 queries fits


def _curves(rows: list[dict], rng: np.random.Generator) -> list[dict]:
    """Curve rows of a batch of ok runs, and their summary columns written into ``rows``."""
    cycles = np.arange(CYCLES)
    out: list[dict] = []
    for row in rows:
        d = row["_data_seed"]
        mean = (_dataset_base(d) + GAIN * (1 - np.exp(-cycles / 5)) + STRATEGY_EFFECT[row["strategy"]] * cycles
                / (CYCLES - 1) + BATCH_SIZES[row["batch_size"]] + LEARNERS[row["learner"]])
        acc = np.clip(mean + rng.normal(0, RUN_NOISE) + rng.normal(0, CYCLE_NOISE, CYCLES), 0.0, 1.0)
        macro = np.clip(acc - 0.02 - rng.normal(0, CYCLE_NOISE, CYCLES) ** 2, 0.0, 1.0)
        values = {"accuracy": acc, "macro_f1": macro, "weighted_f1": np.clip(acc - 0.01, 0.0, 1.0),
                  "macro_precision": np.clip(macro + 0.01, 0.0, 1.0), "macro_recall": np.clip(macro - 0.01, 0.0, 1.0)}
        k, n_pool = row["batch_size"], _pool_size(d)
        # shared preferences per (data set, split) plus run noise: overlapping, not identical, batches
        shared = np.random.default_rng([11, d, row["split"]]).random(n_pool)
        order = np.argsort(shared + rng.gumbel(0.0, 0.3, n_pool))[: k * (CYCLES - 1)]
        fit = rng.gamma(2.0, 0.002, CYCLES)
        ev = rng.gamma(2.0, 0.0005, CYCLES)
        query = np.append(rng.gamma(2.0, 0.001, CYCLES - 1), 0.0)
        run_curves = [{"run_id": row["run_id"], "cycle": c, "n_labelled": 3 + k * c,
                       **{m: float(v[c]) for m, v in values.items()},
                       "fit_s": float(fit[c]), "eval_s": float(ev[c]), "query_s": float(query[c]),
                       "fit_cpu_s": float(fit[c]), "eval_cpu_s": float(ev[c]), "query_cpu_s": float(query[c]),
                       "queried": order[c * k:(c + 1) * k].tolist() if c < CYCLES - 1 else []}
                      for c in range(CYCLES)]
        out.extend(run_curves)
        row.update({f"auc_{m}": _trapezoid(v) for m, v in values.items()})
        row.update({f"final_{m}": float(v[-1]) for m, v in values.items()})
        row.update(learning_curve_summary(run_curves))
        row.update(n_queries=CYCLES - 1, n_labelled_start=3, n_labelled_final=3 + k * (CYCLES - 1), n_pool=n_pool,
                   n_test=n_pool // 3, n_classes=3, n_features=2, prepare_s=1e-6,
                   **{f"{phase}{unit}": float(t.sum()) for phase, t in (("fit", fit), ("query", query), ("eval", ev))
                      for unit in ("_s", "_cpu_s")})
    return out


def _trapezoid(values: np.ndarray) -> float:
    """albench.al_loop.area_under_curve, for the curves of this module (always several cycles)."""
    return float((values.sum() - (values[0] + values[-1]) / 2) / (len(values) - 1))


def _finish(row: dict, started: datetime, total_s: float) -> dict:
    row.update(total_s=total_s, started_at=started, finished_at=started + timedelta(seconds=total_s),
               **library_versions())
    return row


def _write_part(store: Store, specs: list, grid_name: str, rng: np.random.Generator, t0: datetime) -> None:
    ok, failed = [], []
    for spec in specs:
        row = base_row(spec, grid_name)
        row["_data_seed"] = spec.params["dataset"]["params"].get("data_seed", 0)  # 0 is the default, not stored
        (failed if rng.random() < ERROR_FRACTION else ok).append(row)
    curves = _curves(ok, rng)
    for row in ok:
        row.update(status="ok", error=None)
    for row in failed:
        row.update(status="error", error="RuntimeError: synthetic failure",
                   error_traceback="Traceback (most recent call last):\nRuntimeError: synthetic failure")
    rows = []
    for row in ok + failed:
        del row["_data_seed"]
        rows.append(_finish(row, t0, float(row.get("fit_s", 0.0)) + 0.01))
    store.write(rows, curves, schemas_for("al"))


def write_store(root: str | Path, n_runs: int | None, seed: int = 0, exclude_grid: bool = True,
                grid_text: str | None = None, runs_per_part: int = RUNS_PER_PART) -> Path:
    """Write ``<root>/grid.yaml``, ``runs/``, ``curves/`` and ``truth.json``; returns the grid file.

    ``exclude_grid`` also writes ``grid-exclude.yaml`` (the same axes and one
    exclude rule), for timing a count with exclusions. ``grid_text`` replaces
    the grid of ``n_runs`` runs (e.g. ``many_seeds_yaml()``); the ground truth
    is the same. ``runs_per_part`` smaller than 200 gives a store of many small
    parts, as slow runs left them before parts were flushed by size (the same
    grid and ground truth; the noise drawn differs with the part size).
    """
    root = Path(root)
    if (root / "runs").exists():
        raise FileExistsError(f"{root}/runs exists; write synthetic results into a new folder")
    root.mkdir(parents=True, exist_ok=True)
    grid_file = root / "grid.yaml"
    grid_file.write_text(grid_text or grid_yaml(n_runs))
    if exclude_grid and grid_text is None:
        (root / "grid-exclude.yaml").write_text(grid_yaml(n_runs, exclude=True))
    grid = load_grid(grid_file)
    store, rng = Store(root), np.random.default_rng([seed, n_runs or 0])
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    batch: list = []
    for spec in grid.specs():
        batch.append(spec)
        if len(batch) == runs_per_part:
            _write_part(store, batch, grid.name, rng, t0)
            batch = []
    if batch:
        _write_part(store, batch, grid.name, rng, t0)
    (root / "truth.json").write_text(json.dumps({**truth(None if grid_text else n_runs), "seed": seed}, indent=2)
                                     + "\n")
    return grid_file


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.synthetic_store", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="new results folder")
    parser.add_argument("--runs", type=int, required=True, help=f"number of runs, a multiple of {CELL}")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise and of the failed runs")
    args = parser.parse_args(argv)
    try:
        axes_for(args.runs)
    except ValueError as exc:
        parser.error(str(exc))
    write_store(args.out, args.runs, args.seed)
    print(f"wrote {args.runs} runs ({math.ceil(args.runs / RUNS_PER_PART)} parts) to {args.out}")


if __name__ == "__main__":
    main()
