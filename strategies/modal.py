"""modAL's query functions as albench strategies, ``modal.<name>``, beside the native ones.

modAL (Danka and Horvath, 2018, "modAL: A modular active learning framework
for Python") is widely used, but its version 0.4.2.1 no longer works end to
end with current libraries: ``ActiveLearner.fit`` passes ``force_all_finite``,
which scikit-learn removed, and ``modAL.expected_error`` uses ``np.float``,
which NumPy 2 removed. Its query functions still work when called directly, so
each adapter here hands them albench's fitted model (``state.model``) and the
unlabelled part of the pool, and maps the positions they return (into that
subset) back to pool indices. None of modAL's learner classes is used: a small
view gives the attributes a query function reads (``X_training``,
``y_training``, ``estimator``), and ``ModalCommittee`` gives what the
disagreement measures read (``vote``, ``vote_proba``, ``predict_proba``).

modAL is imported on first use, not when the registry loads: it imports torch,
which costs seconds at every start.

Deliberate differences from the native strategies, kept so that a grid
measures modAL as users run it:

- ties go to modAL's default selection (``multi_argmax``, the order of
  ``np.argpartition``), not to a random pick: modAL's own random tie breaking
  draws from NumPy's global random state, which albench never touches;
- ``modal.information_density`` uses modAL's ``information_density``, which
  builds the dense N x N distance matrix; above ``max_pool`` points it refuses
  with a clear error instead of exhausting the memory.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from importlib.metadata import PackageNotFoundError, version

import numpy as np

from albench.strategy import Strategy, register, registry
from albench.strategies._common import fresh_model, same_pool

PREFIX = "modal."


def _modal(module: str):
    """A modAL module, imported on first use."""
    return importlib.import_module(f"modAL.{module}")


class ModalCommittee:
    """The part of modAL's ``Committee`` that its disagreement measures read.

    ``members`` are fitted ``AlignedClassifier`` objects, so every member's
    probabilities have one column per class of the data set.
    """

    def __init__(self, members, classes):
        self.members = list(members)
        self.classes_ = np.asarray(classes)

    def __len__(self):
        return len(self.members)

    def __iter__(self):
        return iter(self.members)

    def vote(self, X):
        """(n, n_members) predicted labels."""
        return np.column_stack([m.predict(X) for m in self.members])

    def vote_proba(self, X):
        """(n, n_members, n_classes) class probabilities, as modAL's ``Committee.vote_proba``."""
        return np.stack([m.predict_proba(X) for m in self.members], axis=1)

    def predict_proba(self, X):
        """The consensus: members' probabilities averaged."""
        return self.vote_proba(X).mean(axis=1)


def bootstrap_committee(state, n_members: int, rng: np.random.Generator) -> ModalCommittee:
    """``n_members`` copies of the learner, each fitted on a bootstrap sample of the labelled set
    (query by bagging, Abe and Mamitsuka 1998). The draws are those of the native committee
    (``strategies.committee.committee_proba``: one ``rng.integers(0, n, n)`` per member, in
    order), so under the same rng both fit the same committee and differ only in the measure."""
    idx = np.flatnonzero(state.labelled)
    X_lab, y_lab = state.X[idx], state.y[idx]
    members = []
    for _ in range(int(n_members)):
        boot = rng.integers(0, len(idx), size=len(idx))
        members.append(fresh_model(state).fit(X_lab[boot], y_lab[boot]))
    return ModalCommittee(members, state.classes)


class _LearnerView:
    """What modAL's batch and expected-error functions read from an ``ActiveLearner``."""

    on_transformed = False

    def __init__(self, model, X_training, y_training, estimator):
        self.model = model
        self.X_training = X_training
        self.y_training = y_training
        self.estimator = estimator
        # modAL's expected error assumes probability columns = the labels seen so far
        self._seen = np.unique(y_training)

    def predict_proba(self, X):
        return self.model.predict_proba(X)[:, self._seen]


