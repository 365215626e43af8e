"""One active-testing run (grid kind ``at``): a pure function of its RunSpec.

The data set is split into a training set of ``train_size`` points and a test
pool of N points (``pool_size``, default: every other point). The model under
test is fitted on the training set; its loss on every pool point is known to
the benchmark (the true risk R is their mean) but revealed to the estimators
only for the points drawn. ``min(budget, N)`` points are drawn one at a time
(``albench.active_testing.sampling``); the surrogate is refitted on the
training set plus the labelled pool points every ``retrain_every`` steps (0:
never). Every registered estimator is computed after every step.

Random streams (``albench.seeding``): the split depends on (dataset,
train_size, pool_size, seed); the model also on ``model`` (a ``rival`` is
fitted on the same split with its own stream); the surrogate's first fit also
on ``surrogate``. Runs that differ only in the proposal, the safeguard, the
budget or ``draw_seed`` therefore test the same model on the same pool
(common random numbers); ``draw_seed`` repeats the draws alone. The draws use
a stream keyed by every hyperparameter, so no two runs share it. Being
shared, the split, the model and the surrogate's first fit are cached per
process; ``model_fit_s`` and ``surrogate_fit_s`` then count only what this
run computed.

Rows: one summary (the true risk; per estimator ``<estimator>_estimate``,
``_squared_error`` and ``_ci_low``/``_ci_high``, the interval of the final
estimate at level ``confidence``; ``max_weight`` and ``ess``, the largest
importance ratio 1/((N - m + 1) q_m) and Kish's effective sample size of the
ratios; the draws as list columns in draw order, ``drawn`` (pool indices),
``drawn_q`` (the q of each) and ``drawn_loss`` (its loss), from which every
estimate that needs no surrogate can be recomputed; ``cs_low``/``cs_high``,
the final anytime-valid confidence sequence; sizes, timings) and one curve
row per step and estimator: m, estimator, estimate, true_risk, squared_error,
q (of the m-th chosen point), weight (its weight in the final estimate; null
where the estimator has none), observed_loss, pool_index (the point drawn),
ci_low, ci_high and covered (null where the estimator has no interval, e.g.
ASE, and at m = 1), cs_low and cs_high.

For a bounded loss (zero-one) the run also reports a confidence sequence at
level ``confidence`` (``albench.finite_population.confidence_sequence``):
bounds that hold at every step m simultaneously, so they stay valid if one
stops labelling whenever the estimate looks good enough. They do not depend
on the estimator (the same on each step's rows); null for an unbounded loss.

With a ``rival`` (one other model under test, or a list of them: K models
in all, ``model`` first), the same draws also estimate every pairwise
difference R_a - R_b with every estimator (their mathematics is linear in the
losses; ``albench.active_testing.selection``) and choose the model with the
smallest estimated risk. Summary: ``models`` (labels), ``model_true_risks``,
``pairs`` ("a - b" labels, pairs (0, 1), (0, 2), ..., (1, 2), ...),
``pair_true_difference``, ``drawn_rivals_losses`` (one list per rival;
``drawn_rival_loss`` is the first), and per estimator ``_chosen_model`` and
``_chose_best`` after the last label; the first pair (model vs first rival)
also as ``rival_true_risk``, ``true_difference``,
``<estimator>_difference_estimate`` and, for a bounded loss,
``difference_cs_low``/``_high``. Curve columns: ``risk_estimates`` (K),
``pair_difference_estimate``, ``pair_difference_ci_low``/``_high``,
``pair_difference_cs_low``/``_high`` (P lists, in the order of ``pairs``),
``chosen_model``, ``chose_best``, and the first pair's
``difference_estimate``, ``true_difference``, ``difference_ci_low``/``_high``,
``difference_cs_low``/``_high``. The difference's confidence sequence
(zero-one loss only) holds for each pair on its own at level ``confidence``.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache

import numpy as np
from sklearn.model_selection import train_test_split

from albench import datasets, deadline
from albench.active_testing.estimators import Trace, estimate_all
from albench.active_testing.losses import expected_loss, pointwise_loss
from albench.active_testing.proposals import ProposalState, create_proposal
from albench.active_testing.sampling import acquire
from albench.active_testing.selection import Comparison, compare, pairs
from albench.active_testing.surrogates import Surrogate
from albench.finite_population import betting_confidence_sequence, effective_sample_size, importance_ratios, interval
from albench.analysis.frame import component_label
from albench.kinds import RunResult, rivals_of
from albench.learners import AlignedClassifier, make_learner
from albench.seeding import int_seed, rng
from albench.spec import RunSpec


def split_indices(y: np.ndarray, train_size: int, pool_size: int | None, seed: int):
    """Training and pool row indices (sorted); stratified when every class fits in the training set."""
    n = len(y)
    if train_size >= n:
        raise ValueError(f"train_size {train_size} leaves no test pool in a data set of {n} points")
    classes = np.unique(y)
    stratify = y if train_size >= len(classes) and n - train_size >= len(classes) else None
    train, rest = train_test_split(np.arange(n), train_size=train_size, stratify=stratify, random_state=seed)
    if pool_size is not None:
        if pool_size > len(rest):
            raise ValueError(f"pool_size {pool_size} exceeds the {len(rest)} points left after the training set")
        rest = rest[:pool_size]  # `rest` is already shuffled
    return np.sort(train), np.sort(rest)


def _key(value) -> str:
    return json.dumps(value, sort_keys=True)


def _frozen(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    for a in arrays:
        a.flags.writeable = False
    return arrays


@lru_cache(maxsize=128)
def _model_on_pool(dataset: str, train_size: int, pool_size: int | None, seed: int, model: str):
    """Split, fit the model under test, predict the pool: shared by runs that differ only in how they test.

    Cached per process (keys are JSON strings); the arrays are read-only.
    """
    dataset_, model_ = json.loads(dataset), json.loads(model)
    data = datasets.load(dataset_["name"], dataset_["params"])
    keys = (dataset_, train_size, pool_size, seed)
    train_idx, pool_idx = split_indices(data.y, train_size, pool_size, int_seed("at-split", *keys))
    est = make_learner(model_["name"], model_["params"], random_state=int_seed("at-model", *keys, model_))
    model_proba = AlignedClassifier(est, data.n_classes).fit(data.X[train_idx], data.y[train_idx]).predict_proba(
        data.X[pool_idx])
    return _frozen(train_idx, pool_idx, model_proba)


@lru_cache(maxsize=128)
def _surrogate_on_pool(dataset: str, train_size: int, pool_size: int | None, seed: int, model: str,
                       surrogate: str) -> np.ndarray:
    """(K, N, C): the surrogate's members after the first fit (on the training set) predicting the pool.

    Cached like ``_model_on_pool``; the surrogate ``model`` is the model itself (one member).
    """
    train_idx, pool_idx, model_proba = _model_on_pool(dataset, train_size, pool_size, seed, model)
    surrogate_ = json.loads(surrogate)
    if surrogate_["name"] == "model":
        return _frozen(model_proba[None])[0]  # the model itself, until the first refit
    dataset_ = json.loads(dataset)
    data = datasets.load(dataset_["name"], dataset_["params"])
    fitted = _surrogate(dataset, train_size, pool_size, seed, model, surrogate, data.n_classes)
    return _frozen(fitted.fit(data.X[train_idx], data.y[train_idx]).predict_members(data.X[pool_idx]))[0]


def _surrogate(dataset, train_size, pool_size, seed, model, surrogate, n_classes) -> Surrogate:
    surrogate_, model_ = json.loads(surrogate), json.loads(model)
    keys = (json.loads(dataset), train_size, pool_size, seed, model_, surrogate_)
    return Surrogate(surrogate_["name"], surrogate_["params"], model_, n_classes, keys)


class _SurrogateTrack:
    """The surrogate's expected loss of one model under test, as the draws go on (for ``Trace``)."""

    def __init__(self, model_proba: np.ndarray, surrogate_proba: np.ndarray, loss: str, budget: int):
        self.model_proba, self.loss = model_proba, loss
        self.expected = expected_loss(model_proba, surrogate_proba, loss)  # g, updated at every refit
        self.first = self.expected
        self.drawn, self.rest = np.empty(budget), np.empty(budget)

    def refit(self, surrogate_proba: np.ndarray) -> None:
        self.expected = expected_loss(self.model_proba, surrogate_proba, self.loss)

    def trace(self, n_pool: int, chosen: np.ndarray, losses: np.ndarray, q: np.ndarray) -> Trace:
        return Trace(n_pool, losses, q, self.rest, float(self.first.sum()), self.drawn, self.first[chosen])


