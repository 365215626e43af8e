"""Stochastic batch acquisition (strategies/stochastic_batch.py) against the paper's definitions:
hand-computed weights, and draw frequencies over many seeds against exact sampling without replacement."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from albench.strategies.stochastic_batch import StochasticPower, gumbel_top_k, log_weights
from albench.strategy import QueryState


def test_weights_by_hand():
    s = np.array([0.5, 0.2, 0.0, 0.3])
    np.testing.assert_allclose(np.exp(log_weights(s, "power", 2.0)), [0.25, 0.04, 0.0, 0.09])
    np.testing.assert_allclose(log_weights(s, "softmax", 3.0), [1.5, 0.6, 0.0, 0.9])
    np.testing.assert_allclose(np.exp(log_weights(s, "softrank", 1.0)), [1, 1 / 3, 1 / 4, 1 / 2])
    np.testing.assert_allclose(np.exp(log_weights(np.array([0.5, 0.2, 0.5]), "softrank", 1.0)), [2 / 3, 1 / 3, 2 / 3])


def _inclusion(p, k):
    """Exact probability that each item is in a k-draw without replacement (successive sampling)."""
    n = len(p)
    out = np.zeros(n)
    for order in itertools.permutations(range(n), k):
        prob, left = 1.0, 1.0
        for i in order:
            prob *= p[i] / left
            left -= p[i]
        out[list(order)] += prob
    return out


@pytest.mark.parametrize("rule, beta", [("power", 1.0), ("softmax", 4.0), ("softrank", 1.0)])
def test_draw_frequencies_match_sampling_without_replacement(rule, beta):
    scores = np.array([0.9, 0.5, 0.3, 0.2, 0.1])
    w = np.exp(log_weights(scores, rule, beta))
    p = w / w.sum()
    n_draws = 6000
    rng = np.random.default_rng(0)
    both = np.zeros(5)
    for _ in range(n_draws):
        picks = gumbel_top_k(log_weights(scores, rule, beta), 2, rng)
        both[picks] += 1
    # inclusion in a batch of 2, against the exact successive-sampling probabilities (4 sigma)
    expected = _inclusion(p, 2)
    sigma = np.sqrt(expected * (1 - expected) / n_draws)
    assert np.all(np.abs(both / n_draws - expected) < 4 * sigma + 1e-12), (both / n_draws, expected)
    # a batch of 1 is one draw from p
    ones = np.bincount([gumbel_top_k(log_weights(scores, rule, beta), 1, rng)[0] for _ in range(n_draws)],
                       minlength=5) / n_draws
    assert np.all(np.abs(ones - p) < 4 * np.sqrt(p * (1 - p) / n_draws)), (ones, p)


def test_large_beta_gives_the_top_k_back():
    scores = np.array([0.9, 0.5, 0.3, 0.2, 0.1])
    for seed in range(20):
        picks = gumbel_top_k(log_weights(scores, "power", 200.0), 2, np.random.default_rng(seed))
        assert sorted(picks.tolist()) == [0, 1]


class _Proba:
    def __init__(self, proba):
        self.proba = proba

    def predict_proba(self, X):
        return self.proba[X[:, 0].astype(int)]


def test_zero_scores_come_last_and_the_strategy_maps_to_pool_indices():
    proba = np.array([[1.0, 0.0], [0.5, 0.5], [1.0, 0.0], [0.8, 0.2], [1.0, 0.0]])
    X = np.arange(5, dtype=float)[:, None]
    labelled = np.array([False, False, True, False, False])
    state = QueryState(model=_Proba(proba), X=X, labelled=labelled, y=np.where(labelled, 0, -1),
                       classes=np.arange(2))
    for seed in range(10):
        picks = StochasticPower(base="least_confident").query(state, 3, np.random.default_rng(seed))
        assert sorted(picks[:2].tolist()) == [1, 3]  # the only points with a positive score
        assert picks[2] in (0, 4)


def test_bad_parameters():
    with pytest.raises(ValueError, match="stochastic_power: base must be one of entropy, least_confident, margin"):
        StochasticPower(base="bald")
    with pytest.raises(ValueError, match="stochastic_power: beta must be a number > 0"):
        StochasticPower(beta=0)
