"""A strategy of your own, registered in a script and compared with random sampling.

    python examples/custom_strategy.py [--out DIR]

In a project the class lives in one file under strategies/ (``make new-strategy NAME=...``)
or in a plug-in folder named by the grid's ``plugins:`` key; see docs/tutorial.md.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import albench.results
from albench.analysis.leaderboard import leaderboard
from albench.execute import run_grid
from albench.spec import grid_from_dict
from albench.store import Store
from albench.strategy import ScoreStrategy, register


@register("example_smallest_margin_gap", "1 - (top probability - second), an example strategy")
class SmallestMarginGap(ScoreStrategy):
    def scores(self, state):  # one score per unlabelled point; the highest are queried
        proba = np.sort(state.proba_unlabelled(), axis=1)
        return 1.0 - (proba[:, -1] - proba[:, -2])


GRID = {
    "name": "custom",
    "kind": "al",
    "params": {"dataset": "iris", "learner": "logreg", "strategy": ["random", "example_smallest_margin_gap"],
               "batch_size": 5, "budget": 4, "seed": {"range": [0, 3]}},
}


def main(out: Path) -> None:
    print(run_grid(grid_from_dict(GRID), Store(out)).line())
    print(leaderboard(albench.results.open(out).runs).to_string(index=False))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="results folder (default: a temporary one)")
    args = parser.parse_args()
    if args.out is None:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp) / "custom")
    else:
        main(args.out)
