"""Helpers shared by several strategy families (not a strategy: the loader skips ``_`` modules)."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from albench.learners import AlignedClassifier

SPACES = ("auto", "features")
TIE_RTOL = 1e-9  # near_argmax: relative float noise below this is a tie


def seed_of(rng: np.random.Generator) -> int:
    """An int ``random_state`` for scikit-learn, drawn from the strategy's stream."""
    return int(rng.integers(2**31 - 1))


def fresh_model(state) -> AlignedClassifier:
    """An unfitted copy of the run's learner, aligned to every class of the data set."""
    if state.make_learner is not None:
        return AlignedClassifier(state.make_learner(), len(state.classes))
    return clone(state.model)


def check_choice(strategy: str, key: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{strategy}: {key} must be one of {', '.join(map(str, allowed))}; got {value!r}")


def check_positive_int(strategy: str, key: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{strategy}: {key} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def representation(state, space: str) -> tuple[np.ndarray, bool]:
    """The points' coordinates for distance-based strategies, and whether they are pool-only.

    ``features``: the pool as given (pool-only, so callers may cache on it);
    ``auto``: the model's penultimate-layer embedding when it has one (a torch
    learner; it changes with every fit), else the features.
    """
    if space == "auto" and state.model.supports_embedding:
        return np.asarray(state.model.embed(state.X), dtype=float), False
    return state.X, True


def fill_at_random(picked: np.ndarray, candidates: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``picked`` (distinct members of ``candidates``) topped up to ``k`` with random other candidates."""
    picked = np.asarray(picked, dtype=np.intp)
    missing = k - len(picked)
    if missing <= 0:
        return picked[:k]
    rest = np.setdiff1d(candidates, picked, assume_unique=True)
    return np.concatenate([picked, rng.choice(rest, size=min(missing, len(rest)), replace=False)]).astype(np.intp)


def same_pool(prepared: np.ndarray | None, X: np.ndarray) -> bool:
    """Whether ``X`` is the pool that ``prepare`` saw (so its pool-only results still apply)."""
    return prepared is not None and (prepared is X or (prepared.shape == X.shape and np.array_equal(prepared, X)))


def near_argmax(values: np.ndarray, allowed: np.ndarray, rng: np.random.Generator) -> int:
    """Position of the largest allowed value; values within ``TIE_RTOL`` (relative) of it are tied and one is
    drawn at random (scores computed through matrix products differ in the last bits between equal points)."""
    vals = np.where(allowed, values, -np.inf)
    best = vals.max()
    tol = TIE_RTOL * np.max(np.abs(values[allowed]))
    tied = np.flatnonzero(allowed & (vals >= best - tol))
    return int(tied[0] if len(tied) == 1 else rng.choice(tied))
