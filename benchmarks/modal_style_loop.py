"""The AL loop as users write it today with modAL-style code: the reference albench is timed against.

Each cycle refits the learner on a training set grown with ``np.vstack``,
calls ``predict_proba`` over the whole pool (labelled points included, then
masked), ranks the candidates with a full ``argsort``, evaluates on the test
split with scikit-learn's metrics and appends a row to a CSV file. Information
density is recomputed at every query from the dense pool x pool distance
matrix, as modAL's ``information_density`` does inside a query function. It uses the same data, split, start
set, learner seed and random stream as albench's runner, and breaks score ties
the same way (a random permutation, then a stable sort), so both must pick the
same indices: ``run`` returns them for that check.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, pairwise_distances

from albench import datasets
from albench.al_loop import initial_indices, split_indices
from albench.learners import make_learner
from albench.seeding import int_seed, rng


def uncertainty(name: str, proba: np.ndarray) -> np.ndarray:
    """The textbook scores, higher = more informative."""
    if name == "least_confident":
        return 1.0 - proba.max(axis=1)
    if name == "margin":
        top = np.sort(proba, axis=1)
        return -(top[:, -1] - top[:, -2])
    if name == "entropy":
        with np.errstate(divide="ignore", invalid="ignore"):
            logp = np.where(proba > 0, np.log(proba), 0.0)
        return -(proba * logp).sum(axis=1)
    raise ValueError(f"no modAL-style twin for strategy {name!r}")


# the only information_density the loop has a twin of: modAL's definition
DENSITY = {"beta": 1.0, "base": "least_confident", "similarity": "euclidean", "n_neighbors": None}


def scores(strategy: dict, proba: np.ndarray, X_pool: np.ndarray) -> np.ndarray:
    if strategy["name"] != "information_density":
        return uncertainty(strategy["name"], proba)
    if {**DENSITY, **strategy["params"]} != DENSITY:
        raise ValueError(f"no modAL-style twin for information_density with {strategy['params']}")
    density = (1 / (1 + pairwise_distances(X_pool, X_pool))).mean(axis=1)  # modAL's information_density
    return uncertainty("least_confident", proba) * density


def run(p: dict, csv_path: Path, run_name: str) -> list[list[int]]:
    """One AL run with the hyperparameters ``p`` (a RunSpec's params); the picked data-set rows per cycle."""
    data = datasets.load(p["dataset"]["name"], p["dataset"]["params"])
    pool_idx, test_idx = split_indices(data.y, p["dataset"], p["split"], p["test_fraction"])
    X_pool, y_pool = data.X[pool_idx], data.y[pool_idx]
    X_test, y_test = data.X[test_idx], data.y[test_idx]
    data_keys = (p["dataset"], p["split"], p["test_fraction"])
    start = initial_indices(y_pool, p["initial_size"], rng("start", *data_keys, p["start_point"], p["initial_size"]))
    stream_keys = (*data_keys, p["start_point"], p["seed"])
    model = make_learner(p["learner"]["name"], p["learner"]["params"],
                         random_state=int_seed("learner", *stream_keys))
    strategy, gen = p["strategy"], rng("strategy", *stream_keys)

    X_train, y_train = X_pool[start], y_pool[start]
    labelled = np.zeros(len(y_pool), dtype=bool)
    labelled[start] = True
    picks = []
    for cycle in range(p["budget"] + 1):
        model.fit(X_train, y_train)
        y_pred = model.predict(X_test)
        with open(csv_path, "a", newline="") as f:
            csv.writer(f).writerow([run_name, cycle, len(y_train), accuracy_score(y_test, y_pred),
                                    f1_score(y_test, y_pred, average="macro", zero_division=0),
                                    f1_score(y_test, y_pred, average="weighted", zero_division=0)])
        candidates = np.flatnonzero(~labelled)
        if cycle == p["budget"] or len(candidates) == 0:
            break
        k = min(p["batch_size"], len(candidates))
        if strategy["name"] == "random":
            idx = gen.choice(candidates, size=k, replace=False)
        else:
            score = scores(strategy, model.predict_proba(X_pool), X_pool)
            score[labelled] = -np.inf
            perm = gen.permutation(len(candidates))
            idx = candidates[perm[np.argsort(-score[candidates][perm], kind="stable")[:k]]]
        X_train = np.vstack([X_train, X_pool[idx]])
        y_train = np.concatenate([y_train, y_pool[idx]])
        labelled[idx] = True
        picks.append(pool_idx[idx].tolist())
    return picks
