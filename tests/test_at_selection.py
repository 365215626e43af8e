"""Several models under test on one acquisition: pairwise differences, the chosen model, the grid key ``rival``."""

import itertools

import numpy as np
import pytest

from albench import finite_population as fp
from albench.active_testing import proposals as prop
from albench.active_testing.estimators import Trace
from albench.active_testing.losses import expected_abs_difference, expected_pairwise_difference, pointwise_loss
from albench.active_testing.proposals import ProposalState, create_proposal, distribution
from albench.active_testing.runner import _model_on_pool, _key, run
from albench.active_testing.sampling import acquire
from albench.active_testing.selection import choose, chose_best, compare, pairs
from albench.kinds import rivals_of
from albench.spec import GridError, grid_from_dict

# ---------------------------------------------------------------- a tiny pool of three models, known exactly

N, M, K = 6, 3, 3
GEN = np.random.default_rng(5)
LOSSES = GEN.gamma(1.0, 1.0, size=(K, N))  # each model's loss on each pool point
G = LOSSES * 0.6 + GEN.random((K, N)) * 0.5  # a surrogate's (imperfect) expected loss of each model
SCORES = np.sqrt(sum((G[a] - G[b]) ** 2 for a, b in pairs(K)))  # a loss-difference-like proposal
UNBIASED = ("lure", "pure", "difference", "difference_pure")


def _traces(order, q) -> list[Trace]:
    """What each model's estimators see after the draws ``order`` (the surrogate never refitted)."""
    labelled = np.zeros(N, dtype=bool)
    rest = []
    for i in order:
        labelled[i] = True
        rest.append(G[:, ~labelled].sum(axis=1))
    rest = np.array(rest).T  # (K, M)
    return [Trace(N, LOSSES[k, order], q, rest[k], float(G[k].sum()), G[k, order], G[k, order]) for k in range(K)]


def _all_draws(weight=0.2):
    """Every ordered draw of M of the N points, its probability and q, from a history-dependent proposal."""
    out = []
    for order in itertools.permutations(range(N), M):
        labelled = np.zeros(N, dtype=bool)
        prob, q = 1.0, []
        for i in order:
            unlabelled = np.flatnonzero(~labelled)
            dist = distribution(SCORES[unlabelled] + 0.4 * labelled.sum(), "mixture", weight)
            q.append(dist[list(unlabelled).index(i)])
            prob *= q[-1]
            labelled[i] = True
        out.append((prob, np.array(order), np.array(q)))
    assert sum(d[0] for d in out) == pytest.approx(1.0, abs=1e-12)
    return out


def test_every_pairwise_difference_is_unbiased_at_every_prefix_by_exact_enumeration():
    truth = np.array([LOSSES[a].mean() - LOSSES[b].mean() for a, b in pairs(K)])
    expected = {name: np.zeros((len(truth), M)) for name in UNBIASED}
    risks = {name: np.zeros((K, M)) for name in UNBIASED}
    no_ties = np.tile(np.arange(K), (M, 1))
    for prob, order, q in _all_draws():
        c = compare(_traces(order, q), LOSSES.mean(axis=1), 0.9, no_ties)
        for name in UNBIASED:
            expected[name] += prob * c.differences[name]
            risks[name] += prob * c.estimates[name]
    for name in UNBIASED:
        np.testing.assert_allclose(expected[name], np.repeat(truth[:, None], M, axis=1), atol=1e-12, err_msg=name)
        np.testing.assert_allclose(risks[name], np.repeat(LOSSES.mean(axis=1)[:, None], M, axis=1), atol=1e-12)


