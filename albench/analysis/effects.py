"""Beyond mean ranks: how much better, how often, and how sure.

For each method against a reference (the best method by mean rank, and random
sampling when it is among the methods), over the complete blocks of a
``Comparison``:

- ``effect``: the mean over blocks of the metric difference (method minus
  reference, signed so that > 0 means the method is better), with a
  percentile bootstrap interval over blocks (``effect_low``/``effect_high``);
  ``reliable`` is False below ``MIN_RELIABLE_UNITS`` blocks, where a
  bootstrap interval is no interval;
- ``wins``/``ties``/``losses``: blocks where the method is better by more than
  the ROPE, within it, or worse by more than it;
- ``p_better``/``p_equivalent``/``p_worse``: the Bayesian signed-rank test
  with a region of practical equivalence of half-width ``rope`` (Benavoli,
  Corani, Demšar and Zaffalon, "Time for a Change: a Tutorial for Comparing
  Multiple Classifiers Through Bayesian Analysis", JMLR 18, 2017): the
  computation of ``baycomp.SignedRankTest`` with a fixed seed, vectorised
  (``signed_rank``; the tests check it against baycomp).

``verdict`` puts the leader's row into words: who wins, by how much, and how
sure the data allow one to be.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from albench.analysis.stats import MIN_RELIABLE_UNITS, blocks, bootstrap_ci

# per kind, in metric units: one point of accuracy / AUC is a practically negligible gap in AL; active
# testing's squared errors have no such natural scale, so none (P(equivalent) is then 0)
DEFAULT_ROPE = {"al": 0.01}
BAYES_SAMPLES = 20_000
SURE = 0.95  # posterior probability read as "clearly"
LIKELY = 0.8  # ... as "probably"
SPLIT = 0.1  # P(better) and P(worse) closer than this: the test cannot tell which way
COLUMNS = ["method", "reference", "role", "blocks", "effect", "effect_low", "effect_high", "reliable",
           "wins", "ties", "losses", "p_better", "p_equivalent", "p_worse"]


def _runs(d: np.ndarray, threshold: float, above: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per i, the run [start, stop) of j whose d_i + d_j equals the threshold, ``d`` sorted ascending: the
    j beyond it (d_i + d_j > threshold when ``above``, else -(d_i + d_j) > threshold) lie on one side.
    The sums are rounded as baycomp rounds them (d_i + d_j, then compared), and rounding keeps their order."""
    sums = d[:, None] + d[None, :]
    bound = threshold if above else -threshold
    start = (sums < bound).sum(axis=1)
    return start, start + (sums == bound).sum(axis=1)


def _region_mass(c: np.ndarray, runs: tuple[np.ndarray, np.ndarray], above: bool) -> np.ndarray:
    """Per sample, sum_ij w_i w_j H_ij, H 1 beyond the threshold, 1/2 at it, from the samples' cumulative
    weights ``c`` (in sorted order, a leading 0 column): O(n) per sample, not w' H w's O(n^2)."""
    start, stop = runs
    beyond = (c[:, -1:] - c[:, stop]) if above else c[:, start]
    return (np.diff(c, axis=1) * (beyond + 0.5 * (c[:, stop] - c[:, start]))).sum(axis=1)


def _masses(draw, d: np.ndarray, rope: float, out: np.ndarray, chunk: int) -> None:
    """Per sample: the posterior mass of (worse, equivalent, better), written into ``out``; ``draw(n)``
    gives the next n Dirichlet samples (drawn chunk by chunk: 20,000 samples of 4,600 blocks are 0.7 GiB)."""
    order = np.argsort(d, kind="stable")
    d = d[order]
    above, below = _runs(d, 2 * rope, True), _runs(d, 2 * rope, False)
    for start in range(0, len(out), chunk):
        w = draw(min(chunk, len(out) - start))[:, order]
        c = np.concatenate([np.zeros((len(w), 1)), np.cumsum(w, axis=1)], axis=1)
        better = _region_mass(c, above, above=True)
        worse = _region_mass(c, below, above=False) if rope > 0 else 1.0 - better
        out[start:start + chunk] = np.column_stack([worse, 1.0 - worse - better, better])


def signed_rank(diff: np.ndarray, rope: float, seed: int = 0, nsamples: int = BAYES_SAMPLES,
                prior: float = 0.5, chunk: int = 2_000) -> tuple[float, ...]:
    """(P(better), P(equivalent), P(worse)) of the Bayesian signed-rank test on per-block differences.

    The computation of ``baycomp.SignedRankTest.probs(0, diff, rope, random_state=seed)`` (Benavoli
    et al., ICML 2014; baycomp 1.0.3), the same Dirichlet draws from the same generator, without
    its per-sample loop: a region's posterior mass in a sample w is w' H w, H the Heaviside matrix
    of the pairwise sums of differences (the pseudo-observation 0 carrying the prior weight);
    with the differences sorted, each row of H is 1 on one contiguous run, so the mass is a sum
    of cumulative weights (O(n) per sample, not O(n^2): 1,000 blocks take seconds, not minutes).
    Each probability is the share of samples in which that region has the largest mass.
    """
    diff = np.asarray(diff, dtype=float)
    if len(diff) < 2:
        return (math.nan,) * 3
    if np.allclose(diff, 0.0):
        return 0.0, 1.0, 0.0  # identical results are equivalent with certainty
    d = np.concatenate([[0.0], diff])
    weights = np.ones(len(d))
    weights[0] = prior
    state = np.random.RandomState(seed)  # legacy dirichlet draws row by row: chunks give baycomp's samples
    mass = np.empty((nsamples, 3))
    _masses(lambda n: state.dirichlet(weights, n), d, rope, mass, chunk)
    if rope <= 0:
        mass[:, 1] = -np.inf  # no region of equivalence
    worse_p, equivalent_p, better_p = np.bincount(mass.argmax(axis=1), minlength=3) / nsamples
    return float(better_p), float(equivalent_p), float(worse_p)


