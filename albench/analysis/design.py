"""Minimal study design: how many data sets (start points, seeds, splits) does a
study need before its leaderboard stops changing?

For a factor F with n values and each k = 1..n, leaderboards are built from
random k-subsets of F's values (every subset when there are at most
``n_subsets``) and compared with the full leaderboard by Kendall's tau. The
smallest k < n whose mean tau reaches ``target`` (0.9) is a defensible size
for that factor; when only k = n reaches it (the full leaderboard agrees
with itself), the target is "not reached" (``minimal_k`` NaN, ``reached``
False). Past ``EXACT_K`` values (a study of 4.6 x 10^6 runs has thousands of
blocks), k steps by ``K_STEP`` (10 %) and the first step that reaches the
target is narrowed to the exact smallest k by bisection, which assumes the
mean tau grows with k between two steps. The AL hyperparameter study this
follows (Gonsior et al., 2025) used the same reasoning to recommend a minimal
experimental grid.

A leaderboard is the mean over blocks of each method's rank within the
block, ranks taken on the metric averaged over the chosen values of F
(and over every other hyperparameter), as in ``leaderboard``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from albench.analysis.frame import REPLICATES, Frame
from albench.analysis.leaderboard import block_matrix
from albench.analysis.stats import group_means, kendall_tau_rows

TARGET_TAU = 0.9
EXACT_K = 50  # every k up to this is evaluated; beyond it, a geometric grid (each k costs n_subsets leaderboards)
K_STEP = 1.1


@dataclass
class DesignCurve:
    curve: pd.DataFrame  # factor, k, tau_mean, tau_low, tau_high, subsets
    minimal: pd.DataFrame  # factor, n_values, minimal_k (NaN: not reached before using all), reached, target
    target: float


def _subsets(n: int, k: int, n_subsets: int, rng: np.random.Generator) -> np.ndarray:
    """0/1 matrix (subsets x n) of k-subsets: all of them, or ``n_subsets`` random ones."""
    if math.comb(n, k) <= n_subsets:
        combos = np.array(list(itertools.combinations(range(n), k)))
    else:
        combos = np.array([rng.choice(n, size=k, replace=False) for _ in range(n_subsets)])
    weights = np.zeros((len(combos), n))
    np.put_along_axis(weights, combos, 1.0, axis=1)
    return weights


def k_grid(n: int) -> list[int]:
    """The subset sizes evaluated for a factor of n values: 1..EXACT_K, then steps of K_STEP, and n."""
    ks = list(range(1, min(n, EXACT_K) + 1))
    while ks[-1] < n:
        ks.append(min(n, max(ks[-1] + 1, round(ks[-1] * K_STEP))))
    return ks


def _cell_means(frame: Frame, metric: str, factor: str, blocks: list, methods: list) -> np.ndarray:
    """blocks x factor values x methods mean metric (NaN for empty cells); ``blocks``: values of the block
    column (``_block_values``)."""
    ok = frame.ok[frame.ok[frame.block].isin(blocks)]
    means = group_means(ok[metric], [ok[frame.block], ok[factor], ok[frame.method]])
    index = pd.MultiIndex.from_product([blocks, frame.values(factor), methods])
    return means.reindex(index).to_numpy(dtype=float).reshape(len(blocks), -1, len(methods))


def _block_values(frame: Frame, labels: list) -> list:
    """The block column's values behind ``block_matrix``'s text labels (a numeric column such as ``seed``
    is labelled "0", "1", ...), matched over the distinct values, not row by row."""
    values = pd.Index(pd.unique(frame.ok[frame.block]))
    return list(values[values.astype(str).get_indexer(labels)])


def _leaderboards(cells: np.ndarray, weights: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Mean ranks (subsets x methods) with the factor values in each row of ``weights``.

    ``cells`` is (blocks, values, methods); the metric is averaged over the
    chosen values within each block, ranked within the block, then the ranks
    are averaged over blocks.
    """
    present = np.isfinite(cells)
    # sums over the chosen values as one matrix product each (BLAS; einsum's loops took a minute at 10^6 runs)
    total = np.tensordot(weights, np.where(present, cells, 0.0), axes=([1], [1]))
    count = np.tensordot(weights, present.astype(float), axes=([1], [1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = total / count
    ranks = rankdata(-means if higher_is_better else means, axis=-1, nan_policy="omit")
    rank_present = np.isfinite(ranks)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rank_present, ranks, 0.0).sum(axis=1) / rank_present.sum(axis=1)


def design_curve(frame: Frame, metric: str, factors=None, n_subsets: int = 200, target: float = TARGET_TAU,
                 quantiles: tuple[float, float] = (0.05, 0.95), seed: int = 0) -> DesignCurve:
    """Mean Kendall tau (and its ``quantiles`` over subsets) against k, for each factor that varies.

    ``factors`` defaults to the block column (when it is one) and the data set, then start points, seeds, splits.
    """
    factors = factors or dict.fromkeys((frame.block, "dataset", *REPLICATES))
    matrix = block_matrix(frame, metric)
    blocks, methods = list(matrix.index), list(matrix.columns)
    block_values = _block_values(frame, blocks)
    better = frame.higher_is_better(metric)
    rng = np.random.default_rng(seed)
    rows, minimal = [], []
    for factor in factors:
        if factor not in frame.hyperparameters or factor in frame.method_parts or len(methods) < 2:
            continue
        if factor == frame.block:
            # choosing data sets chooses whose ranks are averaged
            ranks = rankdata(-matrix.to_numpy(float) if better else matrix.to_numpy(float), axis=-1)
            n = len(blocks)

            def leaderboards(weights):
                return weights @ ranks / weights.sum(axis=1, keepdims=True)
        else:
            cells = _cell_means(frame, metric, factor, block_values, methods)
            n = cells.shape[1]

            def leaderboards(weights):
                return _leaderboards(cells, weights, better)
        if n < 2:
            continue
        full = leaderboards(np.ones((1, n)))
        tied = not np.nanmax(full) > np.nanmin(full)

        def row(k: int) -> dict:
            weights = _subsets(n, k, n_subsets, rng)
            taus = kendall_tau_rows(leaderboards(weights), full)
            # a subset whose methods all tie orders no pair: it agrees with nothing (tau-b is 0/0)
            finite = taus[np.isfinite(taus)] if tied else np.where(np.isnan(taus), 0.0, taus)
            mean = float(finite.mean()) if finite.size else math.nan
            low, high = (np.quantile(finite, quantiles) if finite.size else (math.nan, math.nan))
            return {"factor": factor, "k": k, "tau_mean": mean, "tau_low": float(low), "tau_high": float(high),
                    "subsets": len(weights)}

        points, reached, previous = {}, math.nan, 0
        for k in k_grid(n):
            points[k] = row(k)
            if math.isnan(reached) and points[k]["tau_mean"] >= target and k < n:
                low, reached = previous, k
                while reached - low > 1:  # between two grid steps: bisect to the smallest k
                    mid = (low + reached) // 2
                    points[mid] = row(mid)
                    low, reached = (low, mid) if points[mid]["tau_mean"] >= target else (mid, reached)
            previous = k
        rows += [points[k] for k in sorted(points)]
        minimal.append({"factor": factor, "n_values": n, "minimal_k": reached, "reached": not math.isnan(reached),
                        "target": target})
    curve = pd.DataFrame(rows, columns=["factor", "k", "tau_mean", "tau_low", "tau_high", "subsets"])
    minimal = pd.DataFrame(minimal, columns=["factor", "n_values", "minimal_k", "reached", "target"])
    return DesignCurve(curve, minimal, target)
