"""The report of a small grid, and its figures and tables as files for a paper.

    python examples/report_for_a_paper.py --out DIR

Writes DIR/results (the runs), DIR/results/report/report.html (interactive, offline) and
DIR/paper/figures/*.{png,svg,pdf} with DIR/paper/tables/*.{tex,md}.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import albench.results
from albench.analysis.export import export
from albench.analysis.report import write_report
from albench.execute import run_grid
from albench.spec import grid_from_dict
from albench.store import Store

GRID = {
    "name": "paper",
    "kind": "al",
    "params": {"dataset": ["iris", "wine"], "learner": ["logreg", "gnb"], "strategy": ["random", "margin", "entropy"],
               "batch_size": 5, "budget": 3, "seed": {"range": [0, 2]}},
}


def main(out: Path) -> None:
    results_dir = out / "results"
    run_grid(grid_from_dict(GRID), Store(results_dir))
    res = albench.results.open(results_dir)
    report = write_report(res, n_resamples=100)
    print(f"report: {report.html}")
    exported = export(res, out / "paper", n_resamples=100)
    for name, files in {**exported.figures, **exported.tables}.items():
        print(f"{name}: {', '.join(str(p) for p in files.values())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the results, report and paper files")
    main(parser.parse_args().out)
