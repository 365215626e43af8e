"""BatchBALD (strategies/batchbald.py) against the paper's definition: joint entropies from fixed
posterior samples, by exact enumeration of every label configuration (itertools.product); a
hand-computed case where BALD's top-k takes a duplicate and BatchBALD does not; the sampled
estimator's mean against the exact value over many seeds; batches and gains against scikit-activeml's
port of the authors' code; the MC dropout source of a torch learner."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest

from albench.strategies.batchbald import BatchBald, JointLabels, batchbald_picks, sampled_configurations

LOG2 = np.log(2.0)


def binary_entropy(p: float) -> float:
    return float(-p * np.log(p) - (1 - p) * np.log(1 - p))


def joint_entropy_by_enumeration(samples: np.ndarray, points) -> float:
    """H(y_points) = -sum_y p(y) log p(y), p(y) = mean_k prod_i p_k(y_i | x_i), over all C^m configurations."""
    K, _, C = samples.shape
    total = 0.0
    for labels in product(range(C), repeat=len(points)):
        p = np.mean([np.prod([samples[k, i, y] for i, y in zip(points, labels)]) for k in range(K)])
        total -= p * np.log(p) if p > 0 else 0.0
    return total


def mutual_information(samples: np.ndarray, points) -> float:
    """The BatchBALD objective H(y_points) - sum_i E_w H(y_i | w), by enumeration."""
    conditional = -np.sum(samples * np.log(np.where(samples > 0, samples, 1.0)), axis=2).mean(axis=0)
    return joint_entropy_by_enumeration(samples, points) - float(conditional[list(points)].sum())


def duplicate_case() -> np.ndarray:
    """K = 4 equally likely parameter samples, 2 classes. Points 0 and 1 (duplicates) tell {w1, w2} from
    {w3, w4} for sure; point 2 tells {w1, w3} from {w2, w4} with 90% confidence; point 3 is uninformative."""
    sure = [[1, 0], [1, 0], [0, 1], [0, 1]]
    soft = [[0.9, 0.1], [0.1, 0.9], [0.9, 0.1], [0.1, 0.9]]
    flat = [[0.5, 0.5]] * 4
    return np.array([sure, sure, soft, flat], dtype=float).transpose(1, 0, 2)  # (K, n, C)


def test_hand_computed_duplicate_case():
    """BALD: log 2 for each duplicate, log 2 - H(0.9) for point 2: its top 2 are the duplicates. BatchBALD
    with a duplicate chosen: the other adds nothing (H(y0, y1) = log 2), point 2 makes (y0, y2) uniform over
    four configurations (H = log 4): gain log 4 - H(0.9) - log 2. So it picks a duplicate and point 2."""
    samples = duplicate_case()
    joint = JointLabels(4)
    np.testing.assert_allclose(joint.entropies_with(samples), [LOG2, LOG2, LOG2, LOG2], atol=1e-12)
    joint.add(samples[:, 0, :], 10_000, np.random.default_rng(0))
    np.testing.assert_allclose(joint.entropies_with(samples), [LOG2, LOG2, 2 * LOG2, 2 * LOG2], atol=1e-12)
    assert mutual_information(samples, [0, 1]) == pytest.approx(LOG2)
    assert mutual_information(samples, [0, 2]) == pytest.approx(2 * LOG2 - binary_entropy(0.9))
    seen = set()
    for seed in range(10):
        picks = batchbald_picks(samples, 2, 10_000, np.random.default_rng(seed)).tolist()
        assert picks[0] in (0, 1) and picks[1] == 2
        seen.add(picks[0])
    assert seen == {0, 1}  # the duplicates tie: broken at random


@pytest.mark.parametrize("seed", range(3))
def test_every_greedy_step_maximises_the_enumerated_joint_information(seed):
    gen = np.random.default_rng(seed)
    samples = gen.dirichlet(np.full(3, 0.5), size=(6, 5))  # K = 6 samples, n = 5 points, C = 3
    joint = JointLabels(6)
    for points in ([], [2], [2, 4]):
        for p in points[len(joint.chosen):]:
            joint.add(samples[:, p, :], 10_000, gen)
        np.testing.assert_allclose(joint.entropies_with(samples),
                                   [joint_entropy_by_enumeration(samples, points + [x]) for x in range(5)],
                                   rtol=1e-10)
    picks = batchbald_picks(samples, 4, 10_000, np.random.default_rng(seed)).tolist()
    for j in range(4):
        rest = [x for x in range(5) if x not in picks[:j]]
        values = [mutual_information(samples, picks[:j] + [x]) for x in rest]
        assert picks[j] == rest[int(np.argmax(values))]


def test_sampled_joint_entropy_is_unbiased():
    """Four chosen points of 3 classes (81 configurations) with 16 sampled configurations: over 300 seeds the
    mean estimate of H(chosen, y_x) is within 3 standard errors of the enumerated value, for every x."""
    gen = np.random.default_rng(5)
    samples = gen.dirichlet(np.ones(3), size=(8, 6))
    chosen = [0, 1, 2, 3]
    exact = np.array([joint_entropy_by_enumeration(samples, chosen + [x]) for x in range(6)])
    estimates = []
    for seed in range(300):
        joint = JointLabels(8)
        joint.P, joint.weights = sampled_configurations(samples[:, chosen, :], 16, np.random.default_rng(seed))
        estimates.append(joint.entropies_with(samples))
    estimates = np.array(estimates)
    stderr = estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
    assert np.all(np.abs(estimates.mean(axis=0) - exact) < 3 * stderr + 1e-12)
    assert np.all(stderr > 0)  # they are estimates, not the exact value


def test_switches_to_sampling_beyond_n_configurations():
    samples = np.random.default_rng(1).dirichlet(np.ones(3), size=(4, 10))
    joint = JointLabels(4)
    for i in range(3):  # 3, 9, then 27 > 10 configurations
        joint.add(samples[:, i, :], 10, np.random.default_rng(i))
    assert not joint.exact and joint.P.shape == (4, 8)  # 10 // 4 configurations per posterior sample
    picks = batchbald_picks(samples, 6, 10, np.random.default_rng(0))
    assert len(set(picks.tolist())) == 6


def test_parameters_are_checked():
    with pytest.raises(ValueError, match="batchbald: n_configurations"):
        BatchBald(n_configurations=1)
    with pytest.raises(ValueError, match="bald: source"):
        BatchBald(source="dropout")


def test_mc_dropout_of_a_torch_learner():
    """With a torch learner, source auto takes its MC dropout passes (K = n_samples)."""
    from albench import checks

    pool = checks.make_pool("torch_mlp", n=40)
    state = pool.state()
    calls = []
    original = type(state.model).sample_proba

    def spy(self, X, n_samples):
        calls.append((len(X), n_samples))
        return original(self, X, n_samples)

    type(state.model).sample_proba = spy
    try:
        batch = BatchBald(n_samples=7).query(state, 4, np.random.default_rng(0))
    finally:
        type(state.model).sample_proba = original
    assert calls == [(int((~pool.labelled).sum()), 7)]
    assert len(set(batch.tolist())) == 4 and not pool.labelled[batch].any()


@pytest.mark.parametrize("seed", range(3))
def test_same_batch_and_gains_as_scikit_activemls_port_of_the_authors_code(seed):
    """scikit-activeml's ``batch_bald`` (a port of batchbald_redux) in its exact regime (n_MC_samples above
    C^batch): the same greedy batch, and the same gain of every candidate at every step (up to its 1e-7
    probability clipping)."""
    import skactiveml.pool._bald as bald_module
    gen = np.random.default_rng(seed)
    samples = gen.dirichlet(np.full(3, 0.7), size=(10, 30))  # K = 10, n = 30, C = 3
    k = 5
    theirs = bald_module.batch_bald(samples.copy(), k, n_MC_samples=10**6, random_state=0)
    their_picks = [int(np.nanargmax(row)) for row in theirs]
    ours = batchbald_picks(samples, k, 10**6, np.random.default_rng(0)).tolist()
    assert ours == their_picks
    conditional = -np.sum(samples * np.log(samples), axis=2).mean(axis=0)
    joint = JointLabels(10)
    for step, pick in enumerate(ours):
        gains = joint.entropies_with(samples) - conditional - conditional[ours[:step]].sum()
        open_ = ~np.isin(np.arange(30), ours[:step])
        np.testing.assert_allclose(gains[open_], theirs[step][open_], atol=1e-5)
        joint.add(samples[:, pick, :], 10**6, gen)
