"""BAIT (Ash, Goel, Krishnamurthy and Kakade 2021, NeurIPS, "Gone Fishing: Neural Active Learning with
Fisher Embeddings").

BAIT picks the batch that minimises tr((M + sum_{x in batch} I(x))^-1 F), with I(x) the Fisher
information of the last linear layer at x, F the mean of I over the pool and M = lambda I + the
labelled points' Fisher information: the batch that best reduces the expected error of the
maximum-likelihood estimate (its "trace objective"). For the softmax cross-entropy,

    I(x) = sum_c p_c g_c g_c^T = V_x^T V_x,  V_x row c = sqrt(p_c) (e_c - p) (outer) h(x),

with h(x) the input of the last linear layer: ``badge.penultimate`` (a torch learner's embedding, a
scikit-learn MLP's last hidden layer, the features for linear and other models; the bias left out,
as in BADGE). V_x is C x D with D = C d.

Algorithm 1 of the paper, with the scaling and the choices of the authors' code
(``bait_sampling.py`` in github.com/JordanAsh/badge): M_0 = lambda I + (mean Fisher of the labelled
points) n_L / (n_L + k); each candidate's I(x) is scaled by k / (n_L + k); F is the mean over the
whole pool (labelled points included); all of them evaluated at the current model's own
probabilities. Forward: ``oversample`` k times (2k), add the point whose addition lowers the trace
most; backward: k times, remove the chosen point whose removal raises it least. Ties at random
(``_common.near_argmax``: values within 1e-9 relative count as tied, so float noise cannot break them by position).

Cost: every candidate's trace change comes from its C x C matrices V_x Minv V_x^T and V_x Minv F
Minv V_x^T (Woodbury), kept up to date by rank-C updates, so a step costs O(n C^2 (d + C) + D^2 C)
and the memory is O(n C^2 + D^2); nothing of size n x D is stored (the pool's sums run in chunks).
"""

from __future__ import annotations

import numpy as np

from albench.strategy import Strategy, register
from ._common import check_positive_int, near_argmax
from .badge import penultimate

CHUNK_FLOATS = 2**22  # per chunk of the pool's sums: 32 MiB of float64


