"""Hyperparameter influence: how much each hyperparameter decides the metric.

Three views, joined into one table by ``influence_table`` (``VIEWS`` names the
view of each column):

- influence on the metric's level: functional ANOVA over the grid, from optuna's importance evaluators on a
  study rebuilt from the stored runs (one trial per run): fANOVA (Hutter et
  al., "An Efficient Approach for Assessing Hyperparameter Importance",
  ICML 2014) and PED-ANOVA (Watanabe et al., "PED-ANOVA: Efficiently
  Quantifying Hyperparameter Importance in Arbitrary Subspaces", IJCAI 2023),
  the latter asking which values reach the best 10 % of runs. A harder data
  set lowers every strategy's AUC and dominates this view without changing
  which strategy wins;
- influence on the gain over the baseline (``fanova_vs_random``): fANOVA of
  each run's metric minus the mean metric of the random-sampling runs
  matched with it (same block, learner, batch size, seed, ...), over the
  other methods' runs. A level shift common to every method cancels;
- influence on the conclusion (``stability``): the agreement of the
  leaderboards, matched metrics and picks between pairs of values.

Every hyperparameter is treated as categorical (a grid axis is a list of
values), except one of more than ``MAX_CATEGORIES`` values (seeds), which is
coded by the rank of its values' mean metric; its distribution is built once
from the grid and shared by all trials, so optuna never drops a parameter
whose value set differs between trials.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.importance import FanovaImportanceEvaluator, PedAnovaImportanceEvaluator, get_param_importances
from optuna.trial import create_trial

from dataclasses import replace

from albench.analysis.frame import Frame

BASELINE = {"al": "random"}  # the method whose matched runs define "gain" per kind
VIEWS = {
    "fanova": "metric level (fANOVA)",
    "ped_anova": "metric level (PED-ANOVA, best 10 % of runs)",
    "fanova_vs_random": "gain over matched random-sampling runs (fANOVA)",
    "kendall_tau": "ranking: mean Kendall tau over pairs of values (1 = same leaderboard)",
    "kendall_tau_worst": "ranking: worst pair of values (< 0: the ranking flips)",
    "pearson_r": "matched runs: mean Pearson r over pairs of values",
    "jaccard": "picks: mean Jaccard overlap of queried indices over pairs of values",
}

# fANOVA's cost grows quickly with trials and tree size: larger grids are subsampled
# (seeded), and trees are smaller than optuna's default (64 trees of depth 64).
# First-order importances are main effects, which depth 6 (64 leaves) captures: on
# the quick grid's 192 runs the figures stay within 0.015 of the default's, in the
# same order; on 432 noisy runs they take 0.4 s instead of 8 s.
MAX_TRIALS = 2_000
# fANOVA one-hot encodes a categorical, and its cost follows the number of values: 500 seeds ran for
# minutes, 20 start points took 90 s of CPU on 10^4 runs. Above this many values, a hyperparameter's values
# are coded by the rank of their mean metric and treated as ordinal: for a regression tree, splits of
# categories sorted by mean response are the best of all partitions (Breiman et al. 1984, section 9.4).
# On a synthetic 10^4-run store (benchmarks/synthetic_store.py) that took 1 s, and the importances came
# closer to the exact main-effect shares (variance of the marginal means): learner 0.16 / strategy 0.46 /
# batch size 0.36 against exact 0.24 / 0.47 / 0.30, where one-hot gave 0.12 / 0.40 / 0.42.
MAX_CATEGORIES = 6
FANOVA_TREES = 32
FANOVA_DEPTH = 6


def _py(value):
    """Optuna stores only plain Python scalars."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def build_study(frame: Frame, metric: str, hyperparameters: list[str], max_trials: int = MAX_TRIALS,
                seed: int = 0) -> optuna.Study:
    """An optuna study with one completed trial per successful row."""
    ok = frame.ok[frame.ok[metric].notna()]
    if len(ok) > max_trials:
        ok = ok.sample(max_trials, random_state=seed)
    distributions, codes = {}, {}
    for h in hyperparameters:
        values = frame.values(h)
        if len(values) <= MAX_CATEGORIES:
            distributions[h] = CategoricalDistribution(tuple(_py(v) for v in values))
        else:  # many values (seeds): ranked by their mean metric, an ordinal axis (see MAX_CATEGORIES)
            means = ok.groupby(h)[metric].mean().reindex(values)
            order = sorted(range(len(values)), key=lambda i: (np.nan_to_num(means.iloc[i], nan=-np.inf), i))
            codes[h] = {values[i]: rank for rank, i in enumerate(order)}
            distributions[h] = IntDistribution(0, len(values) - 1)
    direction = "maximize" if frame.higher_is_better(metric) else "minimize"
    study = optuna.create_study(direction=direction)
    columns = ok[hyperparameters].assign(**{h: ok[h].map(c) for h, c in codes.items()}).to_dict("records")
    study.add_trials([
        create_trial(params={h: _py(v) for h, v in params.items()}, distributions=distributions, value=float(value))
        for params, value in zip(columns, ok[metric].to_numpy(dtype=float))
    ])
    return study


