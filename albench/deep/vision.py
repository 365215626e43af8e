"""Image data sets through torchvision: MNIST, FashionMNIST, CIFAR-10, CIFAR-100.

torchvision reads the files in their published formats (IDX files under
``<root>/MNIST/raw/``, pickled batches under ``<root>/cifar-10-batches-py/``,
...). Nothing is downloaded unless the data set's params say ``download: true``;
the root is ``root`` if given, else ``$ALBENCH_DATA``, else
``~/.cache/albench/data``. Prefer the environment variable to a ``root`` in a
grid: data-set params are part of every run's id, a path should not be.

A loader returns ``albench.datasets.Images`` (uint8 pixels in (C, H, W) order
and labels); ``albench.datasets`` flattens and scales them, so image and tabular
data sets flow through the AL loop alike.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from albench.datasets import Images
from albench.deep import require

# albench name -> (torchvision class, folder under the root torchvision reads)
SOURCES = {
    "mnist": ("MNIST", "MNIST/raw"),
    "fashion_mnist": ("FashionMNIST", "FashionMNIST/raw"),
    "cifar10": ("CIFAR10", "cifar-10-batches-py"),
    "cifar100": ("CIFAR100", "cifar-100-python"),
}
PARTS = {"train": (True,), "test": (False,), "all": (True, False)}


def data_root(root: str | os.PathLike | None = None) -> Path:
    """``root``, else ``$ALBENCH_DATA``, else ``~/.cache/albench/data``."""
    return Path(root or os.environ.get("ALBENCH_DATA") or "~/.cache/albench/data").expanduser()


def _read(name: str, root: Path, train: bool, download: bool):
    cls_name, folder = SOURCES[name]
    cls = getattr(require("torchvision").datasets, cls_name)
    try:
        return cls(str(root), train=train, download=download)
    except (RuntimeError, OSError) as exc:
        if download:
            raise RuntimeError(f"could not download {cls_name} into {root} ({type(exc).__name__}: {exc}); "
                               f"without a network, copy the files to {root / folder}") from None
        raise FileNotFoundError(f"{cls_name} not found (or incomplete) under data root {root}: torchvision "
                                f"looks in {root / folder} ({exc}). Put the files there, point the 'root' "
                                f"param or ALBENCH_DATA at them, or set 'download: true' in the data set's "
                                f"params to let torchvision download them (needs a network)") from None


def _pixels(ds) -> np.ndarray:
    """uint8 pixels as (n, C, H, W): MNIST-like data are (n, H, W) tensors, CIFAR (n, H, W, C) arrays."""
    data = ds.data.numpy() if hasattr(ds.data, "numpy") else np.asarray(ds.data)
    return data[:, None] if data.ndim == 3 else data.transpose(0, 3, 1, 2)


def stratified_subset(labels: np.ndarray, n_samples: int, seed: int) -> np.ndarray:
    """Sorted indices of a class-stratified random subset of ``n_samples`` rows."""
    from sklearn.model_selection import StratifiedShuffleSplit

    n_classes = len(np.unique(labels))
    if n_samples < n_classes:
        raise ValueError(f"n_samples {n_samples} is smaller than the number of classes ({n_classes})")
    splitter = StratifiedShuffleSplit(n_splits=1, train_size=n_samples, random_state=seed)
    subset, _ = next(splitter.split(np.zeros(len(labels)), labels))
    return np.sort(subset)


def check(part: str = "train", n_samples: int | None = None, **_) -> None:
    """The values ``load`` refuses, without torchvision or the files (the grid's pre-flight; the files may
    lie on the Dask workers only)."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, got {part!r}")
    if n_samples is not None and (isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1):
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")


def load(name: str, root: str | None = None, download: bool = False, part: str = "train",
         n_samples: int | None = None, data_seed: int = 0) -> Images:
    """One torchvision data set as ``Images``.

    ``part``: the published ``train`` or ``test`` split, or ``all`` of both (the
    AL loop makes its own pool/test split). ``n_samples``: a stratified random
    subset of that many images (seeded by ``data_seed``), to keep grids small.
    """
    check(part=part, n_samples=n_samples)
    root_path = data_root(root)
    sets = [_read(name, root_path, train, bool(download)) for train in PARTS[part]]
    labels = np.concatenate([np.asarray(ds.targets, dtype=np.int64) for ds in sets])
    pixels = np.concatenate([_pixels(ds) for ds in sets])
    if n_samples is not None and n_samples < len(labels):
        keep = stratified_subset(labels, n_samples, data_seed)
        pixels, labels = pixels[keep], labels[keep]
    return Images(pixels=pixels, labels=labels, class_names=tuple(map(str, sets[0].classes)))
