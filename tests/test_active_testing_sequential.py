"""The finite-population estimators by exact enumeration on tiny pools, and their intervals over many seeds."""

import itertools

import numpy as np
import pytest

from albench import finite_population as fp
from albench.active_testing.proposals import distribution
from albench.active_testing.sampling import acquire

N, M = 6, 4
LOSSES = np.array([0.0, 0.3, 2.5, 0.7, 4.0, 1.1])
SCORES = np.array([0.2, 1.0, 0.1, 0.5, 3.0, 0.9])  # a poor loss predictor: q is far from optimal
RISK = LOSSES.mean()


def prediction(labelled: np.ndarray) -> np.ndarray:
    """A surrogate's expected loss that is 'refitted' on the labels so far (a function of the labelled set)."""
    k = labelled.sum()
    return 0.5 * SCORES + 0.1 * k + 0.2 * LOSSES * labelled.mean()


def all_draws(safeguard="mixture", weight=0.2):
    """Every ordered draw of M distinct points from N, its probability, and what the estimators see."""
    out = []
    for order in itertools.permutations(range(N), M):
        labelled = np.zeros(N, dtype=bool)
        prob, q, drawn_g, rest_g = 1.0, [], [], []
        total = prediction(labelled).sum()
        for i in order:
            unlabelled = np.flatnonzero(~labelled)
            dist = distribution(SCORES[unlabelled] + labelled.sum() * 0.3, safeguard, weight)  # history-dependent
            qi = dist[list(unlabelled).index(i)]
            drawn_g.append(prediction(labelled)[i])  # the prediction in use at this step
            prob *= qi
            q.append(qi)
            labelled[i] = True
            rest_g.append(prediction(labelled)[~labelled].sum())  # refitted on the new label
        out.append((prob, np.array(order), np.array(q), np.array(drawn_g), total, np.array(rest_g)))
    assert sum(d[0] for d in out) == pytest.approx(1.0, abs=1e-12)
    return out


def expectation(estimator, draws, moment=lambda e: e.curve):
    return sum(prob * moment(estimator(order, q, g, total, rest)) for prob, order, q, g, total, rest in draws)


FIRST_G = prediction(np.zeros(N, dtype=bool))
UNBIASED = {
    "pure": lambda o, q, g, t, r: fp.pure(LOSSES[o], q, N),
    "lure": lambda o, q, g, t, r: fp.lure(LOSSES[o], q, N),
    "difference_lure": lambda o, q, g, t, r: fp.difference_lure(LOSSES[o], q, N, FIRST_G[o], FIRST_G.sum()),
    "difference_pure": lambda o, q, g, t, r: fp.difference_pure(LOSSES[o], q, N, g, t, r),
}


@pytest.mark.parametrize("safeguard", ["mixture", "clip"])
@pytest.mark.parametrize("name", sorted(UNBIASED))
def test_unbiased_at_every_prefix_by_exact_enumeration(name, safeguard):
    draws = all_draws(safeguard)
    np.testing.assert_allclose(expectation(UNBIASED[name], draws), RISK, rtol=1e-12)


def test_importance_sampling_and_the_plain_mean_are_biased_by_enumeration():
    draws = all_draws()
    is_mean = expectation(lambda o, q, g, t, r: fp.importance_sampling(LOSSES[o], q, N), draws)
    iid_mean = expectation(lambda o, q, g, t, r: fp.sample_mean(LOSSES[o], N), draws)
    assert is_mean[0] == pytest.approx(RISK, rel=1e-12)  # one draw: IS is unbiased
    assert (np.abs(is_mean[1:] - RISK) > 1e-3).all() and (np.abs(iid_mean - RISK) > 1e-3).all()


@pytest.mark.parametrize("name", ["pure", "difference_pure"])
def test_des_raj_variance_estimator_is_unbiased_by_enumeration(name):
    """E[std_error^2] = Var(estimate) exactly, at every m >= 2."""
    draws = all_draws()
    est = UNBIASED[name]
    variance = expectation(est, draws, lambda e: (e.curve - RISK) ** 2)
    mean_se2 = expectation(est, draws, lambda e: np.nan_to_num(e.std_error ** 2))
    np.testing.assert_allclose(mean_se2[1:], variance[1:], rtol=1e-10)


def test_a_history_dependent_prediction_biases_the_lure_difference_but_not_the_pure_one():
    """``difference_lure`` needs g fixed before the draws; with the refitted g it is biased, the PURE form is not."""
    draws = all_draws()
    refitted = expectation(lambda o, q, g, t, r: fp.difference_lure(LOSSES[o], q, N, g, t), draws)
    assert np.abs(refitted[1:] - RISK).max() > 1e-3


def test_difference_estimators_are_exact_with_a_perfect_prediction():
    gen = np.random.default_rng(0)
    losses = gen.gamma(0.5, 2.0, size=40)
    chosen, q = acquire(lambda labelled, step: losses[~labelled] + 0.2, 40, 15, gen, "mixture", 0.3)
    rest = losses.sum() - np.cumsum(losses[chosen])
    for est in (fp.difference_lure(losses[chosen], q, 40, losses[chosen], losses.sum()),
                fp.difference_pure(losses[chosen], q, 40, losses[chosen], losses.sum(), rest)):
        np.testing.assert_allclose(est.curve, losses.mean(), rtol=1e-12)
        np.testing.assert_allclose(est.std_error[1:], 0.0, atol=1e-12)