def test_the_pairwise_differences_are_unbiased_over_many_seeds_with_the_real_proposal():
    """The registered loss_difference proposal (three models, a surrogate) on a pool of 30, 1000 seeds of 8
    draws: LURE's mean estimate of each pairwise difference within 4 Monte Carlo standard errors of the truth."""
    gen = np.random.default_rng(2)
    n, budget = 30, 8
    models = gen.dirichlet(np.ones(3) * 0.7, size=(3, n))
    surrogate = gen.dirichlet(np.ones(3), size=n)
    y = gen.integers(0, 3, n)
    losses = np.stack([pointwise_loss(p, y, "cross_entropy") for p in models])
    proposal = create_proposal("loss_difference")

    def scores_of(labelled, step):
        return proposal.scores(ProposalState.build(models[0], surrogate, labelled, "cross_entropy", losses[0],
                                                   step, rivals_proba=models[1:]))

    estimates = []
    for seed in range(1000):
        chosen, q = acquire(scores_of, n, budget, np.random.default_rng(seed), "mixture", 0.2)
        estimates.append([fp.lure(losses[a, chosen] - losses[b, chosen], q, n).curve[-1] for a, b in pairs(3)])
    estimates = np.array(estimates)
    truth = np.array([losses[a].mean() - losses[b].mean() for a, b in pairs(3)])
    se = estimates.std(axis=0) / np.sqrt(len(estimates))
    assert (np.abs(estimates.mean(axis=0) - truth) < 4 * se).all(), (estimates.mean(axis=0), truth, se)


def test_the_chosen_model_against_a_hand_computed_case():
    # N = 4 points, uniform draws of points 0 then 2: LURE is the sample mean, PURE's terms are hand-computed
    losses = np.array([[0.0, 1.0, 1.0, 0.0],    # model 0: risk 0.5
                       [1.0, 0.0, 0.0, 0.0],    # model 1: risk 0.25 (truly best)
                       [1.0, 1.0, 0.0, 1.0]])   # model 2: risk 0.75
    order, q = np.array([0, 2]), np.array([1 / 4, 1 / 3])
    traces = [Trace(4, l[order], q, np.zeros(2), 0.0, np.zeros(2), np.zeros(2)) for l in losses]
    c = compare(traces, losses.mean(axis=1), 0.9, priority=np.array([[0.5, 0.1, 0.9], [0.2, 0.3, 0.1]]))
    # after point 0: estimates 0, 1, 1 -> model 0 (not the best); after points 0 and 2: 0.5, 0.5, 0.5 -> a tie
    # of all three, broken by the smallest priority of step 2: model 2 (not the best)
    np.testing.assert_allclose(c.estimates["lure"], [[0.0, 0.5], [1.0, 0.5], [1.0, 0.5]])
    assert c.chosen["lure"].tolist() == [0, 2] and c.right["lure"].tolist() == [False, False]
    # PURE: R_1 = L/(N q) = 4 L_0 / 4 = L_0; R_2 = (L_0 + L_2 * 3) / 4; estimate after 2 = (R_1 + R_2) / 2
    pure = [(l[0] + (l[0] + 3 * l[2]) / 4) / 2 for l in losses]  # 0.375, 0.625, 1.0
    np.testing.assert_allclose(c.estimates["pure"][:, 1], pure)
    assert c.chosen["pure"].tolist() == [0, 0] and c.right["pure"].tolist() == [False, False]
    np.testing.assert_allclose(c.differences["pure"][:, 1], [pure[0] - pure[1], pure[0] - pure[2],
                                                             pure[1] - pure[2]])
    np.testing.assert_allclose(c.true_differences, [0.25, -0.25, -0.5])
    # a tie in the truth: either best model is right
    assert chose_best(np.array([0, 1, 2]), np.array([0.2, 0.2, 0.3])).tolist() == [True, True, False]
    assert choose(np.array([[0.3, 0.1, 0.1]]), np.array([[0.0, 0.9, 0.2]])).tolist() == [2]


# ---------------------------------------------------------------- the proposal for K models


def test_the_k_model_proposal_reduces_to_the_two_model_one_and_vanishes_where_models_agree():
    gen = np.random.default_rng(0)
    a, b, pi = (gen.dirichlet(np.ones(4), size=50) for _ in range(3))
    for loss in ("cross_entropy", "zero_one"):
        np.testing.assert_allclose(expected_pairwise_difference(np.stack([a, b]), pi, loss),
                                   expected_abs_difference(a, b, pi, loss), rtol=1e-13)
        # three models, two of them identical: the pairs with the copy count twice, the identical pair not at all
        three = expected_pairwise_difference(np.stack([a, b, b]), pi, loss)
        gap = np.abs(np.stack([pointwise_loss(a, np.full(50, c), loss) - pointwise_loss(b, np.full(50, c), loss)
                               for c in range(4)]).T)
        np.testing.assert_allclose(three, (pi * np.sqrt(2) * gap).sum(axis=1), rtol=1e-12)
    assert (expected_pairwise_difference(np.stack([a, a, a]), pi, "cross_entropy") == 0).all()


