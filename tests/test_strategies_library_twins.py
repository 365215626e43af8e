"""ALiPy, small-text and libact adapters (strategies/alipy.py, smalltext.py, libact.py): on pools without
ties each library's uncertainty, core-set and BALD picks equal the native twin's; the compatibility shims
stay confined to the library. (The contract checks of every adapter run in tests/test_common.py.)"""

from __future__ import annotations

import collections
import importlib.util

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from albench import checks
from albench.strategy import registry

HAVE = {lib: importlib.util.find_spec(mod) is not None
        for lib, mod in (("alipy", "alipy"), ("smalltext", "small_text"), ("libact", "libact"))}


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield


def _picks(name, pool, k, seed=0, **params):
    strategy = registry.create(name, **params)
    rng = np.random.default_rng(seed)
    state = pool.state()
    strategy.prepare(state.X, rng)
    return sorted(np.asarray(strategy.query(state, k, rng)).tolist())


TWINS = [(f"{lib}.{family}", family, lib) for lib in ("alipy", "smalltext", "libact")
         for family in ("least_confident", "margin", "entropy")]


def _require(lib: str) -> None:
    """`make test` installs every library (libact outside the extras, see the Makefile): missing is a failure."""
    if not HAVE[lib]:
        pytest.fail(f"{lib} is not installed: `make test` installs every adapter's library")


@pytest.mark.parametrize("name, native, lib", TWINS)
@pytest.mark.parametrize("k", [1, 4])
def test_uncertainty_twins_pick_what_the_native_strategy_picks(name, native, lib, k):
    _require(lib)
    pool = checks.make_pool("logreg", n=80, n_labelled=8, seed=k)
    assert _picks(name, pool, k) == _picks(native, pool, k)


@pytest.mark.parametrize("name, params, lib", [
    ("alipy.coreset", {}, "alipy"),
    ("smalltext.coreset", {"normalize": False, "space": "features"}, "smalltext"),
])
def test_coreset_twins_pick_what_the_native_k_center_picks(name, params, lib):
    _require(lib)
    pool = checks.make_pool("logreg", n=80, n_labelled=8)
    assert _picks(name, pool, 6, **params) == _picks("coreset", pool, 6, space="features")


def test_smalltext_bald_is_bald_over_the_bootstrapped_committee():
    _require("smalltext")
    from albench.strategies.bald import bald_from_members
    from albench.strategies.modal import bootstrap_committee

    pool = checks.make_pool("logreg", n=80, n_labelled=8)
    state = pool.state()
    committee = bootstrap_committee(state, 10, np.random.default_rng(0))
    scores = bald_from_members([m.predict_proba(state.X[state.unlabelled]) for m in committee])
    expected = sorted(state.unlabelled[np.argsort(-scores)[:5]].tolist())
    assert _picks("smalltext.bald", pool, 5) == expected


def test_alipy_shims_stay_inside_alipy():
    _require("alipy")
    from sklearn.ensemble import BaggingClassifier

    from albench.strategies import alipy as adapter

    pool = checks.make_pool("logreg", n=60)
    a = _picks("alipy.qbc_vote_entropy", pool, 4, seed=3)
    assert a == _picks("alipy.qbc_vote_entropy", pool, 4, seed=3)  # the committee is seeded from the rng
    module = adapter._query_labels()
    assert module.BaggingClassifier is BaggingClassifier  # restored after the call
    assert not hasattr(collections, "Iterable")  # the standard library is not patched
    assert module.collections.Iterable is collections.abc.Iterable


def test_alipy_never_sees_an_unlabelled_label():
    _require("alipy")
    from albench.strategies.alipy import placeholder_labels

    pool = checks.make_pool("logreg", n=30, n_classes=3, n_labelled=4)
    state = pool.state()
    labels = placeholder_labels(state)
    assert (labels[state.labelled] == pool.y_true[state.labelled]).all()
    assert labels[~state.labelled].tolist() == np.resize(np.arange(3), 30)[~state.labelled].tolist()


def test_uninstalled_libraries_are_listed_with_an_install_hint():
    for lib, installed in HAVE.items():
        name = f"{lib}.least_confident"
        if installed:
            assert name in registry.names()
        else:
            assert "pip install" in registry.unavailable[name]
