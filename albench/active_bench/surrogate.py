"""The surrogate: each method's metric of a block predicted from its hyperparameters.

A ridge regression on one-hot codes of the block's design factors (main
effects, and their pairwise interactions shrunk harder), one output per
method, fitted on blocks already run. Effects learnt in some strata carry
over to blocks of others (a learner's or a batch size's effect on every data
set), which is what the difference estimator gains over plain expansion.
Its uncertainty is the leave-one-out residual (closed form for ridge), so
the proposal looks for the strata the model predicts worst.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

MAIN_PENALTY = 0.1  # in units of one block's squared metric; main effects are estimated from few blocks
INTERACTION_PENALTY = 1.0
SHRINK_BLOCKS = 2.0  # a stratum's uncertainty is pulled towards the pooled one by this many blocks


def design_matrix(blocks: pd.DataFrame, columns: list[str], interactions: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """One-hot codes (with an intercept) of ``columns`` and of the pairs of ``interactions``, and each
    column's ridge penalty."""
    parts, penalty = [np.ones((len(blocks), 1))], [0.0]
    for col in columns:
        codes = pd.get_dummies(blocks[col].astype(str)).to_numpy(dtype=float)
        parts.append(codes)
        penalty += [MAIN_PENALTY] * codes.shape[1]
    for a, b in itertools.combinations(interactions, 2):
        codes = pd.get_dummies(blocks[a].astype(str) + " x " + blocks[b].astype(str)).to_numpy(dtype=float)
        parts.append(codes)
        penalty += [INTERACTION_PENALTY] * codes.shape[1]
    return np.hstack(parts), np.asarray(penalty)


@dataclass
class Surrogate:
    """Predictions (B, K) for every block and the leave-one-out squared residuals of the fitted ones."""

    predictions: np.ndarray  # (B, K)
    loo_sq: np.ndarray  # (B,) sum over methods of the squared leave-one-out residual; NaN where not fitted

    def stratum_scores(self, labels: np.ndarray, names: list[str], sizes: np.ndarray,
                       costs: np.ndarray | None = None) -> np.ndarray:
        """Neyman scores N_h s_h / sqrt(c_h) of the strata ``names``, given every block's stratum label.

        s_h^2 is the mean leave-one-out squared residual of the blocks of
        stratum h run so far, pulled towards the pooled mean by
        ``SHRINK_BLOCKS`` blocks; c_h the same for the measured cost per block
        (``costs`` None: every block costs the same).
        """
        s2 = _shrunk_means(self.loo_sq, labels, names)
        c = np.ones(len(names)) if costs is None else _shrunk_means(costs, labels, names)
        return np.asarray(sizes, dtype=float) * np.sqrt(s2) / np.sqrt(np.maximum(c, 1e-12))


def _shrunk_means(values: np.ndarray, labels: np.ndarray, names: list[str]) -> np.ndarray:
    known = np.isfinite(values)
    pooled = float(np.mean(values[known])) if known.any() else 1.0
    out = np.empty(len(names))
    for h, name in enumerate(names):
        v = values[known & (labels == name)]
        out[h] = (v.sum() + SHRINK_BLOCKS * pooled) / (len(v) + SHRINK_BLOCKS)
    return out


def fit(population, values: np.ndarray, fitted: np.ndarray) -> Surrogate:
    """Fit on the blocks ``fitted`` (boolean mask): each method on those of its ``values`` (B, K) that are known.

    Features: the population's design factors and their pairwise
    interactions (replicates such as seeds carry no effect that transfers).
    A method's value is unknown where the grid drops it from a block or its
    run failed; methods known on the same blocks share one solve (all of
    them, on a grid without exclude rules or failures).
    """
    x, penalty = population.cached("features", lambda: design_matrix(population.blocks, population.factors,
                                                                        population.factors))
    n_blocks, k = values.shape
    known = fitted[:, None] & np.isfinite(values)
    pred = np.zeros((n_blocks, k))
    loo_sq, loo_count = np.zeros(n_blocks), np.zeros(n_blocks)
    masks, group = np.unique(known.T, axis=0, return_inverse=True)
    for g, rows in enumerate(masks):
        cols = np.flatnonzero(group.ravel() == g)
        ys = values[rows][:, cols]
        if rows.sum() < 2:  # too little to fit: the mean of what is known (0 when nothing is)
            pred[:, cols] = ys.mean(axis=0) if rows.any() else 0.0
            continue
        xs = x[rows]
        inv = np.linalg.inv(xs.T @ xs + np.diag(penalty + 1e-9))
        coef = inv @ xs.T @ ys
        pred[:, cols] = x @ coef
        hat = np.einsum("ij,jk,ik->i", xs, inv, xs)
        loo = (ys - xs @ coef) / np.maximum(1 - hat, 1e-6)[:, None]
        loo_sq[rows] += (loo ** 2).sum(axis=1)
        loo_count[rows] += len(cols)
    with np.errstate(invalid="ignore", divide="ignore"):  # per block: summed over methods, rescaled to all K
        loo_sq = np.where(loo_count > 0, loo_sq * k / loo_count, np.nan)
    return Surrogate(pred, loo_sq)
