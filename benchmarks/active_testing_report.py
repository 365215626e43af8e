"""Figures of the active-testing benchmark (grids/active-testing.yaml) as Markdown.

    albench grid run grids/active-testing.yaml --out /tmp/at-results
    python benchmarks/active_testing_report.py /tmp/at-results

Prints a digest of the labelling efficiency (how many uniform labels the plain
mean needs for the same mean squared error, from the exact formula in
``albench.active_testing.report``, divided by M) of selected methods; then, per
data set and loss, the mean and median squared error of every surrogate x
proposal x estimator after M labels; the efficiency of each with a bootstrap
interval; and a check of the exact formula against the uniform runs.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from albench.active_testing.report import GROUP, ROW, errors_by_budget, iid_mse, labelling_efficiency
from albench.store import Store

ORDER = {"uniform": 0, "entropy": 1, "surrogate_loss": 2, "true_loss": 3}


def _fmt(x: float) -> str:
    return f"{x:.2g}" if x >= 1e-3 else f"{x:.1e}"


def _rows(table: pd.DataFrame) -> pd.DataFrame:
    table = table.assign(order=table["proposal"].map(ORDER).fillna(9))
    return table.sort_values(["surrogate", "order", "proposal", "estimator"]).drop(columns="order")


DIGEST = [  # (surrogate, proposal, estimator, label)
    ("model", "uniform", "iid", "uniform + iid mean (the baseline)"),
    ("model", "entropy", "lure", "entropy + LURE"),
    ("model", "surrogate_loss", "lure", "surrogate_loss (model) + LURE"),
    ("rf", "surrogate_loss", "lure", "surrogate_loss (rf) + LURE"),
    ("model", "surrogate_loss", "pure", "surrogate_loss (model) + PURE"),
    ("model", "surrogate_loss", "is", "surrogate_loss (model) + IS"),
    ("model", "surrogate_loss", "iid", "surrogate_loss (model) + iid mean"),
    ("model", "surrogate_loss", "ase", "surrogate_loss (model) + ASE"),
    ("rf", "surrogate_loss", "ase", "surrogate_loss (rf) + ASE"),
    ("model", "true_loss", "lure", "true_loss (oracle) + LURE"),
    ("model", "true_loss", "is", "true_loss (oracle) + IS"),
]
SHORT = {"cross_entropy": "CE", "zero_one": "0-1"}


def digest_table(eff: pd.DataFrame, budgets: list[int]) -> str:
    cols = [(d, loss, m) for (d, loss) in sorted(set(map(tuple, eff[GROUP].to_numpy()))) for m in budgets]
    index = eff.set_index([*ROW, *GROUP, "m"])["efficiency"]
    rows = []
    for surrogate, proposal, estimator, label in DIGEST:
        row = {"method": label}
        for d, loss, m in cols:
            value = index.get((surrogate, proposal, estimator, d, loss, m))
            row[f"{d} {SHORT.get(loss, loss)}, M={m}"] = "-" if value is None else f"{value:.2g}"
        rows.append(row)
    return ("#### Labelling efficiency: iid labels with the same mean squared error, divided by M\n\n"
            + pd.DataFrame(rows).to_markdown(index=False))


def error_tables(errors: pd.DataFrame, budgets: list[int]) -> str:
    out = []
    for (dataset, loss), group in errors.groupby(GROUP):
        cells = group.assign(cell=[f"{_fmt(a)} ({_fmt(b)})" for a, b in zip(group["mse"], group["median_se"])])
        wide = cells.pivot_table(index=ROW, columns="m", values="cell", aggfunc="first")
        wide = _rows(wide.reset_index())
        wide.columns = [*ROW, *[f"M={m}" for m in wide.columns[len(ROW):]]]
        runs = int(group["runs"].max())
        out.append(f"#### {dataset}, {loss}: mean (median) squared error, {runs} runs per cell\n\n"
                   + wide.to_markdown(index=False))
    return "\n\n".join(out)


def efficiency_table(eff: pd.DataFrame, budget: int) -> str:
    at = eff[eff["m"] == budget].copy()
    at["cell"] = [f"{n / budget:.2f} ({lo / budget:.2f}-{hi / budget:.2f})"
                  for n, lo, hi in zip(at["iid_labels"], at["iid_labels_low"], at["iid_labels_high"])]
    wide = at.pivot_table(index=ROW, columns=GROUP, values="cell", aggfunc="first")
    wide.columns = [f"{d}, {loss}" for d, loss in wide.columns]
    return (f"#### Labelling efficiency at M={budget}: iid labels with the same mean squared error, divided by M "
            f"(95% bootstrap interval over runs)\n\n" + _rows(wide.reset_index()).to_markdown(index=False))


def formula_check(runs: pd.DataFrame, errors: pd.DataFrame, budgets: list[int]) -> str:
    rows = []
    ok = runs[runs["status"] == "ok"]
    for (dataset, loss), group in ok[ok["proposal"] == "uniform"].groupby(GROUP):
        sel = errors[(errors["dataset"] == dataset) & (errors["loss"] == loss)
                     & (errors["proposal"] == "uniform") & (errors["estimator"] == "iid")]
        measured = sel.groupby("m").apply(lambda g: np.average(g["mse"], weights=g["runs"]), include_groups=False)
        exact = iid_mse(group, np.array(budgets))
        rows += [{"dataset": dataset, "loss": loss, "M": m, "runs": len(group),
                  "measured": _fmt(measured.get(m, np.nan)), "exact": _fmt(e)} for m, e in zip(budgets, exact)]
    return ("#### Check: uniform-proposal iid mean, measured mean squared error against the exact formula\n\n"
            + pd.DataFrame(rows).to_markdown(index=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="?", default="results/active-testing", help="results folder of the grid")
    parser.add_argument("--budgets", type=int, nargs="+", default=[10, 25, 50, 100], help="values of M to report")
    args = parser.parse_args()
    store = Store(args.results)
    runs, curves = store.read("runs"), store.read("curves")
    if runs.empty:
        raise SystemExit(f"no runs stored under {args.results}")
    ok = runs[runs["status"] == "ok"]
    print(f"{len(ok)} runs ok, {len(runs) - len(ok)} failed, from {args.results}\n")
    errors = errors_by_budget(runs, curves, args.budgets)
    eff = labelling_efficiency(runs, errors)
    budget = max(m for m in args.budgets if m in set(errors["m"]))
    print(digest_table(eff, [min(args.budgets), budget]), end="\n\n")
    print(error_tables(errors, args.budgets), end="\n\n")
    print(efficiency_table(eff, budget), end="\n\n")
    print(formula_check(runs, errors, args.budgets))


if __name__ == "__main__":
    main()
