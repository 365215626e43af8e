"""Active Learning by Learning (Hsu and Lin 2015, AAAI): a bandit that learns which strategy to follow.

ALBL runs the multi-armed bandit Exp4.P (Beygelzimer et al. 2011) over a set
of query strategies (the experts; uniform random sampling is one of them by
default). Each round the bandit mixes the experts' advice into one query
distribution ``q`` over the arms (the points unlabelled at the first query),
draws a point from it, and is rewarded with the importance-weighted accuracy
of the refitted model on every point it drew so far:

    IW-ACC = sum_tau W_tau [model(x_tau) == y_tau] / (n T),  W_tau = 1 / q_tau(x_tau),

with n the pool size and T the horizon (the number of labels the run will query). A draw that
lands on a point labelled earlier costs nothing: its known label joins the
history, the bandit is rewarded at once, and the round draws again. This
follows the authors' group's implementation (libact's
``ActiveLearningByLearning`` and ``Exp4P``; ``tests/test_strategies_albl.py``
checks the bandit against libact's own code where libact is installed):
pmin = sqrt(ln N / (N T)) for N experts (capped at 1/N), delta = 0.1.

The horizon T sets the bandit's learning rate (pmin and the confidence term of
Exp4.P) and the scale of IW-ACC. By default (``horizon: null``) it follows from
the run: at the first query, the cycles left (``QueryState.budget`` minus
``cycle``) times the batch size, capped at the number of arms; libact's T is
the same, the query budget in labels. Outside an AL run (no budget in the
state) it is the number of arms, as if the whole pool were to be labelled. A
number fixes it.

The labels arrive through the strategy contract's ``observe`` hook: a query's
draws are kept aside and join the history only when ``observe`` reports that
their labels arrived; the reward of a round is computed at the next query from
the model the AL loop refitted on them. A query that is never observed leaves
no trace (so querying twice gives the same batch as a fresh instance).

Batches (``batch_size`` k > 1, an extension of the paper, which queries one
point at a time): each expert advises its own batch of k points (1/k each),
the k points are drawn one after another from ``q`` renormalised over the
points not drawn yet in this round (``W`` = 1 / that probability), and the one
reward of the round updates the bandit once per point drawn. For k = 1 this is
exactly the single-point algorithm.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from albench.strategy import Strategy, create_strategy, register
from ._common import check_positive_int

DEFAULT_EXPERTS = ("least_confident", "coreset")
MAX_FREE_DRAWS = 1000  # per pick: then the pick is drawn among the unlabelled arms only


class Exp4P:
    """Exp4.P as ALBL uses it: N experts, whose advice are distributions over the same arms.

    The weights are kept as logarithms (the same update as libact's ``Exp4P``, without overflow).
    """

    def __init__(self, n_experts: int, horizon: int, delta: float = 0.1, pmin: float | None = None):
        self.n, self.horizon, self.delta = int(n_experts), int(horizon), float(delta)
        default = np.sqrt(np.log(self.n) / self.n / self.horizon) if self.n > 1 else 0.0
        self.pmin = min(default if pmin is None else float(pmin), 1.0 / self.n)
        self.log_w = np.zeros(self.n)

    def expert_probabilities(self) -> np.ndarray:
        """p = (1 - N pmin) w / sum(w) + pmin."""
        w = np.exp(self.log_w - self.log_w.max())
        return (1.0 - self.n * self.pmin) * w / w.sum() + self.pmin

    def update(self, reward: float, advice_at_arm: np.ndarray, q_at_arm: float, p: np.ndarray) -> None:
        """One round: ``advice_at_arm`` = each expert's probability of the drawn arm, ``q_at_arm`` =
        the query distribution's, ``p`` = the expert probabilities that made that distribution."""
        rhat = reward * np.asarray(advice_at_arm, dtype=float) / q_at_arm
        confidence = np.sqrt(np.log(self.n / self.delta) / self.n / self.horizon)
        self.log_w = self.log_w + self.pmin / 2.0 * (rhat + confidence / p)


def iw_accuracy(model, X: np.ndarray, history: list, n_pool: int, horizon: int) -> float:
    """IW-ACC of ``model`` over the drawn points ``history`` [(index, label, weight), ...]."""
    if not history:
        return 0.0
    idx, labels, weights = (np.asarray(col) for col in zip(*history))
    hits = np.asarray(model.predict(X[idx.astype(np.intp)])) == labels
    return float(np.sum(weights * hits) / n_pool / horizon)


@dataclass
class _Draw:
    arm: int  # position in the arm space
    advice: np.ndarray  # every expert's probability of this arm
    q: float  # the probability it was drawn with
    p: np.ndarray  # the expert probabilities of that round


@dataclass
class _Memory:
    """What the bandit has learnt: committed only when the labels of a query arrive (``observe``)."""

    arms: np.ndarray  # pool indices of the arms: the points unlabelled at the first query
    bandit: Exp4P
    history: list = field(default_factory=list)  # (pool index, label, W) of every draw so far
    awaiting: list = field(default_factory=list)  # draws of the last observed query, rewarded at the next


def _expert_specs(strategies) -> list[tuple[str, dict]]:
    specs = []
    for item in strategies:
        if isinstance(item, str):
            specs.append((item, {}))
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            specs.append((item["name"], {k: v for k, v in item.items() if k != "name"}))
        else:
            raise ValueError(f"albl: strategies: each entry must be a strategy name or a mapping with 'name'; "
                             f"got {item!r}")
    if not specs:
        raise ValueError("albl: strategies: give at least one strategy")
    if any(name == "albl" for name, _ in specs):
        raise ValueError("albl: strategies: albl cannot be one of its own experts")
    return specs


@register("albl", "Active Learning by Learning: Exp4.P bandit over strategies, rewarded by importance-weighted "
                  "accuracy (Hsu & Lin 2015)")
class ActiveLearningByLearning(Strategy):
    """ALBL (see the module docstring). Params: ``strategies`` (the experts: names or mappings with
    ``name``; default least_confident, coreset), ``uniform`` (true: uniform sampling is an expert too),
    ``horizon`` (T, the number of labels to query; null: the run's budget x batch size, see the module
    docstring), ``delta`` (0.1), ``pmin`` (null: sqrt(ln N / (N T)))."""

    family = "albl"

    def __init__(self, strategies: list | None = None, uniform: bool = True, horizon: int | None = None,
                 delta: float = 0.1, pmin: float | None = None):
        super().__init__(strategies=strategies, uniform=uniform, horizon=horizon, delta=delta, pmin=pmin)
        self.expert_specs = _expert_specs(DEFAULT_EXPERTS if strategies is None else strategies)
        self.experts = [create_strategy(name, params) for name, params in self.expert_specs]
        self.uniform = bool(uniform)
        self.horizon = None if horizon is None else check_positive_int("albl", "horizon", horizon)
        if not delta > 0:
            raise ValueError(f"albl: delta must be > 0; got {delta!r}")
        n_experts = len(self.experts) + self.uniform
        if pmin is not None and not 0 < pmin <= 1.0 / n_experts:
            raise ValueError(f"albl: pmin must be in (0, 1/{n_experts}] for {n_experts} experts; got {pmin!r}")
        self.delta, self.pmin = float(delta), pmin
        self._memory: _Memory | None = None  # committed
        self._pending: tuple[np.ndarray, _Memory, list] | None = None  # (picks, memory after them, their draws)

    def prepare(self, X, rng):
        for expert in self.experts:
            expert.prepare(X, rng)
        self._memory = self._pending = None

    def query(self, state, batch_size, rng):
        k = min(int(batch_size), len(state.unlabelled))
        if k <= 0:
            return np.empty(0, dtype=np.intp)
        memory = copy.deepcopy(self._memory) if self._memory is not None else None
        if memory is None or not np.isin(state.unlabelled, memory.arms).all():  # first query, or another pool
            memory = self._fresh_memory(state, k)
        n_pool = len(state.X)
        if memory.awaiting:  # the model was refitted on the last query's labels: its round's reward
            reward = iw_accuracy(state.model, state.X, memory.history, n_pool, memory.bandit.horizon)
            for draw in memory.awaiting:
                memory.bandit.update(reward, draw.advice, draw.q, draw.p)
            memory.awaiting = []
        advice = self._advice(state, memory.arms, k, rng)
        open_arms = ~state.labelled[memory.arms]  # arms that can still be queried
        taken = np.zeros(len(memory.arms), dtype=bool)  # drawn in this round
        picks, draws = [], []
        while len(picks) < k:
            for attempt in range(MAX_FREE_DRAWS + 1):
                p = memory.bandit.expert_probabilities()
                q = np.where(taken, 0.0, p @ advice)
                if attempt == MAX_FREE_DRAWS:  # keep the loop bounded on a nearly exhausted pool
                    q = np.where(open_arms, q, 0.0)
                q = q / q.sum()
                arm = int(rng.choice(len(q), p=q))
                draw = _Draw(arm, advice[:, arm].copy(), float(q[arm]), p)
                pool_index = int(memory.arms[arm])
                if open_arms[arm]:
                    break
                # labelled earlier: its label is known, so it joins the history for free and is rewarded now
                memory.history.append((pool_index, int(state.y[pool_index]), 1.0 / draw.q))
                reward = iw_accuracy(state.model, state.X, memory.history, n_pool, memory.bandit.horizon)
                memory.bandit.update(reward, draw.advice, draw.q, draw.p)
            taken[arm] = True
            open_arms[arm] = False
            picks.append(pool_index)
            draws.append(draw)
        picks = np.asarray(picks, dtype=np.intp)
        self._pending = (picks, memory, draws)
        return picks

    def observe(self, idx, y, state):
        """The labels of the last query arrived: its draws join the history, rewarded at the next query."""
        for expert in self.experts:  # experts that learn from labels too
            expert.observe(idx, y, state)
        if self._pending is None:
            return
        picks, memory, draws = self._pending
        self._pending = None
        labels = dict(zip(np.asarray(idx).tolist(), np.asarray(y).tolist()))
        if set(labels) != set(picks.tolist()):  # labels of another batch: nothing of this query is kept
            return
        for pick, draw in zip(picks.tolist(), draws):
            memory.history.append((pick, int(labels[pick]), 1.0 / draw.q))
        memory.awaiting = draws
        self._memory = memory

    def _fresh_memory(self, state, batch_size: int) -> _Memory:
        n_experts = len(self.experts) + self.uniform
        arms = state.unlabelled.copy()
        bandit = Exp4P(n_experts, self.horizon_for(state, batch_size, len(arms)), self.delta, self.pmin)
        return _Memory(arms=arms, bandit=bandit)

    def horizon_for(self, state, batch_size: int, n_arms: int) -> int:
        """T: the ``horizon`` parameter, else the labels the run has left to query (see the module docstring)."""
        if self.horizon is not None:
            return self.horizon
        if state.budget is None:
            return n_arms
        return max(1, min((int(state.budget) - int(state.cycle)) * int(batch_size), n_arms))

    def _advice(self, state, arms: np.ndarray, k: int, rng) -> np.ndarray:
        """(N, n_arms): each expert's batch of k as 1/k on its points; the uniform expert's 1/n_arms."""
        position = np.full(len(state.X), -1, dtype=np.intp)
        position[arms] = np.arange(len(arms))
        advice = np.zeros((len(self.experts) + self.uniform, len(arms)))
        for row, expert in enumerate(self.experts):
            batch = np.asarray(expert.query(state, k, rng), dtype=np.intp)
            advice[row, position[batch]] = 1.0 / len(batch)
        if self.uniform:
            advice[-1] = 1.0 / len(arms)
        return advice