def test_the_proposal_refuses_a_state_without_rivals():
    state = ProposalState.build(np.full((3, 2), 0.5), np.full((3, 2), 0.5), np.zeros(3, bool), "zero_one",
                                np.zeros(3))
    with pytest.raises(prop.ProposalError, match="needs a rival model"):
        create_proposal("loss_difference").scores(state)


# ---------------------------------------------------------------- the grid key and the runner


def at_grid(**params):
    base = {"dataset": "wine", "model": "logreg", "train_size": 40, "pool_size": 80, "budget": 12,
            "loss": "zero_one"}
    return grid_from_dict({"name": "at-sel", "kind": "at", "params": {**base, **params}})


def test_rival_takes_one_learner_or_a_list_and_keeps_the_single_rival_run_ids():
    single, listed_once = (next(at_grid(rival=r).specs()) for r in ("gnb", [["gnb"]]))
    assert single.run_id == listed_once.run_id and single.params["rival"] == {"name": "gnb", "params": {}}
    (spec,) = at_grid(rival=[[{"name": "rf", "n_estimators": 10}, "gnb"]]).specs()
    assert spec.params["rival"]["name"] == "rf+gnb"
    assert rivals_of(spec.params["rival"]) == [{"name": "rf", "params": {"n_estimators": 10}},
                                               {"name": "gnb", "params": {}}]
    assert spec.columns()["rival"] == "rf+gnb"  # stored as text, like one learner
    assert next(at_grid(rival=spec.params["rival"]).specs()).run_id == spec.run_id  # the canonical form reads back
    assert rivals_of(single.params["rival"]) == [{"name": "gnb", "params": {}}] and rivals_of(None) == []
    # two values of the axis: one rival each, or the list as one value
    assert [s.params["rival"]["name"] for s in at_grid(rival=["gnb", ["gnb", "rf"]]).specs()] == ["gnb", "gnb+rf"]
    excluded = grid_from_dict({"name": "x", "kind": "at", "exclude": [{"rival": "gnb+rf"}],
                               "params": {"dataset": "wine", "model": "logreg", "rival": ["gnb", ["gnb", "rf"]]}})
    assert len(excluded) == 1


@pytest.mark.parametrize("rival, message", [
    ([[]], "an empty list of rival models"),
    ([["gnb", "gnb"]], "'gnb' is listed twice"),
    ([["gnb", "nope"]], "unknown learner 'nope'"),
])
def test_a_bad_list_of_rivals_stops_the_grid(rival, message):
    with pytest.raises(GridError, match=message):
        at_grid(rival=rival)


def test_a_proposal_needing_more_models_than_given_is_refused_at_load():
    @prop.register("needs_three_models", "test only")
    class NeedsThree(prop.Proposal):
        min_models = 3

        def scores(self, state):
            return np.ones(len(state.unlabelled))

    try:
        with pytest.raises(GridError, match=r"'needs_three_models' needs 3 models under test \(model and 2 rivals\)"):
            at_grid(proposal="needs_three_models", rival=["gnb", ["gnb", "rf"]])
        assert len(at_grid(proposal="needs_three_models", rival=[["gnb", "rf"]])) == 1
        with pytest.raises(GridError, match="'loss_difference' needs a rival model"):
            at_grid(proposal="loss_difference", rival=[None, ["gnb", "rf"]])
        assert len(at_grid(proposal="loss_difference", rival=[["gnb", "rf"]])) == 1
    finally:
        del prop.registry.entries["needs_three_models"]


def _pool(model: str, seed: int = 0):
    """The model's probabilities and zero-one losses on the grid's pool, as the runner computes them."""
    spec = next(at_grid(model=model, seed=seed).specs())
    p = spec.params
    from albench import datasets

    data = datasets.load(p["dataset"]["name"], p["dataset"]["params"])
    _, pool_idx, proba = _model_on_pool(_key(p["dataset"]), p["train_size"], p["pool_size"], p["seed"],
                                        _key(p["model"]))
    return proba, pointwise_loss(proba, data.y[pool_idx], "zero_one")