class ModalStrategy(Strategy):
    """Calls one modAL query function on the unlabelled points; maps its picks to pool indices."""

    def __init__(self):  # no parameters unless a subclass declares them (a typo fails, not ignored)
        super().__init__()

    def prepare(self, X, rng):
        _modal("utils.selection")  # import modAL (and torch) here, so the first query's time is the query's

    def query(self, state, batch_size, rng):
        candidates = state.unlabelled
        k = min(int(batch_size), len(candidates))
        if k == 0:
            return np.empty(0, dtype=np.intp)
        picked = np.asarray(self.pick(state, candidates, k, rng)).ravel().astype(np.intp)
        return candidates[picked]

    def pick(self, state, candidates: np.ndarray, k: int, rng) -> np.ndarray:
        """Positions into ``candidates`` (modAL's return value, first element)."""
        raise NotImplementedError


class ModalFunction(ModalStrategy):
    """One of modAL's ``*_sampling(classifier, X, n_instances)`` functions on the fitted model."""

    module = "uncertainty"
    function = ""

    def estimator(self, state, rng):
        return state.model

    def pick(self, state, candidates, k, rng):
        fn = getattr(_modal(self.module), self.function)
        return fn(self.estimator(state, rng), state.X[candidates], n_instances=k)[0]


@register(f"{PREFIX}uncertainty", "modAL uncertainty_sampling: 1 - max probability (least confident)")
class ModalUncertainty(ModalFunction):
    """Least confident (Lewis and Gale 1994) by modAL's ``uncertainty_sampling``."""

    family = "least_confident"

    function = "uncertainty_sampling"


@register(f"{PREFIX}margin", "modAL margin_sampling: smallest gap between the two top probabilities")
class ModalMargin(ModalFunction):
    """Margin (Scheffer et al. 2001) by modAL's ``margin_sampling``."""

    family = "margin"

    function = "margin_sampling"


@register(f"{PREFIX}entropy", "modAL entropy_sampling: entropy of the predicted distribution")
class ModalEntropy(ModalFunction):
    """Entropy (Settles 2009) by modAL's ``entropy_sampling``."""

    family = "entropy"

    function = "entropy_sampling"


@register(f"{PREFIX}ranked_batch", "modAL uncertainty_batch_sampling: ranked batch (Cardoso et al. 2017)")
class ModalRankedBatch(ModalStrategy):
    """Ranked batch-mode sampling (Cardoso et al. 2017, Information Sciences): each pick trades
    uncertainty against distance to the labelled set and the picks so far. Params: ``metric``."""

    def __init__(self, metric: str = "euclidean"):
        Strategy.__init__(self, metric=metric)
        self.metric = metric

    def pick(self, state, candidates, k, rng):
        view = _LearnerView(state.model, state.X[state.labelled], state.y[state.labelled], None)
        return _modal("batch").uncertainty_batch_sampling(view, state.X[candidates], n_instances=k,
                                                          metric=self.metric)[0]


@register(f"{PREFIX}information_density",
          "modAL information_density x uncertainty (Settles and Craven 2008); dense N x N")
class ModalInformationDensity(ModalStrategy):
    """Information density weighting (Settles and Craven 2008): uncertainty times the mean
    similarity 1 / (1 + distance) to the pool, raised to ``beta``. The density comes from modAL's
    ``information_density`` on the whole pool, once per run. Params: ``beta`` (1.0), ``metric``
    (euclidean), ``max_pool`` (10000: modAL builds an N x N matrix)."""

    family = "information_density"

    def __init__(self, beta: float = 1.0, metric: str = "euclidean", max_pool: int = 10_000):
        Strategy.__init__(self, beta=beta, metric=metric, max_pool=max_pool)
        self.beta, self.metric, self.max_pool = float(beta), metric, int(max_pool)

    def prepare(self, X, rng):
        super().prepare(X, rng)
        max_pool = self.max_pool
        if len(X) > max_pool:
            gib = len(X) ** 2 * 8 / 2**30
            raise ValueError(f"modal.information_density: modAL's information_density builds a dense "
                             f"{len(X)} x {len(X)} matrix ({gib:.1f} GiB); this pool is above max_pool={max_pool}")
        self.density_ = _modal("density").information_density(X, metric=self.metric)
        self._pool = X

    def pick(self, state, candidates, k, rng):
        if not same_pool(getattr(self, "_pool", None), state.X):  # queried without prepare, or on another pool
            self.prepare(state.X, rng)
        uncertainty = _modal("uncertainty").classifier_uncertainty(state.model, state.X[candidates])
        scores = uncertainty * self.density_[candidates] ** self.beta
        return _modal("utils.selection").multi_argmax(scores, n_instances=k)[0]


