"""Expected error reduction (Roy and McCallum 2001, "Toward optimal active learning through
sampling estimation of error reduction", ICML).

For a candidate x, retrain the learner once per possible label y (each with
the model's probability p(y|x) > 0), and estimate the pool error of the
retrained model by its own predictions on the unlabelled pool:

    E(x) = sum_y p(y|x) * mean_u loss(p'_{x,y}(.|u)),

with log loss (the entropy of p', as in the paper) or 0-1 loss (1 - max p').
The batch is the k candidates of smallest E. Every candidate costs up to C
fits, so, as the paper does, candidates are a random subsample of
``n_candidates`` unlabelled points (at least the batch size), and the error is
averaged over a random subsample of ``n_eval`` unlabelled points.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import entr

from albench.strategy import Strategy, register, top_k
from albench.strategies._common import check_choice, check_positive_int, fresh_model

LOSSES = {
    "log": lambda proba: entr(proba).sum(axis=1),
    "zero_one": lambda proba: 1.0 - proba.max(axis=1),
}


def expected_errors(new_model: Callable, X_lab: np.ndarray, y_lab: np.ndarray, X_cand: np.ndarray,
                    proba_cand: np.ndarray, X_eval: np.ndarray, loss: str = "log") -> np.ndarray:
    """E(x) for each candidate row; ``new_model()`` returns an unfitted model with predict_proba."""
    loss_of = LOSSES[loss]
    X_aug = np.vstack([X_lab, X_cand[:1]])
    y_aug = np.append(y_lab, 0).astype(y_lab.dtype)
    errors = np.zeros(len(X_cand))
    for i, (x, p) in enumerate(zip(X_cand, proba_cand)):
        X_aug[-1] = x
        for label in np.flatnonzero(p > 0):
            y_aug[-1] = label
            errors[i] += p[label] * loss_of(new_model().fit(X_aug, y_aug).predict_proba(X_eval)).mean()
    return errors


@register("expected_error_reduction", "expected error reduction on a pool subsample (Roy & McCallum 2001)")
class ExpectedErrorReduction(Strategy):
    family = "expected_error_reduction"

    """Expected error reduction (Roy and McCallum 2001). Params: ``loss`` (log | zero_one),
    ``n_candidates`` (20), ``n_eval`` (1000)."""

    def __init__(self, loss: str = "log", n_candidates: int = 20, n_eval: int = 1000):
        super().__init__(loss=loss, n_candidates=n_candidates, n_eval=n_eval)
        check_choice("expected_error_reduction", "loss", loss, LOSSES)
        self.loss = loss
        self.n_candidates = check_positive_int("expected_error_reduction", "n_candidates", n_candidates)
        self.n_eval = check_positive_int("expected_error_reduction", "n_eval", n_eval)

    def query(self, state, batch_size, rng):
        unl = state.unlabelled
        n_cand = min(len(unl), max(self.n_candidates, int(batch_size)))
        candidates = np.sort(rng.choice(unl, size=n_cand, replace=False))
        evaluation = np.sort(rng.choice(unl, size=min(len(unl), self.n_eval), replace=False))
        lab = np.flatnonzero(state.labelled)
        errors = expected_errors(lambda: fresh_model(state), state.X[lab], state.y[lab], state.X[candidates],
                                 state.model.predict_proba(state.X[candidates]), state.X[evaluation], self.loss)
        return candidates[top_k(-errors, batch_size, rng)]
