"""Kernel matrices in JAX: linear, RBF (Gaussian), polynomial; squared Euclidean distances.

All functions take row-major point sets ``A_NxD`` and ``B_MxD`` and return the (N, M) matrix
``k(a_n, b_m)``; they are pure, jit-able and vmap-able over their numeric parameters.
Conventions follow scikit-learn's ``sklearn.metrics.pairwise`` so that SVMs and the kernel
perceptron can be checked against it:

- linear:      k(a, b) = a·b
- rbf:         k(a, b) = exp(-gamma ‖a − b‖²);  the Gaussian exp(-‖a − b‖² / (2σ²)) is gamma = 1/(2σ²)
- polynomial:  k(a, b) = (gamma a·b + coef0) ** degree   (degree a static Python int)
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["KERNELS", "sq_dists", "linear_kernel", "rbf_kernel", "gaussian_kernel", "polynomial_kernel",
           "kernel_matrix"]

#: Kernel names accepted by :func:`kernel_matrix` (and by the learners, which also accept "precomputed").
KERNELS = ("linear", "rbf", "poly")


def sq_dists(A_NxD: jax.Array, B_MxD: jax.Array) -> jax.Array:
    """Squared Euclidean distances (N, M), via ‖a‖² + ‖b‖² − 2a·b (one matmul), clipped at 0."""
    a2_N = jnp.sum(A_NxD * A_NxD, axis=1)
    b2_M = jnp.sum(B_MxD * B_MxD, axis=1)
    d_NxM = a2_N[:, None] + b2_M[None, :] - 2.0 * (A_NxD @ B_MxD.T)
    return jnp.maximum(d_NxM, 0.0)


def linear_kernel(A_NxD: jax.Array, B_MxD: jax.Array) -> jax.Array:
    """a·b, (N, M)."""
    return A_NxD @ B_MxD.T


def rbf_kernel(A_NxD: jax.Array, B_MxD: jax.Array, gamma) -> jax.Array:
    """exp(−gamma ‖a − b‖²), (N, M); ``gamma`` > 0 (may be traced)."""
    return jnp.exp(-gamma * sq_dists(A_NxD, B_MxD))


def gaussian_kernel(A_NxD: jax.Array, B_MxD: jax.Array, sigma) -> jax.Array:
    """exp(−‖a − b‖² / (2 sigma²)), (N, M): the RBF kernel with gamma = 1/(2 sigma²)."""
    return jnp.exp(-sq_dists(A_NxD, B_MxD) / (2.0 * sigma * sigma))


def polynomial_kernel(A_NxD: jax.Array, B_MxD: jax.Array, gamma, degree: int, coef0) -> jax.Array:
    """(gamma a·b + coef0) ** degree, (N, M); ``degree`` a static int >= 1."""
    return (gamma * (A_NxD @ B_MxD.T) + coef0) ** degree


def kernel_matrix(A_NxD: jax.Array, B_MxD: jax.Array, kernel: str, *, gamma=1.0, degree: int = 3,
                  coef0=0.0) -> jax.Array:
    """The (N, M) matrix of ``kernel`` (one of :data:`KERNELS`) between the rows of A and B.

    Raises:
      ValueError: unknown kernel name, or A and B with different feature counts.
    """
    if A_NxD.ndim != 2 or B_MxD.ndim != 2 or A_NxD.shape[1] != B_MxD.shape[1]:
        raise ValueError(f"kernel_matrix needs two 2-d arrays with the same number of features; "
                         f"got shapes {A_NxD.shape} and {B_MxD.shape}")
    if kernel == "linear":
        return linear_kernel(A_NxD, B_MxD)
    if kernel == "rbf":
        return rbf_kernel(A_NxD, B_MxD, gamma)
    if kernel == "poly":
        return polynomial_kernel(A_NxD, B_MxD, gamma, degree, coef0)
    raise ValueError(f"unknown kernel {kernel!r}; expected one of {list(KERNELS)}")