class ModalDisagreement(ModalFunction):
    """Query by committee (Seung et al. 1992): a committee of ``n_members`` (5) copies of the
    learner fitted on bootstrap samples, scored by one of modAL's disagreement measures."""

    module = "disagreement"

    def __init__(self, n_members: int = 5):
        Strategy.__init__(self, n_members=n_members)
        self.n_members = int(n_members)

    def estimator(self, state, rng):
        return bootstrap_committee(state, self.n_members, rng)


@register(f"{PREFIX}vote_entropy", "modAL vote_entropy_sampling over a bootstrapped committee (Dagan & Engelson 1995)")
class ModalVoteEntropy(ModalDisagreement):
    family = "vote_entropy"
    function = "vote_entropy_sampling"


@register(f"{PREFIX}consensus_entropy", "modAL consensus_entropy_sampling: entropy of the committee's mean probability")
class ModalConsensusEntropy(ModalDisagreement):
    family = "consensus_entropy"
    function = "consensus_entropy_sampling"


@register(f"{PREFIX}max_disagreement", "modAL max_disagreement_sampling: largest member KL to the consensus "
          "(McCallum & Nigam 1998)")
class ModalMaxDisagreement(ModalDisagreement):
    function = "max_disagreement_sampling"


def _expected_error_problem() -> str | None:
    """Why ``modAL.expected_error`` cannot load here, without importing modAL (which imports torch).

    modAL-python 0.4.2.1 annotates a parameter with ``np.float``; with NumPy 2 the
    module raises AttributeError on import (``tests/test_modal_twins.py`` checks that).
    """
    try:
        modal_version = version("modAL-python")
    except PackageNotFoundError:
        return None
    if modal_version == "0.4.2.1" and not hasattr(np, "float"):
        return (f"modAL-python {modal_version}'s modAL.expected_error does not import with NumPy "
                f"{np.__version__}: it uses np.float, removed in NumPy 2")
    return None


class ModalExpectedErrorReduction(ModalStrategy):
    """Expected error reduction (Roy and McCallum 2001) by modAL's ``expected_error_reduction``,
    on at most ``max_candidates`` (100) unlabelled points drawn with the run's rng (modAL's own
    ``p_subsample`` draws from the global random state). Params: ``loss`` (binary | log)."""

    family = "expected_error_reduction"

    def __init__(self, loss: str = "binary", max_candidates: int = 100):
        Strategy.__init__(self, loss=loss, max_candidates=max_candidates)
        if loss not in ("binary", "log"):
            raise ValueError(f"modal.expected_error_reduction: loss must be binary or log; got {loss!r}")
        # modAL compares with `loss is 'binary'`: only the interned string is identical to its literal
        self.loss, self.max_candidates = sys.intern(loss), int(max_candidates)

    def pick(self, state, candidates, k, rng):
        n_sub = min(len(candidates), max(k, self.max_candidates))
        sub = np.sort(rng.choice(len(candidates), size=n_sub, replace=False))
        view = _LearnerView(state.model, state.X[state.labelled], state.y[state.labelled], fresh_model(state))
        fn = _modal("expected_error").expected_error_reduction
        picked = fn(view, state.X[candidates[sub]], loss=self.loss, n_instances=k)[0]
        return sub[np.asarray(picked).ravel()]


ALL = ("uncertainty", "margin", "entropy", "ranked_batch", "information_density", "vote_entropy",
       "consensus_entropy", "max_disagreement", "expected_error_reduction")

if importlib.util.find_spec("modAL") is None:
    for _name in ALL:
        registry.entries.pop(PREFIX + _name, None)
        registry.mark_unavailable(PREFIX + _name, "modAL-python is not installed (pip install modAL-python)")
elif (_problem := _expected_error_problem()) is not None:
    registry.mark_unavailable(f"{PREFIX}expected_error_reduction", _problem)
else:
    register(f"{PREFIX}expected_error_reduction", "modAL expected_error_reduction on a subsample (Roy & McCallum 2001)")(
        ModalExpectedErrorReduction)
