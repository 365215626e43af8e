"""Speed of the active-testing loop: time per label at N = 10,000 and how it grows with N.

One step scores the N - m + 1 unlabelled points, applies the safeguard, draws a
point and updates ASE's running sum: O(N) work, so the time per step should
grow about linearly in N (exponent ~1; less while fixed overheads dominate).
The model (logistic regression on 50 points) and the surrogate (the model
itself, never refitted) are outside the timed loop.

    python benchmarks/bench_active_testing.py [--quick]
"""

from __future__ import annotations

import json
import sys

import numpy as np

from albench.active_testing.runner import run as run_at
from albench.spec import grid_from_dict


def _step_seconds(n_pool: int, budget: int, seed: int) -> float:
    grid = grid_from_dict({"name": "bench-at", "kind": "at", "params": {
        "dataset": {"name": "classification", "n_samples": n_pool + 50, "n_features": 20, "n_classes": 5,
                    "n_informative": 8},
        "model": "logreg", "train_size": 50, "pool_size": n_pool, "surrogate": "model",
        "proposal": "surrogate_loss", "budget": budget, "seed": seed}})
    (spec,) = grid.specs()
    return run_at(spec).summary["step_s"]


def run(quick: bool) -> dict:
    """Figures for ``python -m benchmarks``: milliseconds per step by pool size, and the growth exponent."""
    sizes = [1_000, 10_000] if quick else [1_000, 3_000, 10_000, 30_000]
    budget, repeats = (50, 2) if quick else (200, 3)
    per_step = {n: float(np.median([_step_seconds(n, budget, s) for s in range(repeats)])) for n in sizes}
    slope = float(np.polyfit(np.log(sizes), np.log([per_step[n] for n in sizes]), 1)[0])
    figures = {f"step_ms_at_{n}": {"value": t * 1e3, "unit": "ms"} for n, t in per_step.items()}
    figures["step_ms_at_10000"]["goal"] = "<= 5"
    # time per step ~ N ** exponent; above 1.2 would mean worse than linear work per step
    figures["step_time_growth_exponent"] = {"value": slope, "goal": "<= 1.2"}
    return figures


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
