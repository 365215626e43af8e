"""libact's uncertainty sampling as albench strategies, ``libact.<name>``.

libact (Yang, Lee, Chung, Wu, Chen, Lin and others 2017, "libact: Pool-based
Active Learning in Python") asks each strategy for one point at a time,
``make_query()``, over a ``libact.base.dataset.Dataset`` whose unlabelled
entries are ``None``, and trains its model itself (``model.train(dataset)``).
The adapter hands it albench's fitted model as a libact ``ProbabilisticModel``
whose ``train`` does nothing (``FittedModel``), so libact scores with the very
model of the run. For a batch of k, the adapter asks libact for its scores
(``make_query(return_score=True)``) and takes the k best in libact's order (a
stable sort, so the first is libact's own ``np.argmax`` pick).

Adapted: ``UncertaintySampling`` with methods ``lc`` (least confident),
``sm`` (smallest margin) and ``entropy``. Not adapted: ``QueryByCommittee``,
``DWUS``, ``DensityWeightedMeta`` and ``QUIRE`` return one point and no scores
(a batch would need the adapter to reimplement their selection); ``HintSVM``
and ``VarianceReduction`` are C extensions; libact's own ALBL is the reference
of the native ``albl`` (``tests/test_strategies_albl.py``).

Installing: libact 0.1.6 (its last release) pins ``scikit-learn<=0.19.2``,
builds C extensions with Cython and LAPACK at install time and imports ``six``
without declaring it, so ``pip install libact`` fails on current Python and
scikit-learn. Its Python code runs unchanged on them once installed by hand::

    pip install cython six
    LIBACT_BUILD_HINTSVM=0 LIBACT_BUILD_VARIANCE_REDUCTION=0 pip install --no-deps --no-build-isolation libact

Without it every name here is listed as unavailable with that hint.
"""

from __future__ import annotations

import importlib
import importlib.util

import numpy as np

from albench.strategy import Strategy, register, registry

PREFIX = "libact."
INSTALL_HINT = ("libact is not installed; it cannot install through pip's dependency resolution on current "
                "scikit-learn: pip install cython six && LIBACT_BUILD_HINTSVM=0 LIBACT_BUILD_VARIANCE_REDUCTION=0 "
                "pip install --no-deps --no-build-isolation libact")
_TIES = "libact picks with np.argmax over its scores, so ties go by position, not at random"


def _libact(module: str):
    return importlib.import_module(f"libact.{module}")


def fitted_model(model):
    """albench's fitted model as a libact ``ProbabilisticModel`` (``train`` is a no-op)."""
    base = _libact("base.interfaces").ProbabilisticModel

    class FittedModel(base):
        def train(self, dataset, *args, **kwargs):
            return self

        def predict(self, feature, *args, **kwargs):
            return np.asarray(model.predict(feature))

        def score(self, testing_dataset, *args, **kwargs):
            X, y = testing_dataset.format_sklearn()
            return float(np.mean(self.predict(X) == y))

        def predict_real(self, feature, *args, **kwargs):
            return self.predict_proba(feature)

        def predict_proba(self, feature, *args, **kwargs):
            return np.asarray(model.predict_proba(feature))

    return FittedModel()


def libact_dataset(state):
    """The pool as libact's ``Dataset``: labels where labelled, ``None`` elsewhere."""
    labels = [int(v) if known else None for v, known in zip(state.y, state.labelled)]
    return _libact("base.dataset").Dataset(np.asarray(state.X), labels)


class LibactUncertainty(Strategy):
    """libact's ``UncertaintySampling(method=...)`` on albench's fitted model."""

    method = ""
    known_failures = {"check_random_tie_breaking": _TIES}

    def __init__(self):
        super().__init__()

    def prepare(self, X, rng):
        _libact("query_strategies")  # import libact here, so the first query's time is the query's

    def query(self, state, batch_size, rng):
        k = min(int(batch_size), len(state.unlabelled))
        if k == 0:
            return np.empty(0, dtype=np.intp)
        qs = _libact("query_strategies").UncertaintySampling(libact_dataset(state), model=fitted_model(state.model),
                                                             method=self.method)
        _, scored = qs.make_query(return_score=True)
        ids, scores = (np.asarray(col) for col in zip(*scored))
        scores = np.where(np.isnan(scores.astype(float)), np.inf, scores)  # np.argmax takes the first NaN (0 log 0)
        return ids[np.argsort(-scores, kind="stable")[:k]].astype(np.intp)


@register(f"{PREFIX}least_confident", "libact UncertaintySampling(method=lc): least confident")
class LibactLeastConfident(LibactUncertainty):
    method = "lc"
    family = "least_confident"


@register(f"{PREFIX}margin", "libact UncertaintySampling(method=sm): smallest margin")
class LibactMargin(LibactUncertainty):
    method = "sm"
    family = "margin"


@register(f"{PREFIX}entropy", "libact UncertaintySampling(method=entropy)")
class LibactEntropy(LibactUncertainty):
    method = "entropy"
    family = "entropy"


ALL = ("least_confident", "margin", "entropy")

if importlib.util.find_spec("libact") is None:
    for _name in ALL:
        registry.entries.pop(PREFIX + _name, None)
        registry.mark_unavailable(PREFIX + _name, INSTALL_HINT)
