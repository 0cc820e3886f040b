"""Shared checks for the classical learners: concrete-value tests, input and config validation.

Every learner in :mod:`jaxml.classic` is a pure function ``fit(key, X, y, config)`` whose
config is a ``flax.struct.dataclass``: fields that fix shapes or control flow (number of
classes, kernel name, iteration budgets) are *static* (part of the pytree structure, so a new
value recompiles), the numeric hyperparameters (C, gamma, learning rate, tolerances) are
*leaves* (traced, so ``jax.vmap`` can sweep them in one compiled program).

Checks run only on concrete values: under ``jax.jit``/``jax.vmap`` the traced leaves cannot be
inspected, so out-of-range values there are the caller's responsibility (the public ``fit``
functions check them before tracing when they are concrete).
"""
from __future__ import annotations

from typing import Any

import jax
import numpy as np

from jaxml.train.errors import ConfigError

__all__ = ["ConfigError", "is_concrete", "check_positive", "check_features", "check_labels",
           "check_kernel_matrix", "check_int"]


def is_concrete(value: Any) -> bool:
    """True unless ``value`` (or a leaf of it) is a JAX tracer."""
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(value))


def check_positive(name: str, value: Any, *, allow_zero: bool = False, upper: float | None = None) -> None:
    """ConfigError unless every element of a concrete ``value`` is > 0 (>= 0) and <= ``upper``."""
    if not is_concrete(value):
        return
    arr = np.asarray(value, dtype=np.float64)
    low_ok = np.all(arr >= 0) if allow_zero else np.all(arr > 0)
    if not np.all(np.isfinite(arr)) or not low_ok or (upper is not None and np.any(arr > upper)):
        bound = ">= 0" if allow_zero else "> 0"
        if upper is not None:
            bound += f" and <= {upper}"
        raise ConfigError(f"config field {name!r} must be finite and {bound}; got {value!r}")


def check_int(name: str, value: Any, low: int = 1) -> None:
    """ConfigError unless ``value`` is a Python int >= ``low`` (static config fields)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ConfigError(f"config field {name!r} must be an integer >= {low}; got {value!r}")


def check_features(X: Any, what: str = "X") -> None:
    """ValueError unless ``X`` is a rank-2 floating array (N, D) with N >= 1 (finite if concrete)."""
    shape = getattr(X, "shape", None)
    dtype = getattr(X, "dtype", None)
    if shape is None or len(shape) != 2:
        raise ValueError(f"{what} must be a 2-d array (N, D) of features; got shape {shape}")
    if shape[0] < 1 or shape[1] < 1:
        raise ValueError(f"{what} must have at least one row and one column; got shape {shape}")
    if dtype is None or not np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError(f"{what} must hold floats (e.g. float32); got dtype {dtype}")
    if is_concrete(X) and not np.all(np.isfinite(np.asarray(X))):
        raise ValueError(f"{what} contains NaN or inf")


def check_labels(y: Any, n: int, num_classes: int, what: str = "y") -> None:
    """ValueError unless ``y`` is an integer vector of length ``n`` with values in [0, num_classes)."""
    shape = getattr(y, "shape", None)
    dtype = getattr(y, "dtype", None)
    if shape is None or len(shape) != 1 or shape[0] != n:
        raise ValueError(f"{what} must be a 1-d integer array of {n} labels (one per row of X); got shape {shape}")
    if dtype is None or not np.issubdtype(np.dtype(dtype), np.integer):
        raise ValueError(f"{what} must hold integer class labels (e.g. int32); got dtype {dtype}")
    if is_concrete(y):
        arr = np.asarray(y)
        if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
            raise ValueError(f"{what} must hold labels in [0, {num_classes}) (num_classes={num_classes}); "
                             f"got values in [{arr.min()}, {arr.max()}]")


def check_kernel_matrix(K: Any, n_train: int | None = None, what: str = "K") -> None:
    """ValueError unless ``K`` is a 2-d float matrix; square when ``n_train`` is None, else (M, n_train)."""
    shape = getattr(K, "shape", None)
    if shape is None or len(shape) != 2:
        raise ValueError(f"{what} must be a 2-d kernel matrix; got shape {shape}")
    if n_train is None and shape[0] != shape[1]:
        raise ValueError(f"{what} must be the square (N, N) training kernel matrix; got shape {shape}")
    if n_train is not None and shape[1] != n_train:
        raise ValueError(f"{what} must be (M, N_train) = (M, {n_train}): kernel values between the "
                         f"points to predict and the {n_train} training points; got shape {shape}")
    if not np.issubdtype(np.dtype(K.dtype), np.floating):
        raise ValueError(f"{what} must hold floats; got dtype {K.dtype}")
