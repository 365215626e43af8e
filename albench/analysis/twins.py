"""Implementation twins: the same strategy from several libraries (native,
``modal.*``, ``skactiveml.*``), compared run against matched run.

Strategies declare their family with a class attribute (``family =
"margin"``); names are never guessed. For every family with two or more
members among the runs, every pair of members and every learner, over the
runs matched in every other hyperparameter (data set, batch size, seed, ...):

- ``identical``: share of matched runs whose query sequences are identical
  (the same batch, as a set, in every cycle);
- ``jaccard``: mean Jaccard overlap of the queried indices;
- ``diff``: mean metric difference (first member minus second) with a
  percentile bootstrap interval over the matched runs (``reliable`` False
  below ``MIN_RELIABLE_UNITS`` of them);
- ``tie_share``: share of the two members' queries decided by a tie, from the
  optional ``n_tied`` curves column (unlabelled candidates left out of the
  batch whose score equals the last pick's: > 0 means the tie-break chose);
  NaN when the strategies do not report it.

``identical`` and ``jaccard`` compare the picks of at most ``MAX_MATCHED``
matched runs per row (a seeded sample above that; ``compared`` says how
many), so that the indices read stay bounded at any grid size; ``diff``
uses every matched run.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from albench.analysis.curves import Curves, identical, jaccard_first
from albench.analysis.frame import Frame
from albench.analysis.stats import MIN_RELIABLE_UNITS, bootstrap_ci

COLUMNS = ["family", "learner", "a", "b", "matched", "compared", "identical", "jaccard", "diff", "diff_low",
           "diff_high", "reliable", "tie_share"]
MAX_MATCHED = 2_000  # matched runs per pair of twins whose picks are compared


def declared_family(name: str) -> str | None:
    """The ``family`` attribute of the registered strategy ``name`` (None if absent or not loadable)."""
    from albench.strategy import registry

    try:
        factory = registry.get(name).factory
    except ValueError:
        return None
    return getattr(factory, "family", None)


def strategy_families(labels, families: dict[str, str] | None = None) -> dict[str, str]:
    """label -> family for every strategy label (``margin`` or ``margin(k=2)``) with a declared family."""
    out = {}
    for label in labels:
        name = str(label).split("(", 1)[0]
        family = (families or {}).get(name) if families is not None else declared_family(name)
        if family:
            out[label] = family
    return out


def _tie_share(curves: Curves | None, run_ids) -> pd.Series | None:
    """run_id -> share of its query cycles decided by a tie (None without ``n_tied``)."""
    if curves is None or not curves.has("n_tied"):
        return None
    shares = curves.sql("SELECT run_id, avg(CAST(n_tied > 0 AS DOUBLE)) AS share FROM curves "
                        "WHERE n_tied IS NOT NULL AND run_id IN (SELECT run_id FROM _ids) GROUP BY run_id",
                        _ids=pd.DataFrame({"run_id": pd.unique(np.asarray(run_ids, dtype=object))}))
    return shares.set_index("run_id")["share"]


def twins(frame: Frame, metric: str, curves: Curves | pd.DataFrame | None = None, families: dict[str, str] | None = None,
          n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """One row per (family, learner, pair of members); see the module docstring.

    ``families`` maps strategy names to families; None reads the strategies' declarations.
    """
    if frame.method != "strategy" or "strategy" not in frame.runs.columns:
        return pd.DataFrame(columns=COLUMNS)
    ok = frame.ok[frame.ok[metric].notna()].drop_duplicates("run_id")
    family_of = strategy_families(frame.values("strategy"), families)
    ok = ok[ok["strategy"].isin(list(family_of))]
    if ok.empty:
        return pd.DataFrame(columns=COLUMNS)
    curves = Curves.of(curves)
    learner = "learner" if "learner" in ok.columns else None
    context = [h for h in frame.hyperparameters if h != "strategy" and h in ok.columns] or ["_one"]
    ok = ok.assign(_family=ok["strategy"].map(family_of), _one=0)
    rng = np.random.default_rng(seed)
    pairs = []  # (family, learner value, a, b, matched run_ids of a and b, metric differences, compared rows)
    for (family, learner_value), group in ok.groupby(["_family", learner or "_one"], sort=True):
        wide = group.pivot_table(index=context, columns="strategy", values="run_id", aggfunc="first")
        values = group.pivot_table(index=context, columns="strategy", values=metric, aggfunc="mean")
        for a, b in itertools.combinations(sorted(wide.columns), 2):
            both = wide[[a, b]].dropna()
            if both.empty:
                continue
            diff = (values.loc[both.index, a] - values.loc[both.index, b]).to_numpy(dtype=float)
            compared = (np.arange(len(both)) if len(both) <= MAX_MATCHED
                        else np.sort(rng.choice(len(both), MAX_MATCHED, replace=False)))
            pairs.append((family, learner_value, a, b, both[a].to_numpy(), both[b].to_numpy(), diff, compared))
    compared_ids = np.concatenate([np.concatenate([p[4][p[7]], p[5][p[7]]]) for p in pairs] or [np.zeros(0)])
    seqs = curves.query_sequences(compared_ids) if curves is not None and len(compared_ids) else None
    ties = _tie_share(curves, np.concatenate([np.concatenate([p[4], p[5]]) for p in pairs] or [np.zeros(0)]))
    rows = []
    for family, learner_value, a, b, ids_a, ids_b, diff, compared in pairs:
        point, low, high = bootstrap_ci(len(diff), lambda idx, d=diff: d[idx].mean(axis=-1), n_resamples,
                                        confidence, seed)
        same = overlap = math.nan
        if seqs is not None:
            ra, rb = seqs.rows(ids_a[compared]), seqs.rows(ids_b[compared])
            known = (ra >= 0) & (rb >= 0)
            if known.any():
                same = float(identical(seqs, ra[known], rb[known]).mean())
                overlap = float(np.nanmean(jaccard_first(seqs, ra[known], rb[known])))
        tie = (float(ties.reindex(np.concatenate([ids_a, ids_b])).mean()) if ties is not None else math.nan)
        rows.append({"family": family, "learner": learner_value if learner else None, "a": a, "b": b,
                     "matched": len(diff), "compared": len(compared), "identical": same, "jaccard": overlap,
                     "diff": point, "diff_low": low, "diff_high": high,
                     "reliable": bool(len(diff) >= MIN_RELIABLE_UNITS), "tie_share": tie})
    return pd.DataFrame(rows, columns=COLUMNS)


def twin_lines(table: pd.DataFrame, metric: str) -> list[str]:
    """One line per family and learner: how often the twins agree."""
    lines = []
    for row in table.itertuples(index=False):
        where = f" under {row.learner}" if row.learner is not None else ""
        same = "n/a" if not np.isfinite(row.identical) else f"{100 * row.identical:.1f} %"
        tie = "" if not np.isfinite(row.tie_share) else f", {100 * row.tie_share:.1f} % of queries decided by a tie"
        interval = "" if not np.isfinite(row.diff_low) else f" [{row.diff_low:+.3g}, {row.diff_high:+.3g}]"
        lines.append(f"{row.family}{where}: {row.a} and {row.b} picked identically in {same} of {row.matched} "
                     f"matched runs (Jaccard {row.jaccard:.2f}); {metric} difference {row.diff:+.3g}{interval}{tie}")
    return lines
