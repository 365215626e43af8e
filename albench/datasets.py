"""Data-set registry, loaders and the preprocessing every data set goes through.

A loader returns a raw ``(features DataFrame, target Series)``; ``load`` then
imputes missing values, one-hot encodes categoricals, scales numeric columns,
label-encodes the target and drops classes with fewer than two members (a
stratified split needs two). An image loader returns ``Images`` (uint8 pixels
and labels) instead: the pixels are flattened in (C, H, W) order and scaled per
channel (``preprocess_images``), never per pixel, so a CNN sees the images. Scaling on the whole data set is deliberate:
in pool-based AL the unlabelled pool is known up front.

Loading is cached per process, so a worker that runs many runs of one data set
loads and preprocesses it once.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
import pandas as pd

from albench.deep import register_if_installed
from albench.registry import Registry
from albench.wording import counted

registry = Registry("dataset")
register = registry.register


@dataclass(frozen=True)
class Dataset:
    name: str
    X: np.ndarray  # float64, preprocessed (float32 for images: they are large)
    y: np.ndarray  # int64 labels 0..C-1
    class_names: tuple[str, ...]
    image_shape: tuple[int, int, int] | None = None  # (C, H, W) of each flattened row, for images

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


@dataclass(frozen=True)
class Images:
    """What an image loader returns: uint8 ``pixels`` (n, C, H, W), ``labels`` (n,), class names."""

    pixels: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]


def _bunch(loader, **kw):
    bunch = loader(as_frame=True, **kw)
    return bunch.data, bunch.target


def rows_at_most(name: str, params: dict) -> int | None:
    """How many rows data set ``name`` has at most (``load`` may drop classes of one row), when that is
    known without preparing it: the grid checks a start set or a training set against it. A factory's
    ``rows(**params)`` says, or else its ``n_samples`` parameter (the synthetic sets; an image set's
    subset when one is asked for). None when only loading would tell (OpenML, whole image sets) or the
    data set cannot say (a bad file: its preflight says why)."""
    from albench.params import declared

    try:
        factory = registry.get(name).factory
        rows = getattr(factory, "rows", None)
        if rows is not None:
            return int(rows(**params))
        n_samples = declared(factory).get("n_samples")
        value = params.get("n_samples", n_samples.default if n_samples is not None else None)
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    except Exception:  # noqa: BLE001 - a size check must never be the error a grid stops on
        return None


@lru_cache(maxsize=None)
def _toy_rows(loader_name: str) -> int:
    import sklearn.datasets

    return len(getattr(sklearn.datasets, loader_name)(return_X_y=True)[1])


@register("iris", "scikit-learn's iris (150 x 4, 3 classes)")
def _iris():
    from sklearn.datasets import load_iris

    return _bunch(load_iris)


@register("wine", "scikit-learn's wine (178 x 13, 3 classes)")
def _wine():
    from sklearn.datasets import load_wine

    return _bunch(load_wine)


@register("breast_cancer", "scikit-learn's breast cancer (569 x 30, 2 classes)")
def _breast_cancer():
    from sklearn.datasets import load_breast_cancer

    return _bunch(load_breast_cancer)


@register("digits", "scikit-learn's 8x8 digits (1797 x 64, 10 classes)")
def _digits():
    from sklearn.datasets import load_digits

    return _bunch(load_digits)


for _toy, _loader in ((_iris, "load_iris"), (_wine, "load_wine"), (_breast_cancer, "load_breast_cancer"),
                      (_digits, "load_digits")):
    _toy.rows = partial(_toy_rows, _loader)
del _toy, _loader


def _frame(X, y):
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]), pd.Series(y, name="target")


@register("classification", "synthetic: sklearn make_classification (params passed through)")
def _classification(n_samples=500, n_features=10, n_informative=5, n_classes=3, data_seed=0, **params):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=n_samples, n_features=n_features, n_informative=n_informative,
                               n_classes=n_classes, random_state=data_seed, **params)
    return _frame(X, y)


_classification.passes_params_to = "sklearn.datasets:make_classification"
_classification.sets_params = ("random_state",)  # from data_seed


@register("moons", "synthetic: two interleaving half circles")
def _moons(n_samples=500, noise=0.2, data_seed=0):
    from sklearn.datasets import make_moons

    return _frame(*make_moons(n_samples=n_samples, noise=noise, random_state=data_seed))


@register("blobs", "synthetic: isotropic Gaussian blobs")
def _blobs(n_samples=500, centers=3, n_features=2, cluster_std=1.0, data_seed=0):
    from sklearn.datasets import make_blobs

    return _frame(*make_blobs(n_samples=n_samples, centers=centers, n_features=n_features,
                              cluster_std=cluster_std, random_state=data_seed))


def _split_target(df: pd.DataFrame, target: str, where: str):
    if target not in df.columns:
        raise ValueError(f"{where}: no target column '{target}'; columns: {', '.join(map(str, df.columns))}")
    return df.drop(columns=[target]), df[target]


def _is_parquet(p: Path) -> bool:
    return p.suffix in (".parquet", ".pq")


@register("file", "a local CSV or Parquet file (params: path, target)")
def _file(path: str, target: str):
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"data file not found: {p}")
    df = pd.read_parquet(p) if _is_parquet(p) else pd.read_csv(p)
    return _split_target(df, target, str(p))


def _file_preflight(path: str, target: str) -> None:
    """At grid load: the file exists, reads as a table (its header, or its Parquet schema) and has ``target``,
    whose column (read alone) holds two classes of two or more rows, as every run needs."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"data file not found: {p}" if not p.exists() else f"{p} is not a file")
    if p.stat().st_size == 0:
        raise ValueError(f"data file {p} is empty")
    try:
        if _is_parquet(p):
            import pyarrow.parquet as pq

            columns = pq.read_schema(p).names
        else:
            columns = pd.read_csv(p, nrows=5).columns.tolist()
    except (OSError, ValueError, UnicodeDecodeError) as exc:  # pandas' and pyarrow's parse errors are ValueErrors
        raise ValueError(f"data file {p} does not read as a {'Parquet' if _is_parquet(p) else 'CSV'} "
                         f"table: {str(exc).splitlines()[0]}") from None
    if target not in columns:
        raise ValueError(f"data file {p} has no target column '{target}'; columns: {', '.join(map(str, columns))}")
    if len(columns) < 2:
        raise ValueError(f"data file {p} has no feature column besides '{target}'")
    counts = _target_column(str(p), target, p.stat().st_mtime_ns).value_counts()  # as ``preprocess``: NaN no class
    if (counts >= 2).sum() < 2:
        seen = ", ".join(f"{value!r}: {n}" for value, n in counts.head(3).items())
        raise ValueError(f"data file {p}: target column '{target}' has fewer than two classes with two or more "
                         f"rows ({counted(len(counts), 'distinct value')}{'; ' + seen if seen else ''}"
                         f"{', ...' if len(counts) > 3 else ''})")


