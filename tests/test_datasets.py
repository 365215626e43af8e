"""Data sets: built-ins, generators, local files, the OpenML cache, preprocessing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from albench import datasets


@pytest.mark.parametrize("name, shape, n_classes", [
    ("iris", (150, 4), 3), ("wine", (178, 13), 3), ("breast_cancer", (569, 30), 2), ("digits", (1797, 64), 10),
])
def test_builtin(name, shape, n_classes):
    d = datasets.load(name)
    assert d.X.shape == shape and d.n_classes == n_classes
    assert d.X.dtype == np.float64 and set(np.unique(d.y)) == set(range(n_classes))
    np.testing.assert_allclose(d.X.mean(axis=0), 0, atol=1e-9)  # scaled


def test_generators_take_parameters():
    d = datasets.load("classification", {"n_samples": 120, "n_features": 6, "n_classes": 4, "n_informative": 4})
    assert d.X.shape == (120, 6) and d.n_classes == 4
    assert datasets.load("moons", {"n_samples": 60}).X.shape == (60, 2)
    a = datasets.load("blobs", {"n_samples": 90, "centers": 3, "data_seed": 1})
    b = datasets.load("blobs", {"n_samples": 90, "centers": 3, "data_seed": 2})
    assert a.X.shape == (90, 2) and not np.array_equal(a.X, b.X)


def messy_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "num": [1.0, np.nan, 3.0, 4.0, 5.0, 6.0, 7.0],
        "color": ["red", "blue", None, "red", "blue", "red", "green"],
        "label": ["a", "a", "b", "b", "b", "c", "a"],  # 'c' has one member and is dropped
    })


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_local_file_with_missing_values_and_categoricals(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    df = messy_frame()
    df.to_csv(path, index=False) if suffix == ".csv" else df.to_parquet(path)
    d = datasets.load("file", {"path": str(path), "target": "label"})
    assert d.class_names == ("a", "b") and len(d.y) == 6
    assert not np.isnan(d.X).any()
    # 1 numeric column + one-hot colours of the kept rows (red, blue, green; the missing one imputed)
    assert d.X.shape == (6, 1 + 3)
    with pytest.raises(ValueError, match="no target column 'y'"):
        datasets.load("file", {"path": str(path), "target": "y"})
    with pytest.raises(FileNotFoundError, match="data file not found"):
        datasets.load("file", {"path": str(tmp_path / "none.csv"), "target": "label"})


def test_openml_reads_from_its_cache_without_network(tmp_path, monkeypatch):
    # the on-disk format the loader writes after a download: <id>.parquet + <id>.json
    frame = messy_frame()
    frame.to_parquet(tmp_path / "40.parquet")
    (tmp_path / "40.json").write_text(json.dumps({"id": 40, "name": "messy", "target": "label"}))
    monkeypatch.setenv("ALBENCH_OPENML_CACHE", str(tmp_path))

    def no_network(*a, **k):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr("sklearn.datasets.fetch_openml", no_network)
    d = datasets.load("openml", {"id": 40})
    assert d.class_names == ("a", "b") and d.X.shape == (6, 4)


def test_openml_without_cache_or_network_says_so(tmp_path, monkeypatch):
    def offline(*a, **k):
        raise OSError("network unreachable")

    monkeypatch.setattr("sklearn.datasets.fetch_openml", offline)
    with pytest.raises(RuntimeError, match="not cached in .* could not be downloaded"):
        datasets.load("openml", {"id": 99999, "cache_dir": str(tmp_path)})


def test_too_few_classes_is_an_error():
    with pytest.raises(ValueError, match="fewer than two classes"):
        datasets.preprocess(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), pd.Series(["a", "a", "b"]))
