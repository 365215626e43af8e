"""Ranking stability, value against value: would a study reach other conclusions
under another value of a hyperparameter?

For every hyperparameter H and every pair of its values (a, b), three
agreements, each a values x values matrix (``Agreement.matrices``):

- ``kendall_tau``: Kendall's tau-b between the leaderboard (mean rank of each
  method over the blocks) built from the runs with H = a and the one built
  from the runs with H = b. Undefined for the hyperparameters that make up
  the compared methods. When H is a block column (the data set), the
  leaderboard of H = a averages the blocks of a only.
- ``pearson_r``: Pearson's r between the metric of matched runs (identical in
  every other hyperparameter) under a and under b, within each data set
  (the first block column), averaged over data sets.
- ``jaccard``: Jaccard overlap of the pool indices queried by matched runs,
  compared at equal numbers of labels (the first n queried by each), averaged
  the same way. Needs the ``queried`` column of the curves (AL runs). It is
  exact while the runs compared queried at most ``MAX_INDICES`` indices in
  all (about 10^5 runs of 500 labels); past that, the same number K of
  matched contexts per (hyperparameter, data set) is drawn (seeded), K the
  largest that stays within ``MAX_INDICES``, so that memory is bounded at any
  grid size. ``jaccard_contexts`` of ``jaccard_contexts_total`` in the table
  say how many contexts were compared.

A value is never compared with a table that contains it (a pooled leaderboard
agrees with each of its parts and hides flips). The summary of each measure
is the mean over pairs, with a percentile bootstrap interval (tau: over
blocks; r and jaccard: over data sets), and the worst pair, named, so that a
flip reads in one line: "learner flips the ranking: logreg vs rf, tau = -0.28".
An interval over fewer than ``MIN_RELIABLE_UNITS`` units is flagged
(``<measure>_reliable`` = False): a bootstrap of four data sets is no interval.
A hyperparameter with more than ``MAX_PAIRS`` pairs of values (many seeds) is
summarised over a seeded sample of ``MAX_PAIRS`` pairs (``value_pairs``).

The measures follow the AL hyperparameter study this project reproduces
(Gonsior et al., "Survey of Active Learning Hyperparameters: Insights from a
Large-Scale Experimental Grid", 2025), which found conclusions flipping with
start set, batch size, learner and implementation.
"""

from __future__ import annotations

import itertools
import math
import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from albench.analysis.curves import Curves, jaccard_first, query_sequences
from albench.analysis.frame import Frame
from albench.analysis.stats import (MIN_RELIABLE_UNITS, block_ranks, bootstrap_ci, group_means, kendall_tau_rows,
                                    nanmean)

MEASURES = ("kendall_tau", "pearson_r", "jaccard")
SUFFIXES = ("", "_low", "_high", "_worst", "_worst_pair", "_units", "_reliable")
MAX_PAIRS = 190  # of values of one hyperparameter (every pair of 20 values); more are sampled, seeded
# queried indices read for the jaccard measure (4 bytes each, a few copies while sorted): at OGAL's size
# every run's picks would not fit in memory, so contexts are sampled past this (module docstring)
MAX_INDICES = 50_000_000
ASSUMED_QUERIES = 100  # per run, for runs that do not store n_labelled_start/final
__all__ = ["Agreement", "agreement", "stability", "bootstrap_ci", "query_sequences", "ranking_lines"]


@dataclass
class Agreement:
    table: pd.DataFrame  # one row per hyperparameter: per measure mean over pairs, CI, worst pair, units
    matrices: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)  # h -> measure -> values x values

    def matrices_dict(self) -> dict:
        """``{h: {measure: {"values": [...], "matrix": [[...]]}}}`` for JSON (NaN kept as float)."""
        return {h: {m: {"values": [str(v) for v in df.index], "matrix": df.to_numpy(dtype=float).tolist()}
                    for m, df in by_measure.items()} for h, by_measure in self.matrices.items()}