@lru_cache(maxsize=64)
def _target_column(path: str, target: str, mtime_ns: int) -> pd.Series:
    """The target column alone (the preflight's class count and the row count; cached per file version)."""
    p = Path(path)
    return (pd.read_parquet(p, columns=[target]) if _is_parquet(p) else pd.read_csv(p, usecols=[target]))[target]


def _file_rows(path: str, target: str) -> int:
    p = Path(path).expanduser()
    return len(_target_column(str(p), target, p.stat().st_mtime_ns))


_file.preflight = _file_preflight
_file.rows = _file_rows


def openml_cache_dir() -> Path:
    return Path(os.environ.get("ALBENCH_OPENML_CACHE", "~/.cache/albench/openml")).expanduser()


@register("openml", "an OpenML data set by id, cached locally as Parquet (params: id, target)")
def _openml(id: int, target: str | None = None, cache_dir: str | None = None):
    cache = Path(cache_dir).expanduser() if cache_dir else openml_cache_dir()
    data_path, meta_path = cache / f"{id}.parquet", cache / f"{id}.json"
    if not data_path.exists():
        from sklearn.datasets import fetch_openml

        try:
            bunch = fetch_openml(data_id=id, as_frame=True, data_home=str(cache / "sklearn"))
        except Exception as exc:
            raise RuntimeError(f"OpenML data set {id} is not cached in {cache} and could not be "
                               f"downloaded ({type(exc).__name__}: {exc})") from None
        frame = bunch.frame if bunch.frame is not None else pd.concat([bunch.data, bunch.target], axis=1)
        cache.mkdir(parents=True, exist_ok=True)
        tmp = data_path.with_suffix(".parquet.tmp")
        frame.to_parquet(tmp)
        os.replace(tmp, data_path)
        meta_path.write_text(json.dumps({"id": id, "name": bunch.details.get("name"),
                                         "target": bunch.target.name}))
    if target is None:
        if not meta_path.exists():
            raise ValueError(f"OpenML data set {id}: name its target column (no {meta_path})")
        target = json.loads(meta_path.read_text())["target"]
    return _split_target(pd.read_parquet(data_path), target, f"OpenML {id}")


