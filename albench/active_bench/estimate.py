"""Full-grid estimates from the blocks run so far: per-method means, leaderboard, pairwise differences.

Every figure is a function of the stored design rows and the metric of the
sampled runs (``records``), so it can be recomputed from the results folder.
Round r gives Z_r, the stratified difference estimate of the full-grid total
(``albench.finite_population.stratified_difference_total``): what rounds
before r ran exactly, plus a surrogate's predictions over the blocks left,
plus each stratum's expanded mean residual. The surrogate of stratum h is
fitted on every block run outside it (earlier rounds and round r's other
strata; the draws of different strata are independent), so Z_r is unbiased
given the rounds before it, for any metric. The rounds combine with fixed
weights (``finite_population.round_weights``) into an unbiased estimate, and
their variances add (the covariances between strata that cross-fitting
introduces are neglected).

Each round estimates totals of 2 (K + P) quantities per block (K methods,
P = K (K - 1) / 2 pairs): for each method, its metric where its run
succeeded (0 elsewhere) and the indicator of that success; for each pair,
the difference where both succeeded and the indicator of both. The
predictions of the indicators are the grid's own cells (1 where the grid
holds the method, 0 where an exclude rule drops it), so without failed runs
the counts are exact and every mean, a total over its known count, stays
exactly unbiased; a pair's mean difference is over the blocks holding both.
Failed runs (error/timeout rows) in sampled blocks are missing values: their
method's mean is then a ratio of two estimated totals (metric over
successes), with a delta-method covariance, unbiased as the sample grows.

Intervals are Student-t: every variance is a sum of independent pieces (one
per stratum with two or more sampled blocks, one per group of collapsed
singleton strata, in every round), and each mean, pair and difference of
two means gets Satterthwaite's effective degrees of freedom over its pieces
(``finite_population.stratified``), through the delta method where counts
are estimated.

Once every block is sampled the estimate is the plain mean over the grid,
with zero variance.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from albench import finite_population as fp
from albench.active_bench.full_grid import FullGridEstimate
from albench.active_bench.population import ActiveBenchError, Population
from albench.active_bench.surrogate import fit as fit_surrogate
from albench.analysis.frame import LOWER_IS_BETTER
from albench.wording import are, counted

__all__ = ["estimate", "quantities"]  # FullGridEstimate is full_grid's (imported here to build it)


def quantities(values: np.ndarray, held: np.ndarray) -> np.ndarray:
    """(n, 2 (K + P)) per-block quantities whose totals the estimator needs, from (n, K) ``values`` and ``held``.

    Columns: each method's value where held (0 elsewhere), each method's
    ``held`` indicator, each pair i < j's difference where both are held,
    each pair's indicator of both (pairs in ``np.triu_indices(K, 1)`` order).
    ``held`` is "run and succeeded" for the data, "in the grid" for the
    predictions.
    """
    m = np.asarray(held, dtype=bool)
    v = np.where(m, values, 0.0)
    i, j = np.triu_indices(m.shape[1], 1)
    both = (m[:, i] & m[:, j]).astype(float)
    return np.hstack([v, m.astype(float), (v[:, i] - v[:, j]) * both, both])


def estimate(design: pd.DataFrame, population: Population, values: np.ndarray, metric: str | None = None,
             level: float = 0.95, surrogate: bool = True) -> FullGridEstimate:
    """Full-grid estimate of ``metric`` from the design rows and the (B, K) ``values`` of the sampled blocks.

    ``metric`` defaults to the design's. Predictions are cross-fitted: those
    of stratum h in round r come from a surrogate fitted on the blocks of the
    earlier rounds and of round r's *other* strata, which are independent of
    stratum h's own draw, so each stratum's difference estimate is exactly
    unbiased. ``surrogate=False`` predicts 0 (plain stratified expansion).
    A NaN value of a method in a sampled block that holds it is a failed run
    (see the module docstring); runs not stored yet must not reach here
    (``sampler.estimate_folder`` refuses them).
    """
    if design.empty:
        raise ActiveBenchError("no design rows: nothing has been sampled yet")
    metric = metric or str(design["metric"].iloc[0])
    index = pd.Series(np.arange(population.n_blocks), index=population.blocks["block_id"].to_numpy())
    unknown = set(design["block_id"]) - set(index.index)
    if unknown:
        raise ActiveBenchError(f"{counted(len(unknown), 'sampled block')} {are(len(unknown))} not in this grid "
                               "(was the grid file changed after sampling?)")
    if not set(design["method"]) <= set(population.methods):
        raise ActiveBenchError("the design's methods differ from the grid's: "
                               f"{sorted(design['method'].unique())} against {population.methods}")
    per_block = design.drop_duplicates(["round", "block_id"])
    k, n_total = len(population.methods), population.n_blocks
    held = population.present
    sampled_all = population.blocks["block_id"].isin(set(design["block_id"])).to_numpy()
    succeeded = sampled_all[:, None] & held & np.isfinite(values)
    data = quantities(values, succeeded)
    unfitted = quantities(np.zeros(values.shape), held)  # no surrogate: metric 0, every held run succeeds
    totals, sizes, lefts = [], [], []
    sampled = np.zeros(n_total, dtype=bool)
    for r, rows in per_block.groupby("round", sort=True):
        chosen = index[rows["block_id"]].to_numpy()
        factors = tuple(json.loads(rows["strata_factors"].iloc[0]))
        labels = population.stratum_labels(factors)
        names, codes = np.unique(rows["stratum"].to_numpy(dtype=str), return_inverse=True)
        left = ~sampled
        stratum_sizes = np.array([int((labels[left] == name).sum()) for name in names])
        stored = rows.drop_duplicates("stratum").set_index("stratum").loc[names, "stratum_size"].to_numpy()
        if not np.array_equal(stratum_sizes, stored):
            raise ActiveBenchError(f"round {r}: the grid's strata no longer match the stored design "
                                   "(was the grid file changed after sampling?)")
        residuals = data[chosen] - unfitted[chosen]
        rest = np.zeros(data.shape[1])
        # a balanced draw couples the strata: then only earlier rounds may train the surrogate
        coupled = bool(json.loads(rows["balanced_on"].iloc[0])) if "balanced_on" in rows.columns else False
        for h, name in enumerate(names):
            others = sampled.copy()
            if not coupled:
                others[chosen[codes != h]] = True
            mine = left & (labels == name)
            predicted = unfitted
            if surrogate and others.any():  # else nothing run outside this stratum yet: predict 0
                fitted = fit_surrogate(population, np.where(others[:, None], values, np.nan), others)
                predicted = quantities(fitted.predictions, held)
                residuals[codes == h] = data[chosen[codes == h]] - predicted[chosen[codes == h]]
            rest += predicted[mine].sum(axis=0)
        known = data[sampled].sum(axis=0)
        totals.append(fp.stratified_difference_total(residuals, codes, stratum_sizes, known_total=known,
                                                     predicted_rest_total=rest))
        sizes.append(len(chosen))
        lefts.append(int(left.sum()))
        sampled[chosen] = True
    if sampled.all():  # a census: the plain means over the grid, known exactly (infinite degrees of freedom)
        combined = fp.TotalEstimate(data.sum(axis=0), np.zeros((data.shape[1],) * 2))
    else:
        combined = fp.combine_rounds(totals, fp.round_weights(np.array(sizes), np.array(lefts)))
    ratios = _ratios(combined, k)
    means_df, pairs_df = ratios.df[:k], ratios.df[k:]
    upper = np.triu_indices(k, 1)
    contrasts = np.zeros((len(upper[0]), len(ratios.total)))  # mean_i - mean_j for every pair (``settled``)
    contrasts[np.arange(len(upper[0])), upper[0]], contrasts[np.arange(len(upper[0])), upper[1]] = 1.0, -1.0
    contrast_df = ratios.delta(contrasts @ ratios.total, contrasts).df
    pair_difference = _symmetric(k, upper, ratios.total[k:], sign=-1)
    pair_variance = _symmetric(k, upper, np.diag(ratios.covariance)[k:])
    pair_blocks = _symmetric(k, upper, (held[:, upper[0]] & held[:, upper[1]]).sum(axis=0)).astype(int)
    return FullGridEstimate(metric, list(population.methods), ratios.total[:k], ratios.covariance[:k, :k],
                            int(sampled.sum()), n_total, len(sizes), level, not LOWER_IS_BETTER.search(metric),
                            cells=held.sum(axis=0), failed=(sampled[:, None] & held & ~succeeded).sum(axis=0),
                            sampled_cells=(sampled[:, None] & held).sum(axis=0),
                            runs_sampled=int(held[sampled].sum()), pair_difference=pair_difference,
                            pair_variance=pair_variance, pair_blocks=pair_blocks,
                            identical=_identical(values, held, sampled) if not sampled.all() else None,
                            df=means_df, pair_df=_symmetric(k, upper, pairs_df, diagonal=np.inf),
                            contrast_df=_symmetric(k, upper, contrast_df, diagonal=np.inf))


def _symmetric(k: int, upper: tuple[np.ndarray, np.ndarray], values: np.ndarray, sign: int = 1,
               diagonal: float = 0.0) -> np.ndarray:
    """(K, K) matrix from its upper triangle ``values``; the lower one is ``sign`` times its mirror."""
    out = np.full((k, k), diagonal, dtype=float)
    out[upper] = values
    out[upper[1], upper[0]] = sign * np.asarray(values, dtype=float)
    return out


def _ratios(totals: fp.TotalEstimate, k: int) -> fp.TotalEstimate:
    """Means (value totals over count totals) of the K methods and P pairs, with their delta-method covariance
    and degrees of freedom.

    Without failed runs the count totals are known exactly (zero variance),
    so this is the covariance of the value totals over the known counts.
    """
    total = totals.total
    p = k * (k - 1) // 2
    value = np.r_[np.arange(k), 2 * k + np.arange(p)]
    count = np.r_[k + np.arange(k), 2 * k + p + np.arange(p)]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = total[value] / total[count]
        jac = np.zeros((len(value), len(total)))
        jac[np.arange(len(value)), value] = 1 / total[count]
        jac[np.arange(len(value)), count] = -ratio / total[count]
    jac = np.where(np.isfinite(jac), jac, np.nan)
    return totals.delta(ratio, jac)


def _identical(values: np.ndarray, held: np.ndarray, sampled: np.ndarray) -> np.ndarray:
    """(K, K) pairs with the same outcome in every sampled block holding both (the same metric, or both failed)."""
    k = values.shape[1]
    v, h = values[sampled], held[sampled]
    out = np.zeros((k, k), dtype=bool)
    for i in range(k):
        for j in range(i + 1, k):
            both = h[:, i] & h[:, j]
            a, b = v[both, i], v[both, j]
            out[i, j] = out[j, i] = bool(both.any()) and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))
    return out
