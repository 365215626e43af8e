"""Active-testing estimators against hand-computed cases, exact identities and statistics over seeds."""

import numpy as np
import pytest

from albench.active_testing.estimators import Trace, estimate_all, registry
from albench.active_testing.sampling import acquire
from albench.strategies.at_estimators import ase, importance_sampling, iid, lure, lure_weights, pure


def uniform_q(n: int, m: int) -> np.ndarray:
    return 1.0 / (n - np.arange(1, m + 1) + 1)


def proportional_draws(losses: np.ndarray, budget: int, seed: int):
    """Draws with q exactly proportional to the true loss over the unlabelled points (no safeguard)."""
    return acquire(lambda labelled, step: losses[~labelled], len(losses), budget,
                   np.random.default_rng(seed), "mixture", 0.0)


def test_registry_holds_every_estimator():
    assert {"iid", "is", "pure", "lure", "ase", "difference", "difference_pure"} <= set(registry.names())


def test_lure_equals_iid_mean_under_uniform_q():
    losses = np.random.default_rng(0).gamma(0.5, 2.0, size=15)
    trace = Trace(40, losses, uniform_q(40, 15))
    np.testing.assert_allclose(lure(trace).curve, iid(trace).curve, rtol=1e-13)
    np.testing.assert_allclose(lure(trace).weights, 1.0, rtol=1e-13)


def test_lure_weights_are_one_when_the_whole_pool_is_labelled():
    q = np.random.default_rng(1).uniform(0.01, 1.0, size=25)
    assert np.array_equal(lure_weights(q, 25), np.ones(25))


def test_lure_with_the_whole_pool_gives_the_true_risk():
    losses = np.random.default_rng(2).gamma(0.5, 2.0, size=12)
    chosen, q = acquire(lambda labelled, step: 1.0 + losses[~labelled], 12, 12, np.random.default_rng(3), "clip", 0.2)
    trace = Trace(12, losses[chosen], q)
    assert lure(trace).curve[-1] == pytest.approx(losses.mean(), rel=1e-13)


@pytest.mark.parametrize("seed", range(5))
def test_pure_and_lure_are_exact_when_q_is_proportional_to_the_loss(seed):
    losses = np.random.default_rng(seed).gamma(0.7, 1.5, size=30) + 1e-3
    chosen, q = proportional_draws(losses, 20, seed)
    # q was renormalised over the points still unlabelled at each step
    remaining = losses.sum() - np.concatenate([[0.0], np.cumsum(losses[chosen])[:-1]])
    np.testing.assert_allclose(q, losses[chosen] / remaining, rtol=1e-12)
    trace = Trace(30, losses[chosen], q)
    np.testing.assert_allclose(pure(trace).curve, losses.mean(), rtol=1e-12)
    np.testing.assert_allclose(lure(trace).curve, losses.mean(), rtol=1e-12)


def test_hand_computed_case():
    # N = 4, losses L = [1, 2, 3, 4] (R = 2.5); draws: point 3 (L=4) with q=0.4, then point 0 (L=1) with q=0.25.
    n, losses, q = 4, np.array([4.0, 1.0]), np.array([0.4, 0.25])
    trace = Trace(n, losses, q)
    # iid: 4, then (4 + 1)/2
    np.testing.assert_allclose(iid(trace).curve, [4.0, 2.5])
    # IS: 4/(4*0.4) = 2.5, then (2.5 + 1/(4*0.25))/2 = 1.75
    np.testing.assert_allclose(importance_sampling(trace).curve, [2.5, 1.75])
    # PURE: R_1 = 4/(4*0.4) = 2.5; R_2 = (4 + 1/0.25)/4 = 2; PURE_2 = 2.25
    np.testing.assert_allclose(pure(trace).curve, [2.5, 2.25])
    np.testing.assert_allclose(pure(trace).weights, [1 / 1.6 + 1 / 4, 1.0])
    # LURE, M = 2: v_1 = 1 + 2/3 (1/(4*0.4) - 1) = 0.75; v_2 = 1 + 2/2 (1/(3*0.25) - 1) = 4/3
    np.testing.assert_allclose(lure(trace).weights, [0.75, 4 / 3])
    # LURE after 1 label (M = 1): v = 1 + 3/3 (1/1.6 - 1) = 0.625 -> 2.5; after 2: (0.75*4 + 4/3)/2
    np.testing.assert_allclose(lure(trace).curve, [2.5, (3.0 + 4 / 3) / 2])


