"""Multiclass perceptron, primal and kernelised, as pure jitted JAX functions.

Primal (:func:`fit`, :func:`predict`): weights w_1..w_C start at 0. Each pass visits the N
training examples once in a random order (a permutation drawn from the key); for example
(x, y): ŷ = argmax_c w_cᵀx (ties: the lowest class index), and if ŷ ≠ y then w_ŷ −= x and
w_y += x. This is SGD with learning rate 1 on the multiclass perceptron loss
max{0, max_{c≠y} (w_cᵀx − w_yᵀx)}. There is no intercept; append a constant feature to get one.

Kernelised (:func:`fit_kernel`, :func:`predict_kernel`): coefficients α_{c,n} start at 0 and
the data enter only through the precomputed (N, N) training kernel matrix K:
score_c(x) = Σ_n α_{c,n} k(x_n, x); on a mistake at example i, α_{ŷ,i} −= 1 and α_{y_i,i} += 1.

With the linear kernel k(a, b) = a·b, w_c = Σ_n α_{c,n} x_n at every step, so the two make
the same mistakes and the same predictions when they draw the same example order (same key
and config): both use ``jax.random.permutation(fold_in(key, pass), N)``. Exactly equal scores
need exact arithmetic, e.g. small integer features in float32 (as the tests use).

Both fits are ``jax.lax.scan`` over passes of a ``lax.scan`` over examples: one compiled call,
vmap-able over keys (restarts).
"""
from __future__ import annotations

import flax.struct
import jax
import jax.numpy as jnp

from jaxml.classic.common import check_features, check_int, check_kernel_matrix, check_labels

__all__ = ["PerceptronConfig", "PerceptronModel", "KernelPerceptronModel", "fit", "predict",
           "staged_predict", "fit_kernel", "predict_kernel", "staged_predict_kernel"]


@flax.struct.dataclass
class PerceptronConfig:
    """Perceptron settings (all static: they fix shapes).

    num_classes: C >= 2. passes: P >= 1 passes over the data. keep_history: also return the
    weights (or α) after every pass, for accuracy-vs-passes curves.
    """

    num_classes: int = flax.struct.field(pytree_node=False)
    passes: int = flax.struct.field(pytree_node=False, default=10)
    keep_history: bool = flax.struct.field(pytree_node=False, default=False)

    def validate(self) -> None:
        check_int("num_classes", self.num_classes, 2)
        check_int("passes", self.passes, 1)


@flax.struct.dataclass
class PerceptronModel:
    """w_CxD: final weights; mistakes_P: updates made in each pass (int32);
    history_PxCxD: weights after each pass (None unless ``keep_history``)."""

    w_CxD: jax.Array
    mistakes_P: jax.Array
    history_PxCxD: jax.Array | None = None


@flax.struct.dataclass
class KernelPerceptronModel:
    """alpha_CxN: final coefficients (integer-valued floats); mistakes_P: updates per pass;
    history_PxCxN: coefficients after each pass (None unless ``keep_history``)."""

    alpha_CxN: jax.Array
    mistakes_P: jax.Array
    history_PxCxN: jax.Array | None = None


def _orders(key: jax.Array, passes: int, n: int) -> jax.Array:
    """(P, N) example order of each pass: permutation(fold_in(key, p), N)."""
    return jax.vmap(lambda p: jax.random.permutation(jax.random.fold_in(key, p), n))(jnp.arange(passes))


def _run(params, orders_PxN, y_N, score_fn, update_fn):
    """Shared pass/step loops. ``score_fn(params, i) -> (C,)``, ``update_fn(params, i, yhat, y, m)``."""

    def step(params, i):
        yhat = jnp.argmax(score_fn(params, i))
        mistake = yhat != y_N[i]
        return update_fn(params, i, yhat, y_N[i], mistake.astype(params.dtype)), mistake

    def one_pass(params, order_N):
        params, mistakes_N = jax.lax.scan(step, params, order_N)
        return params, (params, jnp.sum(mistakes_N, dtype=jnp.int32))

    return jax.lax.scan(one_pass, params, orders_PxN)


