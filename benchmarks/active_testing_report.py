"""Figures of the active-testing benchmarks (grids/active-testing*.yaml) as Markdown.

    albench grid run grids/active-testing.yaml --out /tmp/at-results
    python benchmarks/active_testing_report.py /tmp/at-results

Every table keeps apart every hyperparameter that varies among the runs: a
table per panel (data set, loss and any other varying key except the ones in
its rows), rows per surrogate x proposal x estimator; only the seeds are
averaged over. Sections: warnings about unreliable runs; labelling efficiency
(how many uniform labels the plain mean needs for the same mean squared error,
from the exact formula in ``albench.active_testing.report``, divided by M;
interval: BCa bootstrap over runs) of every method at the largest M; mean
(median) squared error at each M; how much of the squared error the worst 5 %
of runs carry; coverage of the per-run intervals against their nominal level;
for a zero-one loss, how often the anytime-valid confidence sequence and the
per-step t-interval ever exclude the true risk (optional stopping), and the
same for the difference of the model and its first rival;
the probability of choosing the truly best model (grids with a ``rival``, one
learner or a list, or several models), for one acquisition shared by every
model and for one acquisition per model; and a check of the exact formula
against the uniform runs.
"""

from __future__ import annotations

import argparse

import duckdb
import numpy as np
import pandas as pd

from albench.active_testing.report import (errors_by_budget, group_keys, iid_mse, labelled_runs, labelling_efficiency,
                                           reliability_warnings, selection_accuracy, truly_best)
from albench.store import Store

ROW = ["surrogate", "proposal", "estimator"]
ORDER = {"uniform": 0, "entropy": 1, "surrogate_loss": 2, "xwed": 3, "loss_difference": 4, "true_loss": 5}
CURVE_COLUMNS = ["run_id", "m", "estimator", "estimate", "true_risk", "squared_error", "covered",
                 "difference_estimate", "true_difference", "chose_best"]


def _fmt(x: float) -> str:
    return "-" if x is None or not np.isfinite(x) else (f"{x:.2g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.1e}")


def read_curves(results: str, budgets: list[int]) -> pd.DataFrame:
    """The curve rows at the requested M only, read by DuckDB (column-pruned, filtered in the scan)."""
    pattern = f"{Store(results).dir('curves')}/**/*.parquet"
    names = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{pattern}', union_by_name=true)").df()["column_name"]
    cols = ", ".join(c for c in CURVE_COLUMNS if c in set(names))
    ms = ", ".join(str(int(m)) for m in budgets)
    return duckdb.sql(f"SELECT {cols} FROM read_parquet('{pattern}', union_by_name=true) WHERE m IN ({ms})").df()


def _sorted_rows(table: pd.DataFrame) -> pd.DataFrame:
    table = table.assign(order=table["proposal"].map(ORDER).fillna(9))
    return table.sort_values(["surrogate", "order", "proposal", "estimator"]).drop(columns="order")


def _panels(frame: pd.DataFrame, keys: list[str]):
    panel = [k for k in keys if k not in ROW]
    for values, group in frame.groupby(panel):
        values = values if isinstance(values, tuple) else (values,)
        yield ", ".join(f"{k} {v}" if k not in ("dataset", "loss") else str(v) for k, v in zip(panel, values)), group


def efficiency_table(eff: pd.DataFrame, keys: list[str], budget: int) -> str:
    """One row per surrogate x proposal x estimator, one column per panel."""
    columns = []
    for title, group in _panels(eff[eff["m"] == budget], keys):
        cells = [f"{n / budget:.2f} ({lo / budget:.2f}-{hi / budget:.2f})"
                 for n, lo, hi in zip(group["iid_labels"], group["iid_labels_low"], group["iid_labels_high"])]
        columns.append(group[ROW].assign(**{title: cells}).set_index(ROW))
    runs = int(eff.loc[eff["m"] == budget, "runs"].min())
    wide = pd.concat(columns, axis=1).fillna("-").reset_index()
    return (f"#### Labelling efficiency at M={budget}: iid labels with the same mean squared error, divided by M "
            f"(95% BCa bootstrap interval over runs; at least {runs} runs per cell)\n\n"
            + _sorted_rows(wide).to_markdown(index=False))


