"""Torch learners: scikit-learn contract, determinism, learning, embedding, MC dropout, warm start."""

from __future__ import annotations

import numpy as np
import pytest
import torch  # the `deep` extra: `make test` installs it (missing: a failure, not a skip)

from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import check_estimator

from albench import datasets
from albench.deep import networks
from albench.deep.torch_learners import TorchCNNClassifier, TorchMLPClassifier
from albench.learners import AlignedClassifier, make_learner

FAST = {"epochs": 8, "width": 32, "random_state": 0}


@pytest.fixture(scope="module")
def digits():
    d = datasets.load("digits")
    X_tr, X_te, y_tr, y_te = train_test_split(d.X, d.y, train_size=600, stratify=d.y, random_state=0)
    return X_tr, X_te, y_tr, y_te


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # array-API inputs: not applicable
def test_mlp_passes_scikit_learn_estimator_checks():
    # scikit-learn's own conformance suite: get_params/clone, validation in fit,
    # NotFittedError, n_features_in_, fitted attributes, pickling, class labels...
    check_estimator(TorchMLPClassifier(epochs=10, width=16, random_state=0))


@pytest.mark.parametrize("name", ["torch_mlp", "torch_cnn"])
def test_registered_by_name_with_params_and_seed(name):
    est = make_learner(name, {"epochs": 3, "dropout": 0.1}, random_state=11)
    assert est.epochs == 3 and est.dropout == 0.1 and est.random_state == 11
    assert clone(est).get_params() == est.get_params()


@pytest.mark.parametrize("cls", [TorchMLPClassifier, TorchCNNClassifier])
def test_learns_digits_well_above_chance(cls, digits):
    X_tr, X_te, y_tr, y_te = digits
    model = cls(epochs=15, channels=16, random_state=0) if cls is TorchCNNClassifier else cls(epochs=15, random_state=0)
    model.fit(X_tr, y_tr)
    accuracy = (model.predict(X_te) == y_te).mean()
    assert accuracy > 0.85  # chance is 0.1
    assert model.loss_curve_[-1] < 0.5 * model.loss_curve_[0]


@pytest.mark.parametrize("cls", [TorchMLPClassifier, TorchCNNClassifier])
def test_deterministic_under_its_seed_and_leaves_global_rng_alone(cls, digits):
    X_tr, X_te, y_tr, _ = digits
    X_tr, y_tr = X_tr[:200], y_tr[:200]
    global_state = torch.random.get_rng_state()
    a = cls(**FAST).fit(X_tr, y_tr)
    b = cls(**FAST).fit(X_tr, y_tr)
    assert torch.equal(torch.random.get_rng_state(), global_state)  # no global draws, no global seed
    np.testing.assert_array_equal(a.predict_proba(X_te), b.predict_proba(X_te))
    np.testing.assert_array_equal(a.embed(X_te), b.embed(X_te))
    np.testing.assert_array_equal(a.sample_proba(X_te, 4), b.sample_proba(X_te, 4))
    assert a.loss_curve_ == b.loss_curve_
    other = cls(**{**FAST, "random_state": 1}).fit(X_tr, y_tr)
    assert not np.array_equal(a.predict_proba(X_te), other.predict_proba(X_te))
    assert torch.get_num_threads() == 1  # the default n_threads


@pytest.mark.parametrize("cls", [TorchMLPClassifier, TorchCNNClassifier])
def test_embedding_is_the_input_of_the_output_layer(cls, digits):
    X_tr, X_te, y_tr, _ = digits
    model = cls(**FAST).fit(X_tr[:150], y_tr[:150])
    emb = model.embed(X_te)
    assert emb.shape == (len(X_te), 32)
    with torch.no_grad():
        logits = model.net_.head(torch.tensor(emb, dtype=torch.float32)).double()
    np.testing.assert_allclose(torch.softmax(logits, 1).numpy(), model.predict_proba(X_te), atol=1e-5)


def test_mc_dropout_samples(digits):
    X_tr, X_te, y_tr, _ = digits
    model = TorchMLPClassifier(**{**FAST, "dropout": 0.5}).fit(X_tr[:150], y_tr[:150])
    samples = model.sample_proba(X_te[:50], 6)
    assert samples.shape == (6, 50, 10)
    np.testing.assert_allclose(samples.sum(axis=2), 1.0)
    assert not np.allclose(samples[0], samples[1])  # dropout is on
    np.testing.assert_array_equal(samples, model.sample_proba(X_te[:50], 6))  # reproducible
    # predictions (dropout off) do not depend on a previous sampling call
    np.testing.assert_array_equal(model.predict_proba(X_te), clone(model).fit(X_tr[:150], y_tr[:150])
                                  .predict_proba(X_te))
    # without dropout every sample is the deterministic prediction
    plain = TorchMLPClassifier(**{**FAST, "dropout": 0.0}).fit(X_tr[:150], y_tr[:150])
    samples = plain.sample_proba(X_te[:20], 3)
    for s in samples:
        np.testing.assert_allclose(s, plain.predict_proba(X_te[:20]))


