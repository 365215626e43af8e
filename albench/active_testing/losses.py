"""Per-point losses of a classifier and their expectation under a label distribution.

Cross-entropy follows scikit-learn's ``log_loss``: probabilities are clipped at
machine epsilon, so a confident mistake costs about 36 nats, not infinity.
"""

from __future__ import annotations

import numpy as np

LOSSES = ("cross_entropy", "zero_one")
EPS = np.finfo(float).eps


def _check(loss: str) -> None:
    if loss not in LOSSES:
        raise ValueError(f"unknown loss '{loss}'; allowed: {', '.join(LOSSES)}")


def _neg_log(proba: np.ndarray) -> np.ndarray:
    return -np.log(np.clip(proba, EPS, 1.0))


def pointwise_loss(proba: np.ndarray, y: np.ndarray, loss: str) -> np.ndarray:
    """L_i = loss of the prediction ``proba[i]`` (n, C) against the label ``y[i]``."""
    _check(loss)
    proba = np.asarray(proba, dtype=float)
    rows = np.arange(len(proba))
    if loss == "cross_entropy":
        return _neg_log(proba[rows, y])
    return (proba.argmax(axis=1) != y).astype(float)


def loss_per_label(proba: np.ndarray, loss: str) -> np.ndarray:
    """(n, C): the loss of the prediction ``proba[i]`` if the label of point i were c."""
    _check(loss)
    proba = np.asarray(proba, dtype=float)
    if loss == "cross_entropy":
        return _neg_log(proba)
    return 1.0 - np.eye(proba.shape[1])[proba.argmax(axis=1)]


def expected_abs_difference(proba_a: np.ndarray, proba_b: np.ndarray, label_proba: np.ndarray,
                            loss: str) -> np.ndarray:
    """E_{y ~ label_proba[i]} |L(proba_a[i], y) - L(proba_b[i], y)|: how much labelling point i
    can tell the two models apart (0 where they would lose the same whatever the label)."""
    gap = np.abs(loss_per_label(proba_a, loss) - loss_per_label(proba_b, loss))
    return (np.asarray(label_proba, dtype=float) * gap).sum(axis=1)


def expected_pairwise_difference(models_proba: np.ndarray, label_proba: np.ndarray, loss: str) -> np.ndarray:
    """E_{y ~ label_proba[i]} sqrt(sum_{a<b} (L(f_a(x_i), y) - L(f_b(x_i), y))^2) over K models (K, N, C).

    For two models it is ``expected_abs_difference`` (sqrt(d^2) = |d| in floating point). Zero where every
    model would lose the same whatever the label.
    """
    per_label = np.stack([loss_per_label(p, loss) for p in np.asarray(models_proba, dtype=float)])  # (K, N, C)
    k = len(per_label)
    squares = sum((per_label[a] - per_label[b]) ** 2 for a in range(k) for b in range(a + 1, k))
    return (np.asarray(label_proba, dtype=float) * np.sqrt(squares)).sum(axis=1)


def expected_loss(proba: np.ndarray, label_proba: np.ndarray, loss: str) -> np.ndarray:
    """E_{y ~ label_proba[i]} L(proba[i], y) for every row.

    Cross-entropy: -sum_c pi(c|x) log f(c|x); zero-one: 1 - pi(argmax f(x) | x).
    With ``label_proba`` one-hot on the true labels this is ``pointwise_loss``.
    """
    _check(loss)
    proba = np.asarray(proba, dtype=float)
    label_proba = np.asarray(label_proba, dtype=float)
    if loss == "cross_entropy":
        out = (label_proba * _neg_log(proba)).sum(axis=1)
    else:
        out = 1.0 - label_proba[np.arange(len(proba)), proba.argmax(axis=1)]
    return np.maximum(out, 0.0)  # rounding can leave -1e-17


def entropy(proba: np.ndarray) -> np.ndarray:
    """Shannon entropy -sum_c p log p of each row (0 log 0 = 0)."""
    proba = np.asarray(proba, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(proba > 0, proba * np.log(proba), 0.0)
    return np.maximum(-terms.sum(axis=1), 0.0)