def fisher_factors(model, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B, H) with V_x = B_x (kron) H_x^T: B_x[c, a] = sqrt(p_c) (delta_ca - p_a), shape (n, C, C); H (n, d)."""
    P = np.asarray(model.predict_proba(X), dtype=float)
    bad = ~np.isfinite(P).all(axis=1)
    if bad.any():  # e.g. naive Bayes on features of zero variance: no Fisher information to compute
        raise ValueError(f"bait: the model's predict_proba is not finite for {int(bad.sum())} of {len(P)} points "
                         f"(first: pool row {int(np.flatnonzero(bad)[0])}); BAIT needs finite class probabilities")
    P = np.clip(P, 0.0, None)
    B = np.sqrt(P)[:, :, None] * (np.eye(P.shape[1])[None] - P[:, None, :])
    return B, penultimate(model, X)


def fisher_dense(B: np.ndarray, H: np.ndarray) -> np.ndarray:
    """The (n, C, C d) matrices V_x, column a d + j = B_x[:, a] H_x[j]; for small n and tests."""
    return (B[:, :, :, None] * H[:, None, None, :]).reshape(len(B), B.shape[1], -1)


def _chunks(n: int, floats_per_point: int):
    size = max(1, CHUNK_FLOATS // max(1, floats_per_point))
    return (slice(i, min(i + size, n)) for i in range(0, n, size))


def fisher_sum(B: np.ndarray, H: np.ndarray) -> np.ndarray:
    """sum_x V_x^T V_x = sum_x (B_x^T B_x) (kron) H_x H_x^T, shape (D, D), without the n x D matrices."""
    n, C, _ = B.shape
    d = H.shape[1]
    out = np.zeros((C * d, C * d))
    for s in _chunks(n, C * C + d * d):
        K = np.einsum("nca,ncb->nab", B[s], B[s]).reshape(-1, C * C)
        HH = (H[s, :, None] * H[s, None, :]).reshape(-1, d * d)
        out += (K.T @ HH).reshape(C, C, d, d).transpose(0, 2, 1, 3).reshape(C * d, C * d)
    return out


def quadratic_forms(B: np.ndarray, H: np.ndarray, A: np.ndarray) -> np.ndarray:
    """V_x A V_x^T for every x, shape (n, C, C), for a (D, D) matrix A."""
    n, C, _ = B.shape
    d = H.shape[1]
    A4 = A.reshape(C, d, C, d).transpose(1, 0, 2, 3).reshape(d, C * C * d)  # [j, (a, b, k)]
    out = np.empty((n, C, C))
    for s in _chunks(n, C * C * d):
        T = (H[s] @ A4).reshape(-1, C, C, d)
        S = np.einsum("nabk,nk->nab", T, H[s])  # h^T A_ab h
        out[s] = B[s] @ S @ B[s].transpose(0, 2, 1)
    return out


def times(B: np.ndarray, H: np.ndarray, U: np.ndarray) -> np.ndarray:
    """V_x U for every x, shape (n, C, r), for a (D, r) matrix U."""
    C, d = B.shape[1], H.shape[1]
    r = U.shape[1]
    U3 = U.reshape(C, d, r).transpose(1, 0, 2).reshape(d, C * r)
    return B @ (H @ U3).reshape(-1, C, r)


def trace_changes(Q: np.ndarray, R: np.ndarray, sign: float) -> np.ndarray:
    """tr(R_x (sign I + Q_x)^-1): the fall of tr(Minv F) when x is added (sign +1), minus its rise when
    x is removed (sign -1), by the Woodbury identity."""
    inner = np.linalg.inv(sign * np.eye(Q.shape[1])[None] + Q)
    return np.einsum("nab,nba->n", R, inner)


class _Trace:
    """Minv = M^-1 and, for every candidate, Q_x = V_x Minv V_x^T and R_x = V_x Minv F Minv V_x^T."""

    def __init__(self, B, H, M0: np.ndarray, F: np.ndarray):
        self.B, self.H, self.F = B, H, F
        self.Minv = np.linalg.inv(M0)
        self.Q = quadratic_forms(B, H, self.Minv)
        self.R = quadratic_forms(B, H, self.Minv @ F @ self.Minv)

    def changes(self, sign: float) -> np.ndarray:
        return trace_changes(self.Q, self.R, sign)

    def commit(self, i: int, sign: float) -> None:
        """Add (sign +1) or remove (-1) candidate i: Minv <- Minv - U S U^T, U = Minv V_i^T,
        S = (sign I + Q_i)^-1, and every Q_x, R_x updated with it (rank C)."""
        V = fisher_dense(self.B[i:i + 1], self.H[i:i + 1])[0]
        S = np.linalg.inv(sign * np.eye(len(V)) + self.Q[i])
        U = self.Minv @ V.T
        W = self.Minv @ (self.F @ U)
        VU, VW = times(self.B, self.H, U), times(self.B, self.H, W)
        VUS, VWS = VU @ S, VW @ S
        UFU = U.T @ self.F @ U
        self.R = self.R - VWS @ VU.transpose(0, 2, 1) - VUS @ VW.transpose(0, 2, 1) \
            + VUS @ UFU @ VUS.transpose(0, 2, 1)
        self.Q = self.Q - VUS @ VU.transpose(0, 2, 1)
        self.Minv = self.Minv - U @ S @ U.T


def bait_select(B_cand, H_cand, F: np.ndarray, fisher_labelled: np.ndarray, n_labelled: int, k: int,
                lam: float, oversample: int, rng: np.random.Generator) -> tuple[np.ndarray, list[int]]:
    """Positions of the k candidates BAIT picks, and the forward picks before pruning (in order).

    ``F``: the pool's mean Fisher information; ``fisher_labelled``: the labelled points' mean (zeros when
    there are none); ``n_labelled``: their number.
    """
    n = len(B_cand)
    k = min(int(k), n)
    if k <= 0:
        return np.empty(0, dtype=np.intp), []
    D = F.shape[0]
    M0 = lam * np.eye(D) + fisher_labelled * (n_labelled / (n_labelled + k))
    trace = _Trace(B_cand * np.sqrt(k / (n_labelled + k)), H_cand, M0, F)
    chosen = np.zeros(n, dtype=bool)
    forward = []
    for _ in range(min(oversample * k, n)):
        i = near_argmax(trace.changes(+1.0), ~chosen, rng)
        forward.append(i)
        chosen[i] = True
        trace.commit(i, +1.0)
    while chosen.sum() > k:
        i = near_argmax(trace.changes(-1.0), chosen, rng)
        chosen[i] = False
        trace.commit(i, -1.0)
    return np.flatnonzero(chosen), forward


@register("bait", "BAIT: greedy forward-backward minimisation of the Fisher trace objective (Ash et al. 2021)")
class Bait(Strategy):
    """BAIT (see the module docstring). Params: ``lam`` (lambda, the regulariser of M; 1 as in the
    authors' code), ``oversample`` (forward picks per batch point before pruning; 2 as in the paper)."""

    family = "bait"

    def __init__(self, lam: float = 1.0, oversample: int = 2):
        super().__init__(lam=lam, oversample=oversample)
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not lam > 0:
            raise ValueError(f"bait: lam must be a number > 0; got {lam!r}")
        self.lam = float(lam)
        self.oversample = check_positive_int("bait", "oversample", oversample)

    def query(self, state, batch_size, rng):
        B, H = fisher_factors(state.model, state.X)
        labelled = np.flatnonzero(state.labelled)
        n_labelled = len(labelled)
        F = fisher_sum(B, H) / len(B)
        fisher_labelled = fisher_sum(B[labelled], H[labelled]) / max(n_labelled, 1)
        unl = state.unlabelled
        picks, _ = bait_select(B[unl], H[unl], F, fisher_labelled, n_labelled, batch_size, self.lam,
                               self.oversample, rng)
        return unl[picks]
