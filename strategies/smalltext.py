"""small-text's scikit-learn based query strategies as albench strategies, ``smalltext.<name>``.

small-text (Schröder, Niekler and Potthast 2023, "Small-Text: Active Learning
for Text Classification in Python", EACL demos) gives every strategy one
call, ``query(clf, dataset, indices_unlabeled, indices_labeled, y, n)``. The
adapter hands it:

- ``dataset``: the pool as a ``small_text.data.SklearnDataset`` with albench's
  labels, -1 where unlabelled (small-text's own ``LABEL_UNLABELED``);
- ``clf``: albench's fitted model behind small-text's ``predict_proba(dataset)``
  (``FittedClassifier``); no small-text classifier is trained;
- the unlabelled and labelled pool indices, so its picks are pool indices;
- for the embedding-based strategies (``coreset``), ``embeddings=``: the
  features, or a torch learner's embedding, in the order small-text expects
  (unlabelled points first, then labelled ones).

``smalltext.bald`` is small-text's ``BALD``, which asks the classifier for
``dropout_samples`` stochastic predictions; albench's learners have no
dropout sampling of their own, so the samples are the members of a committee
of copies of the learner fitted on bootstrap samples of the labelled set (the
committee of ``modal.*`` and ``skactiveml.*``).

Not adapted: ``RandomSampling``, ``LightweightCoreset``, ``EmbeddingKMeans`` and
``SubsamplingQueryStrategy`` draw from NumPy's global random state (k-means
without ``random_state``), which albench never touches, so a run would not be
reproducible; ``ContrastiveActiveLearning``, ``DiscriminativeActiveLearning``,
``SEALS`` and ``AnchorSubsampling`` need small-text's own classifiers or text
embeddings. Ties go to small-text's selection (``np.argpartition``): declared as
a known failure of the tie-breaking check.

small-text is an optional extra (``pip install 'albench[smalltext]'``),
imported on first use.
"""

from __future__ import annotations

import importlib
import importlib.util

import numpy as np

from albench.strategy import Strategy, register, registry
from ._common import SPACES, check_choice, check_positive_int, representation
from .modal import bootstrap_committee

PREFIX = "smalltext."
INSTALL_HINT = "small-text is not installed; install the extra: pip install 'albench[smalltext]'"
_TIES = "small-text selects with np.argpartition (coreset: np.argmax), so ties go by position, not at random"


def _query_strategies():
    return importlib.import_module("small_text.query_strategies")


class FittedClassifier:
    """albench's fitted model as the classifier small-text's strategies call.

    ``predict_proba(dataset)`` predicts on ``dataset.x``; with ``dropout_sampling=m``
    it returns (n, m, n_classes): the probabilities of each member of ``committee``.
    """

    def __init__(self, model, committee=None):
        self.model, self.committee = model, committee

    def predict_proba(self, dataset, dropout_sampling=1):
        X = dataset.x
        if dropout_sampling > 1:
            if self.committee is None or len(self.committee) != dropout_sampling:
                raise ValueError("smalltext: dropout sampling needs a committee of that many members")
            return np.stack([m.predict_proba(X) for m in self.committee], axis=1)
        return np.asarray(self.model.predict_proba(X))


def smalltext_dataset(state):
    from small_text.data import SklearnDataset

    return SklearnDataset(np.asarray(state.X), np.asarray(state.y, dtype=int), target_labels=np.asarray(state.classes))


class SmalltextStrategy(Strategy):
    """Calls one small-text query strategy on the pool (see the module docstring)."""

    cls = ""
    known_failures = {"check_random_tie_breaking": _TIES}

    def __init__(self):  # parameters only where a subclass declares them
        super().__init__()

    def prepare(self, X, rng):
        _query_strategies()  # import small-text here, so the first query's time is the query's

    def make(self):
        return getattr(_query_strategies(), self.cls)()

    def classifier(self, state, rng):
        return FittedClassifier(state.model)

    def query(self, state, batch_size, rng):
        unlabelled, labelled = state.unlabelled, np.flatnonzero(state.labelled)
        k = min(int(batch_size), len(unlabelled))
        if k == 0:
            return np.empty(0, dtype=np.intp)
        picked = self.make().query(self.classifier(state, rng), smalltext_dataset(state), unlabelled, labelled,
                                   state.y[labelled], n=k, **self.query_kwargs(state, unlabelled, labelled))
        return np.asarray(picked, dtype=np.intp).ravel()

    def query_kwargs(self, state, unlabelled, labelled) -> dict:
        return {}


@register(f"{PREFIX}least_confident", "small-text LeastConfidence: 1 - max class probability")
class SmalltextLeastConfident(SmalltextStrategy):
    cls = "LeastConfidence"
    family = "least_confident"


@register(f"{PREFIX}margin", "small-text BreakingTies: smallest gap between the two top probabilities")
class SmalltextMargin(SmalltextStrategy):
    cls = "BreakingTies"
    family = "margin"


@register(f"{PREFIX}entropy", "small-text PredictionEntropy: entropy of the predicted distribution")
class SmalltextEntropy(SmalltextStrategy):
    cls = "PredictionEntropy"
    family = "entropy"


@register(f"{PREFIX}coreset", "small-text GreedyCoreset: greedy k-center (Sener & Savarese 2018)")
class SmalltextCoreset(SmalltextStrategy):
    """small-text's greedy core-set on the features (or a torch learner's embedding, ``space: auto``).
    Params: ``distance_metric`` (euclidean | cosine), ``normalize`` (true, small-text's default: rows
    scaled to unit length first), ``space``."""

    cls = "GreedyCoreset"
    family = "coreset"

    def __init__(self, distance_metric: str = "euclidean", normalize: bool = True, space: str = "auto"):
        Strategy.__init__(self, distance_metric=distance_metric, normalize=normalize, space=space)
        check_choice("smalltext.coreset", "distance_metric", distance_metric, ("euclidean", "cosine"))
        check_choice("smalltext.coreset", "space", space, SPACES)
        self.distance_metric, self.normalize, self.space = distance_metric, bool(normalize), space

    def make(self):
        return _query_strategies().GreedyCoreset(distance_metric=self.distance_metric, normalize=self.normalize)

    def query_kwargs(self, state, unlabelled, labelled):
        Z, _ = representation(state, self.space)
        return {"embeddings": np.asarray(Z, dtype=float)[np.concatenate([unlabelled, labelled])], "pbar": None}


@register(f"{PREFIX}bald", "small-text BALD over a bootstrapped committee (Houlsby et al. 2011)")
class SmalltextBald(SmalltextStrategy):
    """small-text's BALD; its ``dropout_samples`` (10) are the members of a bootstrapped committee.
    Params: ``dropout_samples``."""

    cls = "BALD"
    family = "bald"

    def __init__(self, dropout_samples: int = 10):
        Strategy.__init__(self, dropout_samples=dropout_samples)
        self.dropout_samples = check_positive_int("smalltext.bald", "dropout_samples", dropout_samples, minimum=2)

    def make(self):
        return _query_strategies().BALD(dropout_samples=self.dropout_samples)

    def classifier(self, state, rng):
        return FittedClassifier(state.model, bootstrap_committee(state, self.dropout_samples, rng).members)


ALL = ("least_confident", "margin", "entropy", "coreset", "bald")

if importlib.util.find_spec("small_text") is None:
    for _name in ALL:
        registry.entries.pop(PREFIX + _name, None)
        registry.mark_unavailable(PREFIX + _name, INSTALL_HINT)
