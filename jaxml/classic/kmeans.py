"""k-means: k-means++ seeding, Lloyd iterations to convergence, vmapped restarts.

One run (:func:`fit_single`) from a key:

1. k-means++ seeding (Arthur and Vassilvitskii 2007) in scikit-learn's *greedy* form: the
   first centre is a uniformly random point; each further centre is the best (lowest
   resulting inertia) of ``n_local_trials`` candidates drawn with probability proportional to
   the squared distance to the nearest centre chosen so far. ``n_local_trials=1`` is the
   plain algorithm; None means 2 + ⌊ln k⌋, scikit-learn's default.
2. Lloyd iterations in a ``lax.while_loop``: assign every point to its nearest centre, move
   each centre to the mean of its points (a centre that lost all its points stays where it
   was), until the total squared centre shift is <= ``tol`` x (mean per-feature variance of X)
   (scikit-learn's tolerance) or ``max_iter`` iterations.
3. A final assignment to the final centres; inertia = Σ_n ‖x_n − c_{label_n}‖².

:func:`fit` runs ``n_init`` restarts as ONE ``jax.vmap`` over split keys and keeps the run
with the lowest inertia. Distances use ‖x‖² + ‖c‖² − 2x·c (one matmul per iteration).
"""
from __future__ import annotations

import math

import flax.struct
import jax
import jax.numpy as jnp

from jaxml.classic.common import check_features, check_int, check_positive
from jaxml.classic.kernels import sq_dists

__all__ = ["KMeansConfig", "KMeansModel", "fit", "fit_single", "predict", "kmeans_plusplus", "inertia"]


@flax.struct.dataclass
class KMeansConfig:
    """n_clusters (k), n_init (restarts), max_iter, n_local_trials are static; tol is a leaf."""

    n_clusters: int = flax.struct.field(pytree_node=False)
    n_init: int = flax.struct.field(pytree_node=False, default=10)
    max_iter: int = flax.struct.field(pytree_node=False, default=300)
    n_local_trials: int | None = flax.struct.field(pytree_node=False, default=None)
    tol: float = 1e-4

    def validate(self, n_points: int | None = None) -> None:
        check_int("n_clusters", self.n_clusters, 1)
        check_int("n_init", self.n_init, 1)
        check_int("max_iter", self.max_iter, 1)
        if self.n_local_trials is not None:
            check_int("n_local_trials", self.n_local_trials, 1)
        check_positive("tol", self.tol, allow_zero=True)
        if n_points is not None and self.n_clusters > n_points:
            raise ValueError(f"n_clusters={self.n_clusters} is larger than the number of points ({n_points})")

    @property
    def local_trials(self) -> int:
        return self.n_local_trials or 2 + int(math.log(self.n_clusters))


@flax.struct.dataclass
class KMeansModel:
    """centers_KxD; labels_N (int32) of the training points; inertia (scalar, the sum of squared
    distances to the assigned centres); n_iter (Lloyd iterations of the kept run);
    inertia_R: final inertia of every restart (R = n_init; for :func:`fit_single`, R = 1)."""

    centers_KxD: jax.Array
    labels_N: jax.Array
    inertia: jax.Array
    n_iter: jax.Array
    inertia_R: jax.Array


def _assign(X_NxD, centers_KxD):
    d2_NxK = sq_dists(X_NxD, centers_KxD)
    labels_N = jnp.argmin(d2_NxK, axis=1).astype(jnp.int32)
    return labels_N, jnp.take_along_axis(d2_NxK, labels_N[:, None], axis=1)[:, 0]


