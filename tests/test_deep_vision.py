"""torchvision data sets read from tiny files written in the published on-disk formats.

MNIST/FashionMNIST: IDX files under <root>/<Class>/raw/. CIFAR: pickled batches
under <root>/cifar-10-batches-py/ and <root>/cifar-100-python/. torchvision
checks the CIFAR files against the MD5 sums of the real archives, so the tests
replace those sums with the sums of the tiny files; every other step is
torchvision's own code.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import pickle
import struct
import threading

import numpy as np
import pytest
import torchvision  # the `deep` extra: `make test` installs it (missing: a failure, not a skip)

from albench import al_loop, datasets
from albench.spec import GridError, grid_from_dict

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX format: magic 0x0000 0x08 (unsigned byte) ndim, big-endian dims, raw data."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist(root, folder="MNIST", n_train=30, n_test=12, n_classes=3, seed=0):
    """Random 28x28 images whose labels cycle 0..n_classes-1; returns {part: (images, labels)}."""
    rng = np.random.default_rng(seed)
    raw = root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    out = {}
    for part, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        images, labels = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n) % n_classes
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(idx_bytes(images))
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
        out[part] = (images, labels)
    return out


def md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def write_cifar(root, monkeypatch, cls, n_per_file=8, n_classes=4, seed=0):
    """Pickled batches as in the python version of CIFAR; returns the train (rows, labels).

    Each row is 3072 bytes: the red, green and blue 32x32 planes.
    """
    rng = np.random.default_rng(seed)
    folder = root / cls.base_folder
    folder.mkdir(parents=True, exist_ok=True)
    label_key = "labels" if cls is torchvision.datasets.CIFAR10 else "fine_labels"
    rows, labels = [], []
    for file_name, _ in cls.train_list + cls.test_list:
        data = rng.integers(0, 256, (n_per_file, 3072), dtype=np.uint8)
        lab = [int(v) for v in rng.permutation(np.arange(n_per_file) % n_classes)]
        with open(folder / file_name, "wb") as f:
            pickle.dump({"data": data, label_key: lab, "coarse_labels": lab}, f)
        if [file_name, _] in cls.train_list:
            rows.append(data)
            labels += lab
    names = CIFAR10_NAMES if cls is torchvision.datasets.CIFAR10 else [f"class_{i}" for i in range(100)]
    with open(folder / cls.meta["filename"], "wb") as f:
        pickle.dump({cls.meta["key"]: names}, f)
    # torchvision verifies the real archives' MD5 sums: give it the tiny files' sums instead
    monkeypatch.setattr(cls, "train_list", [[n, md5(folder / n)] for n, _ in cls.train_list])
    monkeypatch.setattr(cls, "test_list", [[n, md5(folder / n)] for n, _ in cls.test_list])
    monkeypatch.setattr(cls, "meta", {**cls.meta, "md5": md5(folder / cls.meta["filename"])})
    return np.concatenate(rows), np.asarray(labels)


def unscale(d: datasets.Dataset, pixels: np.ndarray) -> None:
    """The loaded rows are the written pixels / 255, standardised per channel."""
    n, c = len(pixels), pixels.shape[1]
    ref = pixels.reshape(n, c, -1).astype(np.float64) / 255
    ref = (ref - ref.mean(axis=(0, 2), keepdims=True)) / ref.std(axis=(0, 2), keepdims=True)
    np.testing.assert_allclose(d.X, ref.reshape(n, -1), atol=1e-4)


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_mnist_family_reads_idx_files(tmp_path, name, folder):
    written = write_mnist(tmp_path, folder)
    d = datasets.load(name, {"root": str(tmp_path)})
    images, labels = written["train"]
    assert d.X.shape == (30, 784) and d.X.dtype == np.float32 and d.image_shape == (1, 28, 28)
    np.testing.assert_array_equal(d.y, labels)
    unscale(d, images[:, None])
    expected_names = torchvision.datasets.MNIST.classes if name == "mnist" else torchvision.datasets.FashionMNIST.classes
    assert d.class_names == tuple(expected_names[:3])

    both = datasets.load(name, {"root": str(tmp_path), "part": "all"})
    assert both.X.shape == (42, 784)
    np.testing.assert_array_equal(both.y, np.concatenate([labels, written["test"][1]]))


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_cifar_reads_pickled_batches_in_channel_order(tmp_path, monkeypatch, name):
    cls = torchvision.datasets.CIFAR10 if name == "cifar10" else torchvision.datasets.CIFAR100
    rows, labels = write_cifar(tmp_path, monkeypatch, cls)
    d = datasets.load(name, {"root": str(tmp_path)})
    assert d.X.shape == (len(rows), 3072) and d.image_shape == (3, 32, 32)
    np.testing.assert_array_equal(d.y, labels)
    unscale(d, rows.reshape(-1, 3, 32, 32))  # rows come back in their (C, H, W) order
    assert d.class_names[:2] == (("airplane", "automobile") if name == "cifar10" else ("class_0", "class_1"))
    assert d.n_classes == 4


def test_preprocess_images_scales_per_channel_and_drops_rare_classes():
    pixels = np.zeros((5, 2, 1, 2), dtype=np.uint8)
    pixels[:, 0] = [[0, 255]]  # channel 0: pixels 0 and 1 -> mean 0.5, sd 0.5 -> -1 and +1
    pixels[:, 1] = 7  # channel 1 is constant -> 0
    images = datasets.Images(pixels, np.array([3, 3, 5, 5, 9]), tuple(f"c{i}" for i in range(10)))
    d = datasets.preprocess_images(images, "tiny")
    np.testing.assert_allclose(d.X, np.tile([-1.0, 1.0, 0.0, 0.0], (4, 1)))
    assert d.y.tolist() == [0, 0, 1, 1] and d.class_names == ("c3", "c5") and d.image_shape == (2, 1, 2)


def test_stratified_subset_and_bad_params(tmp_path):
    write_mnist(tmp_path, n_train=60, n_classes=3)
    d = datasets.load("mnist", {"root": str(tmp_path), "n_samples": 15})
    assert d.X.shape == (15, 784) and np.bincount(d.y).tolist() == [5, 5, 5]
    other = datasets.load("mnist", {"root": str(tmp_path), "n_samples": 15, "data_seed": 1})
    assert not np.array_equal(d.X, other.X)
    with pytest.raises(ValueError, match="smaller than the number of classes"):
        datasets.load("mnist", {"root": str(tmp_path), "n_samples": 2})
    with pytest.raises(ValueError, match="part must be one of train, test, all"):
        datasets.load("mnist", {"root": str(tmp_path), "part": "validation"})


@pytest.mark.parametrize(("params", "refused"), [({"part": "validation"}, "part must be one of train, test, all"),
                                                 ({"n_samples": 0}, "n_samples must be a positive integer")])
def test_bad_image_data_set_values_stop_the_grid_before_it_runs(tmp_path, params, refused):
    """Checked without the files (they may lie on the Dask workers only): the root here is empty."""
    with pytest.raises(GridError, match=f"dataset 'fashion_mnist': {refused}"):
        grid_from_dict({"name": "g", "kind": "al", "params": {
            "dataset": {"name": "fashion_mnist", "root": str(tmp_path), **params}, "learner": "logreg",
            "strategy": "random"}}, "g.yaml")
    grid_from_dict({"name": "g", "kind": "al", "params": {
        "dataset": {"name": "fashion_mnist", "root": str(tmp_path), "part": "all", "n_samples": 50},
        "learner": "logreg", "strategy": "random"}}, "g.yaml")


def test_missing_files_name_the_root_and_the_download_option(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        datasets.load("cifar10", {"root": str(tmp_path / "empty")})
    message = str(info.value)
    assert str(tmp_path / "empty" / "cifar-10-batches-py") in message and "download: true" in message


def test_root_from_environment(tmp_path, monkeypatch):
    write_mnist(tmp_path, n_train=24)
    monkeypatch.setenv("ALBENCH_DATA", str(tmp_path))
    assert datasets.load("mnist", {"n_samples": 12}).X.shape == (12, 784)


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A folder served over HTTP on the loopback interface: a stand-in for a download site."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_download_goes_through_torchvision(tmp_path, monkeypatch, mirror):
    # torchvision fetches the gzipped IDX files from the mirror, checks their MD5 sums and unpacks them
    folder, url = mirror
    written = write_mnist(tmp_path / "published", n_train=20)
    resources = []
    for path in sorted((tmp_path / "published" / "MNIST" / "raw").iterdir()):
        archive = folder / f"{path.name}.gz"
        archive.write_bytes(gzip.compress(path.read_bytes()))
        resources.append((archive.name, md5(archive)))
    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", [url])
    monkeypatch.setattr(torchvision.datasets.MNIST, "resources", resources)
    root = tmp_path / "root"
    d = datasets.load("mnist", {"root": str(root), "download": True})
    np.testing.assert_array_equal(d.y, written["train"][1])
    assert (root / "MNIST" / "raw" / "train-images-idx3-ubyte").exists()
    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", [url + "missing/"])
    with pytest.raises(RuntimeError, match=f"could not download MNIST into {tmp_path / 'other'}"):
        datasets.load("mnist", {"root": str(tmp_path / "other"), "download": True})


def test_image_data_set_in_an_al_run_with_the_cnn(tmp_path, monkeypatch):
    write_mnist(tmp_path, n_train=60, n_classes=3)
    monkeypatch.setenv("ALBENCH_DATA", str(tmp_path))
    grid = grid_from_dict({"name": "mnist", "kind": "al", "params": {
        "dataset": {"name": "mnist", "n_samples": 48}, "learner": {"name": "torch_cnn", "epochs": 2, "channels": 4,
                                                                   "width": 8},
        "strategy": "entropy", "batch_size": 4, "budget": 2}})
    result = al_loop.run(next(grid.specs()))
    assert result.summary["n_features"] == 784 and result.summary["n_labelled_final"] == 3 + 8


def test_grid_run_without_the_files_prints_the_root_and_the_download_option(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from albench.cli import app

    grid = tmp_path / "mnist.yaml"
    grid.write_text("name: mnist\nkind: al\nparams:\n  dataset: {name: mnist, n_samples: 40}\n"
                    "  learner: {name: torch_cnn, epochs: 1}\n  strategy: random\n  budget: 1\n")
    monkeypatch.setenv("ALBENCH_DATA", str(tmp_path / "empty"))
    result = CliRunner().invoke(app, ["grid", "run", str(grid), "--out", str(tmp_path / "res"), "-q"])
    out = " ".join(result.output.split())  # the console wraps long lines
    assert result.exit_code == 0 and "1 failed" in out, out  # a failed run is a row; the grid goes on
    assert "error in 1 run: FileNotFoundError: MNIST not found" in out, out
    assert str(tmp_path / "empty" / "MNIST" / "raw") in out.replace(" ", "")  # a long path may be folded
    assert "download: true" in out
