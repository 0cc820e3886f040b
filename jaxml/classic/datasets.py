"""Small data helpers for the classical-learner studies: tabular train/test splits with
optional scaling and subsampling, and the two-moons / concentric-circles toy sets.

The tabular sets come from :func:`jaxml.data.load` (scikit-learn's bundled copies, a seeded
25% test split); the toy sets from ``sklearn.datasets.make_moons`` / ``make_circles`` (used
only as data generators). scikit-learn is imported lazily.
"""
from __future__ import annotations

import numpy as np

from jaxml import data as jdata

__all__ = ["SCALINGS", "TOY_SETS", "tabular_split", "toy_set"]

SCALINGS = ("none", "standardise", "max")
TOY_SETS = ("moons", "circles")


def tabular_split(name: str, *, scaling: str = "none", n_train: int | None = None, n_test: int | None = None,
                  seed: int = 0) -> dict:
    """``{"train": (x, y), "test": (x, y), "num_classes": K, "class_names": ...}``.

    x float32 (N, D), y int32 (N,). ``scaling``: "none"; "standardise" (zero mean, unit
    variance with the TRAIN statistics; constant features are left centred); "max" (divide by
    the largest absolute training value, e.g. digits' 16 -> [0, 1]). ``n_train``/``n_test``
    keep the first rows of each (already shuffled) split, for quick runs.
    """
    if scaling not in SCALINGS:
        raise ValueError(f"scaling must be one of {list(SCALINGS)}; got {scaling!r}")
    train = jdata.load(name, "train", seed=seed)
    test = jdata.load(name, "test", seed=seed)
    xtr, ytr = train.x[:n_train], train.y[:n_train]
    xte, yte = test.x[:n_test], test.y[:n_test]
    if scaling == "standardise":
        mu, sd = xtr.mean(0), xtr.std(0)
        sd = np.where(sd > 0, sd, 1.0)
        xtr, xte = (xtr - mu) / sd, (xte - mu) / sd
    elif scaling == "max":
        top = float(np.abs(xtr).max()) or 1.0
        xtr, xte = xtr / top, xte / top
    return {"train": (xtr.astype(np.float32), ytr.astype(np.int32)),
            "test": (xte.astype(np.float32), yte.astype(np.int32)),
            "num_classes": len(train.class_names), "class_names": train.class_names}


def toy_set(name: str, n: int, *, noise: float = 0.05, seed: int = 0, factor: float = 0.5):
    """``(x float32 (n, 2), y int32 (n,))``: two interleaved moons or two concentric circles
    (``factor`` = inner radius / outer radius) with Gaussian noise of std ``noise``."""
    from sklearn import datasets as skd

    if name == "moons":
        x, y = skd.make_moons(n, noise=noise, random_state=seed)
    elif name == "circles":
        x, y = skd.make_circles(n, noise=noise, factor=factor, random_state=seed)
    else:
        raise ValueError(f"unknown toy set {name!r}; expected one of {list(TOY_SETS)}")
    return x.astype(np.float32), y.astype(np.int32)
