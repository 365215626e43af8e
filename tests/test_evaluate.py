"""The AL loop's metrics against scikit-learn's, the reference they replace for speed."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from albench.al_loop import evaluate


def reference(y_true, y_pred) -> dict:
    return {"accuracy": float(accuracy_score(y_true, y_pred)),
            "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
            "weighted_f1": float(f1_score(y_true, y_pred, average="weighted", zero_division=0))}


def test_equal_to_scikit_learn_to_the_last_bit_on_random_labelings():
    gen = np.random.default_rng(0)
    for _ in range(300):
        n, classes = int(gen.integers(1, 300)), int(gen.integers(1, 12))
        y_true = gen.integers(0, classes, n)
        # mostly right, sometimes wrong, sometimes a class the test set lacks
        y_pred = np.where(gen.random(n) < gen.random(), y_true, gen.integers(0, classes + 2, n))
        assert evaluate(y_true, y_pred) == reference(y_true, y_pred)


@pytest.mark.parametrize("y_true, y_pred, expected", [
    ([0, 0, 1, 1], [0, 0, 1, 1], {"accuracy": 1.0, "macro_f1": 1.0, "weighted_f1": 1.0}),
    # class 1: tp 1, fp 0, fn 1 -> F1 2/3; class 0: tp 2, fp 1, fn 0 -> F1 4/5; supports 2 and 2
    ([0, 0, 1, 1], [0, 0, 0, 1], {"accuracy": 0.75, "macro_f1": (2 / 3 + 0.8) / 2, "weighted_f1": (2 / 3 + 0.8) / 2}),
    # a predicted class absent from the test set has F1 0 and weight 0
    ([0, 0, 0], [0, 0, 2], {"accuracy": 2 / 3, "macro_f1": 0.4, "weighted_f1": 0.8}),
])
def test_hand_computed_cases(y_true, y_pred, expected):
    got = evaluate(np.array(y_true), np.array(y_pred))
    assert got == pytest.approx(expected)
    assert got == reference(y_true, y_pred)
