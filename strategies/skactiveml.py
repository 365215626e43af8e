"""scikit-activeml's pool strategies as albench strategies, ``skactiveml.<name>``, through one adapter.

scikit-activeml (Kottke et al. 2021, "scikit-activeml: A Library and Toolbox
for Active Learning Algorithms") gives every pool strategy one signature,
``query(X, y, [clf | ensemble | estimator], candidates=, batch_size=)``, with
unlabelled points marked by ``MISSING_LABEL`` (NaN) in ``y``. The adapter
(``SkactivemlStrategy``) maps albench's state to it:

- ``y``: the labels of the labelled points, ``MISSING_LABEL`` elsewhere;
- ``candidates``: the unlabelled pool indices, so the returned indices are
  pool indices already;
- the model: albench's fitted model wrapped as a ``SkactivemlClassifier``
  (``fitted_classifier``) and passed with ``fit_clf=False``; a committee is a
  list of such wrappers around copies of the learner fitted on bootstrap
  samples (the same committee as ``modal.*``); a network learner's embedding
  is passed to the strategies that take one (``clf_embedding_flag_name``);
- ``random_state``: an integer drawn from the run's strategy rng.

The batch it returns is checked like any other by the AL loop (and by the
conformance suite, ``albench check-strategy``): no silent repair.

scikit-activeml is an optional extra (``pip install 'albench[skactiveml]'``);
without it every name here is listed as unavailable. It is imported on first
use: it imports torch, which costs seconds at every start.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

import numpy as np

from albench.strategy import Strategy, register, registry
from albench.strategies.modal import bootstrap_committee

PREFIX = "skactiveml."
INSTALL_HINT = "scikit-activeml is not installed; install the extra: pip install 'albench[skactiveml]'"
EMBEDDING_FLAG = "return_embeddings"


@dataclass(frozen=True)
class Entry:
    """One scikit-activeml strategy: its class, fixed arguments, and the model argument it takes."""

    cls: str
    description: str
    model_arg: str | None = None  # None | "clf" | "ensemble" | "estimator"
    kwargs: dict = field(default_factory=dict)
    embedding: bool = False  # takes clf_embedding_flag_name
    max_candidates: int | None = None  # wrapped in SubSamplingWrapper (refits per candidate)
    refit: bool = False  # fit_clf=True: it refits (partial_fit) from a classifier it fitted itself
    seed_clustering: bool = False  # its k-means does not receive random_state unless passed in cluster_algo_dict
    known_failures: dict = field(default_factory=dict)  # check name -> reason (albench.checks)


ENTRIES: dict[str, Entry] = {
    "random": Entry("RandomSampling", "uniform random sampling"),
    "least_confident": Entry("UncertaintySampling", "least confident (Settles 2009)", "clf",
                             {"method": "least_confident"}),
    "margin": Entry("UncertaintySampling", "margin sampling (Settles 2009)", "clf", {"method": "margin_sampling"}),
    "entropy": Entry("UncertaintySampling", "entropy sampling (Settles 2009)", "clf", {"method": "entropy"}),
    "qbc_kl": Entry("QueryByCommittee", "query by committee, mean KL to the consensus (McCallum & Nigam 1998)",
                    "ensemble", {"method": "KL_divergence"}),
    "qbc_vote_entropy": Entry("QueryByCommittee", "query by committee, vote entropy (Dagan & Engelson 1995)",
                              "ensemble", {"method": "vote_entropy"}),
    "qbc_variation_ratios": Entry("QueryByCommittee", "query by committee, variation ratios (Freeman 1965)",
                                  "ensemble", {"method": "variation_ratios"}),
    "bald": Entry("GreedyBALD", "BALD over a bootstrapped committee (Houlsby et al. 2011)", "ensemble"),
    "batch_bald": Entry("BatchBALD", "BatchBALD over a bootstrapped committee (Kirsch et al. 2019)", "ensemble",
                        known_failures={"check_duplicate_points": (
                            "scikit-activeml 1.0.1's BatchBALD picks each batch member again by an argmax over its "
                            "utility rows with other tie-breaking than its greedy loop, so exact ties (duplicate "
                            "points) can give the same index twice, which the AL loop rejects")}),
    "core_set": Entry("CoreSet", "core-set, greedy k-center (Sener & Savarese 2018)"),
    "badge": Entry("Badge", "BADGE, k-means++ on gradient embeddings (Ash et al. 2020)", "clf", embedding=True,
                   known_failures={"check_duplicate_points": (
                       "scikit-activeml 1.0.1's Badge resets its D^2 distances to inf once every remaining "
                       "gradient embedding coincides with a picked one, forgets the picks so far and can pick one "
                       "again: a batch larger than the number of distinct embeddings (duplicate points, or "
                       "confident points whose embedding is zero) holds the same index twice, which the AL loop "
                       "rejects")}),
    "typiclust": Entry("TypiClust", "TypiClust, typical points of uncovered clusters (Hacohen et al. 2022)",
                       known_failures={"check_duplicate_points": (
                           "scikit-activeml 1.0.1's TypiClust, once every cluster is covered, picks at random among "
                           "all candidates without excluding its earlier picks, so a batch larger than the number of "
                           "uncovered clusters (duplicate points leave k-means clusters empty) can hold the same index "
                           "twice, which the AL loop rejects")}),
    "prob_cover": Entry("ProbCover", "ProbCover, greedy ball coverage (Yehuda et al. 2022)"),
    "greedy_x": Entry("GreedySamplingX", "greedy sampling in feature space (Wu et al. 2019)"),
    "max_herding": Entry("MaxHerding", "MaxHerding, kernel herding coverage (Bae et al. 2025)"),
    "falcun": Entry("Falcun", "FALCUN, uncertainty-weighted diversity (Gilhuber et al. 2024)", "clf"),
    "clue": Entry("Clue", "CLUE, uncertainty-weighted k-means (Prabhu et al. 2021)", "estimator",
                  seed_clustering=True),
    "contrastive_al": Entry("ContrastiveAL", "contrastive active learning (Margatina et al. 2021)", "clf",
                            embedding=True),
    "eer": Entry("MonteCarloEER", "expected error reduction, Monte Carlo (Roy & McCallum 2001), on a subsample",
                 "clf", max_candidates=30, refit=True),
}


# the native strategy each one implements too: implementation twins (``albench analyze``)
FAMILIES = {"random": "random", "least_confident": "least_confident", "margin": "margin", "entropy": "entropy",
            "qbc_kl": "kl_divergence", "qbc_vote_entropy": "vote_entropy", "bald": "bald", "batch_bald": "batchbald", "core_set": "coreset",
            "badge": "badge", "typiclust": "typiclust", "prob_cover": "probcover", "eer": "expected_error_reduction"}


def installed() -> bool:
    return importlib.util.find_spec("skactiveml") is not None


def _known_failures_apply() -> bool:
    """The declared known failures were found in scikit-activeml 1.0.1; a newer release is checked afresh."""
    try:
        return version("scikit-activeml") == "1.0.1"
    except PackageNotFoundError:
        return False


def _pool():
    return importlib.import_module("skactiveml.pool")


@lru_cache(maxsize=1)
def _fitted_classifier_class():
    """``FittedClassifier``, defined on first use (it subclasses scikit-activeml's base class)."""
    from sklearn.base import clone
    from skactiveml.base import SkactivemlClassifier
    from skactiveml.utils import MISSING_LABEL

    class FittedClassifier(SkactivemlClassifier):
        """An albench model (``AlignedClassifier``) as a ``SkactivemlClassifier``.

        ``predict_proba`` delegates to the fitted ``model_``; ``fit`` refits a fresh copy
        on the labelled rows (for strategies that refit on hypothetical labels).
        """

        def __init__(self, model=None, classes=None, missing_label=MISSING_LABEL, random_state=None):
            super().__init__(classes=classes, missing_label=missing_label, random_state=random_state)
            self.model = model

        def fit(self, X, y, sample_weight=None):
            y = np.asarray(y, dtype=float)
            rows = ~np.isnan(y)
            fit_params = {} if sample_weight is None else {"sample_weight": np.asarray(sample_weight)[rows]}
            self.model_ = clone(self.model).fit(np.asarray(X)[rows], y[rows].astype(int), **fit_params)
            self.classes_ = np.asarray(self.classes)
            return self

        def predict_proba(self, X, **kwargs):
            proba = self.model_.predict_proba(X)
            if kwargs.get(EMBEDDING_FLAG):
                return proba, self.model_.embed(X)
            return proba

        def predict(self, X):
            return self.classes_[self.predict_proba(X).argmax(axis=1)]

    return FittedClassifier


def fitted_classifier(model, classes):
    """Wrap an already fitted albench model for ``fit_clf=False``."""
    clf = _fitted_classifier_class()(model=model, classes=np.asarray(classes))
    clf.model_ = model
    clf.classes_ = np.asarray(classes)
    return clf


def skactiveml_labels(state) -> np.ndarray:
    """albench's labels as scikit-activeml's ``y``: float, ``MISSING_LABEL`` where unlabelled."""
    from skactiveml.utils import MISSING_LABEL

    return np.where(state.labelled, state.y, MISSING_LABEL).astype(float)


class SkactivemlStrategy(Strategy):
    """The one adapter: runs ``entry``'s scikit-activeml strategy on albench's state.

    ``params`` go to the scikit-activeml constructor (for the committee strategies,
    ``n_members``, default 5, sets the committee size; for the sub-sampled ones,
    ``max_candidates`` the subsample).
    """

    entry: Entry
    name: str
    # set by the adapter from albench's state, never by a grid
    ADAPTER_SET = frozenset({"self", "random_state", "missing_label", "clf", "ensemble", "estimator", "fit_clf",
                             "fit_ensemble", "fit_estimator"})

    def __init__(self, **params):
        unknown = sorted(set(params) - set(self.declared_parameters().parameters))
        if unknown:  # as a class with an explicit signature would: the parameters are ``declared_parameters``
            raise TypeError(f"{PREFIX}{self.name}: unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
                            f"accepted: {', '.join(self.declared_parameters().parameters)}")
        super().__init__(**params)

    @classmethod
    def declared_parameters(cls) -> inspect.Signature:
        """The scikit-activeml class's constructor parameters (less the ones the adapter sets), plus
        ``n_members`` for committees and ``max_candidates`` for the sub-sampled strategies."""
        theirs = inspect.signature(getattr(_pool(), cls.entry.cls)).parameters.values()
        keep = [p for p in theirs if p.name not in cls.ADAPTER_SET and p.name not in cls.entry.kwargs
                and p.kind is p.POSITIONAL_OR_KEYWORD]
        ours = [inspect.Parameter("max_candidates", inspect.Parameter.KEYWORD_ONLY, default=cls.entry.max_candidates,
                                  annotation=int | None)]
        if cls.entry.model_arg == "ensemble":
            ours.append(inspect.Parameter("n_members", inspect.Parameter.KEYWORD_ONLY, default=5, annotation=int))
        return inspect.Signature([p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in keep] + ours)

    def prepare(self, X, rng):
        _pool()  # import scikit-activeml (and torch) here, so the first query's time is the query's

    def query(self, state, batch_size, rng):
        candidates = state.unlabelled
        k = min(int(batch_size), len(candidates))
        if k == 0:
            return np.empty(0, dtype=np.intp)
        params = dict(self.params)
        n_members = params.pop("n_members", 5)
        max_candidates = params.pop("max_candidates", self.entry.max_candidates)
        seed = int(rng.integers(2**31 - 1))
        kwargs = {}
        if self.entry.seed_clustering:
            params.setdefault("cluster_algo_dict", {"random_state": seed})
        if self.entry.model_arg == "clf":
            kwargs = {"clf": fitted_classifier(state.model, state.classes), "fit_clf": self.entry.refit}
            if self.entry.embedding and getattr(state.model, "supports_embedding", False):
                params.setdefault("clf_embedding_flag_name", EMBEDDING_FLAG)
        elif self.entry.model_arg == "estimator":
            kwargs = {"estimator": fitted_classifier(state.model, state.classes), "fit_estimator": False}
        elif self.entry.model_arg == "ensemble":
            committee = bootstrap_committee(state, n_members, rng)
            kwargs = {"ensemble": [fitted_classifier(m, state.classes) for m in committee], "fit_ensemble": False}
        qs = getattr(_pool(), self.entry.cls)(**self.entry.kwargs, **params, random_state=seed)
        if max_candidates is not None and len(candidates) > max_candidates:
            qs = _pool().SubSamplingWrapper(query_strategy=qs, max_candidates=int(max_candidates),
                                            random_state=seed)
        idx = qs.query(np.asarray(state.X), skactiveml_labels(state), candidates=candidates, batch_size=k, **kwargs)
        return np.asarray(idx, dtype=np.intp)


for _name, _entry in ENTRIES.items():
    _cls = type(f"Skactiveml_{_name}", (SkactivemlStrategy,),
                {"entry": _entry, "name": _name, "__doc__": f"scikit-activeml's {_entry.cls}: {_entry.description}.",
                 "family": FAMILIES.get(_name),
                 "known_failures": _entry.known_failures if _known_failures_apply() else {}})
    if installed():
        register(PREFIX + _name, f"scikit-activeml {_entry.cls}: {_entry.description}")(_cls)
    else:
        registry.mark_unavailable(PREFIX + _name, INSTALL_HINT)
