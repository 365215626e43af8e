"""Query by committee (Seung, Opper and Sompolinsky 1992): label where a committee disagrees.

Disagreement measures as in McCallum and Nigam (1998), "Employing EM and
pool-based active learning for text classification" (ICML):

- vote entropy (Dagan and Engelson 1995): the entropy of the members' hard
  votes, -sum_c (V(c)/K) log(V(c)/K);
- KL divergence to the consensus: (1/K) sum_k KL(P_k || P_mean);
- consensus entropy: the entropy of the members' mean probabilities.

The committee is ``n_members`` copies of the run's learner, each fitted on a
bootstrap sample of the labelled set (query by bagging, Abe and Mamitsuka
1998), or, with ``learners`` (a list of learner names or ``{name: ..,
<params>}`` mappings), one member per learner fitted on the whole labelled
set (``bootstrap: true`` resamples for them too). Members are
``AlignedClassifier`` objects, so a member that saw one class votes for it.
The score functions take a (K, n, C) array of member probabilities and are
public for reuse and hand-computed tests.
"""

from __future__ import annotations

import numpy as np
from scipy.special import entr, rel_entr

from albench.learners import AlignedClassifier, make_learner, resolve
from albench.strategy import Strategy, register, top_k
from albench.strategies._common import check_positive_int, fresh_model, seed_of


def vote_entropy(member_proba: np.ndarray) -> np.ndarray:
    """Entropy of the vote shares; each member votes for its most probable class."""
    n_members, n, n_classes = member_proba.shape
    votes = member_proba.argmax(axis=2)
    shares = np.zeros((n, n_classes))
    rows = np.arange(n)
    for member_votes in votes:
        shares[rows, member_votes] += 1.0 / n_members
    return entr(shares).sum(axis=1)


def kl_to_consensus(member_proba: np.ndarray) -> np.ndarray:
    """Mean over members of KL(P_k || P_mean), natural log (0 log 0 = 0)."""
    consensus = member_proba.mean(axis=0)
    return rel_entr(member_proba, consensus[None]).sum(axis=2).mean(axis=0)


def consensus_entropy(member_proba: np.ndarray) -> np.ndarray:
    """Entropy of the members' mean class distribution."""
    return entr(member_proba.mean(axis=0)).sum(axis=1)


def _learner_specs(learners) -> list[tuple[str, dict]]:
    if not isinstance(learners, (list, tuple)) or not learners:
        raise ValueError(f"learners must be a non-empty list of learner names; got {learners!r}")
    specs = []
    for item in learners:
        if isinstance(item, str):
            name, params = item, {}
        elif isinstance(item, dict) and "name" in item:
            name, params = item["name"], {k: v for k, v in item.items() if k != "name"}
        else:
            raise ValueError(f"learners: each item is a learner name or {{name: .., <params>}}; got {item!r}")
        resolve(name)  # unknown names fail now, with the allowed ones listed
        specs.append((name, params))
    return specs


def committee_proba(state, rng: np.random.Generator, n_members: int = 5, learners=None,
                    bootstrap: bool | None = None) -> np.ndarray:
    """(K, n_unlabelled, C) class probabilities of a freshly fitted committee.

    Without ``learners``: ``n_members`` bootstrapped copies of the run's learner
    (one ``rng.integers(0, n, n)`` draw per member, in member order). With
    ``learners``: one member per ``(name, params)``, each with its own seed
    from ``rng``; ``bootstrap`` defaults to False for them.
    """
    idx = np.flatnonzero(state.labelled)
    X_lab, y_lab = state.X[idx], state.y[idx]
    X_unl = state.X[state.unlabelled]
    if learners is None:
        factories = [lambda: fresh_model(state)] * n_members
        bootstrap = True if bootstrap is None else bootstrap
    else:
        n_classes = len(state.classes)
        factories = [lambda name=name, params=params: AlignedClassifier(
            make_learner(name, params, random_state=seed_of(rng)), n_classes) for name, params in learners]
        bootstrap = bool(bootstrap)
    out = np.empty((len(factories), len(X_unl), len(state.classes)))
    for k, factory in enumerate(factories):
        member = factory()
        rows = rng.integers(0, len(idx), size=len(idx)) if bootstrap else slice(None)
        out[k] = member.fit(X_lab[rows], y_lab[rows]).predict_proba(X_unl)
    return out


class CommitteeStrategy(Strategy):
    """Fit a committee, score its disagreement on the unlabelled points, take the top k."""

    measure = staticmethod(vote_entropy)

    def __init__(self, n_members: int = 5, learners=None, bootstrap: bool | None = None):
        super().__init__(n_members=n_members, learners=learners, bootstrap=bootstrap)
        self.learners = None if learners is None else _learner_specs(learners)
        self.n_members = check_positive_int("committee", "n_members", n_members, minimum=2)
        if bootstrap is not None and not isinstance(bootstrap, bool):
            raise ValueError(f"committee: bootstrap must be true or false; got {bootstrap!r}")
        self.bootstrap = bootstrap

    def query(self, state, batch_size, rng):
        proba = committee_proba(state, rng, self.n_members, self.learners, self.bootstrap)
        return state.unlabelled[top_k(self.measure(proba), batch_size, rng)]


@register("vote_entropy", "query by committee, vote entropy of a bootstrapped committee (McCallum & Nigam 1998)")
class VoteEntropy(CommitteeStrategy):
    """Vote entropy (Dagan and Engelson 1995; McCallum and Nigam 1998).
    Params: ``n_members`` (5), ``learners`` (none: bootstrapped copies of the run's learner), ``bootstrap``."""

    family = "vote_entropy"
    measure = staticmethod(vote_entropy)


@register("kl_divergence", "query by committee, mean KL divergence to the consensus (McCallum & Nigam 1998)")
class KLDivergence(CommitteeStrategy):
    """Mean KL divergence of the members to the consensus (McCallum and Nigam 1998).
    Params: ``n_members`` (5), ``learners``, ``bootstrap``."""

    family = "kl_divergence"
    measure = staticmethod(kl_to_consensus)


@register("consensus_entropy", "query by committee, entropy of the committee's mean probabilities (Settles 2009)")
class ConsensusEntropy(CommitteeStrategy):
    """Entropy of the consensus (Settles 2009, section 3.2). Params: ``n_members`` (5), ``learners``, ``bootstrap``."""

    family = "consensus_entropy"
    measure = staticmethod(consensus_entropy)
