"""The anytime-valid confidence sequence: time-uniform coverage over many seeds, and its input checks."""

import numpy as np
import pytest

from albench import finite_population as fp
from albench.active_testing.proposals import max_importance_ratio
from albench.active_testing.sampling import acquire

N = 40
GEN = np.random.default_rng(11)
LOSSES = (GEN.random(N) < 0.25).astype(float)  # a zero-one loss: the truth R is known
SCORES = np.clip(LOSSES * 0.8 + GEN.random(N) * 0.6, 0, None)  # a noisy loss predictor


def _draws(scores, budget, weight, safeguard, seed):
    """One acquisition: (chosen, q, each step's largest importance ratio)."""
    ratios = np.empty(budget)

    def record(step, q):
        ratios[step - 1] = 1 / (len(q) * q.min())

    chosen, q = acquire(lambda labelled, step: scores[~labelled], N, budget, np.random.default_rng(seed),
                        safeguard, weight, on_distribution=record)
    return chosen, q, ratios


def _sequences(runs, budget, weight, safeguard="mixture", scores=SCORES, alpha=0.1, lattice=True, per_step=False):
    """Draws and their sequence; the ratio bound is the safeguard's, or (``per_step``) each step's own q's."""
    for seed in range(runs):
        chosen, q, ratios = _draws(scores, budget, weight, safeguard, seed)
        values = LOSSES[chosen]
        bound = ratios if per_step else max_importance_ratio(safeguard, weight)
        assert (ratios <= max_importance_ratio(safeguard, weight) * (1 + 1e-12)).all()
        yield values, q, fp.betting_confidence_sequence(values, q, N, bound, alpha=alpha, lattice=lattice,
                                                        grid_size=2001 if lattice else 501)  # 501: a coarse grid


def _ever_excludes(low, high, risk):
    return bool(np.any(~((low <= risk) & (risk <= high))))  # NaN (an empty set) excludes too


@pytest.mark.parametrize("safeguard,weight,lattice,per_step", [("mixture", 0.3, True, False),
                                                               ("clip", 0.2, True, False),
                                                               ("mixture", 0.3, False, False),
                                                               ("mixture", 0.1, True, True)])
def test_time_uniform_coverage_over_many_seeds(safeguard, weight, lattice, per_step):
    """400 seeds, alpha = 0.1: the share of seeds whose sequence EVER excludes R is at most 0.1 plus 3 Monte
    Carlo standard errors (0.045)."""
    _assert_holds_uniformly(_sequences(400, 30, weight, safeguard, lattice=lattice, per_step=per_step),
                            LOSSES.mean(), 400)


def _assert_holds_uniformly(sequences, truth: float, runs: int, alpha: float = 0.1) -> None:
    """The share of ``runs`` sequences that EVER exclude ``truth`` is at most alpha plus 3 Monte Carlo
    standard errors."""
    misses = sum(_ever_excludes(low, high, truth) for _, _, (low, high) in sequences)
    assert misses / runs <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / runs), misses / runs


def test_a_fixed_m_interval_looked_at_after_every_label_does_not_hold_uniformly():
    """The check above can fail: the t-intervals of LURE, read at every step, exclude R in far more than
    alpha of the seeds, while the sequence on the same draws stays within its level."""
    risk = LOSSES.mean()
    t_misses, cs_misses, runs = 0, 0, 300
    for values, q, (low, high) in _sequences(runs, 30, 0.3):
        t_low, t_high = fp.interval(fp.lure(values, q, N), 0.9)
        t_misses += _ever_excludes(t_low[2:], t_high[2:], risk)
        cs_misses += _ever_excludes(low, high, risk)
    assert t_misses / runs > 0.2 and cs_misses / runs <= 0.1 + 3 * np.sqrt(0.09 / runs)


def test_the_sequence_narrows_and_stays_inside_what_is_still_possible():
    risk = LOSSES.mean()
    widths = []
    for values, q, (low, high) in _sequences(50, 40, 0.3):
        drawn, m = np.cumsum(values), np.arange(1, 41)
        alive = ~np.isnan(low)  # an empty set (NaN) stays empty: a miss, rarer than alpha
        assert (alive[:-1] >= alive[1:]).all() and (np.isnan(high) == ~alive).all()
        assert (low[alive] >= drawn[alive] / N - 1e-12).all()
        assert (high[alive] <= (drawn[alive] + N - m[alive]) / N + 1e-12).all()
        assert (np.diff(low[alive]) >= 0).all() and (np.diff(high[alive]) <= 0).all()  # intersected over time
        if not _ever_excludes(low, high, risk):
            assert low[-1] == pytest.approx(risk) and high[-1] == pytest.approx(risk)  # the whole pool is known
            widths.append(high[[0, 19]] - low[[0, 19]])
    first, half = np.mean(widths, axis=0)
    assert len(widths) >= 40 and half < 0.75 * first


def test_a_per_step_bound_narrows_the_sequence_under_uniform_draws():
    """Uniform q has ratio 1 at every step, far below the safeguard's bound 1/0.1: the same draws give a
    narrower sequence (and, by the coverage test, a valid one)."""
    safeguard = [h[-1] - lo[-1] for _, _, (lo, h) in _sequences(40, 20, 0.1, scores=np.ones(N))]
    own = [h[-1] - lo[-1] for _, _, (lo, h) in _sequences(40, 20, 0.1, scores=np.ones(N), per_step=True)]
    assert np.nanmean(own) < 0.8 * np.nanmean(safeguard)


