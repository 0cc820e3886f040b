"""The course's layers and losses as plain JAX forward functions (a teaching module).

Their backward passes are ``jax.grad``; ``tests/train/test_course_rules.py`` compares them with
the hand-derived numpy backward passes of the course (affine, ReLU, softmax, multiclass SVM).

- :func:`affine` ``out = x.reshape(N, -1) @ w + b`` (``x`` of any shape (N, d_1, ..., d_k));
- :func:`relu` ``max(0, x)``;
- :func:`softmax_loss` mean cross-entropy of the softmax of scores (N, C) for labels (N,);
- :func:`svm_loss` multiclass hinge, ``mean_i sum_{j != y_i} max(0, s_ij - s_iy_i + delta)``.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["affine", "relu", "softmax_loss", "svm_loss"]


def affine(x, w, b):
    """(N, d_1..d_k) x (D, M) + (M,) -> (N, M) with D = d_1 * ... * d_k."""
    x2 = x.reshape(x.shape[0], -1)
    if x2.shape[1] != w.shape[0] or b.shape != (w.shape[1],):
        raise ValueError(f"affine: x flattens to {x2.shape}, w is {w.shape}, b is {b.shape}; expected "
                         f"w (D={x2.shape[1]}, M) and b (M,)")
    return x2 @ w + b[None, :]


def relu(x):
    """``max(0, x)``; its derivative at exactly 0 is 0, as in the course (``jnp.maximum`` would give 1/2)."""
    return jax.nn.relu(x)


def _check_scores(name: str, scores, y):
    if scores.ndim != 2 or y.shape != (scores.shape[0],):
        raise ValueError(f"{name}: expected scores (N, C) and labels (N,), got {scores.shape} and {y.shape}")


def softmax_loss(scores, y):
    """Mean over N of ``-log softmax(scores)[i, y_i]``."""
    _check_scores("softmax_loss", scores, y)
    logp = jax.nn.log_softmax(scores, axis=1)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def svm_loss(scores, y, delta: float = 1.0):
    """Mean over N of ``sum_{j != y_i} max(0, s_ij - s_iy_i + delta)``."""
    _check_scores("svm_loss", scores, y)
    correct = jnp.take_along_axis(scores, y[:, None], axis=1)
    margins = jnp.maximum(0.0, scores - correct + delta)
    margins = jnp.where(jax.nn.one_hot(y, scores.shape[1], dtype=bool), 0.0, margins)
    return jnp.sum(margins) / scores.shape[0]
