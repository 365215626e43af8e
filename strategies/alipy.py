"""ALiPy's query strategies as albench strategies, ``alipy.<name>``, beside the native ones.

ALiPy (Tang, Li and Huang 2019, "ALiPy: Active Learning in Python") gives each
strategy a ``select(label_index, unlabel_index, model=, batch_size=)``
method over the whole data set. Each adapter builds ALiPy's object on the
pool and calls ``select`` with the labelled and unlabelled pool indices, so
the returned indices are pool indices already.

Where ALiPy takes a model, it gets albench's fitted model (``state.model``:
``least_confident``, ``margin``, ``entropy``, ``density_weighted``, and ``eer``,
which deep-copies it and refits the copy per candidate and label). Its
query-by-committee fits its own committee: scikit-learn's ``BaggingClassifier``
around a fresh copy of the run's learner, fitted on the labelled points.

ALiPy 1.2.5 on current libraries needs two shims, both confined to ALiPy's
``query_labels`` module (nothing else is patched):

- it asserts ``isinstance(..., collections.Iterable)``, which Python 3.10
  removed: its module-level name ``collections`` is given ``Iterable`` from
  ``collections.abc``;
- its committee's ``BaggingClassifier`` gets no ``random_state`` (NumPy's
  global random state, which albench never touches): during one call its
  module-level ``BaggingClassifier`` is the same class with ``random_state``
  drawn from the run's strategy rng.

Labels: ALiPy objects take the label vector of the whole data set but read only
the labelled entries, except ``eer``, which takes the list of classes from
``np.unique(y)``; the unlabelled entries therefore hold placeholder labels
(every class in turn), never a true label.

Deliberate differences kept to measure ALiPy as users run it: ties go to its
own selection (``nlargestarg``/``nsmallestarg``, argsort order); its density
weighting multiplies the uncertainty by the mean *distance* of a point to the
other unlabelled points (``QueryInstanceDensityWeighted``), not a similarity,
over a dense N x N matrix (refused above ``max_pool``).

Not adapted: ``QueryInstanceGraphDensity`` (Ebert et al. 2012) builds its
k-NN graph with one ``pairwise_distances`` call per edge in a Python loop
(minutes for the conformance suite's 1,200-point pool); ``QueryInstanceQUIRE``
inverts a dense N x N kernel matrix; ``QueryInstanceBMDR``/``SPAL`` need
cvxpy; ``QueryInstanceLAL`` downloads its regressor's training data;
``QueryInstanceRandom`` draws from NumPy's global random state.

ALiPy is an optional extra (``pip install 'albench[alipy]'``), imported on
first use.
"""

from __future__ import annotations

import collections
import collections.abc
import copy
import importlib
import importlib.util
import threading
import types
from contextlib import contextmanager
from functools import partial

import numpy as np

from albench.strategy import Strategy, register, registry
from ._common import check_choice, check_positive_int, fresh_model, seed_of

PREFIX = "alipy."
INSTALL_HINT = "ALiPy is not installed; install the extra: pip install 'albench[alipy]'"
_BAGGING_LOCK = threading.Lock()


def _query_labels():
    """ALiPy's ``query_labels`` module, with ``collections.Iterable`` restored for it alone."""
    module = importlib.import_module("alipy.query_strategy.query_labels")
    if not hasattr(module.collections, "Iterable"):
        module.collections = types.SimpleNamespace(Iterable=collections.abc.Iterable, Counter=collections.Counter)
    return module


@contextmanager
def _seeded_bagging(module, seed: int):
    """ALiPy's committee draws its bootstrap samples from ``seed`` during the ``with`` block."""
    with _BAGGING_LOCK:
        original = module.BaggingClassifier
        module.BaggingClassifier = partial(original, random_state=seed)
        try:
            yield
        finally:
            module.BaggingClassifier = original


def placeholder_labels(state) -> np.ndarray:
    """The labelled points' labels; every class in turn elsewhere (never read as labels by ALiPy)."""
    filler = np.resize(np.asarray(state.classes), len(state.labelled))
    return np.where(state.labelled, state.y, filler).astype(int)


_TIES = ("ALiPy ranks with numpy argsort/argmax (nlargestarg, nsmallestarg, np.argmax), so ties go by "
         "position, not at random")


class AlipyStrategy(Strategy):
    """Calls one ALiPy strategy's ``select`` on the pool; its picks are pool indices."""

    known_failures = {"check_random_tie_breaking": _TIES}

    def __init__(self):  # parameters only where a subclass declares them
        super().__init__()

    def prepare(self, X, rng):
        _query_labels()  # import ALiPy here, so the first query's time is the query's

    def query(self, state, batch_size, rng):
        unlabelled = state.unlabelled
        k = min(int(batch_size), len(unlabelled))
        if k == 0:
            return np.empty(0, dtype=np.intp)
        picked = self.select(_query_labels(), state, np.flatnonzero(state.labelled), unlabelled, k, rng)
        return np.asarray(picked, dtype=np.intp).ravel()

    def select(self, module, state, labelled, unlabelled, k, rng):
        raise NotImplementedError


class AlipyUncertainty(AlipyStrategy):
    measure = ""

    def select(self, module, state, labelled, unlabelled, k, rng):
        qs = module.QueryInstanceUncertainty(X=state.X, y=placeholder_labels(state), measure=self.measure)
        return qs.select(labelled, unlabelled, model=state.model, batch_size=k)


