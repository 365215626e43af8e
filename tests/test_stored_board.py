"""The leaderboard from a DuckDB group-by over the stored parts (``albench.analysis.stored_board``)
against ``leaderboard`` of the runs read whole."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from albench.analysis.leaderboard import leaderboard
from albench.analysis.stored_board import stored_leaderboard
from albench.results import Results
from albench.store import Store


def _run(i, dataset, strategy, value, status="ok", dataset_params=None, strategy_params=None, kind="al"):
    return {"run_id": f"r{i:05d}", "kind": kind, "status": status, "dataset": dataset,
            "dataset_params": json.dumps(dataset_params or {}), "strategy": strategy,
            "strategy_params": json.dumps(strategy_params or {}), "learner": "logreg", "seed": i % 7,
            "auc_accuracy": value if status == "ok" else math.nan}


def _write(root, rows, parts=4, seed=0):
    """``rows`` over ``parts`` part files, in a shuffled order."""
    order = np.random.default_rng(seed).permutation(len(rows))
    store = Store(root)
    for chunk in np.array_split(order, parts):
        store.write([rows[i] for i in chunk], [])
    return store


def _mixed_rows(seed=1):
    rng = np.random.default_rng(seed)
    rows, i = [], 0
    for dataset, params in (("iris", None), ("wine", None), ("blobs", {"data_seed": 3}), ("blobs", {"data_seed": 4})):
        for strategy, sparams in (("random", None), ("margin", None), ("margin", {"k": 2}), ("entropy", None)):
            for _ in range(6):
                status = "error" if rng.random() < 0.1 else "ok"
                rows.append(_run(i, dataset, strategy, rng.uniform(0.5, 0.9), status, params, sparams))
                i += 1
    rows[3]["auc_accuracy"] = math.nan  # an ok run without the metric is left out of the means
    rows.append(_run(i, "digits", "random", 0.7))  # a data set without every strategy: an incomplete block
    rows.append(_run(i + 1, "iris", "uniform", 0.1, kind="at"))  # another kind is not ranked
    return rows


def test_it_equals_the_leaderboard_of_the_runs_read_whole(tmp_path):
    store = _write(tmp_path / "out", _mixed_rows())
    board = stored_leaderboard(Results(store.root))
    runs = store.read("runs")
    expected = leaderboard(runs[runs["kind"] == "al"])
    assert {"margin(k=2)", "margin"} <= set(board["strategy"]) and board["failures"].sum() > 0
    pd.testing.assert_frame_equal(board, expected)


def test_identical_strategies_tie_in_every_block_whatever_the_order_of_the_parts(tmp_path):
    rng = np.random.default_rng(0)
    rows, i = [], 0
    for dataset in ("a", "b", "c"):
        values = rng.permutation([0.9, *rng.uniform(1, 3, 39) * 1e-17])  # float sums depend on the order
        for strategy in ("margin", "entropy", "random"):
            for v in (values if strategy != "random" else values * 0.9):
                rows.append(_run(i, dataset, strategy, float(v)))
                i += 1
    margin = [r["auc_accuracy"] for r in rows if r["strategy"] == "margin" and r["dataset"] == "a"]
    assert sum(sorted(margin)) != sum(sorted(margin, reverse=True)), "the values do not test the order of summation"
    for seed in range(3):
        ids = np.random.default_rng(seed).permutation(len(rows))  # run_ids interleave the twins' runs
        shuffled = [{**r, "run_id": f"r{k:05d}"} for r, k in zip(rows, ids)]
        store = _write(tmp_path / str(seed), shuffled, parts=5, seed=seed)
        for board in (stored_leaderboard(Results(store.root)), leaderboard(store.read("runs"))):
            ranks = dict(zip(board["strategy"], board["mean_rank"]))
            assert ranks["margin"] == ranks["entropy"] == 1.5 and ranks["random"] == 3.0
            means = dict(zip(board["strategy"], board["mean_auc_accuracy"]))
            assert means["margin"] == means["entropy"]


@pytest.mark.parametrize("value", [math.inf, 1e7])
def test_a_value_it_cannot_sum_exactly_leaves_the_table_to_pandas(tmp_path, value):
    from albench.closing_tables import al_tables

    rows = [_run(0, "iris", "random", 0.5), _run(1, "iris", "margin", value), _run(2, "wine", "margin", 0.6),
            _run(3, "wine", "random", 0.4)]
    store = _write(tmp_path / "out", rows, parts=1)
    assert stored_leaderboard(Results(store.root)) is None
    [table] = al_tables(store, "g")  # the runs read instead
    pd.testing.assert_frame_equal(table.frame, leaderboard(store.read("runs")))


def test_an_oracle_baseline_is_left_out_and_missing_columns_leave_the_table_to_pandas(tmp_path):
    rows = [_run(0, "iris", "random", 0.5), _run(1, "iris", "oracle", 0.9, strategy_params={"n_candidates": 5}),
            _run(2, "iris", "margin", 0.7), _run(3, "wine", "margin", 0.6), _run(4, "wine", "random", 0.65),
            _run(5, "wine", "oracle", 0.95)]
    store = _write(tmp_path / "oracle", rows, parts=2)
    board = stored_leaderboard(Results(store.root))
    assert list(board["strategy"]) == ["margin", "random"] and list(board["runs"]) == [2, 2]
    pd.testing.assert_frame_equal(board, leaderboard(store.read("runs")))
    Store(tmp_path / "bare").write([{"run_id": "r0", "kind": "al", "status": "ok", "dataset": "iris"}], [])
    assert stored_leaderboard(Results(tmp_path / "bare")) is None


def test_without_rankable_runs_it_counts_runs_and_failures(tmp_path):
    rows = [_run(0, "iris", "random", 0.5, status="error"), _run(1, "iris", "margin", 0.5, status="timeout")]
    board = stored_leaderboard(Results(_write(tmp_path / "failed", rows, parts=1).root))
    assert board.to_dict("list") == {"strategy": ["margin", "random"], "runs": [1, 1], "failures": [1, 1]}
    only_at = [_run(0, "iris", "uniform", 0.1, kind="at")]
    assert stored_leaderboard(Results(_write(tmp_path / "at", only_at, parts=1).root)).empty
