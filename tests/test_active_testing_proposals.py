"""Proposals: q stays away from 0 whatever the inputs; the safeguards' bounds; drawing."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from albench.active_testing.losses import entropy, expected_loss, pointwise_loss
from albench.active_testing.proposals import ProposalError, ProposalState, create_proposal, distribution, registry
from albench.active_testing.sampling import acquire, draw

PROPOSALS = ["uniform", "true_loss", "surrogate_loss", "entropy", "xwed", "loss_difference"]


def test_registry_holds_every_proposal():
    assert set(PROPOSALS) <= set(registry.names())


def _proba(draw_, n, c, kind):
    """Predictive distributions, including degenerate ones (one-hot, all mass on one class, uniform)."""
    gen = np.random.default_rng(draw_(st.integers(0, 2**32 - 1)))
    if kind == "one_hot":
        return np.eye(c)[gen.integers(0, c, n)]
    if kind == "constant":
        return np.tile(np.eye(c)[0], (n, 1))
    if kind == "uniform":
        return np.full((n, c), 1.0 / c)
    return gen.dirichlet(np.full(c, 0.05), size=n)  # spiky, often 0 after rounding


@st.composite
def states(draw_):
    n = draw_(st.integers(1, 60))
    c = draw_(st.integers(2, 6))
    kinds = st.sampled_from(["one_hot", "constant", "uniform", "dirichlet"])
    model = _proba(draw_, n, c, draw_(kinds))
    surrogate = model if draw_(st.booleans()) else _proba(draw_, n, c, draw_(kinds))
    loss = draw_(st.sampled_from(["cross_entropy", "zero_one"]))
    y = np.asarray(draw_(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    true_losses = pointwise_loss(model, y, loss)
    if draw_(st.booleans()):
        true_losses = np.zeros(n)  # a perfect model
    labelled = np.asarray(draw_(st.lists(st.booleans(), min_size=n, max_size=n)))
    labelled[draw_(st.integers(0, n - 1))] = False  # at least one point left to draw
    members = np.stack([surrogate, _proba(draw_, n, c, draw_(kinds))]) if draw_(st.booleans()) else None
    rival = _proba(draw_, n, c, draw_(kinds))
    state = ProposalState.build(model, surrogate if members is None else members.mean(axis=0), labelled, loss,
                                true_losses, surrogate_members=members, rival_proba=rival)
    return state


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=states(), name=st.sampled_from(PROPOSALS), safeguard=st.sampled_from(["mixture", "clip"]),
       weight=st.floats(1e-6, 1.0))
def test_no_proposal_ever_gives_q_zero(state, name, safeguard, weight):
    q = distribution(create_proposal(name).scores(state), safeguard, weight)
    n = len(state.unlabelled)
    assert q.shape == (n,)
    assert np.isfinite(q).all()
    assert q.sum() == pytest.approx(1.0, rel=1e-12)
    bound = weight / n if safeguard == "mixture" else weight / (n * (1 + weight))
    assert (q >= bound * (1 - 1e-12)).all()


def test_safeguards_follow_their_formulas():
    scores = np.array([0.0, 1.0, 3.0])
    np.testing.assert_allclose(distribution(scores, "mixture", 0.3), 0.7 * scores / 4 + 0.1)
    clipped = np.maximum(scores / 4, 0.2 / 3)
    np.testing.assert_allclose(distribution(scores, "clip", 0.2), clipped / clipped.sum())
    np.testing.assert_allclose(distribution(np.zeros(4), "clip", 0.5), 0.25)  # no signal: uniform


def test_huge_scores_do_not_overflow():
    q = distribution(np.array([1e308, 1e308, 0.0]), "mixture", 0.1)
    np.testing.assert_allclose(q, [0.4833333333333333, 0.4833333333333333, 0.0333333333333333])


@pytest.mark.parametrize("scores", [[1.0, -0.1], [1.0, np.nan], [np.inf, 1.0]])
def test_bad_scores_are_refused(scores):
    with pytest.raises(ProposalError):
        distribution(np.array(scores), "mixture", 0.1)


def test_a_zero_q_is_refused_even_without_a_safeguard():
    with pytest.raises(ProposalError, match="q = 0"):
        distribution(np.array([0.0, 1.0]), "mixture", 0.0)


def test_acquire_refuses_scores_of_the_wrong_length():
    with pytest.raises(ProposalError, match="expected 5 scores"):
        acquire(lambda labelled, step: np.ones(3), 5, 2, np.random.default_rng(0), "mixture", 0.1)


def test_draw_follows_q():
    q = np.array([0.1, 0.2, 0.0, 0.7])
    gen = np.random.default_rng(0)
    counts = np.bincount([draw(q, gen) for _ in range(20000)], minlength=4) / 20000
    assert counts[2] == 0
    np.testing.assert_allclose(counts, q, atol=0.015)


def test_acquire_draws_distinct_points_and_hands_out_a_read_only_mask():
    seen = []

    def scores_of(labelled, step):
        with pytest.raises(ValueError):
            labelled[0] = True
        seen.append(int(labelled.sum()))
        return np.ones(int((~labelled).sum()))

    chosen, q = acquire(scores_of, 6, 6, np.random.default_rng(1), "mixture", 0.1)
    assert sorted(chosen) == list(range(6))
    np.testing.assert_allclose(q, 1.0 / np.arange(6, 0, -1))
    assert seen == list(range(6))


def test_proposal_scores_match_their_definitions():
    gen = np.random.default_rng(2)
    model, surrogate = gen.dirichlet(np.ones(3), size=8), gen.dirichlet(np.ones(3), size=8)
    labelled = np.zeros(8, dtype=bool)
    labelled[[1, 4]] = True
    for loss in ("cross_entropy", "zero_one"):
        state = ProposalState.build(model, surrogate, labelled, loss, true_losses=np.arange(8.0))
        rest = state.unlabelled
        np.testing.assert_allclose(create_proposal("surrogate_loss").scores(state),
                                   expected_loss(model, surrogate, loss)[rest])
        np.testing.assert_allclose(create_proposal("entropy").scores(state), entropy(model)[rest])
        np.testing.assert_allclose(create_proposal("true_loss").scores(state), np.arange(8.0)[rest])


def test_expected_loss_under_the_true_labels_is_the_loss():
    gen = np.random.default_rng(3)
    proba, y = gen.dirichlet(np.ones(4), size=10), gen.integers(0, 4, 10)
    for loss in ("cross_entropy", "zero_one"):
        np.testing.assert_allclose(expected_loss(proba, np.eye(4)[y], loss), pointwise_loss(proba, y, loss))


def test_xwed_on_a_hand_computed_case():
    """Two members (0.9, 0.1) and (0.5, 0.5), mean (0.7, 0.3); the model predicts (0.8, 0.2).
    Per label, E_k pi_k log(pi_k / pi): y=0: (0.9 ln(9/7) + 0.5 ln(5/7)) / 2 = 0.0289734;
    y=1: (0.1 ln(1/3) + 0.5 ln(5/3)) / 2 = 0.0727758. Cross-entropy weights -ln 0.8 = 0.2231436 and
    -ln 0.2 = 1.6094379: 0.0064653 + 0.1171281 = 0.1235934. Zero-one weights (0, 1): 0.0727758."""
    members = np.array([[[0.9, 0.1]], [[0.5, 0.5]]])
    model = np.array([[0.8, 0.2]])
    for loss, expected in (("cross_entropy", 0.1235934), ("zero_one", 0.0727758)):
        state = ProposalState.build(model, members.mean(axis=0), np.zeros(1, dtype=bool), loss, np.zeros(1),
                                    surrogate_members=members)
        assert create_proposal("xwed").scores(state)[0] == pytest.approx(expected, rel=1e-6)


def test_new_proposals_match_their_definitions():
    gen = np.random.default_rng(4)
    model, rival = gen.dirichlet(np.ones(3), size=6), gen.dirichlet(np.ones(3), size=6)
    members = gen.dirichlet(np.ones(3), size=(4, 6))
    mean = members.mean(axis=0)
    labelled = np.array([False, True, False, False, True, False])
    rest = np.flatnonzero(~labelled)
    for loss in ("cross_entropy", "zero_one"):
        state = ProposalState.build(model, mean, labelled, loss, np.zeros(6), surrogate_members=members,
                                    rival_proba=rival)
        for i in rest:  # loops over points and labels, against the vectorised scores
            costs = [pointwise_loss(model[[i]], np.array([y]), loss)[0] for y in range(3)]
            rival_costs = [pointwise_loss(rival[[i]], np.array([y]), loss)[0] for y in range(3)]
            xwed = np.mean([sum(costs[y] * members[k, i, y] * np.log(members[k, i, y] / mean[i, y]) for y in range(3))
                            for k in range(4)])  # the expected weighted KL form; the code uses the entropy form
            gap = sum(mean[i, y] * abs(costs[y] - rival_costs[y]) for y in range(3))
            j = list(rest).index(i)
            assert create_proposal("xwed").scores(state)[j] == pytest.approx(xwed)
            assert create_proposal("loss_difference").scores(state)[j] == pytest.approx(gap)
    one_member = ProposalState.build(model, mean, labelled, "cross_entropy", np.zeros(6))
    assert (create_proposal("xwed").scores(one_member) == 0).all()  # no disagreement: uniform q
    with pytest.raises(ProposalError, match="needs a rival"):
        create_proposal("loss_difference").scores(one_member)