def test_pure_is_not_exact_at_m_equal_n_but_lure_is():
    gen = np.random.default_rng(1)
    losses = gen.gamma(0.5, 2.0, size=10)
    chosen, q = acquire(lambda labelled, step: 1.0 + losses[~labelled] ** 2, 10, 10, gen, "mixture", 0.1)
    assert fp.lure(losses[chosen], q, 10).curve[-1] == pytest.approx(losses.mean(), rel=1e-12)
    assert fp.lure(losses[chosen], q, 10).std_error[-1] == 0.0
    assert abs(fp.pure(losses[chosen], q, 10).curve[-1] - losses.mean()) > 1e-3


def test_standard_errors_against_hand_computed_formulas():
    values, q, n = np.array([4.0, 1.0, 2.0]), np.array([0.4, 0.25, 0.5]), 5
    m = 3
    mean = fp.sample_mean(values, n)
    assert mean.std_error[-1] == pytest.approx(np.sqrt((1 - m / n) * values.var(ddof=1) / m))
    pure = fp.pure(values, q, n)
    per_step = (np.array([0.0, 4.0, 5.0]) + values / q) / n
    assert pure.curve[-1] == pytest.approx(per_step.mean())
    assert pure.std_error[-1] == pytest.approx(np.sqrt(per_step.var(ddof=1) / m))
    lure = fp.lure(values, q, n)
    terms = lure.weights * values
    assert lure.curve[-1] == pytest.approx(terms.mean())
    assert lure.std_error[-1] == pytest.approx(np.sqrt((1 - m / n) * terms.var(ddof=1) / m))
    for prefix in (2,):  # the prefix curve uses the weights of a sample of that size
        short = fp.lure(values[:prefix], q[:prefix], n)
        assert lure.std_error[prefix - 1] == pytest.approx(short.std_error[-1])
        assert lure.curve[prefix - 1] == pytest.approx(short.curve[-1])
    low, high = fp.interval(lure, 0.9)
    assert np.isnan(low[0]) and np.isnan(high[0])
    assert high[-1] - lure.curve[-1] == pytest.approx(2.919986 * lure.std_error[-1], rel=1e-5)  # t_{0.95, 2}
    with pytest.raises(ValueError, match="confidence level 1.5"):
        fp.interval(lure, 1.5)


def test_weight_diagnostics():
    q = np.array([1 / 10, 1 / 90, 1 / 8])
    np.testing.assert_allclose(fp.importance_ratios(q, 10), [1.0, 10.0, 1.0])
    assert fp.effective_sample_size(np.ones(7)) == pytest.approx(7.0)
    assert fp.effective_sample_size(np.array([1.0, 10.0, 1.0])) == pytest.approx(144 / 102)


def _coverage(estimator, losses, scores, budget, runs, weight, level=0.9):
    n = len(losses)
    counts = np.zeros(budget)
    for seed in range(runs):
        chosen, q = acquire(lambda labelled, step: scores[~labelled], n, budget, np.random.default_rng(seed),
                            "mixture", weight)
        low, high = fp.interval(estimator(losses[chosen], q, n), level)
        inside = (low <= losses.mean()) & (losses.mean() <= high)
        counts += inside
    return counts / runs


def test_intervals_cover_at_the_nominal_level_on_a_bounded_loss():
    """Zero-one losses (20 % errors), a noisy loss predictor, 500 seeds: coverage of the 90 % intervals at
    m = 30 within 0.04 of 0.9 (3 Monte Carlo standard errors)."""
    gen = np.random.default_rng(3)
    n = 200
    losses = (gen.random(n) < 0.2).astype(float)
    scores = np.clip(losses * 0.6 + gen.random(n) * 0.5, 0, None)
    for estimator in (fp.pure, fp.lure):
        coverage = _coverage(estimator, losses, scores, 30, 500, 0.3)
        assert abs(coverage[-1] - 0.9) < 0.04, (estimator.__name__, coverage[-1])
    uniform = _coverage(lambda v, q, n_: fp.sample_mean(v, n_), losses, np.ones(n), 30, 500, 0.3)
    assert abs(uniform[-1] - 0.9) < 0.04


def test_final_values_agree_with_the_shared_finite_population_library():
    """At m = M the prefix curves equal ``albench.finite_population``'s Des Raj terms and martingale variance."""
    from albench import finite_population as shared

    for prob, order, q, g, total, rest in all_draws()[::7]:
        values = LOSSES[order]
        before = np.concatenate([[total], rest[:-1]])
        terms = shared.des_raj_terms(values, q, g, before)
        est = fp.difference_pure(values, q, N, g, total, rest)
        assert est.curve[-1] == pytest.approx(terms.mean() / N, rel=1e-12)
        assert est.std_error[-1] ** 2 == pytest.approx(shared.martingale_variance(terms) / N ** 2, rel=1e-10)
        plain = shared.des_raj_terms(values, q)
        assert fp.pure(values, q, N).curve[-1] == pytest.approx(plain.mean() / N, rel=1e-12)
        lure = fp.lure(values, q, N)
        assert lure.curve[-1] == pytest.approx(np.mean(shared.lure_weights(q, N) * values), rel=1e-12)