def test_uniform_draws_on_a_lattice_give_bounds_on_multiples_of_one_over_n():
    values, q, (low, high) = next(_sequences(1, 20, 1.0, scores=np.ones(N)))
    np.testing.assert_allclose(low * N, np.round(low * N), atol=1e-9)
    np.testing.assert_allclose(high * N, np.round(high * N), atol=1e-9)


def test_bad_inputs_are_refused_in_one_line():
    q = np.full(3, 1 / N)
    with pytest.raises(ValueError, match=r"values must lie in \[0, 1\]"):
        fp.betting_confidence_sequence(np.array([0.0, 2.0, 1.0]), q, N, 1.0)
    with pytest.raises(ValueError, match="importance ratio exceeds max_ratio 2"):
        fp.betting_confidence_sequence(np.zeros(3), np.array([0.1, 0.001, 0.1]), N, 2.0)
    with pytest.raises(ValueError, match="lattice=True needs 0/1 values"):
        fp.betting_confidence_sequence(np.array([0.5, 1.0, 0.0]), np.full(3, 0.03), N, 1.0, lattice=True)
    with pytest.raises(ValueError, match="alpha 1.5"):
        fp.betting_confidence_sequence(np.zeros(3), np.full(3, 0.03), N, 1.0, alpha=1.5)
    assert max_importance_ratio("mixture", 0.1) == pytest.approx(10.0)
    assert max_importance_ratio("clip", 0.5) == pytest.approx(3.0)


# ---------------------------------------------------------------- the difference of two models' zero-one losses

OTHER = np.where(GEN.random(N) < 0.3, 1.0 - LOSSES, LOSSES)  # a second model: disagrees on about 30 % of points
GAP = np.abs(LOSSES - OTHER)
GAP_SCORES = np.clip(GAP * 0.8 + GEN.random(N) * 0.4, 0, None)  # a noisy predictor of where they disagree


def _difference_sequences(runs, budget, weight, safeguard="mixture", alpha=0.1, lattice=True, per_step=False):
    for seed in range(runs):
        chosen, q, ratios = _draws(GAP_SCORES, budget, weight, safeguard, seed)
        bound = ratios if per_step else max_importance_ratio(safeguard, weight)
        yield chosen, q, fp.difference_confidence_sequence(LOSSES[chosen], OTHER[chosen], q, N, bound, alpha=alpha,
                                                           lattice=lattice, grid_size=2001 if lattice else 401)


@pytest.mark.parametrize("safeguard,weight,lattice,per_step", [("mixture", 0.3, True, False),
                                                               ("clip", 0.2, True, True)])
def test_the_difference_sequence_holds_uniformly_in_time_over_many_seeds(safeguard, weight, lattice, per_step):
    """400 seeds, alpha = 0.1, a proposal that targets the disagreement: the share of seeds whose sequence of
    R_a - R_b EVER excludes the true difference is at most 0.1 plus 3 Monte Carlo standard errors."""
    _assert_holds_uniformly(_difference_sequences(400, 30, weight, safeguard, lattice=lattice, per_step=per_step),
                            LOSSES.mean() - OTHER.mean(), 400)


def test_the_difference_sequence_stays_in_what_is_possible_and_on_multiples_of_one_over_n():
    truth = LOSSES.mean() - OTHER.mean()
    widths = []
    for chosen, q, (low, high) in _difference_sequences(60, 40, 0.3):
        d, m = np.cumsum(LOSSES[chosen] - OTHER[chosen]), np.arange(1, 41)
        alive = ~np.isnan(low)
        assert (low[alive] >= (d[alive] - (N - m[alive])) / N - 1e-12).all()
        assert (high[alive] <= (d[alive] + N - m[alive]) / N + 1e-12).all()
        assert (np.diff(low[alive]) >= 0).all() and (np.diff(high[alive]) <= 0).all()
        np.testing.assert_allclose(low[alive] * N, np.round(low[alive] * N), atol=1e-9)  # lattice k/N
        if not _ever_excludes(low, high, truth):
            assert low[-1] == pytest.approx(truth) and high[-1] == pytest.approx(truth)  # every point labelled
            widths.append(high[[0, 19]] - low[[0, 19]])
    first, half = np.mean(widths, axis=0)
    assert len(widths) >= 50 and half < 0.75 * first <= 1.5


def test_bad_difference_inputs_are_refused_in_one_line():
    q = np.full(3, 1 / N)
    with pytest.raises(ValueError, match=r"both values must lie in \[0, 1\]"):
        fp.difference_confidence_sequence(np.array([0.0, 2.0, 1.0]), np.zeros(3), q, N, 1.0)
    with pytest.raises(ValueError, match="values_a \\(3,\\) and values_b \\(2,\\) differ"):
        fp.difference_confidence_sequence(np.zeros(3), np.zeros(2), q, N, 1.0)
    with pytest.raises(ValueError, match="lattice=True needs 0/1 values"):
        fp.difference_confidence_sequence(np.array([0.5, 1, 0]), np.zeros(3), np.full(3, 0.03), N, 1.0, lattice=True)


def test_the_difference_check_can_fail_lures_t_interval_read_after_every_label_does():
    truth = LOSSES.mean() - OTHER.mean()
    runs, t_misses, cs_misses = 300, 0, 0
    for chosen, q, (low, high) in _difference_sequences(runs, 30, 0.3):
        t_low, t_high = fp.interval(fp.lure(LOSSES[chosen] - OTHER[chosen], q, N), 0.9)
        t_misses += _ever_excludes(t_low[2:], t_high[2:], truth)
        cs_misses += _ever_excludes(low, high, truth)
    assert t_misses / runs > 0.2 and cs_misses / runs <= 0.1 + 3 * np.sqrt(0.09 / runs), (t_misses, cs_misses)
