"""Hyperparameter influence: how much each hyperparameter decides the metric.

Two views, joined into one table by ``influence_table``:

- functional ANOVA over the grid, from optuna's importance evaluators on a
  study rebuilt from the stored runs (one trial per run): fANOVA (Hutter et
  al., "An Efficient Approach for Assessing Hyperparameter Importance",
  ICML 2014) and PED-ANOVA (Watanabe et al., "PED-ANOVA: Efficiently
  Quantifying Hyperparameter Importance in Arbitrary Subspaces", IJCAI 2023),
  the latter asking which values reach the best 10 % of runs;
- ranking stability (``stability``): do the conclusions change with it?

Every hyperparameter is treated as categorical (a grid axis is a list of
values); its distribution is built once from the grid and shared by all trials,
so optuna never drops a parameter whose value set differs between trials.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import CategoricalDistribution
from optuna.importance import FanovaImportanceEvaluator, PedAnovaImportanceEvaluator, get_param_importances
from optuna.trial import create_trial

from albench.analysis.frame import Frame

# fANOVA's cost grows quickly with trials and tree size: larger grids are subsampled
# (seeded), and trees are smaller than optuna's default (64 trees of depth 64).
# First-order importances are main effects, which depth 6 (64 leaves) captures: on
# the quick grid's 192 runs the figures stay within 0.015 of the default's, in the
# same order; on 432 noisy runs they take 0.4 s instead of 8 s.
MAX_TRIALS = 2_000
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
    distributions = {h: CategoricalDistribution(tuple(_py(v) for v in frame.values(h))) for h in hyperparameters}
    direction = "maximize" if frame.higher_is_better(metric) else "minimize"
    study = optuna.create_study(direction=direction)
    columns = ok[hyperparameters].to_dict("records")
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


# each measure as "higher = more influence"; stability measures are similarities, so 1 - value
INFLUENCE_SCORES = {
    "fanova": lambda t: t["fanova"],
    "ped_anova": lambda t: t["ped_anova"],
    "kendall_tau": lambda t: 1.0 - t["kendall_tau"],
    "pearson_r": lambda t: 1.0 - t["pearson_r"],
    "jaccard": lambda t: 1.0 - t["jaccard"],
}


def influence_table(frame: Frame, metric: str, curves: pd.DataFrame | None = None, n_resamples: int = 1000,
                    seed: int = 0) -> pd.DataFrame:
    """Every varying hyperparameter, most influential first, with all five measures.

    ``influence_rank`` is the mean over the measures that apply of the
    hyperparameter's rank by that measure (1 = decides the metric most).
    """
    from albench.analysis.stability import stability

    table = importances(frame, metric, seed=seed).join(
        stability(frame, metric, curves, n_resamples=n_resamples, seed=seed))
    table.insert(0, "values", [frame.ok[h].nunique() for h in table.index])
    scores = pd.DataFrame({name: score(table) for name, score in INFLUENCE_SCORES.items()})
    table["influence_rank"] = scores.rank(ascending=False, method="average").mean(axis=1)
    return table.sort_values("influence_rank", kind="stable").reset_index()