@jax.jit
def _fit(key, X_NxD, y_N, config: PerceptronConfig) -> PerceptronModel:
    n, d = X_NxD.shape
    w0 = jnp.zeros((config.num_classes, d), X_NxD.dtype)

    def update(w, i, yhat, y, m):
        x = X_NxD[i] * m
        return w.at[yhat].add(-x).at[y].add(x)

    w, (hist, mistakes) = _run(w0, _orders(key, config.passes, n), y_N, lambda w, i: w @ X_NxD[i], update)
    return PerceptronModel(w, mistakes, hist if config.keep_history else None)


@jax.jit
def _fit_kernel(key, K_NxN, y_N, config: PerceptronConfig) -> KernelPerceptronModel:
    n = K_NxN.shape[0]
    a0 = jnp.zeros((config.num_classes, n), K_NxN.dtype)

    def update(a, i, yhat, y, m):
        return a.at[yhat, i].add(-m).at[y, i].add(m)

    # K is symmetric, so row i holds k(x_m, x_i) for all m.
    a, (hist, mistakes) = _run(a0, _orders(key, config.passes, n), y_N, lambda a, i: a @ K_NxN[i], update)
    return KernelPerceptronModel(a, mistakes, hist if config.keep_history else None)


def fit(key: jax.Array, X_NxD: jax.Array, y_N: jax.Array, config: PerceptronConfig) -> PerceptronModel:
    """Train the primal multiclass perceptron (see the module docstring).

    Args:
      key: PRNG key for the example order. X_NxD: float features. y_N: int labels in [0, C).

    Raises:
      ConfigError: bad config; ValueError: bad shapes, dtypes or labels.
    """
    config.validate()
    check_features(X_NxD)
    check_labels(y_N, X_NxD.shape[0], config.num_classes)
    return _fit(key, X_NxD, y_N, config)


def predict(model: PerceptronModel, X_MxD: jax.Array) -> jax.Array:
    """Class labels (M,) int32: argmax_c w_cᵀx (ties: the lowest class)."""
    check_features(X_MxD)
    return jnp.argmax(X_MxD @ model.w_CxD.T, axis=1).astype(jnp.int32)


def staged_predict(model: PerceptronModel, X_MxD: jax.Array) -> jax.Array:
    """(P, M) labels predicted by the weights after each pass (needs ``keep_history``)."""
    if model.history_PxCxD is None:
        raise ValueError("staged_predict needs a model fitted with PerceptronConfig(keep_history=True)")
    return jnp.argmax(jnp.einsum("md,pcd->pmc", X_MxD, model.history_PxCxD), axis=2).astype(jnp.int32)


def fit_kernel(key: jax.Array, K_NxN: jax.Array, y_N: jax.Array,
               config: PerceptronConfig) -> KernelPerceptronModel:
    """Train the kernel perceptron on the precomputed symmetric training kernel matrix K (N, N).

    Raises:
      ConfigError: bad config; ValueError: K not square (N, N), labels not (N,) ints in [0, C).
    """
    config.validate()
    check_kernel_matrix(K_NxN)
    check_labels(y_N, K_NxN.shape[0], config.num_classes)
    return _fit_kernel(key, K_NxN, y_N, config)


def predict_kernel(model: KernelPerceptronModel, K_MxN: jax.Array) -> jax.Array:
    """Labels (M,) int32 from K_MxN[m, n] = k(x_m, x_n^train): argmax_c Σ_n α_{c,n} K[m, n]."""
    check_kernel_matrix(K_MxN, model.alpha_CxN.shape[1])
    return jnp.argmax(K_MxN @ model.alpha_CxN.T, axis=1).astype(jnp.int32)


def staged_predict_kernel(model: KernelPerceptronModel, K_MxN: jax.Array) -> jax.Array:
    """(P, M) labels predicted by the coefficients after each pass (needs ``keep_history``)."""
    if model.history_PxCxN is None:
        raise ValueError("staged_predict_kernel needs a model fitted with PerceptronConfig(keep_history=True)")
    check_kernel_matrix(K_MxN, model.alpha_CxN.shape[1])
    return jnp.argmax(jnp.einsum("mn,pcn->pmc", K_MxN, model.history_PxCxN), axis=2).astype(jnp.int32)
