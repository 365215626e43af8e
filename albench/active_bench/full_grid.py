"""The full-grid estimate as a result: leaderboard, pairwise differences, stopping rules and what to say.

``estimate.estimate`` computes it; this module only reads it. Each method's
mean is over the blocks of the grid that hold it (all of them, unless the
grid's exclude rules drop some methods from some blocks), among the runs that
succeed. Each pairwise difference is paired: the mean difference over the
blocks that hold both methods. Without exclude rules or failed runs, that
is exactly the difference of the two means.

Intervals, p-values and the ``settled`` rule are Student-t with each
figure's effective degrees of freedom (``df``, ``pair_df``,
``contrast_df``); a field left None is read as normal (infinite degrees of
freedom). The rank probabilities are draws from the multivariate t with the
smallest of the contrasts' degrees of freedom.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.sparse.csgraph import connected_components

from albench import finite_population as fp
from albench.active_bench.population import ActiveBenchError
from albench.wording import counted

N_RANK_DRAWS = 4000
FAILING_OFTEN = 0.1  # share of a method's sampled blocks failed from which its mean compares other cells


@dataclass
class FullGridEstimate:
    """Each method's estimated mean over every block of the grid that holds it, run or not.

    The optional fields are filled by ``estimate.estimate``; a hand-built
    estimate without them reads as a grid with every method in every block,
    no failed run, pairs that are differences of means, and normal
    intervals.
    """

    metric: str
    methods: list[str]
    mean: np.ndarray  # (K,)
    covariance: np.ndarray  # (K, K)
    blocks_sampled: int
    blocks_total: int
    rounds: int
    level: float = 0.95
    higher_is_better: bool = True
    cells: np.ndarray | None = None  # (K,) blocks of the grid holding each method
    failed: np.ndarray | None = None  # (K,) failed (error/timeout) runs of each method in the sampled blocks
    sampled_cells: np.ndarray | None = None  # (K,) sampled blocks holding each method
    runs_sampled: int | None = None  # runs the grid holds in the sampled blocks
    pair_difference: np.ndarray | None = None  # (K, K) mean of i - j over the blocks holding both
    pair_variance: np.ndarray | None = None  # (K, K)
    pair_blocks: np.ndarray | None = None  # (K, K) blocks holding both
    identical: np.ndarray | None = None  # (K, K) the same metric in every sampled block holding both
    df: np.ndarray | None = None  # (K,) effective degrees of freedom of each mean's variance
    pair_df: np.ndarray | None = None  # (K, K) of each pair_variance
    contrast_df: np.ndarray | None = None  # (K, K) of each difference of two means (the ``settled`` rule)
    _ranks: dict = field(default_factory=dict, repr=False)

    @property
    def complete(self) -> bool:
        """Whether every method is in every block of the grid."""
        return self.cells is None or bool(np.all(self.cells == self.blocks_total))

    @property
    def runs_used(self) -> int:
        return self.runs_sampled if self.runs_sampled is not None else self.blocks_sampled * len(self.methods)

    @property
    def runs_total(self) -> int:
        return int(self.cells.sum()) if self.cells is not None else self.blocks_total * len(self.methods)

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.maximum(np.diag(self.covariance), 0.0))

    def usage(self) -> str:
        """How many runs the estimate took against the full grid's count."""
        return (f"{self.runs_used} of {self.runs_total} runs ({self.runs_used / self.runs_total:.1%}); "
                f"{self.blocks_sampled} of {self.blocks_total} blocks in {counted(self.rounds, 'round')}")

    def order(self) -> np.ndarray:
        """Method indices, best estimate first (a method whose every sampled run failed comes last)."""
        signed = -self.mean if self.higher_is_better else self.mean
        return np.argsort(np.where(np.isnan(signed), np.inf, signed), kind="stable")

    def _twins(self) -> np.ndarray:
        """(K,) whether a method is identical to another one on every sampled block holding both."""
        return np.zeros(len(self.methods), dtype=bool) if self.identical is None else self.identical.any(axis=1)

    def rank_probabilities(self, seed: int = 0) -> tuple[np.ndarray, float]:
        """P(each method's estimated rank is its true rank) and P(the estimated best is the best).

        From ``N_RANK_DRAWS`` draws with ``seed`` of the estimate's
        multivariate t (means, covariance and ``rank_df``): with few blocks a
        normal draw would lean optimistic, as a normal interval is too narrow. The rank
        probability is NaN for a method that is identical to another on every
        sampled block (their order is a tie the sample cannot break) and
        where a mean is not estimable. When the estimated best has such
        twins, the second figure is P(one of them is the best): they are one
        tied entry, as for ``settled``.
        """
        if seed not in self._ranks:
            known = np.isfinite(self.mean)
            if not np.any(self.covariance[np.ix_(known, known)]):
                p_rank, p_best = np.ones(len(self.methods)), 1.0
            else:
                rng = np.random.default_rng(seed)
                mean, cov = np.where(known, self.mean, 0.0), np.where(np.outer(known, known), self.covariance, 0.0)
                draws = rng.multivariate_normal(mean, cov, size=N_RANK_DRAWS, method="eigh")
                df = self.rank_df()
                if df is not None:  # one chi-square scale per draw: the multivariate t
                    draws = mean + (draws - mean) * np.sqrt(df / rng.chisquare(df, size=(N_RANK_DRAWS, 1)))
                signed = -draws if self.higher_is_better else draws
                ranks = np.argsort(np.argsort(signed, axis=1, kind="stable"), axis=1)
                own = np.argsort(self.order())  # estimated rank of each method (0: best)
                best_entry = self.tied_entries()[0]  # the estimated best and its twins
                p_rank, p_best = (ranks == own).mean(axis=0), float(np.isin(np.argmin(ranks, axis=1),
                                                                            best_entry).mean())
            unsure = self._twins() | ~known
            p_rank = np.where(unsure, np.nan, p_rank)
            self._ranks[seed] = (p_rank, p_best if known.all() else np.nan)
        return self._ranks[seed]

    def rank_df(self) -> float | None:
        """Degrees of freedom of the rank probabilities' draws: the smallest of the differences of two
        estimable means (``contrast_df``; else of the means, ``df``), None (normal) without any."""
        known = np.isfinite(self.mean)
        if self.contrast_df is not None:
            dfs = np.asarray(self.contrast_df, dtype=float)[np.ix_(known, known)][~np.eye(int(known.sum()), dtype=bool)]
        elif self.df is not None:
            dfs = np.asarray(self.df, dtype=float)[known]
        else:
            return None
        dfs = dfs[np.isfinite(dfs) & (dfs > 0)]
        return float(dfs.min()) if len(dfs) else None

    def table(self) -> pd.DataFrame:
        """The estimated leaderboard: one row per method, best first.

        Intervals are Student-t with ``df`` (the ``df`` column; normal
        without). With exclude rules, ``blocks`` says how many blocks hold
        each method; with failed runs, ``failed`` counts them in the sampled
        blocks.
        """
        lo, hi = fp.student_interval(self.mean, np.diag(self.covariance), self.df, self.level)
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
        if self.df is not None:
            out.insert(out.columns.get_loc("se") + 1, "df", np.asarray(self.df, dtype=float)[order])
        out["p_best"] = np.where(out["rank"] == 1, p_best, np.nan)
        if not self.complete:
            out["blocks"] = np.asarray(self.cells)[order]
        if self.failed is not None and self.failed.any():
            out["failed"] = np.asarray(self.failed)[order]
        return out

    def _pair(self, i: int, j: int) -> tuple[float, float, float | None]:
        """Difference i - j, its variance and degrees of freedom (None: normal)."""
        if self.pair_difference is None:
            return self.mean[i] - self.mean[j], max(fp.contrast_variances(self.covariance)[i, j], 0.0), \
                self._contrast_df(i, j)
        df = None if self.pair_df is None else float(self.pair_df[i, j])
        return self.pair_difference[i, j], max(self.pair_variance[i, j], 0.0), df

    def _contrast_df(self, i: int, j: int) -> float | None:
        return None if self.contrast_df is None else float(self.contrast_df[i, j])

    def pairwise(self) -> pd.DataFrame:
        """Every pair (better estimate first): mean difference over the blocks holding both, interval, p-value.

        Interval and p-value are Student-t with ``pair_df`` (column ``df``;
        normal without). A pair that is identical on every sampled block
        holding both has no interval (a zero-width one would claim certainty
        about the blocks not run): ``note`` says so.
        """
        order = self.order()
        rows = []
        for a_pos, i in enumerate(order):
            for j in order[a_pos + 1:]:
                d, v, df = self._pair(i, j)
                lo, hi = fp.student_interval(np.array([d]), np.array([v]), df, self.level)
                p = float(2 * stats.t.sf(abs(d) / np.sqrt(v), np.inf if df is None else df)) if v > 0 \
                    else float(d == 0)
                row = {"method": self.methods[i], "versus": self.methods[j], "difference": d,
                       "se": np.sqrt(v), "ci_low": lo[0], "ci_high": hi[0], "p_value": p}
                if df is not None:
                    row["df"] = df
                if not self.complete:
                    row["blocks"] = int(self.pair_blocks[i, j])
                if self.identical is not None and self.identical[i, j]:
                    row.update(se=np.nan, ci_low=np.nan, ci_high=np.nan, p_value=np.nan,
                               note="identical")  # on every sampled block: see notes()
                    if df is not None:
                        row["df"] = np.nan
                rows.append(row)
        out = pd.DataFrame(rows)
        if "note" in out:
            out["note"] = out["note"].fillna("")
        return out

    def notes(self) -> list[str]:
        """What the tables mean beyond their columns: exclude rules, failed runs, identical methods."""
        lines = []
        if not self.complete:
            lines.append("The grid's exclude rules drop some methods from some blocks: each mean is over the blocks "
                         "holding that method (column blocks), each pairwise difference over the blocks holding "
                         "both, so a difference need not equal the difference of the two means.")
        if self.failed is not None and self.failed.any():
            named = ", ".join(f"{m} {int(n)}" for m, n in zip(self.methods, self.failed) if n)
            lines.append(f"Failed runs (error/timeout) in the sampled blocks: {named}. They have no metric: each mean "
                         "is over the runs that succeed, with the number of those estimated from the sample too (a "
                         "ratio estimator, unbiased only as the sample grows). `albench grid sample ... "
                         "--rerun-failed` runs them again.")
            lines += self._failing_often()
        if self.identical is not None and self.identical.any():
            pairs = [f"{self.methods[i]} = {self.methods[j]}" for i, j in zip(*np.nonzero(np.triu(self.identical)))]
            lines.append(f"Identical on every sampled block: {', '.join(pairs)} (the same queries, so the same "
                         "metric). Their order is a tie: no interval, no rank probability; the stopping rule "
                         "'settled' counts them as one entry of the leaderboard.")
        return lines

    def _failing_often(self) -> list[str]:
        """A warning for methods that fail in a tenth or more of their sampled blocks: ranked on the cells
        where they succeed, they are compared on other cells than the rest (a whole data set they fail on)."""
        if self.sampled_cells is None:
            return []
        share = self.failed / np.maximum(self.sampled_cells, 1)
        often = [f"{m} ({n} of {c})" for m, n, c, f in zip(self.methods, self.failed, self.sampled_cells, share)
                 if f >= FAILING_OFTEN]
        if not often:
            return []
        return [f"Failing in a tenth or more of the sampled blocks: {', '.join(often)}. Such a method's mean and "
                "rank are over the cells where it succeeds, which may be easier or harder than the rest (a data "
                "set it always fails on); its pairwise differences, over the blocks where both methods "
                "succeed, compare like with like."]

    def settled(self, confidence: float = 0.95, rule: str = "settled") -> bool:
        """Whether the stopping ``rule`` holds at ``confidence``.

        ``settled``: every neighbouring pair of the estimated leaderboard
        differs (two-sided Student-t test on the difference of the two means,
        with ``contrast_df``; normal without). Methods identical on every
        sampled block are first merged into one tied entry (their order is a
        tie no sample of blocks can break); then every method of an entry
        must be better than every method of the next one, by a significant
        margin. ``best``: P(the estimated best is the best) >= ``confidence``.
        """
        if rule == "best":
            return bool(self.rank_probabilities()[1] >= confidence)
        if rule != "settled":
            raise ActiveBenchError(f"unknown stopping rule '{rule}'; allowed: settled, best")
        var = fp.contrast_variances(self.covariance)
        sign = 1.0 if self.higher_is_better else -1.0
        entries = self.tied_entries()
        for better, worse in zip(entries[:-1], entries[1:]):
            for i in better:
                for j in worse:
                    gap = sign * (self.mean[i] - self.mean[j])
                    margin = fp.t_quantile(confidence, self._contrast_df(i, j)) * np.sqrt(max(var[i, j], 0.0))
                    if not (gap > 0 and gap >= margin):
                        return False  # NaN compares False: not settled
        return True

    def tied_entries(self) -> list[list[int]]:
        """The leaderboard with methods identical on every sampled block merged: lists of method indices,
        each in leaderboard order, entries ordered by their best method."""
        order = self.order()
        if self.identical is None:
            return [[int(i)] for i in order]
        _, label = connected_components(np.asarray(self.identical, dtype=bool), directed=False)
        entries: dict[int, list[int]] = {}
        for i in order:
            entries.setdefault(int(label[i]), []).append(int(i))
        return list(entries.values())

    def summary(self) -> dict:
        return {"metric": self.metric, "rounds": self.rounds, "blocks_sampled": self.blocks_sampled,
                "blocks_total": self.blocks_total, "runs_used": self.runs_used, "runs_total": self.runs_total,
                "share_of_runs": self.runs_used / self.runs_total, "level": self.level,
                "complete_grid": self.complete,
                "failed_runs": int(np.sum(self.failed)) if self.failed is not None else 0, "notes": self.notes()}

    def to_dict(self) -> dict:
        """The summary, the leaderboard and the pairs as plain data (NaN as None) for ``json.dumps``."""
        def records(df: pd.DataFrame) -> list[dict]:
            return json.loads(df.to_json(orient="records"))

        return {**self.summary(), "leaderboard": records(self.table()), "pairwise": records(self.pairwise())}
