"""The shared finite-population estimators against exact enumeration of every possible sample."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from albench import finite_population as fp

Y = np.array([0.3, 1.7, 0.2, 2.5, 0.9, 1.1])  # a population whose every total is known
Y2 = np.stack([Y, np.array([1.0, 0.1, 0.7, 0.4, 2.2, 0.6])], axis=1)  # K = 2 quantities per unit


def _proposal(y: np.ndarray, left: list[int], drawn: list[int]) -> np.ndarray:
    """A history-dependent proposal over the units left: favours large values seen so far."""
    scale = 1.0 + (np.mean(y[drawn]) if drawn else 0.0)
    raw = np.array([0.2 + abs(y[j]) * scale for j in left])
    return raw / raw.sum()


def _sequences(y: np.ndarray, budget: int):
    """Every ordered draw without replacement under ``_proposal``: (indices, q of each draw, probability)."""
    def walk(drawn, qs, p):
        if len(drawn) == budget:
            yield list(drawn), list(qs), p
            return
        left = [j for j in range(len(y)) if j not in drawn]
        q = _proposal(y if y.ndim == 1 else y[:, 0], left, drawn)
        for j, qj in zip(left, q):
            yield from walk(drawn + [j], qs + [qj], p * qj)
    yield from walk([], [], 1.0)


def test_lure_is_exactly_unbiased_over_every_sequence():
    expectation = sum(p * np.mean(fp.lure_weights(np.array(q), len(Y)) * Y[idx])
                      for idx, q, p in _sequences(Y, 3))
    assert expectation == pytest.approx(Y.mean(), rel=1e-12)


def test_lure_weights_are_the_active_testing_ones():
    from albench.strategies.at_estimators import lure_weights as at_lure_weights

    q = np.array([0.2, 0.1, 0.5, 0.25])
    np.testing.assert_allclose(fp.lure_weights(q, 9), at_lure_weights(q, 9))
    np.testing.assert_array_equal(fp.lure_weights(np.full(4, 0.3), 4), np.ones(4))
    with pytest.raises(ValueError, match="pool of 3"):
        fp.lure_weights(q, 3)


def test_des_raj_mean_and_its_variance_estimate_are_exactly_unbiased():
    paths = list(_sequences(Y2, 3))
    total = Y2.sum(axis=0)
    means, variances, probs = [], [], []
    for idx, q, p in paths:
        z = fp.des_raj_terms(Y2[idx].T, np.array(q))  # (K, M): steps last
        means.append(z.mean(axis=-1))
        variances.append(fp.martingale_covariance(z))
        probs.append(p)
    probs = np.array(probs)
    assert probs.sum() == pytest.approx(1.0)
    means = np.array(means)
    np.testing.assert_allclose(probs @ means, total, rtol=1e-12)
    true_cov = np.einsum("p,pi,pj->ij", probs, means - total, means - total)
    np.testing.assert_allclose(np.einsum("p,pij->ij", probs, np.array(variances)), true_cov, rtol=1e-10)


def test_des_raj_with_a_surrogate_that_learns_from_the_history_stays_unbiased():
    total = Y.sum()
    expectation, second, expected_var = 0.0, 0.0, 0.0
    for idx, q, p in _sequences(Y, 3):
        preds, rests = [], []
        for m in range(3):
            f = np.mean(Y[idx[:m]]) if m else 1.0  # the mean of what was seen: changes every step
            preds.append(f)
            rests.append(f * (len(Y) - m))  # f over the N - m units not drawn before step m
        z = fp.des_raj_terms(Y[idx], np.array(q), np.array(preds), np.array(rests))
        expectation += p * z.mean()
        second += p * (z.mean() - total) ** 2
        expected_var += p * float(fp.martingale_variance(z))
    assert expectation == pytest.approx(total, rel=1e-12)
    assert expected_var == pytest.approx(second, rel=1e-10)


def test_pure_is_des_raj_over_n_for_a_batch_of_runs():
    from albench.active_testing.estimators import Trace
    from albench.strategies.at_estimators import pure

    rng = np.random.default_rng(7)
    losses, q = rng.uniform(size=(4, 6)), rng.uniform(0.05, 0.5, size=(4, 6))
    per_step = fp.des_raj_terms(losses, q) / 30  # a batch of 4 runs, N = 30
    curve = np.cumsum(per_step, axis=-1) / np.arange(1, 7)
    np.testing.assert_allclose(pure(Trace(30, losses, q)).curve, curve, rtol=1e-12)
    assert fp.martingale_variance(per_step).shape == (4,)


def test_des_raj_rejects_a_zero_probability_draw():
    with pytest.raises(ValueError, match="positive"):
        fp.des_raj_terms(np.ones(2), np.array([0.5, 0.0]))


def _stratified_samples(sizes, counts):
    """Every stratified simple random sample (unit indices per stratum), all equally likely."""
    starts = np.cumsum([0] + list(sizes[:-1]))
    per_stratum = [list(itertools.combinations(range(s, s + n), c)) for s, n, c in zip(starts, sizes, counts)]
    return [sum(map(list, combo), []) for combo in itertools.product(*per_stratum)]


def test_stratified_difference_estimator_and_variance_are_exactly_unbiased():
    rng = np.random.default_rng(3)
    sizes, counts = np.array([4, 5]), np.array([2, 3])
    y = rng.normal(size=(9, 2)) + np.array([[3.0, -1.0]])
    f = y + rng.normal(scale=0.3, size=y.shape)  # a surrogate with errors
    stratum_of = np.repeat([0, 1], sizes)
    estimates, covs = [], []
    for sample in _stratified_samples(sizes, counts):
        est = fp.stratified_difference_total(y[sample] - f[sample], stratum_of[sample], sizes,
                                             known_total=0.0, predicted_rest_total=f.sum(axis=0))
        estimates.append(est.total)
        covs.append(est.covariance)
    estimates = np.array(estimates)
    np.testing.assert_allclose(estimates.mean(axis=0), y.sum(axis=0), rtol=1e-12)
    true_cov = np.cov(estimates.T, bias=True)
    np.testing.assert_allclose(np.mean(covs, axis=0), true_cov, rtol=1e-10)


def test_singleton_strata_give_a_conservative_variance():
    rng = np.random.default_rng(4)
    sizes, counts = np.array([3, 4, 3]), np.array([1, 1, 1])
    y = rng.normal(size=(10, 1)) + np.repeat([[0.0], [1.0], [2.0]], sizes, axis=0)
    stratum_of = np.repeat([0, 1, 2], sizes)
    estimates, variances = [], []
    for sample in _stratified_samples(sizes, counts):
        est = fp.stratified_difference_total(y[sample], stratum_of[sample], sizes)
        estimates.append(est.total[0])
        variances.append(est.covariance[0, 0])
    assert np.mean(estimates) == pytest.approx(y.sum(), rel=1e-12)
    assert np.mean(variances) >= np.var(estimates)


def test_a_census_stratum_adds_no_variance_and_empty_strata_are_refused():
    e = np.array([[1.0], [2.0], [4.0]])
    est = fp.stratified_difference_total(e, np.array([0, 0, 1]), np.array([2, 5]))
    assert est.total[0] == pytest.approx(1 + 2 + 5 * 4)  # stratum 0 is a census
    with pytest.raises(ValueError, match="no sampled unit"):
        fp.stratified_difference_total(e, np.array([0, 0, 0]), np.array([3, 5]))


def test_two_adaptive_rounds_combine_without_bias_and_with_an_unbiased_variance():
    """Round 1: 2 of 6 units; a surrogate fitted on them; round 2: 2 of the 4 left; every path enumerated."""
    y = Y2
    n_units, total = len(y), y.sum(axis=0)
    weights = fp.round_weights(np.array([2, 2]), np.array([6, 4]))
    combined, variances = [], []
    for first in itertools.combinations(range(n_units), 2):
        f = y[list(first)].mean(axis=0)  # depends on round 1's values
        left = [j for j in range(n_units) if j not in first]
        z1 = fp.stratified_difference_total(y[list(first)], np.zeros(2, int), np.array([6]))
        for second in itertools.combinations(left, 2):
            z2 = fp.stratified_difference_total(y[list(second)] - f, np.zeros(2, int), np.array([4]),
                                                known_total=y[list(first)].sum(axis=0),
                                                predicted_rest_total=4 * f)
            est = fp.combine_rounds([z1, z2], weights)
            combined.append(est.total)
            variances.append(est.covariance)
    combined = np.array(combined)  # every path has probability 1/(15*6)
    np.testing.assert_allclose(combined.mean(axis=0), total, rtol=1e-12)
    np.testing.assert_allclose(np.mean(variances, axis=0), np.cov(combined.T, bias=True), rtol=1e-10)


def test_round_weights_follow_the_round_sizes_and_a_census_takes_all():
    w = fp.round_weights(np.array([10, 10]), np.array([100, 90]))
    assert w.sum() == pytest.approx(1.0)
    assert w[1] / w[0] == pytest.approx((100 * 90) / (90 * 80))
    np.testing.assert_array_equal(fp.round_weights(np.array([5, 3]), np.array([8, 3])), [0.0, 1.0])
    with pytest.raises(ValueError, match="1 <= n_r <= N_r"):
        fp.round_weights(np.array([0]), np.array([4]))


def test_normal_interval_and_contrasts():
    lo, hi = fp.normal_interval(np.array([1.0]), np.array([4.0]), 0.95)
    assert lo[0] == pytest.approx(1 - 1.959964 * 2, rel=1e-6) and hi[0] == pytest.approx(1 + 1.959964 * 2, rel=1e-6)
    c = np.array([[2.0, 0.5], [0.5, 1.0]])
    assert fp.contrast_variances(c)[0, 1] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="level"):
        fp.normal_interval(np.zeros(1), np.ones(1), 1.5)


def test_every_prefix_equals_the_final_value_functions_on_that_prefix():
    """One implementation per estimator: after m draws, the per-prefix curves and standard errors of
    ``pure``, ``difference_pure`` and ``lure`` are the final-value functions (Des Raj's terms, the martingale
    variance, LURE's weights) applied to the first m draws alone, for every m, over a batch of runs."""
    rng = np.random.default_rng(12)
    n, big_m = 15, 9
    values, q = rng.gamma(0.7, 1.5, size=(3, big_m)), rng.uniform(0.02, 0.3, size=(3, big_m))
    g, total, rest = rng.uniform(0, 2, size=(3, big_m)), rng.uniform(10, 20, size=3), rng.uniform(5, 15, (3, big_m))
    before = np.concatenate([total[:, None], rest[:, :-1]], axis=1)
    pure, lure = fp.pure(values, q, n), fp.lure(values, q, n)
    diff = fp.difference_pure(values, q, n, g, total, rest)
    for m in range(1, big_m + 1):
        plain = fp.des_raj_terms(values[:, :m], q[:, :m]) / n
        with_g = fp.des_raj_terms(values[:, :m], q[:, :m], g[:, :m], before[:, :m]) / n
        np.testing.assert_allclose(pure.curve[:, m - 1], plain.mean(axis=1), rtol=1e-13)
        np.testing.assert_allclose(diff.curve[:, m - 1], with_g.mean(axis=1), rtol=1e-13)
        weighted = fp.lure_weights(q[:, :m], n) * values[:, :m]
        np.testing.assert_allclose(lure.curve[:, m - 1], weighted.mean(axis=1), rtol=1e-12)
        if m >= 2:
            np.testing.assert_allclose(pure.std_error[:, m - 1] ** 2, fp.martingale_variance(plain), rtol=1e-10)
            np.testing.assert_allclose(diff.std_error[:, m - 1] ** 2, fp.martingale_variance(with_g), rtol=1e-10)
            np.testing.assert_allclose(lure.std_error[:, m - 1] ** 2,
                                       (1 - m / n) * weighted.var(axis=1, ddof=1) / m, rtol=1e-10)
        else:
            assert np.isnan(fp.martingale_variance(plain)).all() and np.isnan(pure.std_error[:, 0]).all()
    np.testing.assert_array_equal(lure.weights, fp.lure_weights(q, n))  # the final estimate's own weights
    np.testing.assert_array_equal(fp.importance_ratios(q[0], n), 1 / ((n - np.arange(big_m)) * q[0]))


def test_satterthwaite_degrees_of_freedom_against_hand_computed_cases():
    from albench.finite_population.stratified import satterthwaite_df

    # equal pieces of 1 df each: as many df as pieces; one piece: its own df
    assert satterthwaite_df(np.full(4, 0.3), np.ones(4)) == pytest.approx(4.0)
    assert satterthwaite_df(np.array([0.5]), np.array([7.0])) == pytest.approx(7.0)
    # (2 + 1)^2 / (2^2 / 3 + 1^2 / 1) = 9 / (7/3)
    assert satterthwaite_df(np.array([2.0, 1.0]), np.array([3.0, 1.0])) == pytest.approx(27 / 7)
    # a dominating piece brings the df down towards its own, never below the smallest, never above the sum
    df = satterthwaite_df(np.array([[100.0, 1.0], [1.0, 1.0], [1.0, 1.0]]), np.array([1.0, 5.0, 5.0]))
    assert 1.0 <= df[0] < 1.1 and 1.0 <= df[1] <= 11.0
    np.testing.assert_array_equal(satterthwaite_df(np.zeros((2, 1)), np.ones(2)), [np.inf])  # known exactly
    assert np.isnan(satterthwaite_df(np.array([np.nan, 1.0]), np.ones(2)))


def test_stratified_covariance_pieces_sum_to_it_with_cochrans_degrees_of_freedom():
    rng = np.random.default_rng(9)
    e = rng.normal(size=(7, 2))
    strata, sizes = np.array([0, 0, 0, 1, 1, 2, 3]), np.array([6, 5, 4, 3])  # strata 2 and 3: collapsed singletons
    est = fp.stratified_difference_total(e, strata, sizes)
    np.testing.assert_allclose(est.parts.sum(axis=0), est.covariance, rtol=1e-12)
    np.testing.assert_array_equal(est.parts_df, [2, 1, 1])  # n_h - 1, n_h - 1, G - 1
    # Cochran's effective df for the first quantity, by hand: a_h s_h^2 per stratum, then the collapsed pair
    pieces = [6 ** 2 * (1 - 3 / 6) / 3 * e[:3, 0].var(ddof=1), 5 ** 2 * (1 - 2 / 5) / 2 * e[3:5, 0].var(ddof=1)]
    t = np.array([4 * e[5, 0], 3 * e[6, 0]])
    pieces.append(2 * ((t - np.array([4, 3]) / 7 * t.sum()) ** 2).sum())
    pieces = np.array(pieces)
    assert est.covariance[0, 0] == pytest.approx(pieces.sum(), rel=1e-12)
    assert est.df[0] == pytest.approx(pieces.sum() ** 2 / (pieces ** 2 / np.array([2, 1, 1])).sum(), rel=1e-12)
    # a lone singleton's borrowed variance joins the pooled strata's pieces: still n_h - 1 df each
    lone = fp.stratified_difference_total(e[:6], strata[:6], sizes[:3])
    np.testing.assert_array_equal(lone.parts_df, [2, 1])
    np.testing.assert_allclose(lone.parts.sum(axis=0), lone.covariance, rtol=1e-12)


def test_rounds_and_linear_maps_carry_the_pieces():
    rng = np.random.default_rng(10)
    a = fp.stratified_difference_total(rng.normal(size=(4, 2)), np.array([0, 0, 1, 1]), np.array([5, 5]))
    b = fp.stratified_difference_total(rng.normal(size=(6, 2)), np.array([0, 0, 0, 1, 1, 1]), np.array([4, 4]))
    w = np.array([0.3, 0.7])
    both = fp.combine_rounds([a, b], w)
    np.testing.assert_array_equal(both.parts_df, [1, 1, 2, 2])
    np.testing.assert_allclose(both.parts.sum(axis=0), both.covariance, rtol=1e-12)
    v = np.r_[w[0] ** 2 * np.diagonal(a.parts, axis1=1, axis2=2)[:, 0],
              w[1] ** 2 * np.diagonal(b.parts, axis1=1, axis2=2)[:, 0]]
    assert both.df[0] == pytest.approx(v.sum() ** 2 / (v ** 2 / both.parts_df).sum(), rel=1e-12)
    contrast = both.delta(both.total[:1] - both.total[1:], np.array([[1.0, -1.0]]))
    assert contrast.covariance[0, 0] == pytest.approx(fp.contrast_variances(both.covariance)[0, 1], rel=1e-12)
    assert min(both.parts_df) <= contrast.df[0] <= both.parts_df.sum()
    per_unit = both.mean(10)
    assert per_unit.df == pytest.approx(both.df) and per_unit.covariance == pytest.approx(both.covariance / 100)
    no_pieces = fp.TotalEstimate(np.zeros(2), np.eye(2))  # built by hand: normal intervals
    assert np.isinf(no_pieces.df).all() and np.isinf(fp.combine_rounds([no_pieces, a], w).df).all()


def test_student_intervals_reduce_to_normal_without_degrees_of_freedom():
    from albench.finite_population.intervals import student_interval, t_quantile

    lo, hi = student_interval(np.array([1.0, 1.0]), np.array([4.0, 4.0]), np.array([5.0, np.inf]), 0.95)
    np.testing.assert_allclose(hi - 1, [2.570582 * 2, 1.959964 * 2], rtol=1e-6)
    np.testing.assert_allclose(lo, 2 - hi, rtol=1e-12)
    assert t_quantile(0.9) == pytest.approx(1.644854, rel=1e-6) and t_quantile(0.95, 2.0) == pytest.approx(4.302653)
    with pytest.raises(ValueError, match="confidence level 1.5"):
        t_quantile(1.5)
