"""Agreement between implementations of the same strategy, from a results folder:
``python -m benchmarks.implementation_agreement results/implementations-uncertainty``.

For every family (least confident, margin, entropy, core-set, ...) and learner, each pair of
implementations over the runs matched in everything but the strategy: the share of identical
query sequences and the mean AUC difference with a 95 % bootstrap interval
(``albench.analysis.twins``). Families come from the strategies' ``family`` attributes.
"""

from __future__ import annotations

import sys

import pandas as pd

import albench.results
from albench.analysis.frame import prepare
from albench.analysis.twins import twins


def agreement(folder: str, metric: str = "auc_accuracy") -> pd.DataFrame:
    res = albench.results.open(folder)
    frame = prepare(res.runs)
    return twins(frame, metric, res.curves)  # families as the strategies declare them


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    table = agreement(argv[0], *(argv[1:2]))
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(table[["family", "learner", "a", "b", "matched", "identical", "diff", "diff_low", "diff_high"]]
              .round(4).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
