"""The surrogate: a second predictive distribution pi(y|x) over the test pool.

Grid values of ``surrogate``:

- ``model``: the model under test itself; a refit is a fresh copy of its learner;
- a learner name or import path, with its parameters (``rf``, ``{name: rf, n_estimators: 50}``);
- ``{name: bootstrap, learner: <learner>, n_members: 5}``: an ensemble of the
  learner (default: the model's) fitted on bootstrap resamples, whose mean
  prediction is pi (Kossen et al., ICML 2021, use ensembles as surrogates).

The runner fits it on the training set and, every ``retrain_every`` steps, on
the training set plus the test points labelled so far.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from albench import learners
from albench.learners import AlignedClassifier, make_learner
from albench.registry import UnknownName
from albench.seeding import int_seed, rng

SPECIAL = ("model", "bootstrap")
BOOTSTRAP_KEYS = {"learner", "n_members"}


def _learner_ref(value: Any) -> tuple[str, dict]:
    if isinstance(value, str):
        return value, {}
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        if set(value) == {"name", "params"} and isinstance(value["params"], dict):  # canonical form
            return value["name"], dict(value["params"])
        return value["name"], {k: v for k, v in value.items() if k != "name"}
    raise UnknownName(f"bootstrap learner must be a learner name or {{name: ..., <params>}}, got {value!r}")


def validate(name: str, params: dict) -> None:
    """Raise ``UnknownName`` (with the allowed values) for a surrogate that cannot be built."""
    if name == "model":
        if params:
            raise UnknownName(f"surrogate 'model' takes no parameters, got {sorted(params)}")
    elif name == "bootstrap":
        extra = set(params) - BOOTSTRAP_KEYS
        if extra:
            raise UnknownName(f"surrogate 'bootstrap' takes {sorted(BOOTSTRAP_KEYS)}, got {sorted(extra)}")
        n = params.get("n_members", 5)
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise UnknownName(f"surrogate 'bootstrap': n_members must be a positive integer, got {n!r}")
        if "learner" in params:
            learners.resolve(_learner_ref(params["learner"])[0])
    else:
        try:
            learners.resolve(name)
        except UnknownName as exc:
            raise UnknownName(f"unknown surrogate '{name}': not {' or '.join(SPECIAL)}, and {exc}") from None


class Surrogate:
    """Fits and predicts; ``keys`` name its random streams."""

    def __init__(self, name: str, params: dict, model: dict, n_classes: int, keys: tuple):
        validate(name, params)
        self.name, self.params, self.model, self.n_classes, self.keys = name, params, model, n_classes, keys

    def _learner(self, name: str, params: dict, *extra) -> AlignedClassifier:
        seed = int_seed("at-surrogate", *self.keys, *extra)
        return AlignedClassifier(make_learner(name, params, random_state=seed), self.n_classes)

    def fit(self, X: np.ndarray, y: np.ndarray) -> "Surrogate":
        """Fit on (X, y); the random streams are keyed by ``keys`` and ``len(y)``, new at every refit."""
        if self.name == "bootstrap":
            name, params = _learner_ref(self.params.get("learner", self.model))
            gen = rng("at-surrogate-bootstrap", *self.keys, len(y))
            self.members_ = []
            for k in range(self.params.get("n_members", 5)):
                rows = gen.integers(0, len(y), len(y))
                self.members_.append(self._learner(name, params, len(y), k).fit(X[rows], y[rows]))
        else:
            own = self.name == "model"
            name, params = (self.model["name"], self.model["params"]) if own else (self.name, self.params)
            self.members_ = [self._learner(name, params, len(y)).fit(X, y)]
        return self

    def predict_members(self, X: np.ndarray) -> np.ndarray:
        """(K, n, C): every member's prediction (K = 1 unless ``bootstrap``)."""
        return np.stack([m.predict_proba(X) for m in self.members_])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.predict_members(X).mean(axis=0)
