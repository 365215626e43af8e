"""OGAL-style metrics of an AL run: macro precision and recall per cycle, the learning-curve
summaries after the start set, CPU time beside wall time, and the ramp-up against random."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import precision_score, recall_score

from albench import al_loop
from albench.analysis.frame import prepare
from albench.analysis.rampup import RAMP_FRACTION, add_rampup
from albench.spec import grid_from_dict
from conftest import small_al_grid


def test_macro_precision_and_recall_equal_scikit_learn():
    gen = np.random.default_rng(0)
    for _ in range(200):
        n, classes = int(gen.integers(1, 200)), int(gen.integers(1, 10))
        y_true = gen.integers(0, classes, n)
        y_pred = np.where(gen.random(n) < gen.random(), y_true, gen.integers(0, classes + 2, n))
        got = al_loop.precision_recall(y_true, y_pred)
        assert got == {"macro_precision": precision_score(y_true, y_pred, average="macro", zero_division=0),
                       "macro_recall": recall_score(y_true, y_pred, average="macro", zero_division=0)}


def test_learning_curve_summaries_by_hand():
    accuracy = [0.1, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.0]  # cycle 0 is the start set
    curves = [{m: a for m in al_loop.METRICS} for a in accuracy]
    got = al_loop.learning_curve_summary(curves)
    after = accuracy[1:]
    assert got["auc_no_start_accuracy"] == pytest.approx(np.trapezoid(after) / (len(after) - 1))
    assert got["first5_accuracy"] == pytest.approx(np.mean([0.5, 0.6, 0.7, 0.8, 0.9]))
    assert got["last5_accuracy"] == pytest.approx(np.mean([0.7, 0.8, 0.9, 1.0, 1.0]))
    assert al_loop.learning_curve_summary(curves[:1])["first5_accuracy"] is None  # no query made


def test_run_records_cpu_time_and_the_new_metrics():
    spec = next(grid_from_dict(small_al_grid(params={"strategy": "margin", "seed": 0, "budget": 4})).specs())
    result = al_loop.run(spec)
    for row in result.curves:
        assert {"macro_precision", "macro_recall", "fit_cpu_s", "eval_cpu_s", "query_cpu_s"} <= set(row)
        assert min(row["fit_cpu_s"], row["eval_cpu_s"], row["query_cpu_s"]) >= 0.0
    assert result.curves[0]["query_cpu_s"] > 0.0 and result.curves[-1]["query_cpu_s"] == 0.0
    s = result.summary
    assert s["fit_cpu_s"] == pytest.approx(sum(r["fit_cpu_s"] for r in result.curves))
    after = [r["accuracy"] for r in result.curves[1:]]
    assert s["auc_no_start_accuracy"] == pytest.approx(al_loop.area_under_curve(after))
    last_five = [r["macro_recall"] for r in result.curves[1:][-5:]]  # cycle 0 left out
    assert s["last5_macro_recall"] == pytest.approx(np.mean(last_five))


def test_ramp_up_counts_cycles_to_randoms_plateau():
    # one block; random's last five cycles (1..5) average 0.8 -> threshold 0.95 * 0.8 = 0.76
    curves = {"random": [0.3, 0.7, 0.78, 0.8, 0.82, 0.9],
              "fast": [0.3, 0.77, 0.8, 0.8, 0.8, 0.8],
              "never": [0.3, 0.4, 0.5, 0.5, 0.5, 0.5]}
    runs = pd.DataFrame([{"run_id": s, "kind": "al", "status": "ok", "dataset": "d", "strategy": s,
                          "auc_accuracy": 0.5} for s in curves])
    rows = pd.DataFrame([{"run_id": s, "cycle": c, "accuracy": v} for s, values in curves.items()
                         for c, v in enumerate(values)])
    frame = add_rampup(prepare(runs), rows.sample(frac=1.0, random_state=0))
    plateau = np.mean(curves["random"][1:])
    assert RAMP_FRACTION * plateau == pytest.approx(0.76)
    got = frame.runs.set_index("run_id")["rampup_accuracy"].to_dict()
    assert got == {"random": 2, "fast": 1, "never": 6}  # never reached: one past the last cycle
    assert frame.metrics["rampup_accuracy"] is False and frame.higher_is_better("rampup_accuracy") is False
