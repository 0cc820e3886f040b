"""Small 2-D toy problems for studying training dynamics (numpy only, deterministic by seed).

Every generator returns ``(x, y)``: ``x`` float32 of shape (N, 2), ``y`` int32 of shape (N,)
with labels in {0, 1} (0 = "negative", 1 = "positive"); the examples come in a shuffled order
drawn from ``numpy.random.default_rng(seed)``. Use ``2 * y - 1`` for ±1 targets.

- :func:`xor_points`   the four corners of the unit square with XOR labels (no noise).
- :func:`xor`          N points: Gaussian clouds of std ``noise`` around the four corners
                       (-1, -1), (1, 1) [label 0] and (-1, 1), (1, -1) [label 1]; not linearly
                       separable.
- :func:`two_blobs`    N points: two Gaussian clouds of std ``std`` centred at (-d/2, 0)
                       [label 0] and (+d/2, 0) [label 1]; linearly separable when d >> std.
- :func:`sort_by_label` reorders a data set so all examples of the smaller label come first
                       (stable); with an unshuffled epoch (``shuffle=False``) SGD then visits
                       every negative example before any positive one.
- :func:`grid_points`  a regular grid over a box, for drawing decision boundaries.
"""
from __future__ import annotations

import numpy as np

__all__ = ["xor_points", "xor", "two_blobs", "sort_by_label", "grid_points"]


def _check_n(fn: str, n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"{fn}: n must be an integer >= 2, got {n!r}")
    return int(n)


def _check_positive(fn: str, name: str, v) -> float:
    v = float(v)
    if not v > 0:
        raise ValueError(f"{fn}: {name} must be > 0, got {v}")
    return v


def _balanced_labels(rng: np.random.Generator, n: int) -> np.ndarray:
    """n labels, floor(n/2) zeros and the rest ones, in a random order."""
    y = np.zeros(n, np.int32)
    y[n // 2:] = 1
    return y[rng.permutation(n)]


def xor_points() -> tuple[np.ndarray, np.ndarray]:
    """x = (0,0), (0,1), (1,0), (1,1) as float32 (4, 2); y = x1 XOR x2 = 0, 1, 1, 0 (int32)."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    return x, np.array([0, 1, 1, 0], np.int32)


def xor(n: int, *, noise: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noisy XOR: label 1 iff the two coordinates' centres have opposite signs (see module doc).

    Each point picks one of the two corners of its class uniformly; half the points (rounded
    down) have label 0.
    """
    n = _check_n("xor", n)
    noise = _check_positive("xor", "noise", noise)
    rng = np.random.default_rng(seed)
    y = _balanced_labels(rng, n)
    s = rng.choice(np.array([-1.0, 1.0]), size=n)          # sign of the first coordinate
    centres = np.stack([s, np.where(y == 1, -s, s)], axis=1)
    x = centres + noise * rng.standard_normal((n, 2))
    return x.astype(np.float32), y


def two_blobs(n: int, *, distance: float = 3.0, std: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two isotropic Gaussian clouds, centres (∓distance/2, 0) for labels 0/1 (see module doc)."""
    n = _check_n("two_blobs", n)
    distance = _check_positive("two_blobs", "distance", distance)
    std = _check_positive("two_blobs", "std", std)
    rng = np.random.default_rng(seed)
    y = _balanced_labels(rng, n)
    centre_x = np.where(y == 1, distance / 2, -distance / 2)
    x = np.stack([centre_x, np.zeros(n)], axis=1) + std * rng.standard_normal((n, 2))
    return x.astype(np.float32), y


def sort_by_label(x, y) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` reordered by increasing label, keeping the order within a label (stable)."""
    x, y = np.asarray(x), np.asarray(y)
    if y.ndim != 1 or x.shape[:1] != y.shape:
        raise ValueError(f"sort_by_label: expected x of shape (N, ...) and y of shape (N,), "
                         f"got {x.shape} and {y.shape}")
    order = np.argsort(y, kind="stable")
    return x[order], y[order]


def grid_points(low: tuple[float, float], high: tuple[float, float], resolution: int = 100):
    """A ``resolution x resolution`` grid over the box [low, high] (per axis).

    Returns ``(g0, g1, points)``: the two 1-D axes (resolution,) and the points
    (resolution * resolution, 2) float32 in row-major order, so that a model output ``f`` of
    shape (resolution * resolution,) reshaped to (resolution, resolution) is indexed
    ``[i1, i0]`` as matplotlib's ``contour(g0, g1, f)`` expects.
    """
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < 2:
        raise ValueError(f"grid_points: resolution must be an integer >= 2, got {resolution!r}")
    if not all(float(lo) < float(hi) for lo, hi in zip(low, high)) or len(low) != 2 or len(high) != 2:
        raise ValueError(f"grid_points: need low < high on both axes, got low={low}, high={high}")
    g0 = np.linspace(float(low[0]), float(high[0]), resolution, dtype=np.float32)
    g1 = np.linspace(float(low[1]), float(high[1]), resolution, dtype=np.float32)
    m0, m1 = np.meshgrid(g0, g1)
    return g0, g1, np.stack([m0.ravel(), m1.ravel()], axis=1)
