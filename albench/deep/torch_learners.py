"""Torch classifiers with the scikit-learn interface: ``torch_mlp`` and ``torch_cnn``.

They fit, predict and clone like any scikit-learn classifier, so every
strategy and the AL loop use them unchanged. Beyond that they offer what deep
AL strategies need:

- ``embed(X)``: the penultimate-layer activations (n, d), for BADGE and core-set;
- ``sample_proba(X, n_samples)``: Monte Carlo dropout predictions
  (n_samples, n, n_classes_seen), for BALD (Gal, Islam and Ghahramani, 2017).

Training: AdamW (decoupled weight decay) on the cross-entropy, ``epochs``
passes over the labelled set in shuffled mini-batches. Each ``fit`` trains from
scratch unless ``warm_start=True``: then it continues from the current weights
(new classes get fresh rows in the output layer).

Reproducibility: every random draw (initial weights, batch order, dropout
masks) comes from ``torch.Generator`` objects seeded from ``random_state`` for
that fit; torch's global generator is never used or seeded. On the CPU the same
seed gives the same model. ``n_threads`` sets torch's intra-op threads (a
process-wide setting): 1 by default, because albench runs one run per worker
core and a thread count also changes float summation order.

Inputs are 2-D float arrays. The CNN reshapes each row to ``image_shape``
(channels, height, width), or infers (1, s, s) / (3, s, s) from the number of
features; image data sets flatten their pixels in that (C, H, W) order.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from albench.deep import networks
from albench.deep.networks import torch

PREDICT_BATCH = 1024


def resolve_device(device: str):
    """``auto`` -> the first CUDA GPU if there is one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device {device!r} is not a torch device (use auto, cpu, cuda, cuda:N or mps)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but torch sees no CUDA GPU (use device: auto or cpu)")
    return dev


def _check_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_float(name, value, low, high=None, *, low_open=False, high_open=True):
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
    ok = ok and (value > low if low_open else value >= low)
    ok = ok and (high is None or (value < high if high_open else value <= high))
    if not ok:
        interval = f"{'(' if low_open else '['}{low}, {high if high is not None else 'inf'}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")


