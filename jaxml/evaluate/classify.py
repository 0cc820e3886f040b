"""Classifier read-outs of a whole split: predictions in one call, confusion counts, per-class accuracy.

``predict(state, x)`` runs the model in eval mode over ``x`` (N, ...) in fixed-size batches
inside ONE compiled ``lax.scan`` (the last partial batch is padded with zeros and the padded
rows are dropped), exactly like ``jaxml.train.evaluate``; with ``num_runs=R`` the state carries
a leading runs axis (as made by ``make_runs``) and the pass is ``jax.vmap``-ed over it.

- :func:`predict_logits`  -> float32 (N, C), or (R, N, C) with ``num_runs``.
- :func:`predict`         -> int32 class indices (N,), or (R, N): argmax of the logits.
- :func:`confusion_counts` -> int64 (C, C) counts, row = true class, column = predicted class
  (scikit-learn's ``confusion_matrix`` convention); leading axes of ``y_pred`` are kept.
- :func:`per_class_accuracy` -> float64 (C,): correct / examples of each TRUE class (the recall
  of each class, the diagonal of the row-normalised confusion matrix); NaN for a class that has
  no examples.
- :func:`mistakes` -> the examples among the first ``k`` whose prediction is wrong, with names.

Labels and predictions must lie in ``[0, num_classes)``; anything else raises ValueError.
"""
from __future__ import annotations

import functools
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.train.epoch import num_batches
from jaxml.train.state import apply_model

__all__ = ["predict_logits", "predict", "confusion_counts", "per_class_accuracy", "mistakes"]


@functools.lru_cache(maxsize=32)
def _compiled(batch_size: int, batched: bool):
    """One jitted function per (batch size, batched): calls with the same model and shapes reuse
    the compiled program (``apply_fn`` is a static field of the state)."""
    fn = _logits_fn(batch_size)
    return jax.jit(jax.vmap(fn, in_axes=(0, None)) if batched else fn)


def _logits_fn(batch_size: int):
    def run(state, x):
        n = x.shape[0]
        nb = num_batches(n, batch_size)
        pad = nb * batch_size - n
        if pad:
            x = jnp.concatenate([x, jnp.zeros((pad,) + x.shape[1:], x.dtype)])
        x_SxB = x.reshape((nb, batch_size) + x.shape[1:])

        def body(carry, xb):
            out, _ = apply_model(state, state.params, xb, train=False)
            if out.ndim != 2:
                raise ValueError(f"predict: the model must output logits of shape (B, C), got {out.shape}")
            return carry, out.astype(jnp.float32)

        _, out_SxBxC = jax.lax.scan(body, None, x_SxB)
        return out_SxBxC.reshape((nb * batch_size, out_SxBxC.shape[-1]))[:n]

    return run


def predict_logits(state, x, *, batch_size: int = 1000, num_runs: int | None = None) -> np.ndarray:
    """Model outputs (eval mode) for every example of ``x`` (N, ...): (N, C), or (R, N, C)."""
    x = jnp.asarray(x)
    if x.ndim < 1 or x.shape[0] < 1:
        raise ValueError(f"predict: x must have a leading example axis with N >= 1, got shape {tuple(x.shape)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"predict: batch_size must be a positive int, got {batch_size!r}")
    batch_size = min(batch_size, int(x.shape[0]))
    if num_runs is not None:
        lead = {np.shape(leaf)[0] if np.ndim(leaf) else None
                for leaf in jax.tree_util.tree_leaves(state.params)}
        if lead != {num_runs}:
            raise ValueError(f"predict: num_runs={num_runs} but the state's parameters have leading "
                             f"sizes {sorted(lead, key=str)}; build batched states with make_runs")
    fn = _compiled(batch_size, num_runs is not None)
    return np.asarray(jax.device_get(fn(state, x)))


def predict(state, x, *, batch_size: int = 1000, num_runs: int | None = None) -> np.ndarray:
    """Predicted class (argmax of the logits), int32 (N,) or (R, N) with ``num_runs``."""
    return np.argmax(predict_logits(state, x, batch_size=batch_size, num_runs=num_runs), axis=-1).astype(np.int32)


def _labels(name: str, v, num_classes: int) -> np.ndarray:
    arr = np.asarray(v)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        raise ValueError(f"{name} must lie in [0, {num_classes}) for num_classes={num_classes}, "
                         f"got values {int(arr.min())}..{int(arr.max())}")
    return arr.astype(np.int64)


def _check(y_true, y_pred, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    t = _labels("y_true", y_true, int(num_classes))
    p = _labels("y_pred", y_pred, int(num_classes))
    if t.ndim != 1 or p.ndim < 1 or p.shape[-1] != t.shape[0]:
        raise ValueError(f"y_true must have shape (N,) and y_pred (..., N) with the same N, "
                         f"got {t.shape} and {p.shape}")
    return t, p


def confusion_counts(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts[..., i, j] = number of examples of true class i predicted as j.

    y_true: (N,) ints; y_pred: (N,) or (..., N) ints (e.g. (R, N) from ``predict(num_runs=R)``).
    Returns int64 (..., num_classes, num_classes).
    """
    t, p = _check(y_true, y_pred, num_classes)
    c = int(num_classes)
    flat = p.reshape(-1, p.shape[-1])
    out = np.stack([np.bincount(t * c + row, minlength=c * c).reshape(c, c) for row in flat])
    return out.reshape(p.shape[:-1] + (c, c))


def per_class_accuracy(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Fraction of each true class predicted correctly, float64 (..., num_classes); NaN where a
    class has no examples in ``y_true``."""
    counts = confusion_counts(y_true, y_pred, num_classes)
    totals = counts.sum(axis=-1)
    correct = np.diagonal(counts, axis1=-2, axis2=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, correct / np.maximum(totals, 1), np.nan)


def mistakes(y_true, y_pred, class_names: Sequence[str], first: int | None = None) -> list[dict]:
    """Wrongly classified examples among the first ``first`` (all when None), in order:
    ``[{"index": i, "true": name, "predicted": name}, ...]``."""
    names = list(class_names)
    t, p = _check(y_true, y_pred, len(names))
    if p.ndim != 1:
        raise ValueError(f"mistakes: y_pred must have shape (N,), got {p.shape}")
    k = len(t) if first is None else min(int(first), len(t))
    return [{"index": i, "true": names[t[i]], "predicted": names[p[i]]} for i in range(k) if t[i] != p[i]]