def importances(frame: Frame, metric: str, seed: int = 0, max_trials: int = MAX_TRIALS,
                fanova_trees: int = FANOVA_TREES, fanova_depth: int = FANOVA_DEPTH) -> pd.DataFrame:
    """fANOVA and PED-ANOVA importance (each sums to 1) of every varying hyperparameter."""
    hyper = list(frame.hyperparameters)
    out = pd.DataFrame(index=pd.Index(hyper, name="hyperparameter"), columns=["fanova", "ped_anova"], dtype=float)
    values = frame.ok[metric].dropna()
    if not hyper or len(values) < 2 or np.ptp(values.to_numpy(dtype=float)) == 0:
        # nothing varies, or the metric is constant (fANOVA would raise): nothing decides it
        out[:] = 0.0 if hyper else np.nan
        return out
    optuna_logger = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(logging.WARNING)
    try:
        study = build_study(frame, metric, hyper, max_trials, seed)
        evaluators = {"fanova": FanovaImportanceEvaluator(n_trees=fanova_trees, max_depth=fanova_depth, seed=seed),
                      "ped_anova": PedAnovaImportanceEvaluator()}
        for name, evaluator in evaluators.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # experimental-feature notices
                result = get_param_importances(study, evaluator=evaluator, params=hyper, normalize=True)
            out[name] = pd.Series(result, dtype=float).reindex(hyper).fillna(0.0)
    finally:
        optuna.logging.set_verbosity(optuna_logger)
    return out


def gain_frame(frame: Frame, metric: str, baseline: str | None = None) -> Frame | None:
    """The non-baseline runs with ``metric`` replaced by its gain over the matched baseline runs.

    None when the baseline method is absent or no run has a matched baseline.
    """
    baseline = baseline or BASELINE.get(frame.kind)
    ok = frame.ok[frame.ok[metric].notna()]
    if baseline is None or len(frame.method_parts) != 1 or baseline not in set(ok[frame.method]):
        return None
    context = [h for h in frame.context(frame.method_parts) if h in ok.columns] or ["_one"]
    ok = ok.assign(_one=0)
    reference = ok[ok[frame.method] == baseline].groupby(context)[metric].mean().rename("_baseline")
    others = ok[ok[frame.method] != baseline].join(reference, on=context)
    others = others[others["_baseline"].notna()]
    if others.empty:
        return None
    runs = others.assign(**{metric: others[metric] - others["_baseline"]}).drop(columns=["_baseline", "_one"])
    varying = [h for h in frame.hyperparameters if runs[h].nunique() > 1]
    return replace(frame, runs=runs.reset_index(drop=True), hyperparameters=varying)


def gain_importance(frame: Frame, metric: str, seed: int = 0) -> pd.Series:
    """fANOVA importance of each varying hyperparameter on the gain over random (NaN without a baseline)."""
    gains = gain_frame(frame, metric)
    out = pd.Series(np.nan, index=pd.Index(frame.hyperparameters, name="hyperparameter"), name="fanova_vs_random")
    if gains is None:
        return out
    fanova = importances(gains, metric, seed=seed)["fanova"]
    out.loc[out.index.isin(gains.hyperparameters)] = 0.0
    out.update(fanova)
    return out


# each measure as "higher = more influence"; stability measures are similarities, so 1 - value
INFLUENCE_SCORES = {
    "fanova": lambda t: t["fanova"],
    "ped_anova": lambda t: t["ped_anova"],
    "fanova_vs_random": lambda t: t["fanova_vs_random"],
    "kendall_tau": lambda t: 1.0 - t["kendall_tau"],
    "pearson_r": lambda t: 1.0 - t["pearson_r"],
    "jaccard": lambda t: 1.0 - t["jaccard"],
}


def influence_table(frame: Frame, metric: str, curves: pd.DataFrame | None = None, n_resamples: int = 1000,
                    seed: int = 0, agreement_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every varying hyperparameter, most influential first, with every measure (``VIEWS``).

    ``influence_rank`` is the mean over the measures that apply of the
    hyperparameter's rank by that measure (1 = decides the metric most).
    ``agreement_table`` is ``stability.agreement(...).table`` when already computed.
    """
    from albench.analysis.stability import stability

    if agreement_table is None:
        agreement_table = stability(frame, metric, curves, n_resamples=n_resamples, seed=seed)
    table = importances(frame, metric, seed=seed).join(gain_importance(frame, metric, seed)).join(agreement_table)
    table.insert(0, "values", [frame.ok[h].nunique() for h in table.index])
    scores = pd.DataFrame({name: score(table) for name, score in INFLUENCE_SCORES.items()})
    table["influence_rank"] = scores.rank(ascending=False, method="average").mean(axis=1)
    return table.sort_values("influence_rank", kind="stable").reset_index()