def _vision(name: str, description: str):
    """Register a torchvision data set (see ``albench.deep.vision`` for its params)."""

    def factory(**params):
        from albench.deep import vision  # imports torchvision only now

        return vision.load(name, **params)

    def preflight(**params):
        from albench.deep import vision

        vision.check(**params)

    factory.passes_params_to = "albench.deep.vision:load"
    factory.sets_params = ("name",)
    factory.preflight = preflight

    register_if_installed(registry, name, description, needs=("torch", "torchvision"))(factory)


_VISION_PARAMS = "params: n_samples, part, root, download"
_vision("mnist", f"MNIST handwritten digits via torchvision (70000 x 1x28x28, 10 classes; {_VISION_PARAMS})")
_vision("fashion_mnist", f"Fashion-MNIST via torchvision (70000 x 1x28x28, 10 classes; {_VISION_PARAMS})")
_vision("cifar10", f"CIFAR-10 via torchvision (60000 x 3x32x32, 10 classes; {_VISION_PARAMS})")
_vision("cifar100", f"CIFAR-100 via torchvision (60000 x 3x32x32, 100 classes; {_VISION_PARAMS})")


def preprocess_images(images: Images, name: str = "") -> Dataset:
    """Drop classes with < 2 members, flatten (C, H, W), scale pixels to [0, 1] then per channel
    to mean 0 and standard deviation 1; float32."""
    labels = np.asarray(images.labels)
    values, counts = np.unique(labels, return_counts=True)
    kept = values[counts >= 2]
    if len(kept) < 2:
        raise ValueError(f"data set {name!r} has fewer than two classes with two or more members")
    rows = np.isin(labels, kept)
    pixels = np.asarray(images.pixels)[rows]
    n, c = pixels.shape[:2]
    X = pixels.reshape(n, c, -1).astype(np.float32) / 255.0
    mean = X.mean(axis=(0, 2), keepdims=True)
    std = X.std(axis=(0, 2), keepdims=True)
    X -= mean  # in place: a full CIFAR is 0.7 GB as float32
    X /= np.where(std > 0, std, 1.0)
    names = tuple(images.class_names[int(v)] if 0 <= v < len(images.class_names) else str(v) for v in kept)
    return Dataset(name, np.ascontiguousarray(X.reshape(n, -1)), np.searchsorted(kept, labels[rows]).astype(np.int64),
                   names, tuple(int(d) for d in pixels.shape[1:]))


def preprocess(X: pd.DataFrame, y: pd.Series, name: str = "") -> Dataset:
    """Impute, encode, scale; label-encode y; drop classes with < 2 members."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    counts = y.value_counts()  # NaN targets are not counted, so they are dropped too
    keep = y.isin(counts[counts >= 2].index).to_numpy()
    X, y = X.loc[keep].reset_index(drop=True), y.loc[keep].reset_index(drop=True)
    if y.nunique() < 2:
        raise ValueError(f"data set {name!r} has fewer than two classes with two or more members")
    numeric = X.select_dtypes(include=["number", "bool"]).columns.tolist()
    categorical = [c for c in X.columns if c not in numeric]
    X = X.copy()
    X[numeric] = X[numeric].astype(float)
    X = X.dropna(axis=1, how="all")
    numeric = [c for c in numeric if c in X.columns]
    categorical = [c for c in categorical if c in X.columns]
    transformer = ColumnTransformer(
        [("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
         ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                               OneHotEncoder(handle_unknown="ignore", sparse_output=False)), categorical)],
        sparse_threshold=0.0,
    )
    X_arr = np.asarray(transformer.fit_transform(X.astype({c: str for c in categorical})), dtype=np.float64)
    codes, uniques = pd.factorize(y, sort=True)
    return Dataset(name, np.ascontiguousarray(X_arr), codes.astype(np.int64), tuple(map(str, uniques)))


def _canonical(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=str)


@lru_cache(maxsize=8)
def _load_cached(name: str, params_json: str) -> Dataset:
    raw = registry.create(name, **json.loads(params_json))
    return preprocess_images(raw, name) if isinstance(raw, Images) else preprocess(*raw, name)


def load(name: str, params: dict | None = None) -> Dataset:
    """Load and preprocess a registered data set (cached per process)."""
    return _load_cached(name, _canonical(params or {}))