def test_a_shared_run_gives_each_model_what_a_single_model_estimate_on_the_same_draws_gives():
    result = run(next(at_grid(rival=[["gnb", "rf"]], proposal="loss_difference").specs()))
    s = result.summary
    assert s["models"] == ["logreg", "gnb", "rf"] and s["pairs"] == ["logreg - gnb", "logreg - rf", "gnb - rf"]
    probas, losses = zip(*(_pool(m) for m in s["models"]))
    losses = np.stack(losses)
    np.testing.assert_allclose(s["model_true_risks"], losses.mean(axis=1))
    drawn, q = np.array(s["drawn"]), np.array(s["drawn_q"])
    np.testing.assert_array_equal(np.array(s["drawn_rivals_losses"]), losses[1:, drawn])
    assert s["drawn_rival_loss"] == s["drawn_rivals_losses"][0]
    rows = {name: [r for r in result.curves if r["estimator"] == name] for name in ("lure", "pure", "iid", "is")}
    for name, func in (("lure", fp.lure), ("pure", fp.pure), ("is", fp.importance_sampling)):
        for k in range(3):  # the model's own estimate, as the single-model code computes it from its draws
            np.testing.assert_allclose([r["risk_estimates"][k] for r in rows[name]],
                                       func(losses[k, drawn], q, 80).curve, rtol=1e-12)
        for j, (a, b) in enumerate(pairs(3)):
            est = func(losses[a, drawn] - losses[b, drawn], q, 80)
            low, high = fp.interval(est, 0.95)
            np.testing.assert_allclose([r["pair_difference_estimate"][j] for r in rows[name]], est.curve, rtol=1e-12,
                                       atol=1e-15)
            assert rows[name][-1]["pair_difference_ci_low"][j] == pytest.approx(low[-1])
            assert rows[name][-1]["pair_difference_ci_high"][j] == pytest.approx(high[-1])
            assert s["pair_true_difference"][j] == pytest.approx(losses[a].mean() - losses[b].mean())
    for r in rows["lure"]:  # the model's own columns are the single-model ones
        assert r["estimate"] == r["risk_estimates"][0]
        assert r["difference_estimate"] == r["pair_difference_estimate"][0]
    # the choice: the label of the smallest estimate (ties at random), right when that model is truly best
    for name, group in rows.items():
        for r in group:
            est = np.array(r["risk_estimates"])
            assert est[s["models"].index(r["chosen_model"])] == est.min()
            assert r["chose_best"] == bool(losses[s["models"].index(r["chosen_model"])].mean() == losses.mean(1).min())
        assert s[f"{name}_chosen_model"] == group[-1]["chosen_model"]
        assert s[f"{name}_chose_best"] == group[-1]["chose_best"]
    # the zero-one loss: a confidence sequence of each pair's difference, the first pair's also on its own
    for r in rows["lure"]:
        lows, highs = r["pair_difference_cs_low"], r["pair_difference_cs_high"]
        assert len(lows) == 3 and all(-1 <= lo <= hi <= 1 for lo, hi in zip(lows, highs))
        assert (r["difference_cs_low"], r["difference_cs_high"]) == (lows[0], highs[0])


def test_one_rival_fills_the_new_columns_in_agreement_with_the_two_model_ones():
    result = run(next(at_grid(rival="gnb", proposal="uniform").specs()))
    s = result.summary
    assert s["models"] == ["logreg", "gnb"] and s["pairs"] == ["logreg - gnb"]
    assert s["true_difference"] == pytest.approx(s["pair_true_difference"][0])
    assert s["rival_true_risk"] == pytest.approx(s["model_true_risks"][1])
    for r in result.curves:
        assert r["pair_difference_estimate"] == [r["difference_estimate"]]
    cross_entropy = run(next(at_grid(rival="gnb", proposal="uniform", loss="cross_entropy").specs()))
    assert cross_entropy.summary["difference_cs_low"] is None
    assert all(r["pair_difference_cs_low"] is None for r in cross_entropy.curves)