def test_only_seen_classes_then_aligned(digits):
    X_tr, _, y_tr, _ = digits
    mask = np.isin(y_tr, [2, 5, 7])
    model = AlignedClassifier(TorchMLPClassifier(**FAST), n_classes=10).fit(X_tr[mask], y_tr[mask])
    assert list(model.estimator_.classes_) == [2, 5, 7]
    assert model.estimator_.sample_proba(X_tr[:5], 3).shape == (3, 5, 3)
    aligned = model.sample_proba(X_tr[:5], 3)
    assert aligned.shape == (3, 5, 10) and (aligned[..., [0, 1, 3, 4, 6, 8, 9]] == 0).all()
    assert model.supports_embedding and model.embed(X_tr[:5]).shape == (5, 32)


def test_warm_start_continues_and_grows_the_output_layer(digits):
    X_tr, _, y_tr, _ = digits
    first, later = np.isin(y_tr, [0, 1, 2]), np.isin(y_tr, [0, 1, 2, 3])
    warm = AlignedClassifier(TorchMLPClassifier(**{**FAST, "warm_start": True}), n_classes=10)
    warm.fit(X_tr[first], y_tr[first])
    inner = warm.estimator_
    warm.fit(X_tr[later], y_tr[later])
    assert warm.estimator_ is inner and inner.n_fits_ == 2  # refitted in place
    assert list(inner.classes_) == [0, 1, 2, 3]
    cold = AlignedClassifier(TorchMLPClassifier(**FAST), n_classes=10)
    cold.fit(X_tr[first], y_tr[first])
    cold_inner = cold.estimator_
    cold.fit(X_tr[later], y_tr[later])
    assert cold.estimator_ is not cold_inner and cold.estimator_.n_fits_ == 1
    # the warm model starts its second fit from trained weights: a far lower first-epoch loss
    assert inner.loss_curve_[0] < cold.estimator_.loss_curve_[0]


def test_grow_head_keeps_old_rows():
    gen = torch.Generator().manual_seed(0)
    head = networks.build(lambda: torch.nn.Linear(4, 2), gen, "cpu")
    new = networks.grow_head(head, torch.tensor([0, 2]), 3, gen)
    assert new.weight.shape == (3, 4)
    assert torch.equal(new.weight[[0, 2]], head.weight) and torch.equal(new.bias[[0, 2]], head.bias)


@pytest.mark.parametrize("n_features, shape", [(64, (1, 8, 8)), (784, (1, 28, 28)), (3072, (3, 32, 32)),
                                               (27, (3, 3, 3))])
def test_image_shape_inference(n_features, shape):
    assert networks.infer_image_shape(n_features) == shape


def test_cnn_image_shape_errors_and_explicit_shape():
    X = np.random.default_rng(0).normal(size=(20, 10))
    y = np.arange(20) % 2
    with pytest.raises(ValueError, match="cannot infer an image shape from 10 features"):
        TorchCNNClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"image_shape \[1, 3, 3\] has 9 pixels, but X has 10"):
        TorchCNNClassifier(**FAST, image_shape=[1, 3, 3]).fit(X, y)
    model = TorchCNNClassifier(**FAST, image_shape=[1, 2, 5]).fit(X, y)  # non-square: only explicit
    assert model.image_shape_ == (1, 2, 5) and model.predict(X).shape == (20,)


@pytest.mark.parametrize("param, value, message", [
    ("epochs", 0, "epochs must be an integer >= 1"),
    ("dropout", 1.0, r"dropout must be a number in \[0.0, 1.0\)"),
    ("lr", -1e-3, "lr must be a number"),
    ("weight_decay", -1, "weight_decay must be a number"),
    ("batch_size", 2.5, "batch_size must be an integer"),
    ("warm_start", "yes", "warm_start must be true or false"),
    ("device", "gpu0", "is not a torch device"),
])
def test_bad_params_fail_in_fit_with_the_parameter_name(param, value, message):
    X, y = np.zeros((6, 4)), np.array([0, 1] * 3)
    est = TorchMLPClassifier(**{param: value})  # __init__ only stores
    with pytest.raises(ValueError, match=message):
        est.fit(X, y)


def test_cuda_request_without_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on a machine with no GPU
    with pytest.raises(ValueError, match="no CUDA GPU"):
        TorchMLPClassifier(device="cuda").fit(np.zeros((4, 2)), [0, 1, 0, 1])
    assert TorchMLPClassifier(epochs=1).fit(np.zeros((4, 2)), [0, 1, 0, 1]).device_.type == "cpu"


def test_predict_before_fit():
    with pytest.raises(NotFittedError):
        TorchCNNClassifier().predict_proba(np.zeros((2, 64)))
