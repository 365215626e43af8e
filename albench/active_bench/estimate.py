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

Once every block is sampled the estimate is the plain mean over the grid,
with zero variance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from albench import finite_population as fp
from albench.active_bench.population import ActiveBenchError, Population
from albench.active_bench.surrogate import fit as fit_surrogate
from albench.analysis.frame import LOWER_IS_BETTER

N_RANK_DRAWS = 4000


@dataclass
class FullGridEstimate:
    """Each method's estimated mean over every block of the grid, run or not."""

    metric: str
    methods: list[str]
    mean: np.ndarray  # (K,)
    covariance: np.ndarray  # (K, K)
    blocks_sampled: int
    blocks_total: int
    rounds: int
    level: float = 0.95
    higher_is_better: bool = True
    _ranks: dict = field(default_factory=dict, repr=False)

    @property
    def runs_used(self) -> int:
        return self.blocks_sampled * len(self.methods)

    @property
    def runs_total(self) -> int:
        return self.blocks_total * len(self.methods)

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.maximum(np.diag(self.covariance), 0.0))

    def order(self) -> np.ndarray:
        """Method indices, best estimate first."""
        return np.argsort(-self.mean if self.higher_is_better else self.mean, kind="stable")

    def rank_probabilities(self, seed: int = 0) -> tuple[np.ndarray, float]:
        """P(each method's estimated rank is its true rank) and P(the estimated best is the best).

        Under the normal approximation of the estimate (means and covariance),
        from ``N_RANK_DRAWS`` draws with ``seed``.
        """
        if seed not in self._ranks:
            if not np.any(self.covariance):
                self._ranks[seed] = (np.ones(len(self.methods)), 1.0)
            else:
                rng = np.random.default_rng(seed)
                draws = rng.multivariate_normal(self.mean, self.covariance, size=N_RANK_DRAWS, method="eigh")
                signed = -draws if self.higher_is_better else draws
                ranks = np.argsort(np.argsort(signed, axis=1, kind="stable"), axis=1)
                own = np.argsort(self.order())  # estimated rank of each method (0: best)
                self._ranks[seed] = ((ranks == own).mean(axis=0), float((ranks[:, self.order()[0]] == 0).mean()))
        return self._ranks[seed]

    def table(self) -> pd.DataFrame:
        """The estimated leaderboard: one row per method, best first."""
        lo, hi = fp.normal_interval(self.mean, np.diag(self.covariance), self.level)
        p_rank, p_best = self.rank_probabilities()
        order = self.order()
        pct = f"{round(self.level * 100)}"
        out = pd.DataFrame({
            "rank": np.arange(1, len(order) + 1),
            "method": [self.methods[i] for i in order],
            f"mean_{self.metric}": self.mean[order], "se": self.se[order],
            f"ci{pct}_low": lo[order], f"ci{pct}_high": hi[order],
            "p_rank_right": p_rank[order],
        })
        out["p_best"] = np.where(out["rank"] == 1, p_best, np.nan)
        return out

    def pairwise(self) -> pd.DataFrame:
        """Every pair (better estimate first): difference of full-grid means, its interval and p-value."""
        var = fp.contrast_variances(self.covariance)
        order = self.order()
        rows = []
        for a_pos, i in enumerate(order):
            for j in order[a_pos + 1:]:
                d, v = self.mean[i] - self.mean[j], max(var[i, j], 0.0)
                lo, hi = fp.normal_interval(np.array([d]), np.array([v]), self.level)
                p = float(2 * stats.norm.sf(abs(d) / np.sqrt(v))) if v > 0 else float(d == 0)
                rows.append({"method": self.methods[i], "versus": self.methods[j], "difference": d,
                             "se": np.sqrt(v), "ci_low": lo[0], "ci_high": hi[0], "p_value": p})
        return pd.DataFrame(rows)

    def settled(self, confidence: float = 0.95, rule: str = "settled") -> bool:
        """``settled``: every neighbouring pair of the estimated leaderboard differs at ``confidence``
        (two-sided normal test); ``best``: P(the estimated best is the best) >= ``confidence``."""
        if rule == "best":
            return self.rank_probabilities()[1] >= confidence
        if rule != "settled":
            raise ActiveBenchError(f"unknown stopping rule '{rule}'; allowed: settled, best")
        order = self.order()
        var = fp.contrast_variances(self.covariance)
        z = stats.norm.ppf(0.5 + confidence / 2)
        for i, j in zip(order[:-1], order[1:]):
            if abs(self.mean[i] - self.mean[j]) < z * np.sqrt(max(var[i, j], 0.0)) or self.mean[i] == self.mean[j]:
                return False
        return True

    def summary(self) -> dict:
        return {"metric": self.metric, "rounds": self.rounds, "blocks_sampled": self.blocks_sampled,
                "blocks_total": self.blocks_total, "runs_used": self.runs_used, "runs_total": self.runs_total,
                "share_of_runs": self.runs_used / self.runs_total, "level": self.level}

    def to_dict(self) -> dict:
        """The summary, the leaderboard and the pairs as plain data (NaN as None) for ``json.dumps``."""
        def records(df: pd.DataFrame) -> list[dict]:
            return json.loads(df.to_json(orient="records"))

        return {**self.summary(), "leaderboard": records(self.table()), "pairwise": records(self.pairwise())}


