"""BatchBALD (Kirsch, van Amersfoort and Gal 2019, NeurIPS, "BatchBALD: Efficient and Diverse Batch
Acquisition for Deep Bayesian Active Learning").

The batch maximises the mutual information between its joint labels and the parameters,

    a(x_1..x_b) = H(y_1, ..., y_b) - sum_i E_w H(y_i | x_i, w),

estimated from K posterior samples p_k (MC dropout of a torch learner, a forest's trees or a
bootstrap committee: the sources of ``bald``): p(y_1..y_b) = mean_k prod_i p_k(y_i | x_i). The batch
is built greedily (the paper's Algorithm 1; a(.) is submodular, so greedy is within 1 - 1/e of the
best): each step adds the point that maximises a(batch + x), i.e. H(batch + x) - E_w H(y_x | w). The
first pick is BALD's.

The joint entropy is exact, over all C^m label configurations of the m points chosen so far, while
C^m stays within ``n_configurations``; beyond, it is estimated from that many configurations sampled
from p(y_1..y_m) (``n_configurations / K`` per posterior sample, as in the authors' code,
github.com/BlackHC/batchbald_redux, ``SampledJointEntropy``), drawn afresh at every step:

    H(y_1..y_m, y_x) ~ (1 / M) sum_s sum_c -[p(y^s, c) / p(y^s)] log p(y^s, c).

In the exact regime the batch and every gain equal those of scikit-activeml's port of the authors'
code (``skactiveml.pool._bald.batch_bald``, checked in ``tests/test_strategies_batchbald.py``; its
default number of sampled configurations is K, so it switches to sampling much earlier). Ties
(within 1e-9 relative) are broken at random. Cost per step: O(n K C J) for J <= n_configurations
configurations, in chunks of the pool (memory O(K (n C + J))); the default of 1,000 configurations
keeps a query on CPU to seconds (a step on 10 classes and 1,300 points: about 0.3 s); raise it for a
closer estimate of large batches.

With a torch learner the MC dropout masks come from the learner's own seed (``mc_seed_``), not the
strategy's generator, so identical points get different samples and do not tie (as for ``bald``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import entr

from albench.strategy import register
from ._common import check_positive_int, near_argmax
from .bald import Bald, ensemble_member_proba
from .committee import committee_proba

CHUNK_FLOATS = 2**22  # joint probabilities of one chunk of candidates: 32 MiB of float64


class JointLabels:
    """The distribution of the labels of the points chosen so far, per posterior sample.

    ``P`` (K, J): P[k, j] = prod_i p_k(y_i = config_j[i] | x_i), and ``weights`` (J,): 1 for the exact
    enumeration of all configurations, 1 / (J p(config_j)) for sampled ones, so that the joint
    entropy with a further point x is sum_j weights_j sum_c -q log q, q = mean_k P[k, j] p_k(c | x).
    """

    def __init__(self, n_samples: int):
        self.P = np.ones((n_samples, 1))
        self.weights = np.ones(1)
        self.exact = True
        self.chosen: list[np.ndarray] = []  # (K, C) probabilities of every point added

    def add(self, probs: np.ndarray, n_configurations: int, rng: np.random.Generator) -> None:
        """Add a point with (K, C) sampled probabilities ``probs``."""
        self.chosen.append(probs)
        K, C = probs.shape
        if self.exact and self.P.shape[1] * C <= n_configurations:
            self.P = (self.P[:, :, None] * probs[:, None, :]).reshape(K, -1)
            self.weights = np.ones(self.P.shape[1])
            return
        self.exact = False
        self.P, self.weights = sampled_configurations(np.stack(self.chosen, axis=1), n_configurations, rng)

    def entropies_with(self, samples: np.ndarray) -> np.ndarray:
        """H(chosen labels, y_x) for every candidate x of ``samples`` (K, n, C)."""
        K, n, C = samples.shape
        J = self.P.shape[1]
        out = np.empty(n)
        size = max(1, CHUNK_FLOATS // (J * C))
        for start in range(0, n, size):
            block = samples[:, start:start + size, :]
            q = self.P.T @ (block.reshape(K, -1) / K)  # (J, candidates x C)
            out[start:start + size] = (self.weights @ entr(q, out=q)).reshape(-1, C).sum(axis=1)
        return out


def sampled_configurations(chosen: np.ndarray, n_configurations: int,
                           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(P, weights) for configurations of the chosen points drawn from their joint: for each posterior sample
    k, ``n_configurations // K`` configurations drawn from prod_i p_k(. | x_i); ``chosen`` is (K, m, C)."""
    K, m, C = chosen.shape
    per_sample = max(1, n_configurations // K)
    cum = np.cumsum(chosen, axis=2)
    u = rng.random((K, per_sample, m)) * cum[:, None, :, -1]
    labels = np.minimum((u[..., None] >= cum[:, None, :, :]).sum(axis=3), C - 1)  # (K, S, m)
    labels = labels.reshape(K * per_sample, m)
    P = np.ones((K, K * per_sample))
    for i in range(m):
        P *= chosen[:, i, labels[:, i]]
    marginal = P.mean(axis=0)
    return P, 1.0 / (len(marginal) * marginal)


def batchbald_picks(samples: np.ndarray, k: int, n_configurations: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Positions of the greedy BatchBALD batch of k among the candidates of ``samples`` (K, n, C)."""
    K, n, _ = samples.shape
    k = min(int(k), n)
    conditional = entr(samples).sum(axis=2).mean(axis=0)  # E_w H(y_x | w)
    joint = JointLabels(K)
    allowed = np.ones(n, dtype=bool)
    picks = []
    for _ in range(k):
        gain = joint.entropies_with(samples) - conditional  # a(batch + x) up to the batch's own constant
        i = near_argmax(gain, allowed, rng)
        picks.append(i)
        allowed[i] = False
        joint.add(samples[:, i, :], n_configurations, rng)
    return np.asarray(picks, dtype=np.intp)


@register("batchbald", "BatchBALD: greedy joint mutual information of the batch over MC dropout, a forest's "
          "trees or a bootstrap committee (Kirsch et al. 2019)")
class BatchBald(Bald):
    """BatchBALD (see the module docstring). Params: ``source`` (as ``bald``: auto | mc_dropout | trees |
    bootstrap), ``n_samples`` (K, 20: dropout passes or bootstrapped members; a forest uses all its trees),
    ``n_configurations`` (1000: exact joint entropy up to that many label configurations, sampled beyond)."""

    family = "batchbald"

    def __init__(self, source: str = "auto", n_samples: int = 20, n_configurations: int = 1000):
        super().__init__(source=source, n_samples=n_samples)
        self.params["n_configurations"] = n_configurations
        self.n_configurations = check_positive_int("batchbald", "n_configurations", n_configurations, minimum=2)

    def posterior_samples(self, state, rng) -> np.ndarray:
        """(K, n_unlabelled, C) class probabilities from the chosen source (``bald``'s)."""
        X_unl = state.X[state.unlabelled]
        source = self._source(state.model)
        if source == "mc_dropout":
            return np.asarray(state.model.sample_proba(X_unl, self.n_samples), dtype=float)
        if source == "trees":
            return np.stack(list(ensemble_member_proba(state.model, X_unl)))
        return np.asarray(committee_proba(state, rng, self.n_samples), dtype=float)

    def query(self, state, batch_size, rng):
        k = min(int(batch_size), len(state.unlabelled))
        if k <= 0:
            return np.empty(0, dtype=np.intp)
        if state.model.estimator_ is None:  # one class seen: every sample agrees, the information is 0
            samples = np.ones((1, len(state.unlabelled), 1))
        else:
            samples = self.posterior_samples(state, rng)
        return state.unlabelled[batchbald_picks(samples, k, self.n_configurations, rng)]
