"""Figures from stored ``at`` results: squared error, interval coverage, labelling efficiency, model choice.

Every table is grouped by every hyperparameter that varies among the ok runs
(``varying_keys``: components such as ``rf(n_estimators=20)`` stay apart from
``rf``), so no figure merges two experiments; only the replicates (``seed``,
``draw_seed``) are averaged over.

Labelling efficiency compares an active estimate's mean squared error after M
labels with the iid baseline (uniform proposal, sample mean). That baseline's
error is known exactly: after m uniform draws without replacement from a pool
of N losses with variance s^2 (the mean of (L_i - R)^2), the sample mean has
mean squared error s^2 / m * (N - m) / (N - 1) (Cochran, "Sampling
Techniques", 1977, thm. 2.2). Averaged over the runs of a group, this gives a
noise-free curve, defined up to m = N, so the matching number of iid labels
needs no simulation and no extrapolation.

Squared errors are heavy-tailed (a few runs with a large importance weight
carry most of the mean), so the mean squared error comes with its median and
a BCa bootstrap interval over runs (Efron 1987), which corrects the
percentile interval's bias and skew.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from albench.analysis.frame import component_label

LEGACY = ["dataset", "loss", "surrogate", "proposal"]  # always grouping keys: the figures are drawn by them
REPLICATES = {"seed", "draw_seed"}
RELIABLE_WEIGHT = 20.0  # one label standing for more uniform draws than this makes single runs unreliable
CONFIDENCE = 0.95


def _grid_keys() -> list[str]:
    from albench.kinds import ATParams

    return list(ATParams.model_fields)


def _label(name, params) -> str:
    """A component's label; a list of rivals (``{name: "gnb+rf", params: {models: [...]}}``) is ``gnb+rf``
    with each member's own label."""
    from albench.kinds import SEVERAL

    if isinstance(name, str) and "+" in name and isinstance(params, str) and SEVERAL in params:
        p = json.loads(params)
        if set(p) == {SEVERAL}:
            return "+".join(component_label(m["name"], m["params"]) for m in p[SEVERAL])
    return component_label(name, params)