BOUNDED_LOSSES = ("zero_one",)  # losses in [0, 1]: they get the anytime-valid confidence sequence


def _null_nan(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def _nulls(values: np.ndarray) -> list[float | None]:
    return [_null_nan(x) for x in values]


def _selection_row(c: Comparison, name: str, step: int, labels: list[str], true_difference: float) -> dict:
    """The curve columns of a run with rivals, for one estimator and step (``difference_*``: the first pair)."""
    seq = c.sequence
    return {
        "difference_estimate": float(c.differences[name][0, step]), "true_difference": true_difference,
        "difference_ci_low": _null_nan(c.low[name][0, step]), "difference_ci_high": _null_nan(c.high[name][0, step]),
        "difference_cs_low": None if seq is None else _null_nan(seq[0][0, step]),
        "difference_cs_high": None if seq is None else _null_nan(seq[1][0, step]),
        "risk_estimates": [float(x) for x in c.estimates[name][:, step]],
        "pair_difference_estimate": [float(x) for x in c.differences[name][:, step]],
        "pair_difference_ci_low": _nulls(c.low[name][:, step]),
        "pair_difference_ci_high": _nulls(c.high[name][:, step]),
        "pair_difference_cs_low": None if seq is None else _nulls(seq[0][:, step]),
        "pair_difference_cs_high": None if seq is None else _nulls(seq[1][:, step]),
        "chosen_model": labels[int(c.chosen[name][step])], "chose_best": bool(c.right[name][step]),
    }


# the declared runs columns of a run with rivals, empty without (every part holds every declared column)
_NO_RIVALS = dict.fromkeys(("rival_true_risk", "true_difference", "models", "pairs", "model_true_risks",
                            "pair_true_difference", "drawn_rivals_losses", "difference_cs_low", "difference_cs_high"))


def _selection_summary(c: Comparison, labels: list[str], drawn_rivals_losses: np.ndarray) -> dict:
    """The runs columns of a run with rivals: the models, their true risks, each pair, the final choices."""
    out = {"rival_true_risk": float(c.true_risks[1]), "true_difference": float(c.true_differences[0]),
           "models": labels, "model_true_risks": [float(x) for x in c.true_risks],
           "pairs": [f"{labels[a]} - {labels[b]}" for a, b in pairs(len(labels))],
           "pair_true_difference": [float(x) for x in c.true_differences],
           "drawn_rivals_losses": [[float(x) for x in row] for row in drawn_rivals_losses],
           "difference_cs_low": None if c.sequence is None else _null_nan(c.sequence[0][0, -1]),
           "difference_cs_high": None if c.sequence is None else _null_nan(c.sequence[1][0, -1])}
    for name in c.estimates:
        out[f"{name}_difference_estimate"] = float(c.differences[name][0, -1])
        out[f"{name}_chosen_model"] = labels[int(c.chosen[name][-1])]
        out[f"{name}_chose_best"] = bool(c.right[name][-1])
    return out


def run(spec: RunSpec) -> RunResult:
    p = spec.params
    loss, level = p["loss"], p.get("confidence", 0.95)
    data = datasets.load(p["dataset"]["name"], p["dataset"]["params"])
    split = (_key(p["dataset"]), p["train_size"], p["pool_size"], p["seed"])
    shared = (*split, _key(p["model"]))
    rivals = rivals_of(p.get("rival"))  # the other models under test
    if p["proposal"]["name"] == "loss_difference" and not rivals:
        raise ValueError("proposal 'loss_difference' needs a rival model: set the grid key 'rival'")

    t0 = time.perf_counter()
    train_idx, pool_idx, model_proba = _model_on_pool(*shared)
    rivals_proba = np.stack([_model_on_pool(*split, _key(r))[2] for r in rivals]) if rivals else None  # same pool
    rival_proba = None if rivals_proba is None else rivals_proba[0]
    X_train, y_train, X_pool, y_pool = data.X[train_idx], data.y[train_idx], data.X[pool_idx], data.y[pool_idx]
    true_losses = pointwise_loss(model_proba, y_pool, loss)
    true_risk = float(true_losses.mean())
    model_fit_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    members = _surrogate_on_pool(*shared, _key(p["surrogate"]))
    surrogate_proba = members.mean(axis=0)
    surrogate = _surrogate(*shared, _key(p["surrogate"]), data.n_classes)
    surrogate_fit_s = time.perf_counter() - t0
    n_fits = int(p["surrogate"]["name"] != "model")

    proposal = create_proposal(p["proposal"]["name"], p["proposal"]["params"])
    n_pool = len(pool_idx)
    budget = min(p["budget"], n_pool)
    tracks = [_SurrogateTrack(proba, surrogate_proba, loss, budget)
              for proba in [model_proba, *([] if rivals_proba is None else rivals_proba)]]
    cache: dict = {}
    every = p["retrain_every"]

    def scores_of(labelled: np.ndarray, step: int) -> np.ndarray:
        state = ProposalState(model_proba, surrogate_proba, tracks[0].expected, labelled, loss, true_losses, step,
                              cache, members, rival_proba, rivals_proba)
        return proposal.scores(state)

    def after_label(step: int, index: int, labelled: np.ndarray) -> None:
        nonlocal surrogate_proba, members, cache, surrogate_fit_s, n_fits
        deadline.check()  # the executor's per-run time limit, if any
        for track in tracks:
            track.drawn[step - 1] = track.expected[index]  # the surrogate in use at this step
        if every and step % every == 0:
            t = time.perf_counter()
            done = np.flatnonzero(labelled)
            surrogate.fit(np.concatenate([X_train, X_pool[done]]), np.concatenate([y_train, y_pool[done]]))
            members = surrogate.predict_members(X_pool)
            surrogate_proba = members.mean(axis=0)
            for track in tracks:
                track.refit(surrogate_proba)
            cache = {}
            n_fits += 1
            surrogate_fit_s += time.perf_counter() - t
        for track in tracks:
            track.rest[step - 1] = track.expected[~labelled].sum()

    max_ratio = np.empty(budget)  # the largest importance ratio of each step's q, known before its draw

    def on_distribution(step: int, dist: np.ndarray) -> None:
        max_ratio[step - 1] = 1.0 / (len(dist) * dist.min())

    t0 = time.perf_counter()
    fit_before = surrogate_fit_s
    chosen, q = acquire(scores_of, n_pool, budget, rng("at-acquire", spec.kind, p), p["safeguard"],
                        p["safeguard_weight"], after_label, on_distribution)
    acquire_s = time.perf_counter() - t0 - (surrogate_fit_s - fit_before)

    t0 = time.perf_counter()
    observed = true_losses[chosen]
    trace = tracks[0].trace(n_pool, chosen, observed, q)
    estimates = estimate_all(trace)
    intervals = {name: interval(est, level) for name, est in estimates.items()}
    sequence = (betting_confidence_sequence(observed, q, n_pool, max_ratio, alpha=1 - level, lattice=True)
                if loss in BOUNDED_LOSSES else None)
    if rivals:
        rivals_losses = np.stack([pointwise_loss(r, y_pool, loss) for r in rivals_proba])
        traces = [trace, *(track.trace(n_pool, chosen, losses[chosen], q)
                           for track, losses in zip(tracks[1:], rivals_losses))]
        comparison = compare(traces, np.array([true_risk, *rivals_losses.mean(axis=1)]), level,
                             rng("at-choose", spec.kind, p).random((budget, len(traces))),
                             max_ratio if loss in BOUNDED_LOSSES else None)
        rival_losses, true_difference = rivals_losses[0], float(comparison.true_differences[0])
        labels = [component_label(m["name"], m["params"]) for m in [p["model"], *rivals]]
    estimate_s = time.perf_counter() - t0

    curves = []
    for step in range(budget):
        for name, est in estimates.items():
            value = float(est.curve[step])
            low, high = (_null_nan(b[step]) for b in intervals[name])
            row = {
                "m": step + 1, "estimator": name, "estimate": value, "true_risk": true_risk,
                "squared_error": (value - true_risk) ** 2, "q": float(q[step]),
                "weight": None if est.weights is None else float(est.weights[step]),
                "observed_loss": float(observed[step]), "pool_index": int(chosen[step]),
                "ci_low": low, "ci_high": high, "covered": None if low is None else bool(low <= true_risk <= high),
                "cs_low": None if sequence is None else _null_nan(sequence[0][step]),
                "cs_high": None if sequence is None else _null_nan(sequence[1][step]),
            }
            if rivals:
                row.update(_selection_row(comparison, name, step, labels, true_difference))
            curves.append(row)
    summary = {"true_risk": true_risk, "pool_loss_variance": float(true_losses.var())}
    for name, est in estimates.items():
        final = float(est.curve[-1])
        summary[f"{name}_estimate"] = final
        summary[f"{name}_squared_error"] = (final - true_risk) ** 2
        low, high = (_null_nan(b[-1]) for b in intervals[name])
        summary[f"{name}_ci_low"], summary[f"{name}_ci_high"] = low, high
    summary["cs_low"] = None if sequence is None else _null_nan(sequence[0][-1])
    summary["cs_high"] = None if sequence is None else _null_nan(sequence[1][-1])
    summary["drawn"] = [int(i) for i in chosen]  # the draws themselves: every estimate can be recomputed
    summary["drawn_q"] = [float(x) for x in q]
    summary["drawn_loss"] = [float(x) for x in observed]
    summary["drawn_rival_loss"] = None if rival_proba is None else [float(x) for x in rival_losses[chosen]]
    summary.update(_selection_summary(comparison, labels, rivals_losses[:, chosen]) if rivals else _NO_RIVALS)
    ratios = importance_ratios(q, n_pool)
    summary.update({
        "n_labelled": int(budget),
        "n_pool": int(n_pool),
        "n_train": int(len(train_idx)),
        "n_classes": int(data.n_classes),
        "model_pool_accuracy": float((model_proba.argmax(axis=1) == y_pool).mean()),
        "min_q": float(q.min()),
        "max_weight": float(ratios.max()),
        "ess": float(effective_sample_size(ratios)),
        "n_surrogate_fits": n_fits,
        "model_fit_s": model_fit_s,
        "surrogate_fit_s": surrogate_fit_s,
        "acquire_s": acquire_s,
        "step_s": acquire_s / budget,
        "estimate_s": estimate_s,
    })
    return RunResult(summary, curves)
