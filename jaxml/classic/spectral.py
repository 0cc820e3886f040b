"""Spectral clustering: Gaussian similarity graph, graph Laplacian, eigenvectors, k-means.

Steps (von Luxburg, "A tutorial on spectral clustering", 2007):

1. Similarity A_ij = exp(−‖x_i − x_j‖² / (2δ²)) for i ≠ j, A_ii = 0 (no self-loops).
2. Optional k-nearest-neighbour sparsification (``n_neighbors`` = m > 0): keep A_ij when j is
   among the m most similar points of i OR i among those of j (a symmetric graph); zero the rest.
3. Degrees d_i = Σ_j A_ij, D = diag(d).
4. Laplacian: ``"unnormalized"`` L = D − A, or ``"symmetric"`` L_sym = I − D^{-1/2} A D^{-1/2}
   (an isolated point, d_i = 0, gets the identity row).
5. The eigenvectors of the k smallest eigenvalues (``jnp.linalg.eigh``) as columns of U (N, k);
   rows optionally scaled to unit length (Ng, Jordan and Weiss; default for "symmetric").
6. k-means (:mod:`jaxml.classic.kmeans`, k-means++ and ``n_init`` vmapped restarts) on the rows
   of U gives the labels.

δ (``delta``) is a pytree leaf, so ``jax.vmap`` over δ values runs several graphs in one
program; everything else is static. Memory and time are O(N²) and O(N³) (dense eigh).
"""
from __future__ import annotations

import flax.struct
import jax
import jax.numpy as jnp

from jaxml.classic import kmeans
from jaxml.classic.common import ConfigError, check_features, check_int, check_positive
from jaxml.classic.kernels import sq_dists

__all__ = ["LAPLACIANS", "SpectralConfig", "SpectralModel", "fit", "affinity", "laplacian"]

LAPLACIANS = ("unnormalized", "symmetric")


@flax.struct.dataclass
class SpectralConfig:
    """n_clusters, laplacian, n_neighbors (0 = fully connected), normalize_rows (None: True for
    "symmetric", False for "unnormalized"), n_init (k-means restarts) are static; delta is a leaf."""

    n_clusters: int = flax.struct.field(pytree_node=False)
    laplacian: str = flax.struct.field(pytree_node=False, default="symmetric")
    n_neighbors: int = flax.struct.field(pytree_node=False, default=0)
    normalize_rows: bool | None = flax.struct.field(pytree_node=False, default=None)
    n_init: int = flax.struct.field(pytree_node=False, default=10)
    delta: float = 1.0

    def validate(self, n_points: int | None = None) -> None:
        check_int("n_clusters", self.n_clusters, 1)
        check_int("n_neighbors", self.n_neighbors, 0)
        check_int("n_init", self.n_init, 1)
        if self.laplacian not in LAPLACIANS:
            raise ConfigError(f"config field 'laplacian' = {self.laplacian!r}; expected one of {list(LAPLACIANS)}")
        check_positive("delta", self.delta)
        if n_points is not None:
            if self.n_clusters > n_points:
                raise ValueError(f"n_clusters={self.n_clusters} is larger than the number of points ({n_points})")
            if self.n_neighbors >= n_points:
                raise ConfigError(f"config field 'n_neighbors' = {self.n_neighbors} must be smaller than the "
                                  f"number of points ({n_points})")

    @property
    def scale_rows(self) -> bool:
        return self.laplacian == "symmetric" if self.normalize_rows is None else bool(self.normalize_rows)


@flax.struct.dataclass
class SpectralModel:
    """labels_N (int32); eigenvalues_K: the k smallest Laplacian eigenvalues (ascending);
    embedding_NxK: the rows k-means clustered (after optional row scaling); inertia of k-means."""

    labels_N: jax.Array
    eigenvalues_K: jax.Array
    embedding_NxK: jax.Array
    inertia: jax.Array


def affinity(X_NxD: jax.Array, delta, n_neighbors: int = 0) -> jax.Array:
    """The (N, N) similarity matrix of steps 1-2 (symmetric, zero diagonal)."""
    n = X_NxD.shape[0]
    A = jnp.exp(-sq_dists(X_NxD, X_NxD) / (2.0 * delta * delta))
    A = A * (1.0 - jnp.eye(n, dtype=A.dtype))
    if n_neighbors:
        ranked = jnp.where(jnp.eye(n, dtype=bool), -jnp.inf, -sq_dists(X_NxD, X_NxD))
        _, idx_NxM = jax.lax.top_k(ranked, n_neighbors)
        keep = jnp.zeros((n, n), bool).at[jnp.arange(n)[:, None], idx_NxM].set(True)
        A = jnp.where(keep | keep.T, A, 0.0)
    return A


def laplacian(A_NxN: jax.Array, kind: str = "symmetric") -> jax.Array:
    """L = D − A ("unnormalized") or I − D^{-1/2} A D^{-1/2} ("symmetric")."""
    d_N = jnp.sum(A_NxN, axis=1)
    if kind == "unnormalized":
        return jnp.diag(d_N) - A_NxN
    if kind == "symmetric":
        s_N = jnp.where(d_N > 0, jax.lax.rsqrt(jnp.maximum(d_N, 1e-30)), 0.0)
        return jnp.eye(A_NxN.shape[0], dtype=A_NxN.dtype) - s_N[:, None] * A_NxN * s_N[None, :]
    raise ValueError(f"unknown Laplacian {kind!r}; expected one of {list(LAPLACIANS)}")


@jax.jit
def _fit(key, X_NxD, config: SpectralConfig) -> SpectralModel:
    L = laplacian(affinity(X_NxD, config.delta, config.n_neighbors), config.laplacian)
    evals_N, evecs_NxN = jnp.linalg.eigh(L)
    k = config.n_clusters
    U_NxK = evecs_NxN[:, :k]
    if config.scale_rows:
        norms = jnp.linalg.norm(U_NxK, axis=1, keepdims=True)
        U_NxK = U_NxK / jnp.where(norms > 0, norms, 1.0)
    km = kmeans._fit(key, U_NxK, kmeans.KMeansConfig(n_clusters=k, n_init=config.n_init))
    return SpectralModel(km.labels_N, evals_N[:k], U_NxK, km.inertia)


def fit(key: jax.Array, X_NxD: jax.Array, config: SpectralConfig) -> SpectralModel:
    """Spectral clustering of the rows of X (see the module docstring).

    Raises:
      ConfigError: bad config; ValueError: X not a float (N, D) array, or k > N.
    """
    check_features(X_NxD)
    config.validate(X_NxD.shape[0])
    return _fit(key, X_NxD, config)
