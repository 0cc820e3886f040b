"""Per-example losses and correctness, by name.

Every loss maps ``(outputs, targets) -> (loss_N, correct_N)``: one loss value and one
0/1 "classified correctly" value per example, float32 of shape (N,). Reductions (sums over
a batch, masking of padded examples) happen in the train/eval steps.

- ``cross_entropy``        outputs: logits (N, C); targets: int labels (N,).
                           correct: argmax(logits) == label.
- ``binary_cross_entropy`` outputs: logits (N,) or (N, 1); targets in {0, 1} (N,) or (N, 1).
                           sigmoid BCE computed stably from logits; correct: (logit > 0) == target.
- ``mse``                  outputs (N, ...) ; targets of the same shape, or int labels (N,) when
                           outputs are (N, C) (then compared with one-hot targets). Loss is the
                           mean over the non-batch axes of the squared error. correct: argmax
                           agreement for C > 1 columns; sign agreement for one column / ±1 targets.
- ``rmse``                 as ``mse`` (same targets, same ``correct``); loss = the square root of the
                           example's mean squared error, ``sqrt(mean_j (o_j - t_j)^2)``. The driver
                           averages per-example losses, so a batch's loss is the mean of per-example
                           RMSEs — not the RMSE of the whole batch (``sqrt`` of the batch MSE, what
                           ``torch.sqrt(MSELoss())`` gives), which is at least as large (Jensen). At a
                           zero error the value is 0 and the gradient is taken as 0 (no NaN).
- ``smape``                as ``mse`` (same targets, same ``correct``); loss = symmetric mean absolute
                           percentage error as a fraction in [0, 2] (not x100):
                           ``mean_j 2 |o_j - t_j| / (|o_j| + |t_j| + eps)`` with ``eps = SMAPE_EPS
                           = 1e-8`` (so that 0/0, output and target both 0, gives 0). With one-hot
                           targets each zero-target output contributes ``2|o|/(|o| + eps)``, i.e. ~2
                           whatever its size once |o| >> eps, so its gradient
                           ``2 eps sign(o) / (|o| + eps)^2`` is ~0 there (and ~2/eps right at 0):
                           SMAPE trains mainly the true class's output towards 1.
"""
from __future__ import annotations

import difflib

import jax
import jax.numpy as jnp
import optax

NAMES = ("cross_entropy", "binary_cross_entropy", "mse", "rmse", "smape")
SMAPE_EPS = 1e-8


def _flat1(a):
    return a.reshape(a.shape[0]) if a.ndim == 2 and a.shape[1] == 1 else a


def cross_entropy(logits_NxC, labels_N):
    if logits_NxC.ndim != 2:
        raise ValueError(f"cross_entropy expects logits of shape (N, C), got {logits_NxC.shape}")
    if labels_N.shape != logits_NxC.shape[:1]:
        raise ValueError(
            f"cross_entropy expects integer labels of shape {logits_NxC.shape[:1]}, got {labels_N.shape}")
    labels_N = labels_N.astype(jnp.int32)
    loss_N = optax.softmax_cross_entropy_with_integer_labels(logits_NxC, labels_N)
    correct_N = (jnp.argmax(logits_NxC, axis=-1) == labels_N).astype(jnp.float32)
    return loss_N, correct_N


def binary_cross_entropy(logits, targets):
    logits_N, targets_N = _flat1(logits), _flat1(targets).astype(jnp.float32)
    if logits_N.ndim != 1 or targets_N.shape != logits_N.shape:
        raise ValueError(
            f"binary_cross_entropy expects logits (N,) or (N, 1) and targets of the same shape, "
            f"got {logits.shape} and {targets.shape}")
    loss_N = optax.sigmoid_binary_cross_entropy(logits_N, targets_N)
    correct_N = ((logits_N > 0) == (targets_N > 0.5)).astype(jnp.float32)
    return loss_N, correct_N


def _regression_pair(outputs, targets, name: str):
    """(outputs, targets) of one shape for the regression losses; int labels (N,) against (N, C)
    outputs become one-hot targets; (N, 1) columns are flattened to (N,)."""
    if targets.ndim == 1 and outputs.ndim == 2 and outputs.shape[1] > 1 and jnp.issubdtype(targets.dtype, jnp.integer):
        targets = jax.nn.one_hot(targets, outputs.shape[1], dtype=outputs.dtype)
    outputs, targets = _flat1(outputs), _flat1(targets)
    if outputs.shape != targets.shape:
        raise ValueError(f"{name} expects outputs and targets of the same shape, got {outputs.shape} and "
                         f"{targets.shape}")
    return outputs, targets.astype(outputs.dtype)


def _regression_correct(outputs, targets):
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        correct_N = jnp.argmax(outputs, -1) == jnp.argmax(targets, -1)
    else:
        correct_N = jnp.sign(outputs.reshape(outputs.shape[0], -1)[:, 0]) == jnp.sign(
            targets.reshape(targets.shape[0], -1)[:, 0])
    return correct_N.astype(jnp.float32)


def _per_example_mean(a):
    return a.reshape(a.shape[0], -1).mean(axis=1)


def mse(outputs, targets):
    outputs, targets = _regression_pair(outputs, targets, "mse")
    return _per_example_mean((outputs - targets) ** 2), _regression_correct(outputs, targets)


def rmse(outputs, targets):
    outputs, targets = _regression_pair(outputs, targets, "rmse")
    mse_N = _per_example_mean((outputs - targets) ** 2)
    positive = mse_N > 0
    # sqrt only of positive values (the gradient of sqrt at 0 is inf; 0 * inf would be NaN).
    loss_N = jnp.where(positive, jnp.sqrt(jnp.where(positive, mse_N, 1.0)), 0.0)
    return loss_N, _regression_correct(outputs, targets)


def smape(outputs, targets, eps: float = SMAPE_EPS):
    outputs, targets = _regression_pair(outputs, targets, "smape")
    ratio = 2.0 * jnp.abs(outputs - targets) / (jnp.abs(outputs) + jnp.abs(targets) + eps)
    return _per_example_mean(ratio), _regression_correct(outputs, targets)


_LOSSES = {"cross_entropy": cross_entropy, "binary_cross_entropy": binary_cross_entropy, "mse": mse,
           "rmse": rmse, "smape": smape}


def get_loss(name: str):
    """The per-example loss called ``name``; ValueError listing the known names otherwise."""
    if name not in _LOSSES:
        close = difflib.get_close_matches(str(name), NAMES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown loss {name!r}; expected one of {list(NAMES)}.{hint}")
    return _LOSSES[name]