class TorchClassifier(ClassifierMixin, BaseEstimator):
    """Shared training, prediction, embedding and MC dropout; subclasses build the network."""

    def _make_network(self, n_features: int, n_classes: int):
        raise NotImplementedError

    def _validate_network_params(self) -> None:
        """Check the subclass's own parameters (called by ``fit``)."""

    @property
    def continues_training(self) -> bool:
        """True with ``warm_start``: ``AlignedClassifier`` then refits this model instead of a clone."""
        return bool(self.warm_start)

    # --- fitting -----------------------------------------------------------------
    def _validate_params(self) -> None:
        _check_int("epochs", self.epochs)
        _check_int("width", self.width)
        _check_float("lr", self.lr, 0.0, low_open=True)
        _check_float("weight_decay", self.weight_decay, 0.0)
        _check_float("dropout", self.dropout, 0.0, 1.0)
        _check_int("batch_size", self.batch_size)
        _check_int("n_threads", self.n_threads)
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise ValueError(f"warm_start must be true or false, got {self.warm_start!r}")
        self._validate_network_params()

    def fit(self, X, y):
        self._validate_params()
        X, y = check_X_y(X, y, dtype=np.float32)
        check_classification_targets(y)
        torch.set_num_threads(self.n_threads)
        device = resolve_device(self.device)
        warm = self.warm_start and hasattr(self, "net_") and X.shape[1] == self.n_features_in_
        classes = np.unique(y)
        if warm:
            classes = np.union1d(self.classes_, classes)
        n_fit = self.n_fits_ + 1 if warm else 1
        init_seed, shuffle_seed, dropout_seed, self.mc_seed_ = self._seeds(n_fit)
        init_gen = torch.Generator().manual_seed(init_seed)
        if not warm:
            self.net_ = networks.build(lambda: self._make_network(X.shape[1], len(classes)), init_gen, device)
        elif len(classes) > len(self.classes_):
            old_rows = torch.as_tensor(np.searchsorted(classes, self.classes_))
            self.net_.head = networks.grow_head(self.net_.head, old_rows, len(classes), init_gen)
        self.net_.to(device)
        self.classes_, self.n_features_in_, self.n_fits_, self.device_ = classes, X.shape[1], n_fit, device
        targets = torch.as_tensor(np.searchsorted(classes, y), dtype=torch.long)
        self.loss_curve_ = self._train(torch.tensor(X), targets, shuffle_seed, dropout_seed)
        return self

    def _seeds(self, n_fit: int) -> list[int]:
        """Independent seeds for initialisation, batch order, training dropout and MC dropout."""
        base = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        children = np.random.SeedSequence([base, n_fit]).spawn(4)
        return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]

    def _generator(self, seed: int, device=None):
        return torch.Generator(device=device or self.device_).manual_seed(seed)

    def _train(self, X, y, shuffle_seed: int, dropout_seed: int) -> list[float]:
        net = self.net_
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        order = torch.Generator().manual_seed(shuffle_seed)
        loss_fn = torch.nn.CrossEntropyLoss()
        curve = []
        net.train()
        with networks.dropout_from(net, self._generator(dropout_seed)):
            for _ in range(self.epochs):
                perm, total = torch.randperm(len(X), generator=order), 0.0
                for start in range(0, len(X), self.batch_size):
                    idx = perm[start:start + self.batch_size]
                    xb, yb = X[idx].to(self.device_), y[idx].to(self.device_)
                    loss = loss_fn(net(xb), yb)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    total += loss.item() * len(idx)
                curve.append(total / len(X))
        net.eval()
        return curve

    # --- prediction --------------------------------------------------------------
    def _map(self, X, fn) -> np.ndarray:
        """``fn`` on ``PREDICT_BATCH`` rows at a time (float32 tensors on the device), no gradients."""
        check_is_fitted(self, "net_")
        X = check_array(X, dtype=np.float32)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input")
        torch.set_num_threads(self.n_threads)
        self.net_.eval()
        with torch.no_grad():
            parts = [fn(torch.tensor(X[start:start + PREDICT_BATCH]).to(self.device_)).double().cpu().numpy()
                     for start in range(0, len(X), PREDICT_BATCH)]
        return np.concatenate(parts)

    def _proba(self, xb):
        return torch.softmax(self.net_(xb).double(), dim=1)

    def predict_proba(self, X) -> np.ndarray:
        return self._map(X, self._proba)

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def embed(self, X) -> np.ndarray:
        """Penultimate-layer activations (n, width), dropout off."""
        return self._map(X, lambda xb: networks.penultimate(self.net_, xb))

    def sample_proba(self, X, n_samples: int) -> np.ndarray:
        """(n_samples, n, n_classes_seen) probabilities with dropout on (MC dropout).

        Deterministic for a fitted model and the same X: the masks come from ``mc_seed_``.
        """
        _check_int("n_samples", n_samples)
        check_is_fitted(self, "net_")
        with networks.dropout_from(self.net_, self._generator(self.mc_seed_), mc=True):
            samples = self._map(X, lambda xb: torch.stack([self._proba(xb) for _ in range(n_samples)], dim=1))
        return samples.transpose(1, 0, 2)


class TorchMLPClassifier(TorchClassifier):
    """Multi-layer perceptron: ``depth`` hidden layers of ``width`` ReLU units with dropout."""

    def __init__(self, epochs=50, width=128, depth=2, lr=1e-3, weight_decay=1e-4, dropout=0.25, batch_size=32,
                 warm_start=False, device="auto", n_threads=1, random_state=None):
        self.epochs = epochs
        self.width = width
        self.depth = depth
        self.lr = lr
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.batch_size = batch_size
        self.warm_start = warm_start
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state

    def _validate_network_params(self):
        _check_int("depth", self.depth)

    def _make_network(self, n_features, n_classes):
        return networks.MLP(n_features, n_classes, self.width, self.depth, self.dropout)


class TorchCNNClassifier(TorchClassifier):
    """Small CNN on flattened images; ``image_shape`` (C, H, W) or inferred from the feature count."""

    def __init__(self, epochs=50, width=128, channels=32, image_shape=None, lr=1e-3, weight_decay=1e-4,
                 dropout=0.25, batch_size=32, warm_start=False, device="auto", n_threads=1, random_state=None):
        self.epochs = epochs
        self.width = width
        self.channels = channels
        self.image_shape = image_shape
        self.lr = lr
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.batch_size = batch_size
        self.warm_start = warm_start
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state

    def _validate_network_params(self):
        _check_int("channels", self.channels)
        shape = self.image_shape
        if shape is not None and (len(shape) != 3 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer))
                                                         or s < 1 for s in shape)):
            raise ValueError(f"image_shape must be [channels, height, width] of positive integers, got {shape!r}")

    def _make_network(self, n_features, n_classes):
        shape = tuple(int(s) for s in self.image_shape) if self.image_shape is not None else \
            networks.infer_image_shape(n_features)
        if int(np.prod(shape)) != n_features:
            raise ValueError(f"image_shape {list(shape)} has {int(np.prod(shape))} pixels, but X has "
                             f"{n_features} features")
        self.image_shape_ = shape
        return networks.SmallCNN(shape, n_classes, self.channels, self.width, self.dropout)
