"""A first grid, in Python: random sampling against margin sampling on iris, then the verdict.

    python examples/first_grid.py [--out DIR]

The same grid as a YAML file runs with ``albench grid run``; see docs/tutorial.md.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import albench.results
from albench.analysis.summary import analyze
from albench.execute import run_grid
from albench.spec import grid_from_dict
from albench.store import Store

GRID = {
    "name": "first",
    "kind": "al",
    "params": {
        "dataset": ["iris", "wine"],
        "learner": "logreg",
        "strategy": ["random", "margin"],
        "batch_size": 5,
        "budget": 4,  # query cycles
        "seed": {"range": [0, 3]},
    },
}


def main(out: Path) -> None:
    summary = run_grid(grid_from_dict(GRID), Store(out))
    print(summary.line())
    res = albench.results.open(out)
    analysis = analyze(res.runs, res.curves, n_resamples=200)
    print(analysis.comparison.table.to_string(index=False))
    for line in getattr(analysis, "verdict", None) or []:
        print(line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="results folder (default: a temporary one)")
    args = parser.parse_args()
    if args.out is None:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp) / "first")
    else:
        main(args.out)
