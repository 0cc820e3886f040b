"""Kernel SVM classifier: linear, RBF, polynomial or precomputed kernel; soft margin C;
one-vs-one (scikit-learn's ``SVC``) or one-vs-rest for several classes.

Each binary sub-problem is the C-SVM dual solved by SMO (:mod:`jaxml.classic.smo`, LIBSVM's
second-order working-set selection, stopping when the maximal KKT violation is <= ``tol``,
default 1e-3 as in scikit-learn, or after ``max_iter`` iterations). All sub-problems share ONE
training kernel matrix K (N, N) and run as one ``jax.vmap`` of the solver:

- ``"ovo"``: one problem per class pair (a, b), a < b, in scikit-learn's order (0-1, 0-2, …):
  y = +1 for class a, −1 for class b, U_i = C for points of a or b and 0 (excluded) for the
  rest. Prediction: each pair votes for a if its decision value is > 0, else for b; the class
  with most votes wins (ties: the lowest class), as LIBSVM does. Two classes: one problem.
- ``"ovr"``: one problem per class c (y = +1 for c, −1 otherwise); prediction argmax_c f_c(x).

The kernel name, class count, strategy, polynomial degree and ``max_iter`` are static; C,
gamma, coef0 and tol are leaves, so ``jax.vmap`` over (C, gamma) fits a grid in one program.
For ``kernel="precomputed"`` pass the (N, N) training kernel matrix as X to :func:`fit` and the
(M, N) test-vs-train matrix to :func:`predict`/:func:`decision_function`.
"""
from __future__ import annotations

import itertools

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

from jaxml.classic.common import (
    ConfigError,
    check_features,
    check_int,
    check_kernel_matrix,
    check_labels,
    check_positive,
)
from jaxml.classic.kernels import KERNELS, kernel_matrix
from jaxml.classic.smo import smo

__all__ = ["SVM_KERNELS", "STRATEGIES", "SVMConfig", "SVMModel", "fit", "predict", "decision_function",
           "support_indices", "scale_gamma", "problems"]

SVM_KERNELS = (*KERNELS, "precomputed")
STRATEGIES = ("ovo", "ovr")


@flax.struct.dataclass
class SVMConfig:
    """Static: num_classes, kernel, multiclass, degree, max_iter. Leaves: C, gamma, coef0, tol."""

    num_classes: int = flax.struct.field(pytree_node=False)
    kernel: str = flax.struct.field(pytree_node=False, default="rbf")
    multiclass: str = flax.struct.field(pytree_node=False, default="ovo")
    degree: int = flax.struct.field(pytree_node=False, default=3)
    max_iter: int = flax.struct.field(pytree_node=False, default=100_000)
    C: float = 1.0
    gamma: float = 1.0
    coef0: float = 0.0
    tol: float = 1e-3

    def validate(self) -> None:
        check_int("num_classes", self.num_classes, 2)
        check_int("degree", self.degree, 1)
        check_int("max_iter", self.max_iter, 1)
        if self.kernel not in SVM_KERNELS:
            raise ConfigError(f"config field 'kernel' = {self.kernel!r}; expected one of {list(SVM_KERNELS)}")
        if self.multiclass not in STRATEGIES:
            raise ConfigError(f"config field 'multiclass' = {self.multiclass!r}; expected one of {list(STRATEGIES)}")
        check_positive("C", self.C)
        check_positive("gamma", self.gamma)
        check_positive("tol", self.tol)


@flax.struct.dataclass
class SVMModel:
    """A fitted SVM with P binary problems (ovo: K(K−1)/2, ovr: K; two classes: 1).

    coef_PxN: y_i α_i of each problem (0 for non-support vectors and excluded points);
    intercept_P: b = −ρ (decision f(x) = Σ_i coef_i k(x_i, x) + b); dual_P: dual objective
    Σα − ½αᵀQα; gap_P: final KKT violation; n_iter_P; converged_P;
    X_train_NxD: the training points (None for a precomputed kernel); config: the fit's config.
    """

    coef_PxN: jax.Array
    intercept_P: jax.Array
    dual_P: jax.Array
    gap_P: jax.Array
    n_iter_P: jax.Array
    converged_P: jax.Array
    X_train_NxD: jax.Array | None
    config: SVMConfig