def labelled_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The ok runs, with each component column (name + ``<key>_params``) replaced by one label."""
    ok = runs[runs["status"] == "ok"].copy()
    for key in _grid_keys():
        if key in ok.columns and f"{key}_params" in ok.columns:
            ok[key] = [_label(n, p) for n, p in zip(ok[key], ok[f"{key}_params"])]
        if key in ok.columns and ok[key].isna().any():  # e.g. pool_size or rival unset: a value, not a gap
            ok[key] = ok[key].astype(object).where(ok[key].notna(), "none")
    return ok


def varying_keys(runs: pd.DataFrame) -> list[str]:
    """Grid keys (other than the replicates) that take more than one value among the ok runs."""
    ok = labelled_runs(runs)
    return [k for k in _grid_keys() if k in ok.columns and k not in REPLICATES
            and ok[k].astype(str).nunique(dropna=False) > 1]


def group_keys(runs: pd.DataFrame) -> list[str]:
    """The keys every table groups by: the ones the figures are drawn by, then every other varying key."""
    return [*[k for k in LEGACY if k in runs.columns], *[k for k in varying_keys(runs) if k not in LEGACY]]


def mse_interval(squared_errors: np.ndarray, confidence: float = CONFIDENCE, seed: int = 0) -> tuple[float, float]:
    """BCa bootstrap interval (2,000 resamples, ``seed``) of the mean squared error over runs.

    Falls back to the percentile interval where BCa is undefined (e.g. a
    single run carries every non-zero error). The values are sorted first, so
    the interval does not depend on the order in which the runs were stored.
    """
    values = np.sort(np.asarray(squared_errors, dtype=float))
    values = values[~np.isnan(values)]  # as the mean beside it skips them (a run whose estimator gave none)
    if len(values) == 0:
        return math.nan, math.nan
    if len(values) < 2 or np.ptp(values) == 0:
        return float(values.mean()), float(values.mean())
    for method in ("BCa", "percentile"):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", stats.DegenerateDataWarning)  # BCa undefined: the percentile next
            res = stats.bootstrap((values,), np.mean, confidence_level=confidence, n_resamples=2000,
                                  method=method, rng=np.random.default_rng(seed))
        low, high = res.confidence_interval
        if np.isfinite(low) and np.isfinite(high):
            return float(low), float(high)
    return float(values.mean()), float(values.mean())


def _with_keys(runs: pd.DataFrame, curves: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    ok = labelled_runs(runs)
    return curves.merge(ok[["run_id", *[k for k in keys if k != "estimator"]]], on="run_id")


def errors_by_budget(runs: pd.DataFrame, curves: pd.DataFrame, budgets=None, by=None) -> pd.DataFrame:
    """Per group and m: median and mean squared error with a BCa 95 % interval, runs, and interval coverage.

    Groups: ``by`` (default: ``group_keys(runs)`` + estimator). ``coverage`` is
    the share of runs whose interval (at each run's ``confidence``) contains
    the true risk, NaN for estimators without intervals. ``errors.attrs["keys"]``
    lists the grouping keys.
    """
    by = list(by) if by is not None else [*group_keys(runs), "estimator"]
    rows = _with_keys(runs, curves, by)
    if budgets is not None:
        rows = rows[rows["m"].isin(list(budgets))]
    grouped = rows.groupby([*by, "m"])
    out = grouped["squared_error"].agg(median_se="median", mse="mean", runs="count")
    bounds = grouped["squared_error"].apply(lambda s: mse_interval(s.to_numpy()))
    out["mse_low"] = [b[0] for b in bounds]
    out["mse_high"] = [b[1] for b in bounds]
    if "covered" in rows.columns:
        covered = rows["covered"].astype("float")  # null (no interval) stays NaN
        out["coverage"] = covered.groupby([rows[k] for k in [*by, "m"]]).mean()
    out = out.reset_index()
    out.attrs["keys"] = by
    return out


def iid_mse(runs: pd.DataFrame, m: np.ndarray) -> np.ndarray:
    """Exact mean squared error of the iid mean after m uniform labels, averaged over ``runs``."""
    s2 = runs["pool_loss_variance"].to_numpy(dtype=float)[:, None]
    n = runs["n_pool"].to_numpy(dtype=float)[:, None]
    m = np.asarray(m, dtype=float)[None, :]
    return (s2 / m * np.clip(n - m, 0, None) / np.maximum(n - 1, 1)).mean(axis=0)


def iid_labels_matching(runs: pd.DataFrame, mse: float) -> int:
    """The fewest uniform labels whose iid mean has mean squared error <= ``mse``."""
    n_max = int(runs["n_pool"].min())
    m = np.arange(1, n_max + 1)
    ok = np.flatnonzero(iid_mse(runs, m) <= mse)
    return int(m[ok[0]]) if len(ok) else n_max


def labelling_efficiency(runs: pd.DataFrame, errors: pd.DataFrame) -> pd.DataFrame:
    """``errors`` (from ``errors_by_budget``) plus the iid labels matching each mean squared error.

    The baseline of a row is the exact iid error over the very runs of its
    group (the same pools). ``iid_labels``: uniform labels the sample mean
    needs for the same error; ``efficiency`` = iid_labels / m (above 1: active
    testing saves labels). ``iid_labels_low``/``_high`` map the interval of
    the mean squared error (a larger error matches fewer iid labels).
    """
    keys = [k for k in errors.attrs.get("keys", group_keys(runs)) if k != "estimator"]
    ok = labelled_runs(runs)
    groups = {key if isinstance(key, tuple) else (key,): frame for key, frame in ok.groupby(keys)}
    out = errors.copy()

    def labels(column: str) -> list[int]:
        return [iid_labels_matching(groups[tuple(row[keys])], row[column]) for _, row in out.iterrows()]

    out["iid_labels"] = labels("mse")
    if {"mse_low", "mse_high"} <= set(out.columns):
        out["iid_labels_low"], out["iid_labels_high"] = labels("mse_high"), labels("mse_low")
    out["efficiency"] = out["iid_labels"] / out["m"]
    return out


def final_errors(runs: pd.DataFrame) -> pd.DataFrame:
    """The end-of-run table: per group (every varying key) and estimator, the final estimate's errors.

    Columns: runs, mse with its BCa 95 % interval (mse_low, mse_high),
    median_se, and coverage (share of runs whose interval holds the true risk).
    """
    ok = labelled_runs(runs)
    estimators = sorted(c.removesuffix("_squared_error") for c in ok.columns if c.endswith("_squared_error"))
    keys = group_keys(runs)
    if ok.empty or not estimators:
        return runs.groupby([k for k in ("surrogate", "proposal") if k in runs.columns]).size().rename(
            "runs").reset_index().assign(runs=0)
    long = []
    for name in estimators:
        part = ok[keys].copy()
        part["estimator"], part["squared_error"] = name, ok[f"{name}_squared_error"]
        low, high = ok.get(f"{name}_ci_low"), ok.get(f"{name}_ci_high")
        if low is not None and high is not None:
            inside = (low <= ok["true_risk"]) & (ok["true_risk"] <= high)
            part["covered"] = inside.where(low.notna()).astype("float")
        long.append(part)
    long = pd.concat(long, ignore_index=True)
    grouped = long.groupby([*keys, "estimator"])
    table = grouped["squared_error"].agg(runs="count", mse="mean")
    bounds = grouped["squared_error"].apply(lambda s: mse_interval(s.to_numpy()))
    table["mse_low"], table["mse_high"] = [b[0] for b in bounds], [b[1] for b in bounds]
    table["median_se"] = grouped["squared_error"].median()
    if "covered" in long.columns:
        table["coverage"] = grouped["covered"].mean()
    return table.reset_index()


def reliability_warnings(runs: pd.DataFrame) -> list[str]:
    """One line per problem that makes single runs unreliable: a label standing for > 20 uniform ones."""
    ok = runs[runs["status"] == "ok"]
    out = []
    if "max_weight" in ok.columns and len(ok):
        heavy = ok[ok["max_weight"] > RELIABLE_WEIGHT]
        if len(heavy):
            weights = sorted(heavy["safeguard_weight"].unique()) if "safeguard_weight" in heavy else []
            out.append(f"{len(heavy)} of {len(ok)} runs drew a point with importance ratio above "
                       f"{RELIABLE_WEIGHT:g} (largest {heavy['max_weight'].max():.3g}; safeguard_weight "
                       f"{', '.join(f'{w:g}' for w in weights)}): single runs there are unreliable, "
                       f"use a safeguard weight of at least {1 / RELIABLE_WEIGHT:g}")
    if "safeguard_weight" in ok.columns and (ok["safeguard_weight"] < 1 / RELIABLE_WEIGHT).any():
        low = sorted(ok.loc[ok["safeguard_weight"] < 1 / RELIABLE_WEIGHT, "safeguard_weight"].unique())
        out.append(f"safeguard_weight {', '.join(f'{w:g}' for w in low)} lets q fall below "
                   f"{1 / RELIABLE_WEIGHT:g}/n: one label can stand for more than {RELIABLE_WEIGHT:g} uniform ones")
    return out


def _models_label(models) -> str:
    return ", ".join(sorted(str(m) for m in models))


def selection_accuracy(runs: pd.DataFrame, curves: pd.DataFrame, budgets=None) -> pd.DataFrame:
    """P(the estimates choose the truly best of the models under test) after m labels, per design, group, estimator.

    ``shared``: runs with a ``rival`` (one or several), one acquisition for every model: the share of runs
    whose ``chose_best`` (the argmin of the estimated risks is truly best; ties in the estimates broken at
    random by the run, ties in the truth: any of the best) holds. ``independent``: runs without a rival, of
    different models matched on every other key and on the seeds (the same pool), one acquisition per
    model: the model whose own estimate is smallest; a tie shares the credit (the chance that a uniform
    tie-break picks a truly best one). ``models`` names the models compared; groups of one model are left
    out. The grouping keys are ``group_keys`` without ``model`` and ``rival``.
    """
    ok = labelled_runs(runs)
    keys = [k for k in group_keys(runs) if k not in ("model", "rival")]
    has_rival = (~ok["rival"].astype(str).isin(["none", "None"]) if "rival" in ok.columns
                 else pd.Series(False, index=ok.index))
    budgets = None if budgets is None else list(budgets)
    if budgets is not None:
        curves = curves[curves["m"].isin(budgets)]
    columns = ["design", "models", *keys, "estimator", "m"]
    parts = []
    if has_rival.any() and "chose_best" in curves.columns and "models" in ok.columns:
        shared = ok[has_rival]
        shared = shared.assign(models=[_models_label(m) for m in shared["models"]])
        rows = curves[curves["chose_best"].notna()].merge(shared[["run_id", "models", *keys]], on="run_id")
        parts.append(rows.assign(design="shared", correct=rows["chose_best"].astype(float)))
    single = ok[~has_rival]
    if single["model"].nunique() > 1:
        match = [*keys, *[r for r in sorted(REPLICATES) if r in ok.columns]]
        rows = curves.merge(single[["run_id", "model", *match]], on="run_id")[
            ["model", *match, "estimator", "m", "estimate", "true_risk"]]
        by = [*match, "estimator", "m"]
        grouped = rows.groupby(by)
        chosen = rows["estimate"] == grouped["estimate"].transform("min")
        best = rows["true_risk"] == grouped["true_risk"].transform("min")
        per = rows.assign(chosen=chosen, right=chosen & best).groupby(by).agg(
            n_models=("model", "nunique"), models=("model", _models_label), chosen=("chosen", "sum"),
            right=("right", "sum")).reset_index()
        per = per[per["n_models"] > 1]
        parts.append(per.assign(design="independent", correct=per["right"] / per["chosen"]))
    if not parts:
        return pd.DataFrame(columns=[*columns, "runs", "p_correct"])
    rows = pd.concat([p[[*columns, "correct"]] for p in parts], ignore_index=True)
    return rows.groupby(columns)["correct"].agg(runs="count", p_correct="mean").reset_index()


def truly_best(runs: pd.DataFrame) -> pd.DataFrame:
    """Per group (``group_keys`` without model, rival, proposal) and model: the share of the shared-design runs
    (with ``models`` and ``model_true_risks``) where that model has the smallest true risk ("tie": several)."""
    ok = labelled_runs(runs)
    if "model_true_risks" not in ok.columns:
        return pd.DataFrame(columns=["models", "best", "share", "runs"])
    ok = ok[ok["model_true_risks"].notna()]
    keys = [k for k in group_keys(runs) if k not in ("model", "rival", "proposal")]

    def best(models, risks) -> str:
        risks = np.asarray(risks, dtype=float)
        winners = [m for m, r in zip(models, risks) if r == risks.min()]
        return winners[0] if len(winners) == 1 else "tie"

    # one row per pool (seed, draw_seed): the truth does not depend on the proposal
    pools = ok.drop_duplicates([*keys, *[r for r in sorted(REPLICATES) if r in ok.columns], "rival"])
    frame = pools[keys].assign(models=[_models_label(m) for m in pools["models"]],
                               best=[best(m, r) for m, r in zip(pools["models"], pools["model_true_risks"])])
    counts = frame.groupby([*keys, "models", "best"]).size().rename("n").reset_index()
    counts["runs"] = counts.groupby([*keys, "models"])["n"].transform("sum")
    return counts.assign(share=counts["n"] / counts["runs"]).drop(columns="n")
