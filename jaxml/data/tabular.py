"""scikit-learn's bundled tabular datasets (shipped inside the package; no download).

``digits`` (1797 x 64, 10 classes), ``iris`` (150 x 4, 3), ``wine`` (178 x 13, 3),
``breast_cancer`` (569 x 30, 2) -> :class:`TabularDataset` with x float32, y int32.

Splits: "all" (sklearn's order), "test" and "train": one permutation of the N rows by
``numpy.random.default_rng(seed)`` (option ``seed=0``); the first
``ceil(test_fraction * N)`` permuted rows (option ``test_fraction=0.25``, the count
sklearn's ``train_test_split`` uses) are "test", the rest "train", each in permuted
order. The split is not stratified. scikit-learn is imported only when loading.
"""
from __future__ import annotations

import importlib.util
import math

import numpy as np

from .containers import TabularDataset
from .errors import DatasetNotFoundError

__all__ = ["load_tabular", "TABULAR", "split_indices"]

# name -> (sklearn loader, rows, features, classes)
TABULAR = {
    "digits": ("load_digits", 1797, 64, 10),
    "iris": ("load_iris", 150, 4, 3),
    "wine": ("load_wine", 178, 13, 3),
    "breast_cancer": ("load_breast_cancer", 569, 30, 2),
}


def available() -> bool:
    return importlib.util.find_spec("sklearn") is not None


def split_indices(n: int, split: str, *, test_fraction: float, seed: int) -> np.ndarray:
    """Row indices of ``split`` ("all", "train", "test") for ``n`` rows."""
    if split == "all":
        return np.arange(n)
    if not isinstance(test_fraction, (int, float)) or not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction!r}")
    perm = np.random.default_rng(seed).permutation(n)
    n_test = math.ceil(float(test_fraction) * n)
    return perm[:n_test] if split == "test" else perm[n_test:]


def load_tabular(
    name: str, split: str, *, test_fraction: float = 0.25, seed: int = 0
) -> TabularDataset:
    """One of :data:`TABULAR` from scikit-learn; see the module docstring."""
    try:
        from sklearn import datasets as skd  # lazy: optional dependency
    except ImportError as err:
        raise DatasetNotFoundError(
            f"Dataset {name!r} not found: it ships with scikit-learn, which is not "
            f"installed. Install it with `pip install scikit-learn` (or jaxml[classic])."
        ) from err
    bunch = getattr(skd, TABULAR[name][0])()
    x = np.asarray(bunch.data, dtype=np.float32)
    y = np.asarray(bunch.target).astype(np.int32)
    features = getattr(bunch, "feature_names", None)
    if features is None:
        features = [f"x{i}" for i in range(x.shape[1])]
    idx = split_indices(x.shape[0], split, test_fraction=test_fraction, seed=seed)
    return TabularDataset(
        np.ascontiguousarray(x[idx]),
        y[idx],
        tuple(str(f) for f in features),
        tuple(str(c) for c in bunch.target_names),
    )
