"""Deterministic train / validation / test splits.

``train_val_test(name, n_train, n_val, n_test, seed=seed)`` for image datasets
(mnist, fashion_mnist, cifar10):

* train and validation: one permutation of the upstream "train" split drawn by
  ``numpy.random.default_rng([seed, 0])``; train = its first ``n_train`` indices,
  validation = the next ``n_val`` (so they are disjoint);
* test: the whole upstream "test" split when ``n_test`` equals its size, else the first
  ``n_test`` indices of a permutation drawn by ``numpy.random.default_rng([seed, 1])``.
  Train/validation and test use separate streams, so changing ``n_train`` does not
  change the test subset.

Each subset keeps the upstream order (indices are sorted): shuffling for training is
the training loop's job. For scikit-learn sets (which have no upstream split) the three
disjoint subsets come from one permutation of split "all" by ``default_rng([seed, 0])``:
train first, then validation, then test.

Example: the MLP study's ``train_val_test("fashion_mnist", 10_000, 2_000, 10_000)``.
"""
from __future__ import annotations

import numpy as np

from .containers import ImageDataset, TabularDataset
from .registry import get_spec, load

__all__ = ["train_val_test", "unit_arrays", "standardised_arrays"]


def _check_size(arg: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
        raise ValueError(f"train_val_test: {arg} must be a non-negative integer, got {v!r}")
    return int(v)


def _pick(perm: np.ndarray, start: int, count: int) -> np.ndarray:
    return np.sort(perm[start:start + count])


def train_val_test(
    name: str,
    n_train: int,
    n_val: int,
    n_test: int,
    *,
    seed: int = 0,
    data_dir=None,
    **options,
) -> dict:
    """``{"train", "validation", "test"}`` subsets of dataset ``name`` (see module doc).

    ``options`` go to :func:`jaxml.data.load`. Raises ValueError when the sizes exceed
    the examples available (the message gives the sizes).
    """
    n_train = _check_size("n_train", n_train)
    n_val = _check_size("n_val", n_val)
    n_test = _check_size("n_test", n_test)
    spec = get_spec(name)
    if spec.returns not in ("ImageDataset", "TabularDataset"):
        raise ValueError(
            f"train_val_test supports image and tabular datasets; {name!r} is a {spec.returns}"
        )
    rng_trval = np.random.default_rng([seed, 0])

    if "all" in spec.splits:  # tabular: carve the three subsets out of one permutation
        full = load(name, "all", data_dir=data_dir, **options)
        need = n_train + n_val + n_test
        if need > len(full):
            raise ValueError(
                f"train_val_test({name!r}): n_train + n_val + n_test = {n_train} + {n_val} + "
                f"{n_test} = {need} exceeds the {len(full)} examples of {name!r}"
            )
        perm = rng_trval.permutation(len(full))
        return {
            "train": full.subset(_pick(perm, 0, n_train)),
            "validation": full.subset(_pick(perm, n_train, n_val)),
            "test": full.subset(_pick(perm, n_train + n_val, n_test)),
        }

    train: ImageDataset | TabularDataset = load(name, "train", data_dir=data_dir, **options)
    if n_train + n_val > len(train):
        raise ValueError(
            f"train_val_test({name!r}): n_train + n_val = {n_train} + {n_val} = "
            f"{n_train + n_val} exceeds the {len(train)} examples of the upstream 'train' split"
        )
    test = load(name, "test", data_dir=data_dir, **options)
    if n_test > len(test):
        raise ValueError(
            f"train_val_test({name!r}): n_test = {n_test} exceeds the {len(test)} examples "
            f"of the upstream 'test' split"
        )
    perm = rng_trval.permutation(len(train))
    if n_test == len(test):
        test_part = test
    else:
        test_perm = np.random.default_rng([seed, 1]).permutation(len(test))
        test_part = test.subset(_pick(test_perm, 0, n_test))
    return {
        "train": train.subset(_pick(perm, 0, n_train)),
        "validation": train.subset(_pick(perm, n_train, n_val)),
        "test": test_part,
    }


def unit_arrays(splits: dict, *, flatten: bool = False) -> dict:
    """``{split: {"x": float32 pixels / 255 (NHWC, or (N, H*W*C) with ``flatten``), "y": labels}}``
    for image splits as returned by :func:`train_val_test` (no JAX needed)."""
    out = {}
    for name, ds in splits.items():
        x = np.asarray(ds.x, np.float32) / np.float32(255.0)
        out[name] = {"x": x.reshape(len(x), -1) if flatten else x, "y": ds.y}
    return out


def standardised_arrays(splits: dict, *, stats_from: str = "train") -> dict:
    """``{split: {"x": float32 NHWC, "y": labels}}`` for image splits as returned by
    :func:`train_val_test`: pixels scaled to [0, 1], then standardised per channel with the mean and
    std (+ 1e-6) of the ``stats_from`` split (the training set: no test statistics leak in)."""
    from . import transforms  # imports JAX

    ref = np.asarray(transforms.scale_to_unit(splits[stats_from].x))
    mean, std = ref.mean(axis=(0, 1, 2)), ref.std(axis=(0, 1, 2)) + 1e-6
    return {name: {"x": np.asarray(transforms.standardise(transforms.scale_to_unit(ds.x), mean, std)), "y": ds.y}
            for name, ds in splits.items()}