def problems(num_classes: int, multiclass: str) -> list[tuple[int, int]]:
    """(positive class, negative class) of each binary problem; −1 means "all other classes"."""
    if multiclass == "ovr" and num_classes > 2:
        return [(c, -1) for c in range(num_classes)]
    return list(itertools.combinations(range(num_classes), 2))


def scale_gamma(X_NxD) -> float:
    """scikit-learn's ``gamma="scale"``: 1 / (D · Var(X)) over all entries (host-side)."""
    X = np.asarray(X_NxD, np.float64)
    return float(1.0 / (X.shape[1] * X.var()))


def _train_kernel(X, config: SVMConfig):
    if config.kernel == "precomputed":
        return X
    return kernel_matrix(X, X, config.kernel, gamma=config.gamma, degree=config.degree, coef0=config.coef0)


@jax.jit
def _fit(X, y_N, config: SVMConfig) -> SVMModel:
    K_NxN = _train_kernel(X, config)
    probs = problems(config.num_classes, config.multiclass)
    pos_P = jnp.asarray([p for p, _ in probs])
    neg_P = jnp.asarray([q for _, q in probs])
    dtype = K_NxN.dtype
    is_pos_PxN = y_N[None, :] == pos_P[:, None]
    member_PxN = is_pos_PxN | (y_N[None, :] == neg_P[:, None]) | (neg_P[:, None] < 0)
    ypm_PxN = jnp.where(is_pos_PxN, 1.0, -1.0).astype(dtype)
    U_PxN = jnp.where(member_PxN, jnp.asarray(config.C, dtype), 0.0).astype(dtype)
    res = jax.vmap(smo, in_axes=(None, 0, 0, None, None))(K_NxN, ypm_PxN, U_PxN, config.tol, config.max_iter)
    return SVMModel(ypm_PxN * res.alpha_N, -res.rho, res.dual, res.gap, res.n_iter, res.converged,
                    None if config.kernel == "precomputed" else X, config)


def fit(key: jax.Array | None, X: jax.Array, y_N: jax.Array, config: SVMConfig) -> SVMModel:
    """Fit the SVM. X: features (N, D), or the (N, N) training kernel matrix for "precomputed".
    ``key`` is unused (SMO is deterministic); it keeps the common ``fit(key, X, y, config)`` form.

    Raises:
      ConfigError: bad config; ValueError: bad shapes, dtypes or labels.
    """
    del key
    config.validate()
    if config.kernel == "precomputed":
        check_kernel_matrix(X)
    else:
        check_features(X)
    check_labels(y_N, X.shape[0], config.num_classes)
    return _fit(X, y_N, config)


def decision_function(model: SVMModel, X: jax.Array) -> jax.Array:
    """Decision values (M, P) of every binary problem, positive meaning its first class (see
    :func:`problems`). X: test features (M, D), or the (M, N) test-vs-train kernel matrix."""
    cfg = model.config
    if cfg.kernel == "precomputed":
        check_kernel_matrix(X, model.coef_PxN.shape[-1])
        K_MxN = X
    else:
        check_features(X)
        K_MxN = kernel_matrix(X, model.X_train_NxD, cfg.kernel, gamma=cfg.gamma, degree=cfg.degree,
                              coef0=cfg.coef0)
    return K_MxN @ model.coef_PxN.T + model.intercept_P[None, :]


def predict(model: SVMModel, X: jax.Array) -> jax.Array:
    """Labels (M,) int32: ovo voting (ties: the lowest class) or ovr argmax."""
    cfg = model.config
    dec_MxP = decision_function(model, X)
    probs = problems(cfg.num_classes, cfg.multiclass)
    if cfg.multiclass == "ovr" and cfg.num_classes > 2:
        return jnp.argmax(dec_MxP, axis=1).astype(jnp.int32)
    pos = jnp.asarray([p for p, _ in probs])
    neg = jnp.asarray([q for _, q in probs])
    winner_MxP = jnp.where(dec_MxP > 0, pos[None, :], neg[None, :])
    votes_MxK = jnp.sum(jax.nn.one_hot(winner_MxP, cfg.num_classes, dtype=jnp.int32), axis=1)
    return jnp.argmax(votes_MxK, axis=1).astype(jnp.int32)


def support_indices(model: SVMModel) -> np.ndarray:
    """Sorted indices of the training points with α > 0 in any binary problem (host-side)."""
    coef = np.asarray(model.coef_PxN)
    return np.flatnonzero(np.any(coef != 0, axis=tuple(range(coef.ndim - 1))))
