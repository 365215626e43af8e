"""One round of the sampling design: strata, allocation, and the draw.

Each round draws blocks from those not sampled yet by stratified simple random
sampling without replacement. Strata are the combination of design factors
(data set, learner, batch size, ...) with the most strata the round can give
one block each; ties go to the combination that explains most of the
surrogate's predictions. So a round is balanced over as many factors as its
size allows (measured on the benchmark grid, this is what beats uniform
subsampling most). Every stratum gets at least one block, so every block left
has a positive inclusion probability n_h / N_h: the safeguard that keeps the
estimators unbiased, as the mixture with uniform does in active testing.

When the blocks left are a full factorial (a fresh grid without exclude
rules), the draw is also balanced on the design factors the strata leave out:
it is redrawn until each of their levels is taken equally often, give or take
one (rejective sampling). By symmetry this keeps every inclusion probability
at n_h / N_h; the stratified variance formula then errs on the wide side.

The allocation is Neyman's, n_h proportional to N_h s_h / sqrt(c_h): s_h is
the surrogate's uncertainty about the blocks of stratum h and c_h their
measured cost per block, so the proposal spends runs where the leaderboard is
least known per second of compute. A share ``safeguard_weight`` of the round
is allocated in proportion to N_h whatever the surrogate says.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

MAX_REDRAWS = 10_000  # then the last draw is kept: the procedure stays symmetric, probabilities unchanged


@dataclass(frozen=True)
class Round:
    """The blocks one round draws and the design quantities an estimate needs."""

    chosen: np.ndarray  # block indices drawn, sorted
    stratum_of: np.ndarray  # (B,) stratum code of every block left before the round (-1: sampled before)
    stratum_names: list[str]
    stratum_sizes: np.ndarray  # (H,) N_h, blocks left in each stratum
    allocation: np.ndarray  # (H,) n_h
    factors: tuple[str, ...]  # the design factors that define the strata
    balanced_on: tuple[str, ...] = ()  # factors the draw was balanced on by rejection (see ``draw``)


def strata(population, left: np.ndarray, n_round: int, predictions: np.ndarray | None = None) -> tuple[str, ...]:
    """The design factors of this round's strata (see the module docstring).

    Among the combinations of design factors whose strata (among the blocks
    left) number at most ``n_round``, the one with the most strata; ties go
    to the combination whose strata explain most of the variance of the
    surrogate's ``predictions`` (B, K), then to the earlier factors.
    """
    best, best_key = (), (1, -np.inf)
    factors = population.factors
    for size in range(1, len(factors) + 1):
        for combo in itertools.combinations(factors, size):
            labels = population.stratum_labels(combo)[left]
            names, codes = np.unique(labels, return_inverse=True)
            if len(names) > n_round:
                continue
            explained = _between_variance(predictions[left], codes) if predictions is not None else 0.0
            key = (len(names), explained)
            if key > best_key:
                best, best_key = combo, key
    return best


def _between_variance(values: np.ndarray, codes: np.ndarray) -> float:
    counts = np.bincount(codes).astype(float)
    means = np.zeros((len(counts), values.shape[1]))
    np.add.at(means, codes, values)
    means /= counts[:, None]
    return float(((means[codes] - values.mean(axis=0)) ** 2).sum())


def allocate(sizes: np.ndarray, scores: np.ndarray, n_round: int, safeguard_weight: float = 0.1) -> np.ndarray:
    """Integer n_h with 1 <= n_h <= N_h and sum n_round, close to the mixed Neyman shares.

    ``scores`` are N_h s_h / sqrt(c_h) (any positive scale); the share
    ``safeguard_weight`` goes in proportion to N_h. Two blocks per stratum come
    first where the round has room, so each stratum's variance is estimable.
    """
    sizes = np.asarray(sizes, dtype=int)
    if n_round < len(sizes) or n_round > sizes.sum():
        raise ValueError(f"allocate: a round of {n_round} blocks cannot cover {len(sizes)} strata "
                         f"of {int(sizes.sum())} blocks")
    scores = np.where(np.isfinite(scores) & (scores > 0), scores, 0.0)
    neyman = scores / scores.sum() if scores.sum() > 0 else sizes / sizes.sum()
    share = (1 - safeguard_weight) * neyman + safeguard_weight * sizes / sizes.sum()
    target = share * n_round
    floor = 2 if n_round >= 2 * len(sizes) else 1
    n = np.minimum(sizes, floor)
    while n.sum() < n_round:  # largest remaining shortfall first; ties to the first stratum
        room = n < sizes
        gap = np.where(room, target - n, -np.inf)
        n[int(np.argmax(gap))] += 1
    return n


def draw(population, sampled: np.ndarray, n_round: int, scores_of, rng: np.random.Generator,
         safeguard_weight: float = 0.1, predictions: np.ndarray | None = None) -> Round:
    """Draw one round of ``n_round`` blocks from those not ``sampled`` (a boolean mask over blocks).

    ``scores_of(labels, names, sizes)`` gives the Neyman score of each
    stratum in ``names`` from every block's stratum label and the strata's
    sizes N_h (``Surrogate.stratum_scores``).
    """
    left = np.flatnonzero(~sampled)
    n_round = min(n_round, len(left))
    chosen_factors = strata(population, left, n_round, predictions)
    labels = population.stratum_labels(chosen_factors)
    names, codes = np.unique(labels[left], return_inverse=True)
    sizes = np.bincount(codes, minlength=len(names))
    scores = np.asarray(scores_of(labels, list(names), sizes), dtype=float)
    allocation = allocate(sizes, scores, n_round, safeguard_weight)
    balance = tuple(f for f in population.factors if f not in chosen_factors) if symmetric(population, left) else ()
    levels = [population.blocks[f].astype(str).to_numpy()[left] for f in balance]
    for _ in range(MAX_REDRAWS):  # rejective: redraw until the other factors are balanced too
        positions = [rng.choice(np.flatnonzero(codes == h), size=int(allocation[h]), replace=False)
                     for h in range(len(names))]
        chosen = np.concatenate(positions)
        if all(_even(level, chosen) for level in levels):
            break
    stratum_of = np.full(population.n_blocks, -1)
    stratum_of[left] = codes
    return Round(np.sort(left[chosen]), stratum_of, [str(n) for n in names], sizes, allocation,
                 chosen_factors, balance)


def symmetric(population, left: np.ndarray) -> bool:
    """Whether the blocks ``left`` are a full factorial over the design factors, each cell as often.

    Then relabelling the levels of any factor maps the population onto
    itself, so a draw that is redrawn until those factors are balanced still
    gives every block of a stratum the same inclusion probability n_h / N_h.
    """
    if not population.factors:
        return False
    cells = np.unique(population.stratum_labels(tuple(population.factors))[left], return_counts=True)[1]
    full = int(np.prod([population.blocks[f].nunique() for f in population.factors]))
    return len(cells) == full and cells.min() == cells.max()


def _even(level: np.ndarray, chosen: np.ndarray) -> bool:
    """Whether the chosen blocks take every level of a factor equally often, give or take one."""
    n_levels = len(np.unique(level))
    picked = np.unique(level[chosen], return_counts=True)[1]
    counts = np.concatenate([picked, np.zeros(n_levels - len(picked), dtype=int)])
    return counts.max() - counts.min() <= 1