def estimate(design: pd.DataFrame, population: Population, values: np.ndarray, metric: str | None = None,
             level: float = 0.95, surrogate: bool = True) -> FullGridEstimate:
    """Full-grid estimate of ``metric`` from the design rows and the (B, K) ``values`` of the sampled blocks.

    ``metric`` defaults to the design's. Predictions are cross-fitted: those
    of stratum h in round r come from a surrogate fitted on the blocks of the
    earlier rounds and of round r's *other* strata, which are independent of
    stratum h's own draw, so each stratum's difference estimate is exactly
    unbiased. ``surrogate=False`` predicts 0 (plain stratified expansion).
    Sampled blocks whose run of a method is missing or failed make that
    method's estimate NaN.
    """
    if design.empty:
        raise ActiveBenchError("no design rows: nothing has been sampled yet")
    metric = metric or str(design["metric"].iloc[0])
    index = pd.Series(np.arange(population.n_blocks), index=population.blocks["block_id"].to_numpy())
    unknown = set(design["block_id"]) - set(index.index)
    if unknown:
        raise ActiveBenchError(f"{len(unknown)} sampled block(s) are not blocks of this grid (was the grid file "
                               "changed after sampling?)")
    if list(population.methods) != sorted(design["method"].unique()):
        raise ActiveBenchError("the design's methods differ from the grid's: "
                               f"{sorted(design['method'].unique())} against {population.methods}")
    per_block = design.drop_duplicates(["round", "block_id"])
    k, n_total = len(population.methods), population.n_blocks
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
        residuals = values[chosen].copy()
        rest = np.zeros(k)
        # a balanced draw couples the strata: then only earlier rounds may train the surrogate
        coupled = bool(json.loads(rows["balanced_on"].iloc[0])) if "balanced_on" in rows.columns else False
        for h, name in enumerate(names):
            if not surrogate:
                break
            others = sampled.copy()
            if not coupled:
                others[chosen[codes != h]] = True
            if not others.any():
                continue  # nothing run outside this stratum yet: predict 0
            predictions = fit_surrogate(population, np.where(others[:, None], values, np.nan), others).predictions
            residuals[codes == h] -= predictions[chosen[codes == h]]
            rest += predictions[left & (labels == name)].sum(axis=0)
        known = values[sampled].sum(axis=0)
        totals.append(fp.stratified_difference_total(residuals, codes, stratum_sizes, known_total=known,
                                                     predicted_rest_total=rest))
        sizes.append(len(chosen))
        lefts.append(int(left.sum()))
        sampled[chosen] = True
    if sampled.all():  # a census: the plain mean of every block
        mean, cov = values.mean(axis=0), np.zeros((k, k))
    else:
        combined = fp.combine_rounds(totals, fp.round_weights(np.array(sizes), np.array(lefts))).mean(n_total)
        mean, cov = combined.total, combined.covariance
    return FullGridEstimate(metric, list(population.methods), mean, cov, int(sampled.sum()), n_total,
                            len(sizes), level, not LOWER_IS_BETTER.search(metric))