def test_is_misses_the_labelled_losses_under_uniform_q():
    """Without replacement each IS term estimates the unlabelled sum only: L_m (N - m + 1)/N under uniform q."""
    losses = np.array([3.0, 1.0, 2.0, 5.0])
    n = 10
    trace = Trace(n, losses, uniform_q(n, 4))
    expected = np.cumsum(losses * (n - np.arange(4)) / n) / np.arange(1, 5)
    np.testing.assert_allclose(importance_sampling(trace).curve, expected)


def test_ase_is_exact_with_a_perfect_surrogate():
    losses = np.random.default_rng(4).gamma(0.5, 2.0, size=20)
    chosen, q = acquire(lambda labelled, step: losses[~labelled] + 0.1, 20, 8, np.random.default_rng(5), "mixture", 0.1)
    rest = losses.sum() - np.cumsum(losses[chosen])  # a surrogate that knows every label
    np.testing.assert_allclose(ase(Trace(20, losses[chosen], q, rest)).curve, losses.mean(), rtol=1e-12)
    assert ase(Trace(20, losses[chosen], q, rest)).weights is None


def test_estimators_vectorise_over_runs():
    gen = np.random.default_rng(6)
    losses, q, rest = gen.gamma(1.0, size=(3, 7)), gen.uniform(0.05, 0.3, size=(3, 7)), gen.uniform(5, 9, size=(3, 7))
    total, drawn, first = gen.uniform(9, 12, size=3), gen.gamma(1.0, size=(3, 7)), gen.gamma(1.0, size=(3, 7))
    batch = estimate_all(Trace(30, losses, q, rest, total, drawn, first))
    for i in range(3):
        single = estimate_all(Trace(30, losses[i], q[i], rest[i], total[i], drawn[i], first[i]))
        for name, est in single.items():
            np.testing.assert_allclose(batch[name].curve[i], est.curve, rtol=1e-13)
            if est.weights is not None:
                np.testing.assert_allclose(batch[name].weights[i], est.weights, rtol=1e-13)
            if est.std_error is not None:
                np.testing.assert_allclose(batch[name].std_error[i], est.std_error, rtol=1e-12)


def test_pure_and_lure_are_unbiased_and_the_active_mean_is_not():
    """Mean over 2,000 seeds of a non-uniform proposal: within 3 standard errors for PURE and LURE only."""
    gen = np.random.default_rng(7)
    n, budget, runs = 40, 8, 2000
    losses = gen.gamma(0.4, 2.0, size=n)
    losses[:10] = 0.0  # zero losses still get q > 0 from the safeguard
    scores = losses * gen.uniform(0.5, 1.5, size=n)  # a noisy loss predictor
    risk = losses.mean()
    draws = [acquire(lambda labelled, step: scores[~labelled], n, budget, np.random.default_rng(s), "mixture", 0.2)
             for s in range(runs)]
    chosen = np.array([c for c, _ in draws])
    q = np.array([q for _, q in draws])
    trace = Trace(n, losses[chosen], q)

    def z(curve):
        final = curve[:, -1]
        return (final.mean() - risk) / (final.std(ddof=1) / np.sqrt(runs))

    assert abs(z(pure(trace).curve)) < 3
    assert abs(z(lure(trace).curve)) < 3
    assert z(iid(trace).curve) > 3  # the active choice over-samples high losses
    assert z(importance_sampling(trace).curve) < -3  # and plain IS forgets the labelled ones
