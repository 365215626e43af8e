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
train_size, pool_size, seed); the model also on ``model``; the surrogate's
first fit also on ``surrogate``. Runs that differ only in the proposal, the
safeguard or the budget therefore test the same model on the same pool
(common random numbers). The draws use a stream keyed by every
hyperparameter, so no two runs share it. Being shared, the split, the model
and the surrogate's first fit are cached per process; ``model_fit_s`` and
``surrogate_fit_s`` then count only what this run computed.

Rows: one summary (the true risk, ``<estimator>_estimate`` and
``<estimator>_squared_error`` of the final estimate, sizes, timings) and one
curve row per step and estimator: m, estimator, estimate, true_risk,
squared_error, q (of the m-th chosen point), weight (its weight in the final
estimate; null for ASE), observed_loss.
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
from albench.active_testing.surrogates import Surrogate
from albench.kinds import RunResult
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
    """The surrogate's first fit (on the training set) predicting the pool; cached like ``_model_on_pool``."""
    train_idx, pool_idx, model_proba = _model_on_pool(dataset, train_size, pool_size, seed, model)
    surrogate_ = json.loads(surrogate)
    if surrogate_["name"] == "model":
        return model_proba  # the model itself, until the first refit
    dataset_ = json.loads(dataset)
    data = datasets.load(dataset_["name"], dataset_["params"])
    fitted = _surrogate(dataset, train_size, pool_size, seed, model, surrogate, data.n_classes)
    return _frozen(fitted.fit(data.X[train_idx], data.y[train_idx]).predict_proba(data.X[pool_idx]))[0]


def _surrogate(dataset, train_size, pool_size, seed, model, surrogate, n_classes) -> Surrogate:
    surrogate_, model_ = json.loads(surrogate), json.loads(model)
    keys = (json.loads(dataset), train_size, pool_size, seed, model_, surrogate_)
    return Surrogate(surrogate_["name"], surrogate_["params"], model_, n_classes, keys)


def run(spec: RunSpec) -> RunResult:
    p = spec.params
    loss = p["loss"]
    data = datasets.load(p["dataset"]["name"], p["dataset"]["params"])
    shared = (_key(p["dataset"]), p["train_size"], p["pool_size"], p["seed"], _key(p["model"]))

    t0 = time.perf_counter()
    train_idx, pool_idx, model_proba = _model_on_pool(*shared)
    X_train, y_train, X_pool, y_pool = data.X[train_idx], data.y[train_idx], data.X[pool_idx], data.y[pool_idx]
    true_losses = pointwise_loss(model_proba, y_pool, loss)
    true_risk = float(true_losses.mean())
    model_fit_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    surrogate_proba = _surrogate_on_pool(*shared, _key(p["surrogate"]))
    surrogate = _surrogate(*shared, _key(p["surrogate"]), data.n_classes)
    surrogate_loss = expected_loss(model_proba, surrogate_proba, loss)
    surrogate_fit_s = time.perf_counter() - t0
    n_fits = int(p["surrogate"]["name"] != "model")

    proposal = create_proposal(p["proposal"]["name"], p["proposal"]["params"])
    n_pool = len(pool_idx)
    budget = min(p["budget"], n_pool)
    surrogate_rest = np.empty(budget)
    cache: dict = {}
    every = p["retrain_every"]

    def scores_of(labelled: np.ndarray, step: int) -> np.ndarray:
        state = ProposalState(model_proba, surrogate_proba, surrogate_loss, labelled, loss, true_losses, step, cache)
        return proposal.scores(state)

    def after_label(step: int, index: int, labelled: np.ndarray) -> None:
        nonlocal surrogate_proba, surrogate_loss, cache, surrogate_fit_s, n_fits
        deadline.check()  # the executor's per-run time limit, if any
        if every and step % every == 0:
            t = time.perf_counter()
            done = np.flatnonzero(labelled)
            surrogate.fit(np.concatenate([X_train, X_pool[done]]), np.concatenate([y_train, y_pool[done]]))
            surrogate_proba = surrogate.predict_proba(X_pool)
            surrogate_loss = expected_loss(model_proba, surrogate_proba, loss)
            cache = {}
            n_fits += 1
            surrogate_fit_s += time.perf_counter() - t
        surrogate_rest[step - 1] = surrogate_loss[~labelled].sum()

    t0 = time.perf_counter()
    fit_before = surrogate_fit_s
    chosen, q = acquire(scores_of, n_pool, budget, rng("at-acquire", spec.kind, p), p["safeguard"],
                        p["safeguard_weight"], after_label)
    acquire_s = time.perf_counter() - t0 - (surrogate_fit_s - fit_before)

    t0 = time.perf_counter()
    observed = true_losses[chosen]
    estimates = estimate_all(Trace(n_pool, observed, q, surrogate_rest))
    estimate_s = time.perf_counter() - t0

    curves = []
    for step in range(budget):
        for name, est in estimates.items():
            value = float(est.curve[step])
            curves.append({
                "m": step + 1, "estimator": name, "estimate": value, "true_risk": true_risk,
                "squared_error": (value - true_risk) ** 2, "q": float(q[step]),
                "weight": None if est.weights is None else float(est.weights[step]),
                "observed_loss": float(observed[step]),
            })
    summary = {"true_risk": true_risk, "pool_loss_variance": float(true_losses.var())}
    for name, est in estimates.items():
        final = float(est.curve[-1])
        summary[f"{name}_estimate"] = final
        summary[f"{name}_squared_error"] = (final - true_risk) ** 2
    summary.update({
        "n_labelled": int(budget),
        "n_pool": int(n_pool),
        "n_train": int(len(train_idx)),
        "n_classes": int(data.n_classes),
        "model_pool_accuracy": float((model_proba.argmax(axis=1) == y_pool).mean()),
        "min_q": float(q.min()),
        "n_surrogate_fits": n_fits,
        "model_fit_s": model_fit_s,
        "surrogate_fit_s": surrogate_fit_s,
        "acquire_s": acquire_s,
        "step_s": acquire_s / budget,
        "estimate_s": estimate_s,
    })
    return RunResult(summary, curves)
