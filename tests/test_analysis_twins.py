"""Implementation twins on synthetic results: picks, metric gaps and ties known by construction.

Family "margin": ``margin`` and ``modal.margin`` pick identically under
``logreg`` and differently (disjoint picks) under ``rf``; ``skactiveml.margin``
shares half of ``margin``'s picks everywhere. ``random`` belongs to no family.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from albench.analysis.frame import prepare
from albench.analysis.twins import declared_family, strategy_families, twin_lines, twins

FAMILIES = {"margin": "margin", "modal.margin": "margin", "skactiveml.margin": "margin"}
STRATEGIES = ["random", "margin", "modal.margin", "skactiveml.margin"]


def twin_results() -> tuple[pd.DataFrame, pd.DataFrame]:
    gen = np.random.default_rng(0)
    runs, curves = [], []
    for d, learner, seed in itertools.product(["d0", "d1", "d2"], ["logreg", "rf"], range(4)):
        base = gen.permutation(100)[:6]
        other = np.setdiff1d(np.arange(100), base)[:6]
        picks = {"random": gen.permutation(100)[:6], "margin": base,
                 "modal.margin": base if learner == "logreg" else other,
                 "skactiveml.margin": np.concatenate([base[:3], other[:3]])}
        for s in STRATEGIES:
            run_id = f"{d}-{learner}-{seed}-{s}"
            value = 0.7 + (0.01 if s == "modal.margin" and learner == "rf" else 0.0)
            runs.append({"run_id": run_id, "kind": "al", "status": "ok", "dataset": d, "learner": learner,
                         "seed": seed, "strategy": s, "auc_accuracy": value})
            tied = 3 if (learner == "rf" and s != "random") else 0
            for c in range(2):
                batch = picks[s][3 * c:3 * c + 3]
                if s == "modal.margin":
                    batch = np.sort(batch)[::-1]  # the same batch returned in another order is the same pick
                curves.append({"run_id": run_id, "cycle": c, "queried": batch.tolist(), "n_tied": tied if c else 0})
    return pd.DataFrame(runs), pd.DataFrame(curves)


@pytest.fixture(scope="module")
def table():
    runs, curves = twin_results()
    return twins(prepare(runs), "auc_accuracy", curves, FAMILIES, n_resamples=200).set_index(["learner", "a", "b"])


def test_identical_twins_are_found_identical(table):
    row = table.loc[("logreg", "margin", "modal.margin")]
    assert row["family"] == "margin" and row["matched"] == 12
    assert row["identical"] == 1.0 and row["jaccard"] == 1.0 and row["diff"] == pytest.approx(0.0)
    assert row["tie_share"] == 0.0


def test_twins_that_differ_under_a_forest(table):
    row = table.loc[("rf", "margin", "modal.margin")]
    assert row["identical"] == 0.0 and row["jaccard"] == 0.0
    assert row["diff"] == pytest.approx(-0.01) and row["diff_low"] == pytest.approx(-0.01)
    assert row["tie_share"] == pytest.approx(0.5)  # the second of two cycles was decided by a tie
    half = table.loc[("logreg", "margin", "skactiveml.margin")]
    assert half["identical"] == 0.0 and half["jaccard"] == pytest.approx(3 / 9)  # 3 shared of 9 distinct
    assert "random" not in set(table.index.get_level_values("a")) | set(table.index.get_level_values("b"))
    assert len(table) == 6  # three pairs of members, two learners


def test_lines_say_how_often_twins_agree(table):
    lines = twin_lines(table.reset_index(), "auc_accuracy")
    assert any(line.startswith("margin under logreg: margin and modal.margin picked identically in 100.0 % of 12")
               for line in lines)
    assert any("under rf: margin and modal.margin picked identically in 0.0 %" in line
               and "50.0 % of queries decided by a tie" in line for line in lines)


def test_families_are_read_from_the_strategy_classes(monkeypatch):
    from albench.strategy import registry

    factory = registry.get("margin").factory
    assert declared_family("no-such-strategy") is None
    monkeypatch.setattr(factory, "family", "margin", raising=False)
    assert declared_family("margin") == "margin"
    assert strategy_families(["margin", "margin(x=1)", "random"]) == {
        **({"random": declared_family("random")} if declared_family("random") else {}),
        "margin": "margin", "margin(x=1)": "margin"}


def test_no_declared_families_gives_an_empty_table():
    runs, curves = twin_results()
    assert twins(prepare(runs), "auc_accuracy", curves, families={}).empty