@register(f"{PREFIX}least_confident", "ALiPy QueryInstanceUncertainty(measure=least_confident)")
class AlipyLeastConfident(AlipyUncertainty):
    measure = "least_confident"
    family = "least_confident"


@register(f"{PREFIX}margin", "ALiPy QueryInstanceUncertainty(measure=margin)")
class AlipyMargin(AlipyUncertainty):
    measure = "margin"
    family = "margin"


@register(f"{PREFIX}entropy", "ALiPy QueryInstanceUncertainty(measure=entropy)")
class AlipyEntropy(AlipyUncertainty):
    measure = "entropy"
    family = "entropy"


class AlipyQBC(AlipyStrategy):
    """ALiPy's query by bagging: ``BaggingClassifier`` (10 members) around a fresh copy of the learner."""

    disagreement = ""

    def select(self, module, state, labelled, unlabelled, k, rng):
        qs = module.QueryInstanceQBC(X=state.X, y=placeholder_labels(state), method="query_by_bagging",
                                     disagreement=self.disagreement)
        with _seeded_bagging(module, seed_of(rng)):
            return qs.select(labelled, unlabelled, model=fresh_model(state), batch_size=k)


@register(f"{PREFIX}qbc_vote_entropy", "ALiPy QueryInstanceQBC: vote entropy of a bagged committee")
class AlipyVoteEntropy(AlipyQBC):
    disagreement = "vote_entropy"
    family = "vote_entropy"


@register(f"{PREFIX}qbc_kl", "ALiPy QueryInstanceQBC: mean KL divergence to the consensus of a bagged committee")
class AlipyKL(AlipyQBC):
    disagreement = "KL_divergence"
    family = "kl_divergence"


@register(f"{PREFIX}coreset", "ALiPy QueryInstanceCoresetGreedy: greedy k-center (Sener & Savarese 2018)")
class AlipyCoreset(AlipyStrategy):
    """Greedy k-center on the features, a fresh ALiPy object per query (it keeps distances between calls)."""

    family = "coreset"

    def select(self, module, state, labelled, unlabelled, k, rng):
        qs = module.QueryInstanceCoresetGreedy(X=state.X, y=placeholder_labels(state),
                                               train_idx=np.arange(len(state.X)))
        return qs.select(labelled, unlabelled, batch_size=k)


@register(f"{PREFIX}density_weighted", "ALiPy QueryInstanceDensityWeighted: uncertainty x mean distance ** beta; "
                                       "dense N x N")
class AlipyDensityWeighted(AlipyStrategy):
    """ALiPy's density weighting (see the module docstring). Params: ``measure`` (entropy | margin |
    least_confident), ``beta`` (1.0), ``max_pool`` (10000: a dense matrix over the unlabelled points)."""

    family = "alipy_density_weighted"  # its weight is a mean distance: no twin among albench's strategies
    known_failures = {"check_random_tie_breaking": _TIES,
                      "check_memory_linear_in_pool": "ALiPy's QueryInstanceDensityWeighted builds an N x N distance "
                                                     "matrix of the unlabelled points (max_pool caps N)"}

    def __init__(self, measure: str = "entropy", beta: float = 1.0, max_pool: int = 10_000):
        Strategy.__init__(self, measure=measure, beta=beta, max_pool=max_pool)
        check_choice("alipy.density_weighted", "measure", measure, ("entropy", "margin", "least_confident"))
        self.measure, self.beta = measure, float(beta)
        self.max_pool = check_positive_int("alipy.density_weighted", "max_pool", max_pool)

    def select(self, module, state, labelled, unlabelled, k, rng):
        if len(unlabelled) > self.max_pool:
            raise ValueError(f"alipy.density_weighted: ALiPy builds a dense {len(unlabelled)} x {len(unlabelled)} "
                             f"distance matrix; this pool is above max_pool={self.max_pool}")
        qs = module.QueryInstanceDensityWeighted(X=state.X, y=placeholder_labels(state),
                                                 uncertainty_meansure=self.measure, beta=self.beta)
        return qs.select(labelled, unlabelled, batch_size=k, model=state.model)


@register(f"{PREFIX}eer", "ALiPy QueryExpectedErrorReduction (Roy & McCallum 2001) on a subsample")
class AlipyEER(AlipyStrategy):
    """Expected error reduction (log loss) by ALiPy, on at most ``max_candidates`` (30) unlabelled points
    drawn with the run's rng: it refits a copy of the model per candidate and class."""

    family = "expected_error_reduction"
    known_failures: dict = {}  # ties break by position within a candidate subsample drawn with the run's rng

    def __init__(self, max_candidates: int = 30):
        Strategy.__init__(self, max_candidates=max_candidates)
        self.max_candidates = check_positive_int("alipy.eer", "max_candidates", max_candidates)

    def select(self, module, state, labelled, unlabelled, k, rng):
        size = min(len(unlabelled), max(k, self.max_candidates))
        candidates = np.sort(rng.choice(unlabelled, size=size, replace=False))
        qs = module.QueryExpectedErrorReduction(X=state.X, y=placeholder_labels(state))
        return qs.select(labelled, candidates, model=copy.deepcopy(state.model), batch_size=k)


ALL = ("least_confident", "margin", "entropy", "qbc_vote_entropy", "qbc_kl", "coreset", "density_weighted", "eer")

if importlib.util.find_spec("alipy") is None:
    for _name in ALL:
        registry.entries.pop(PREFIX + _name, None)
        registry.mark_unavailable(PREFIX + _name, INSTALL_HINT)