def kmeans_plusplus(key: jax.Array, X_NxD: jax.Array, n_clusters: int, n_local_trials: int) -> jax.Array:
    """Greedy k-means++ seeding (see the module docstring); returns centers (K, D)."""
    n, d = X_NxD.shape
    # All random numbers up front (one draw, no RNG inside the loop); u_KxL[0, 0] picks the
    # first centre, row c the candidates for centre c by inverse-CDF sampling.
    u_KxL = jax.random.uniform(key, (n_clusters, n_local_trials), X_NxD.dtype)
    first = jnp.minimum(jnp.floor(u_KxL[0, 0] * n).astype(jnp.int32), n - 1)
    centers = jnp.zeros((n_clusters, d), X_NxD.dtype).at[0].set(X_NxD[first])
    closest_N = sq_dists(X_NxD, X_NxD[first][None, :])[:, 0]

    def add_center(c, carry):
        centers, closest_N = carry
        # Candidates with probability ∝ D²; if every point coincides with a centre, uniformly.
        cdf_N = jnp.cumsum(closest_N)
        total = cdf_N[-1]
        by_d2 = jnp.searchsorted(cdf_N, u_KxL[c] * total, side="right", method="compare_all")
        uniform = jnp.floor(u_KxL[c] * n).astype(by_d2.dtype)
        cand_L = jnp.clip(jnp.where(total > 0, by_d2, uniform), 0, n - 1)
        d2_LxN = jnp.minimum(closest_N[None, :], sq_dists(X_NxD[cand_L], X_NxD))
        best = jnp.argmin(jnp.sum(d2_LxN, axis=1))
        return centers.at[c].set(X_NxD[cand_L[best]]), d2_LxN[best]

    centers, _ = jax.lax.fori_loop(1, n_clusters, add_center, (centers, closest_N))
    return centers


def _lloyd(X_NxD, centers_KxD, tol_abs, max_iter: int):
    k = centers_KxD.shape[0]

    def cond(state):
        _, shift, it = state
        return jnp.logical_and(it < max_iter, shift > tol_abs)

    def body(state):
        centers, _, it = state
        labels_N, _ = _assign(X_NxD, centers)
        onehot_NxK = jax.nn.one_hot(labels_N, k, dtype=X_NxD.dtype)
        counts_K = jnp.sum(onehot_NxK, axis=0)
        sums_KxD = onehot_NxK.T @ X_NxD
        new = jnp.where(counts_K[:, None] > 0, sums_KxD / jnp.maximum(counts_K, 1.0)[:, None], centers)
        return new, jnp.sum((new - centers) ** 2), it + 1

    init = (centers_KxD, jnp.asarray(jnp.inf, X_NxD.dtype), jnp.asarray(0, jnp.int32))
    centers, _, n_iter = jax.lax.while_loop(cond, body, init)
    return centers, n_iter


def _single(key, X_NxD, config: KMeansConfig):
    centers = kmeans_plusplus(key, X_NxD, config.n_clusters, config.local_trials)
    tol_abs = config.tol * jnp.mean(jnp.var(X_NxD, axis=0))
    centers, n_iter = _lloyd(X_NxD, centers, tol_abs, config.max_iter)
    labels_N, d2_N = _assign(X_NxD, centers)
    return centers, labels_N, jnp.sum(d2_N), n_iter


@jax.jit
def _fit_single(key, X_NxD, config: KMeansConfig) -> KMeansModel:
    centers, labels, inert, n_iter = _single(key, X_NxD, config)
    return KMeansModel(centers, labels, inert, n_iter, inert[None])


@jax.jit
def _fit(key, X_NxD, config: KMeansConfig) -> KMeansModel:
    keys = jax.random.split(key, config.n_init)
    centers, labels, inert_R, n_iter = jax.vmap(_single, in_axes=(0, None, None))(keys, X_NxD, config)
    best = jnp.argmin(inert_R)
    return KMeansModel(centers[best], labels[best], inert_R[best], n_iter[best], inert_R)


def fit(key: jax.Array, X_NxD: jax.Array, config: KMeansConfig) -> KMeansModel:
    """k-means with ``config.n_init`` vmapped restarts; keeps the lowest-inertia run.

    Raises:
      ConfigError: bad config; ValueError: X not a float (N, D) array, or k > N.
    """
    check_features(X_NxD)
    config.validate(X_NxD.shape[0])
    return _fit(key, X_NxD, config)


def fit_single(key: jax.Array, X_NxD: jax.Array, config: KMeansConfig) -> KMeansModel:
    """One k-means run (``n_init`` ignored): the building block :func:`fit` vmaps."""
    check_features(X_NxD)
    config.validate(X_NxD.shape[0])
    return _fit_single(key, X_NxD, config)


def predict(model: KMeansModel, X_MxD: jax.Array) -> jax.Array:
    """Index (M,) int32 of the nearest centre of each point."""
    check_features(X_MxD)
    return _assign(X_MxD, model.centers_KxD)[0]


def inertia(X_NxD: jax.Array, centers_KxD: jax.Array) -> jax.Array:
    """Σ_n min_k ‖x_n − c_k‖² (scalar)."""
    return jnp.sum(_assign(X_NxD, centers_KxD)[1])