def error_tables(errors: pd.DataFrame, keys: list[str]) -> str:
    out = []
    for title, group in _panels(errors, keys):
        cells = group.assign(cell=[f"{_fmt(a)} ({_fmt(b)})" for a, b in zip(group["mse"], group["median_se"])])
        wide = cells.pivot_table(index=ROW, columns="m", values="cell", aggfunc="first").reset_index()
        wide.columns = [*ROW, *[f"M={m}" for m in wide.columns[len(ROW):]]]
        runs = int(group["runs"].max())
        out.append(f"#### {title}: mean (median) squared error, {runs} runs per cell\n\n"
                   + _sorted_rows(wide).to_markdown(index=False))
    return "\n\n".join(out)


def tail_share(runs: pd.DataFrame, curves: pd.DataFrame, keys: list[str], budget: int, share: float = 0.05) -> str:
    """Share of the summed squared error carried by the worst ``share`` of runs, per cell."""
    ok = labelled_runs(runs)
    rows = curves[curves["m"] == budget].merge(ok[["run_id", *[k for k in keys if k != "estimator"]]], on="run_id")

    def top(s: pd.Series) -> float:
        v = np.sort(s.to_numpy())[::-1]
        k = max(1, int(round(share * len(v))))
        return float(v[:k].sum() / v.sum()) if v.sum() > 0 else np.nan

    table = rows[rows["estimator"].isin(["lure", "pure", "difference"])].groupby(keys)["squared_error"].apply(top)
    table = table.rename("share").reset_index()
    table["share"] = [f"{x:.0%}" if np.isfinite(x) else "-" for x in table["share"]]
    wide = table.pivot_table(index=ROW, columns=[k for k in keys if k not in ROW], values="share", aggfunc="first")
    wide.columns = [", ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in wide.columns]
    return (f"#### Heavy tails: share of the total squared error at M={budget} carried by the worst "
            f"{share:.0%} of runs\n\n" + _sorted_rows(wide.reset_index()).to_markdown(index=False))


def coverage_tables(errors: pd.DataFrame, keys: list[str], level: float) -> str:
    with_ci = errors[errors["coverage"].notna()] if "coverage" in errors.columns else errors.iloc[:0]
    if with_ci.empty:
        return "No intervals stored (runs older than the interval columns)."
    out = []
    for title, group in _panels(with_ci, keys):
        wide = group.pivot_table(index=ROW, columns="m", values="coverage", aggfunc="first").reset_index()
        wide.columns = [*ROW, *[f"M={m}" for m in wide.columns[len(ROW):]]]
        for col in wide.columns[len(ROW):]:
            wide[col] = [f"{x:.3f}" + (" *" if abs(x - level) > 0.05 else "") for x in wide[col]]
        out.append(f"#### {title}: coverage of the {level:.0%} intervals (share of runs whose interval holds the "
                   f"true risk; * more than 0.05 from {level:.2f})\n\n" + _sorted_rows(wide).to_markdown(index=False))
    return "\n\n".join(out)


def sequence_table(results: str, runs: pd.DataFrame, keys: list[str], level: float) -> str:
    """Runs of a bounded loss: how often the anytime-valid sequence, and LURE's t-interval read after every
    label, EVER exclude the true risk (what optional stopping risks), and the sequence's width at the end."""
    ok = labelled_runs(runs)
    if "cs_low" not in ok.columns or "loss" not in ok.columns or not (ok["loss"] == "zero_one").any():
        return ""
    pattern = f"{Store(results).dir('curves')}/**/*.parquet"
    per_run = duckdb.sql(f"""
        SELECT run_id,
               bool_or(cs_low IS NULL OR cs_low > true_risk OR cs_high < true_risk) AS cs_ever_out,
               bool_or(m > 1 AND NOT covered) AS t_ever_out,
               arg_max(cs_high - cs_low, m) AS cs_width
        FROM read_parquet('{pattern}', union_by_name=true) WHERE estimator = 'lure' GROUP BY run_id""").df()
    panel = [k for k in keys if k not in ("estimator", "loss")]
    rows = ok[ok["loss"] == "zero_one"][["run_id", *panel]].merge(per_run, on="run_id")
    table = _stopping_table(rows, panel, "R")
    return (f"#### Optional stopping (zero-one loss): share of runs whose {level:.0%} bounds EVER exclude the true "
            f"risk over m = 1..M (nominal: at most {1 - level:.2f} for the sequence)\n\n"
            + table.to_markdown(index=False))


def _stopping_table(rows: pd.DataFrame, panel: list[str], symbol: str, drop_constant: bool = False) -> pd.DataFrame:
    """Per panel: runs, the shares whose sequence and whose t-interval ever exclude the truth ``symbol``, and the
    sequence's mean final width (``drop_constant``: without the panel columns that take one value)."""
    table = rows.groupby(panel).agg(runs=("run_id", "count"), cs_ever_out=("cs_ever_out", "mean"),
                                    t_ever_out=("t_ever_out", "mean"), cs_width=("cs_width", "mean")).reset_index()
    if drop_constant:
        table = table.drop(columns=[c for c in panel if table[c].nunique() == 1 and c not in ("dataset", "proposal")])
    for col in ("cs_ever_out", "t_ever_out"):
        table[col] = [f"{x:.3f}" for x in table[col]]
    table["cs_width"] = [_fmt(x) for x in table["cs_width"]]
    return table.rename(columns={"cs_ever_out": f"sequence ever excludes {symbol}",
                                 "t_ever_out": f"LURE t-interval ever excludes {symbol}",
                                 "cs_width": "sequence width at M"})


def difference_sequence_table(results: str, runs: pd.DataFrame, keys: list[str], level: float) -> str:
    """Runs with a rival and a zero-one loss: how often the confidence sequence of the first pair's difference
    (model - first rival), and LURE's t-interval of it read after every label, EVER exclude the true
    difference, and the sequence's width at the end."""
    ok = labelled_runs(runs)
    if "difference_cs_low" not in ok.columns or not ok["difference_cs_low"].notna().any():
        return ""
    pattern = f"{Store(results).dir('curves')}/**/*.parquet"
    per_run = duckdb.sql(f"""
        SELECT run_id,
               bool_or(difference_cs_low IS NULL OR difference_cs_low > true_difference
                       OR difference_cs_high < true_difference) AS cs_ever_out,
               bool_or(m > 1 AND (difference_ci_low > true_difference OR difference_ci_high < true_difference))
                   AS t_ever_out,
               arg_max(difference_cs_high - difference_cs_low, m) AS cs_width
        FROM read_parquet('{pattern}', union_by_name=true)
        WHERE estimator = 'lure' AND difference_estimate IS NOT NULL GROUP BY run_id""").df()
    panel = [k for k in keys if k not in ("estimator", "loss", "model")]
    rows = ok[ok["difference_cs_low"].notna()][["run_id", *panel]].merge(per_run, on="run_id")
    table = _stopping_table(rows, panel, "D", drop_constant=True)
    return (f"#### Optional stopping for the difference D = R_model - R_rival (zero-one loss, the first rival): share "
            f"of runs whose {level:.0%} bounds EVER exclude D over m = 1..M (nominal: at most {1 - level:.2f} for "
            "the sequence)\n\n" + table.to_markdown(index=False))


def selection_table(runs: pd.DataFrame, curves: pd.DataFrame) -> str:
    """P(choosing the truly best model) at each M, per data set (and any other varying key), design, proposal and
    estimator; then how often each model is truly best."""
    table = selection_accuracy(runs, curves)
    if table.empty:
        return ""
    table = table[table["estimator"].isin(["iid", "lure", "pure", "difference", "difference_pure"])]
    index = [c for c in table.columns if c not in ("m", "runs", "p_correct")]
    wide = table.pivot_table(index=index, columns="m", values="p_correct", aggfunc="first").reset_index()
    ms = list(wide.columns[len(index):])
    wide.columns = [*index, *[f"M={m}" for m in ms]]
    runs_per = table.groupby(index)["runs"].min().reset_index()
    wide = wide.merge(runs_per, on=index)
    for m in ms:
        wide[f"M={m}"] = [f"{x:.2f}" for x in wide[f"M={m}"]]
    constant = [c for c in index if c not in ("design", "models", "proposal", "estimator") and wide[c].nunique() == 1]
    wide = wide.drop(columns=constant)
    wide = wide.sort_values([c for c in wide.columns if c in ("dataset", "models", "design")] + ["proposal",
                                                                                                   "estimator"])
    best = truly_best(runs)
    truth = ""
    if not best.empty:
        keys = [c for c in best.columns
                if c not in ("best", "share", "runs") and (c == "models" or best[c].nunique() > 1)]
        lines = []
        for values, group in best.groupby(keys):
            values = values if isinstance(values, tuple) else (values,)
            shares = ", ".join(f"{b} {x:.0%}" for b, x in sorted(zip(group["best"], group["share"]),
                                                                  key=lambda t: -t[1]))
            lines.append(f"- {', '.join(map(str, values))}: {shares} of {int(group['runs'].iloc[0])} pools")
        truth = "\n\nTruly best model (smallest risk over the whole pool; tie: several):\n\n" + "\n".join(lines)
    return ("#### Model selection: probability that the estimates choose the truly best model\n\n"
            "shared: one acquisition for every model, the model with the smallest estimated risk; "
            "independent: one acquisition per model (runs without a rival, matched by seed), each model's own "
            "estimate; ties in the estimates share the credit.\n\n" + wide.to_markdown(index=False) + truth)


def formula_check(runs: pd.DataFrame, errors: pd.DataFrame, keys: list[str], budgets: list[int]) -> str:
    rows = []
    ok = labelled_runs(runs)
    panel = [k for k in keys if k not in ROW]
    uniform = errors[(errors["proposal"] == "uniform") & (errors["estimator"] == "iid")]
    for values, group in ok[ok["proposal"] == "uniform"].groupby(panel):
        values = values if isinstance(values, tuple) else (values,)
        sel = uniform.merge(pd.DataFrame([values], columns=panel), on=panel)
        measured = sel.groupby("m").apply(lambda g: np.average(g["mse"], weights=g["runs"]), include_groups=False)
        exact = iid_mse(group, np.array(budgets))
        rows += [{**dict(zip(panel, values)), "M": m, "runs": len(group), "measured": _fmt(measured.get(m, np.nan)),
                  "exact": _fmt(e)} for m, e in zip(budgets, exact)]
    if not rows:
        return ""
    return ("#### Check: uniform-proposal iid mean, measured mean squared error against the exact formula\n\n"
            + pd.DataFrame(rows).to_markdown(index=False))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="?", default="results/active-testing", help="results folder of the grid")
    parser.add_argument("--budgets", type=int, nargs="+", default=[10, 25, 50, 100], help="values of M to report")
    args = parser.parse_args(argv)
    runs = Store(args.results).read("runs")
    if runs.empty:
        raise SystemExit(f"no runs stored under {args.results}")
    ok = runs[runs["status"] == "ok"]
    curves = read_curves(args.results, args.budgets)
    keys = [*group_keys(runs), "estimator"]
    budgets = sorted(set(args.budgets) & set(curves["m"]))
    level = float(ok["confidence"].iloc[0]) if "confidence" in ok.columns else 0.95
    print(f"{len(ok)} runs ok, {len(runs) - len(ok)} failed, from {args.results}; tables keep apart: "
          f"{', '.join(k for k in keys if k != 'estimator')}; averaged over the seeds only.\n")
    for warning in reliability_warnings(runs):
        print(f"> warning: {warning}\n")
    errors = errors_by_budget(runs, curves, budgets)
    eff = labelling_efficiency(runs, errors)
    budget = max(budgets)
    print(efficiency_table(eff, keys, budget), end="\n\n")
    print(error_tables(errors, keys), end="\n\n")
    print(tail_share(runs, curves, keys, budget), end="\n\n")
    print(coverage_tables(errors, keys, level), end="\n\n")
    sequence = sequence_table(args.results, runs, keys, level)
    if sequence:
        print(sequence, end="\n\n")
    difference_sequence = difference_sequence_table(args.results, runs, keys, level)
    if difference_sequence:
        print(difference_sequence, end="\n\n")
    selection = selection_table(runs, curves)
    if selection:
        print(selection, end="\n\n")
    print(formula_check(runs, errors, keys, budgets))


if __name__ == "__main__":
    main()