def compare_pair(diff: np.ndarray, rope: float, n_resamples: int, confidence: float, seed: int) -> dict:
    """The row of one method against one reference from its per-block differences (> 0: better)."""
    diff = np.asarray(diff, dtype=float)
    point, low, high = bootstrap_ci(len(diff), lambda idx: diff[idx].mean(axis=-1), n_resamples, confidence, seed)
    better, equivalent, worse = signed_rank(diff, rope, seed)
    return {"blocks": len(diff), "effect": point, "effect_low": low, "effect_high": high,
            "reliable": bool(len(diff) >= MIN_RELIABLE_UNITS), "wins": int((diff > rope).sum()),
            "ties": int((np.abs(diff) <= rope).sum()), "losses": int((diff < -rope).sum()),
            "p_better": better, "p_equivalent": equivalent, "p_worse": worse}


def effect_sizes(matrix: pd.DataFrame, order: list, higher_is_better: bool, baseline: str | None = "random",
                 rope: float = DEFAULT_ROPE["al"], n_resamples: int = 1000, confidence: float = 0.95,
                 seed: int = 0) -> pd.DataFrame:
    """Each method against the best (``order[0]``) and against ``baseline`` (if present), over blocks.

    ``matrix`` is blocks x methods (a ``Comparison.matrix``); ``order`` the
    methods best first.
    """
    sign = 1.0 if higher_is_better else -1.0
    references = [(order[0], "best")] + ([(baseline, "baseline")] if baseline in matrix.columns
                                         and baseline != order[0] else [])
    rows = []
    for reference, role in references:
        for method in order:
            if method == reference:
                continue
            diff = sign * (matrix[method] - matrix[reference]).to_numpy(dtype=float)
            rows.append({"method": method, "reference": reference, "role": role,
                         **compare_pair(diff, rope, n_resamples, confidence, seed)})
    return pd.DataFrame(rows, columns=COLUMNS)


def _sure(p: float, reliable: bool = True) -> str:
    """The word for a posterior probability; below ``MIN_RELIABLE_UNITS`` blocks never "clearly": the
    signed-rank test's prior pseudo-observation then weighs as much as the data (P = 0.97 from 2 blocks)."""
    if p >= SURE and reliable:
        return "clearly"
    return "probably" if p >= LIKELY else "perhaps"


def _reversed(row) -> dict:
    """The same comparison seen from the reference's side."""
    return {**row, "method": row["reference"], "reference": row["method"], "effect": -row["effect"],
            "effect_low": -row["effect_high"], "effect_high": -row["effect_low"], "wins": row["losses"],
            "losses": row["wins"], "p_better": row["p_worse"], "p_worse": row["p_better"]}


def sentence(row, metric: str) -> str:
    """'margin clearly beats random: mean difference +0.021 auc_accuracy [+0.010, +0.030] over 24 blocks,
    W/T/L 20/2/2; P(better, equivalent, worse) = ...', seen from ``row["method"]``."""
    p_better, p_eq, p_worse = row["p_better"], row["p_equivalent"], row["p_worse"]
    subject, other = row["method"], row["reference"]
    reliable = bool(row["reliable"])
    split = abs(p_better - p_worse) < SPLIT
    if not np.isfinite(p_eq):
        claim = f"{subject} cannot be tested against {other}"
    elif p_eq >= max(p_better, p_worse):
        claim = f"{subject} is {_sure(p_eq, reliable)} practically equivalent to {other}"
    elif split:
        claim = f"the signed-rank test cannot tell whether {subject} beats or loses to {other}"
    elif p_better >= p_worse:
        claim = f"{subject} {_sure(p_better, reliable)} beats {other}"
    else:
        claim = f"{subject} {_sure(p_worse, reliable)} loses to {other}"
    interval = ""
    if np.isfinite(row["effect_low"]):
        interval = f" [{row['effect_low'] + 0.0:+.3g}, {row['effect_high'] + 0.0:+.3g}]"
        if not row["reliable"]:
            interval += f" (interval unreliable: {blocks(row['blocks'])})"
    probs = (f"; P(better, equivalent, worse) = {p_better:.2f}, {p_eq:.2f}, {p_worse:.2f}"
             if np.isfinite(p_eq) else "")
    against = ""
    if np.isfinite(p_eq) and p_eq < max(p_better, p_worse) and row["effect"] != 0 \
            and not split and (row["effect"] > 0) != (p_better >= p_worse):
        against = (" (the signed-rank test follows most blocks; a few blocks with large differences pull the "
                   "mean the other way)")
    return (f"{claim}: mean difference {row['effect'] + 0.0:+.3g} {metric}{interval} over {blocks(row['blocks'])}, "
            f"W/T/L {row['wins']}/{row['ties']}/{row['losses']}{probs}{against}")


def verdict(effects: pd.DataFrame, leader: str, metric: str, rope: float) -> list[str]:
    """The verdict in words: the leader against the runner-up and against the baseline."""
    if effects.empty:
        return [f"{leader} is the only method: nothing to compare"]
    runner = effects[effects["role"] == "best"].iloc[0]
    lines = [f"{leader} ranks first (ROPE ±{rope:g}); against the runner-up, "
             + sentence(_reversed(runner.to_dict()), metric)]
    base = effects[(effects["role"] == "baseline") & (effects["method"] == leader)]
    if not base.empty:
        lines.append("against the baseline, " + sentence(base.iloc[0].to_dict(), metric))
    return lines