def value_pairs(n_values: int, seed: int) -> list[tuple[int, int]]:
    """Every pair of value positions, or, above ``MAX_PAIRS`` pairs (a hyperparameter of 100 seeds has 4,950),
    a seeded uniform sample of ``MAX_PAIRS`` of them: the summary is then estimated from that sample (the table's
    ``pairs`` against ``pairs_total``; the matrix is NaN off the sample)."""
    total = math.comb(n_values, 2)
    if total <= MAX_PAIRS:
        return list(itertools.combinations(range(n_values), 2))
    a, b = np.triu_indices(n_values, k=1)
    chosen = np.sort(np.random.default_rng(seed).choice(total, size=MAX_PAIRS, replace=False))
    return [(int(a[i]), int(b[i])) for i in chosen]


def _pearson(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson's r of columns ``a[p]`` and ``b[p]`` of ``x`` (rows x values) over the rows where both are
    finite, for every pair p at once; NaN with fewer than 3 such rows or a constant column."""
    xa, xb = x[:, a], x[:, b]
    keep = np.isfinite(xa) & np.isfinite(xb)
    n = keep.sum(axis=0)
    xa, xb = np.where(keep, xa, 0.0), np.where(keep, xb, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        da = np.where(keep, xa - xa.sum(axis=0) / n, 0.0)
        db = np.where(keep, xb - xb.sum(axis=0) / n, 0.0)
        r = (da * db).sum(axis=0) / np.sqrt((da * da).sum(axis=0) * (db * db).sum(axis=0))
    constant = (np.where(keep, xa, -np.inf).max(axis=0) == np.where(keep, xa, np.inf).min(axis=0)) | \
               (np.where(keep, xb, -np.inf).max(axis=0) == np.where(keep, xb, np.inf).min(axis=0))
    return np.where((n >= 3) & ~constant, np.clip(r, -1.0, 1.0), math.nan)


def _pair_label(values: list, pair: tuple[int, int]) -> str:
    return f"{values[pair[0]]} vs {values[pair[1]]}"


def _summary(name: str, pair_values: np.ndarray, pairs: list, values: list, units: int, ci) -> dict:
    """Mean over pairs, its CI, the worst pair (named) and the number of bootstrap units."""
    finite = np.isfinite(pair_values)
    worst = int(np.nanargmin(pair_values)) if finite.any() else None
    point, low, high = ci
    return {name: point, f"{name}_low": low, f"{name}_high": high,
            f"{name}_worst": float(pair_values[worst]) if worst is not None else math.nan,
            f"{name}_worst_pair": _pair_label(values, pairs[worst]) if worst is not None else None,
            f"{name}_units": units, f"{name}_reliable": bool(units >= MIN_RELIABLE_UNITS)}


def _matrix(values: list, pairs: list, pair_values: np.ndarray) -> pd.DataFrame:
    m = np.eye(len(values))
    for (a, b), v in zip(pairs, pair_values):
        m[a, b] = m[b, a] = v
    labels = pd.Index([str(v) for v in values], name="value")
    return pd.DataFrame(m, index=labels, columns=labels)


def _tau(frame: Frame, ok: pd.DataFrame, metric: str, h: str, values: list, pairs: list, n_resamples: int,
         confidence: float, seed: int) -> tuple[dict, pd.DataFrame]:
    blocks, methods = frame.values(frame.block), frame.values(frame.method)
    means = group_means(ok[metric], [ok[h], ok[frame.block], ok[frame.method]])
    means = means.reindex(pd.MultiIndex.from_product([values, blocks, methods])).unstack(-1)
    means = means.reindex(index=pd.MultiIndex.from_product([values, blocks]), columns=methods)  # natural order
    ranks = block_ranks(means, frame.higher_is_better(metric)).to_numpy(dtype=float)
    per_value = ranks.reshape(len(values), len(blocks), len(methods))  # values x blocks x methods
    a, b = np.array(pairs).T
    boards_of = _boards(per_value, np.unique(np.r_[a, b]))

    def pair_taus(idx):  # idx (..., n) block indices -> (..., pairs)
        boards = boards_of(idx)  # values x ... x methods
        return kendall_tau_rows(boards[a], boards[b])  # pairs x ...

    units = np.arange(len(blocks))
    taus = pair_taus(units)
    per_resample = len(blocks) + per_value.shape[0] * per_value.shape[2]  # block counts and the boards
    ci = bootstrap_ci(len(blocks), lambda idx: nanmean(np.moveaxis(pair_taus(idx), 0, -1), axis=-1),
                      n_resamples, confidence, seed, unit_size=-(-per_resample // len(blocks)))
    return _summary("kendall_tau", taus, pairs, values, len(blocks), ci), _matrix(values, pairs, taus)


def _boards(per_value: np.ndarray, used: np.ndarray):
    """``boards(idx)``: per value, the mean rank of each method over the blocks ``idx`` (..., n) (with
    repeats), NaN-aware, i.e. ``nanmean(per_value[:, idx], axis=-2)`` without copying every value's ranks
    once per resample: blocks are counted per resample and each value's boards are count-weighted sums
    over the blocks it holds (a data set holds its own blocks only). Ranks are multiples of 1/2 and
    counts integers, so the sums are exact and the boards equal ``nanmean``'s bit for bit. Only the
    values ``used`` are computed (NaN elsewhere)."""
    finite = np.isfinite(per_value)
    n_values, n_blocks, n_methods = per_value.shape
    held = [np.flatnonzero(finite[v].any(axis=1)) for v in range(n_values)]
    totals = [np.where(finite[v, held[v]], per_value[v, held[v]], 0.0) for v in range(n_values)]
    known = [finite[v, held[v]].astype(float) for v in range(n_values)]

    def boards(idx: np.ndarray) -> np.ndarray:
        idx = np.asarray(idx)
        flat = idx.reshape(-1, idx.shape[-1])
        offsets = (flat + n_blocks * np.arange(len(flat))[:, None]).ravel()
        counts = np.bincount(offsets, minlength=len(flat) * n_blocks).astype(float).reshape(*idx.shape[:-1],
                                                                                              n_blocks)
        out = np.full((n_values, *idx.shape[:-1], n_methods), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            for v in used:
                c = counts[..., held[v]]
                out[v] = (c @ totals[v]) / (c @ known[v])
        return out
    return boards


def _matched(frame: Frame, ok: pd.DataFrame, h: str, column: str, aggfunc: str) -> tuple[pd.DataFrame, str | None]:
    """Matched runs side by side (one column per value of H), and the column whose values are the units."""
    unit = frame.block_parts[0] if frame.block_parts[0] != h else None
    index = [c for c in frame.hyperparameters if c != h and c in ok.columns]
    if unit is not None and unit not in index:
        index = [unit] + index
    wide = ok.assign(_one=0).pivot_table(index=index or ["_one"], columns=h, values=column, aggfunc=aggfunc)
    return wide.reindex(columns=[v for v in frame.values(h) if v in wide.columns]), unit


def _per_unit(wide: pd.DataFrame, unit: str | None, pairs: list, pairs_value) -> np.ndarray:
    """units x pairs: ``pairs_value(rows x values, a, b)`` over the matched rows of each unit, every pair
    (a[p], b[p]) of value positions at once."""
    groups = [np.arange(len(wide))] if unit is None else list(
        pd.Series(np.arange(len(wide))).groupby(wide.index.get_level_values(unit).to_numpy(), sort=True).agg(list)
        .map(np.asarray))
    values = wide.to_numpy()
    a, b = (np.array(side, dtype=np.int64) for side in zip(*pairs))
    return np.array([pairs_value(values[g], a, b) for g in groups], dtype=float)


def _unit_measure(name: str, per_unit: np.ndarray, pairs: list, values: list, n_resamples: int,
                  confidence: float, seed: int) -> tuple[dict, pd.DataFrame]:
    pair_values = nanmean(per_unit, axis=0)
    ci = bootstrap_ci(len(per_unit), lambda idx: nanmean(nanmean(per_unit[idx], axis=-2), axis=-1),
                      n_resamples, confidence, seed, unit_size=per_unit.shape[1])
    return _summary(name, pair_values, pairs, values, len(per_unit), ci), _matrix(values, pairs, pair_values)


def _empty(name: str) -> dict:
    return {f"{name}{s}": (None if s == "_worst_pair" else 0 if s == "_units" else False if s == "_reliable"
                           else math.nan) for s in SUFFIXES}


@dataclass
class _Contexts:
    ids: pd.DataFrame  # matched run_ids: contexts x values of H
    unit: str | None  # the column whose values are the units
    order: np.ndarray  # per context, its place in a seeded shuffle of its unit's contexts
    rows: np.ndarray  # contexts x values: the runs' positions among the ok runs (-1: none)


def _contexts(frame: Frame, ok: pd.DataFrame, h: str, seed: int) -> _Contexts:
    ids, unit = _matched(frame, ok, h, "run_id", "first")
    units = ids.index.get_level_values(unit).to_numpy() if unit is not None else np.zeros(len(ids))
    rng = np.random.default_rng([seed, zlib.crc32(h.encode())])
    order = np.zeros(len(ids), dtype=np.int64)
    for positions in pd.Series(np.arange(len(ids))).groupby(units, sort=True).agg(list):
        order[np.asarray(positions)] = rng.permutation(len(positions))
    rows = pd.Index(ok["run_id"]).get_indexer(ids.to_numpy().ravel()).reshape(ids.shape)
    return _Contexts(ids, unit, order, rows)


def _runs_of(contexts: dict[str, _Contexts], k: int) -> np.ndarray:
    """Positions (among the ok runs) of the runs of the first ``k`` contexts per unit of every hyperparameter."""
    rows = np.unique(np.concatenate([c.rows[c.order < k].ravel() for c in contexts.values()] or [[-1]]))
    return rows[rows >= 0]


def _contexts_per_unit(contexts: dict[str, _Contexts], ok: pd.DataFrame) -> int:
    """The largest K whose runs queried at most MAX_INDICES indices (every context if they all fit)."""
    queried = ((ok["n_labelled_final"] - ok["n_labelled_start"]).to_numpy(dtype=float)
               if {"n_labelled_final", "n_labelled_start"} <= set(ok.columns) else np.full(len(ok), np.nan))
    queried = np.where(np.isfinite(queried), queried, ASSUMED_QUERIES)

    def cost(k: int) -> float:
        return float(queried[_runs_of(contexts, k)].sum())

    low, high = 1, max((int(c.order.max(initial=0)) + 1 for c in contexts.values()), default=1)
    if cost(high) <= MAX_INDICES:
        return high
    while low < high:  # the largest k within the bound (at least one context per unit)
        mid = (low + high + 1) // 2
        low, high = (mid, high) if cost(mid) <= MAX_INDICES else (low, mid - 1)
    return low


def _overlaps(seqs):
    """``pairs_value`` for ``_per_unit``: mean Jaccard of the matched runs (sequence rows, -1: none) per pair."""
    def pairs_value(rows: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        x, y = rows[:, a].T.ravel(), rows[:, b].T.ravel()  # pair by pair
        pair = np.repeat(np.arange(len(a)), len(rows))
        known = (x >= 0) & (y >= 0)
        values = jaccard_first(seqs, x[known], y[known])
        finite = np.isfinite(values)
        total = np.bincount(pair[known][finite], weights=values[finite], minlength=len(a))
        count = np.bincount(pair[known][finite], minlength=len(a))
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / count
    return pairs_value


def agreement(frame: Frame, metric: str, curves: Curves | pd.DataFrame | None = None, n_resamples: int = 1000,
              confidence: float = 0.95, seed: int = 0) -> Agreement:
    """Pairwise agreement matrices of every varying hyperparameter and their summaries (module docstring)."""
    ok = frame.ok[frame.ok[metric].notna()]
    curves = Curves.of(curves)
    # the picks of the sampled contexts of every hyperparameter, read in one pass over the curves
    # (row indices of different data sets are not comparable: no jaccard for the data set itself; nor for a
    # key every run holds all values of, as an active-testing run holds every estimator: no two runs differ)
    contexts, k = {}, 0
    if curves is not None and curves.has("queried"):
        unique = ok.drop_duplicates("run_id")
        contexts = {h: _contexts(frame, unique, h, seed) for h in frame.hyperparameters
                    if h not in ("dataset", "task") and unique[h].nunique() > 1}
        k = _contexts_per_unit(contexts, unique)
        seqs = curves.query_sequences(unique["run_id"].to_numpy()[_runs_of(contexts, k)])
    else:
        seqs = None
    rows, matrices = [], {}
    for h in frame.hyperparameters:
        values = [v for v in frame.values(h) if (ok[h] == v).any()]
        pairs = value_pairs(len(values), seed)
        row, matrices[h] = {"hyperparameter": h, "pairs": len(pairs), "pairs_total": math.comb(len(values), 2)}, {}
        if not pairs:
            rows.append({**row, **{k: v for m in MEASURES for k, v in _empty(m).items()},
                         "jaccard_contexts": 0, "jaccard_contexts_total": 0})
            continue
        if h in frame.method_parts:
            row.update(_empty("kendall_tau"))
        else:
            summary, matrices[h]["kendall_tau"] = _tau(frame, ok, metric, h, values, pairs, n_resamples,
                                                       confidence, seed)
            row.update(summary)
        wide, unit = _matched(frame, ok, h, metric, "mean")
        summary, matrices[h]["pearson_r"] = _unit_measure(
            "pearson_r", _per_unit(wide.astype(float), unit, pairs, _pearson), pairs, values, n_resamples,
            confidence, seed)
        row.update(summary)
        if seqs is None or h not in contexts:
            row.update(_empty("jaccard"), jaccard_contexts=0, jaccard_contexts_total=0)
        else:
            c = contexts[h]
            ids, unit = c.ids[c.order < k], c.unit
            codes = pd.DataFrame(seqs.rows(ids.to_numpy().ravel()).reshape(ids.shape), index=ids.index,
                                 columns=ids.columns)  # -1: no run or no curves
            summary, matrices[h]["jaccard"] = _unit_measure("jaccard", _per_unit(codes, unit, pairs, _overlaps(seqs)),
                                                            pairs, values, n_resamples, confidence, seed)
            row.update(summary, jaccard_contexts=len(ids), jaccard_contexts_total=len(c.ids))
        rows.append(row)
    columns = (["hyperparameter", "pairs", "pairs_total"] + [f"{m}{s}" for m in MEASURES for s in SUFFIXES]
               + ["jaccard_contexts", "jaccard_contexts_total"])
    return Agreement(pd.DataFrame(rows, columns=columns).set_index("hyperparameter"), matrices)


def stability(frame: Frame, metric: str, curves: Curves | pd.DataFrame | None = None, n_resamples: int = 1000,
              confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """The summary table of ``agreement``: one row per varying hyperparameter."""
    return agreement(frame, metric, curves, n_resamples, confidence, seed).table


def ranking_lines(table: pd.DataFrame) -> list[str]:
    """One line per hyperparameter with a defined tau: does its worst pair of values flip the ranking?"""
    lines = []
    for h, row in table.iterrows():
        worst = row.get("kendall_tau_worst")
        if worst is None or not np.isfinite(worst):
            continue
        pair, mean = row["kendall_tau_worst_pair"], row["kendall_tau"]
        if worst < 0:
            lines.append(f"{h} flips the ranking: {pair}, tau = {worst:.2f} (mean over pairs {mean:.2f})")
        elif worst < 0.5:
            lines.append(f"{h} changes the ranking: {pair}, tau = {worst:.2f} (mean over pairs {mean:.2f})")
        else:
            lines.append(f"{h} keeps the ranking: worst pair {pair}, tau = {worst:.2f}")
    return lines
