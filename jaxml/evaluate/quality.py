"""Sample-quality measures for generative models: a Fréchet distance in classifier features and
the class histogram of generated samples.

Fréchet distance (the FID recipe of Heusel et al., with an MNIST classifier's penultimate-layer
features in place of Inception's): fit a Gaussian N(μ, Σ) to each set of feature vectors; the
squared 2-Wasserstein distance between the Gaussians is

    d² = ||μ_a - μ_b||² + tr Σ_a + tr Σ_b - 2 tr (Σ_a^{1/2} Σ_b Σ_a^{1/2})^{1/2}.

The last term is usually written tr (Σ_a Σ_b)^{1/2}; Σ_a Σ_b is not symmetric, but it is
similar to the symmetric PSD matrix M = Σ_a^{1/2} Σ_b Σ_a^{1/2} (same eigenvalues λ_i ≥ 0), so
tr (Σ_a Σ_b)^{1/2} = Σ_i sqrt(λ_i(M)). Both square roots are taken with ``numpy.linalg.eigh`` of
symmetric matrices in float64 (eigenvalues below 0 from round-off clipped to 0): no general
``sqrtm``, no complex parts to discard, exact to round-off for singular covariances too.
Covariances are the unbiased ones (divide by n - 1). The result is in squared feature units;
it is 0 for identical sets and grows with any difference in mean or spread.

Everything here is host-side numpy on arrays already on the host (features of a few thousand
images); computing the features is the caller's (see ``jaxml.evaluate.feature_classifier``).
"""
from __future__ import annotations

import numpy as np


def _features(feats, what: str) -> np.ndarray:
    arr = np.asarray(feats, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{what}: expected features of shape (N, F), got shape {arr.shape}")
    if arr.shape[0] < 2:
        raise ValueError(f"{what}: need at least 2 feature vectors for a covariance, got {arr.shape[0]}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what}: features contain NaN or inf")
    return arr


def gaussian_stats(feats_NxF) -> tuple[np.ndarray, np.ndarray]:
    """(μ (F,), Σ (F, F)) of the rows of ``feats_NxF``, float64, unbiased covariance."""
    arr = _features(feats_NxF, "gaussian_stats")
    return arr.mean(axis=0), np.cov(arr, rowvar=False).reshape(arr.shape[1], arr.shape[1])


def psd_sqrt(sym_FxF) -> np.ndarray:
    """The PSD square root of a symmetric PSD matrix via ``eigh`` (negative round-off clipped)."""
    w, v = np.linalg.eigh(np.asarray(sym_FxF, np.float64))
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance_from_stats(mu_a, cov_a, mu_b, cov_b) -> float:
    """d² between N(μ_a, Σ_a) and N(μ_b, Σ_b); see the module docstring."""
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    cov_a, cov_b = np.asarray(cov_a, np.float64), np.asarray(cov_b, np.float64)
    f = mu_a.shape[0]
    if mu_b.shape != (f,) or cov_a.shape != (f, f) or cov_b.shape != (f, f):
        raise ValueError(f"frechet_distance: shapes do not agree: mu_a {mu_a.shape}, cov_a {cov_a.shape}, "
                         f"mu_b {mu_b.shape}, cov_b {cov_b.shape}")
    root_a = psd_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    middle = 0.5 * (middle + middle.T)  # symmetric up to round-off; make it exactly so for eigh
    tr_sqrt = float(np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(middle), 0.0, None))))
    diff = mu_a - mu_b
    d2 = float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * tr_sqrt)
    return max(d2, 0.0)


def frechet_distance(feats_a, feats_b) -> float:
    """Fréchet distance (d², squared feature units) between the Gaussians fitted to two sets of
    feature vectors, (N_a, F) and (N_b, F)."""
    a = _features(feats_a, "frechet_distance feats_a")
    b = _features(feats_b, "frechet_distance feats_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"frechet_distance: feature sizes differ: {a.shape[1]} and {b.shape[1]}")
    return frechet_distance_from_stats(*gaussian_stats(a), *gaussian_stats(b))


def class_histogram(logits_or_labels, num_classes: int | None = None) -> np.ndarray:
    """Fraction of samples per predicted class, shape (C,), summing to 1.

    Takes logits (N, C) (the argmax is the predicted class) or integer labels (N,) with
    ``num_classes`` given."""
    arr = np.asarray(logits_or_labels)
    if arr.ndim == 2:
        if num_classes is not None and num_classes != arr.shape[1]:
            raise ValueError(f"class_histogram: logits have {arr.shape[1]} classes, num_classes={num_classes}")
        num_classes, labels = arr.shape[1], np.argmax(arr, axis=1)
    elif arr.ndim == 1 and np.issubdtype(arr.dtype, np.integer):
        if num_classes is None:
            raise ValueError("class_histogram: give num_classes with integer labels")
        labels = arr
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"class_histogram: labels must lie in [0, {num_classes}), got "
                             f"[{labels.min()}, {labels.max()}]")
    else:
        raise ValueError(f"class_histogram: expected logits (N, C) or integer labels (N,), got "
                         f"shape {arr.shape} and dtype {arr.dtype}")
    if labels.size == 0:
        raise ValueError("class_histogram: no samples")
    return np.bincount(labels, minlength=num_classes).astype(np.float64) / labels.size


def histogram_spread(hist) -> dict:
    """Summary of a class histogram: smallest and largest class share, and its total variation
    distance from uniform (0 = perfectly balanced, 1 - 1/C = a single class)."""
    h = np.asarray(hist, np.float64)
    return {"min_share": float(h.min()), "max_share": float(h.max()),
            "tv_from_uniform": float(0.5 * np.abs(h - 1.0 / h.size).sum())}
