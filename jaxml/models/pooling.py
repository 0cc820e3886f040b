"""Non-overlapping 2-D pooling as strided slices: the same forward values as flax's pools, a
much cheaper gradient on XLA's CPU backend.

``nn.max_pool`` lowers to ``reduce_window``, whose gradient is ``select_and_scatter_add``; on
XLA:CPU that gradient dominated a small CNN's train step (measurements: bench/README.md, "Max-pool
gradient"). With a window w equal to the stride (what CNN blocks use), pooling is a max (or mean)
over the w*w strided slices ``x[:, i::w, j::w, :]`` after dropping a leftover row/column, so it is
written that way.

- :func:`max_pool` ``(x, window)``: x (N, H, W, C) -> (N, H // w, W // w, C); forward values
  equal ``nn.max_pool(x, (w, w), strides=(w, w), padding="VALID")`` exactly. Gradient: equal
  where a window's maximum is unique; where it is tied, ``reduce_window`` sends the whole
  gradient to one element and this splits it among the tied ones (the window's total is the
  same). After a ReLU, ties are usually at 0, where the ReLU's own gradient is 0 anyway.
- :func:`avg_pool` ``(x, window)``: the same shapes; equals ``nn.avg_pool`` up to float
  rounding (a different summation order), gradients likewise.
- ``impl="reduce_window"`` uses flax's pools instead (e.g. to compare).
"""
from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp
from jax import lax

__all__ = ["POOL_IMPLS", "max_pool", "avg_pool"]

POOL_IMPLS = ("slices", "reduce_window")


def _window_slices(x, window: int):
    if x.ndim != 4:
        raise ValueError(f"pooling expects NHWC input of rank 4, got shape {tuple(x.shape)}")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"pooling window must be a positive int, got {window!r}")
    n, h, w, c = x.shape
    ho, wo = h // window, w // window
    if ho < 1 or wo < 1:
        raise ValueError(f"pooling window {window} is larger than the {h}x{w} input")
    return [lax.slice(x, (0, i, j, 0), (n, i + window * (ho - 1) + 1, j + window * (wo - 1) + 1, c),
                      (1, window, window, 1)) for i in range(window) for j in range(window)]


def _check_impl(impl: str) -> None:
    if impl not in POOL_IMPLS:
        raise ValueError(f"unknown pooling implementation {impl!r}; expected one of {list(POOL_IMPLS)}")


def max_pool(x, window: int, impl: str = "slices"):
    """Max over non-overlapping ``window`` x ``window`` blocks (stride = window, VALID)."""
    _check_impl(impl)
    if impl == "reduce_window":
        return nn.max_pool(x, (window, window), strides=(window, window), padding="VALID")
    parts = _window_slices(x, window)
    out = parts[0]
    for p in parts[1:]:
        out = jnp.maximum(out, p)
    return out


def avg_pool(x, window: int, impl: str = "slices"):
    """Mean over non-overlapping ``window`` x ``window`` blocks (stride = window, VALID)."""
    _check_impl(impl)
    if impl == "reduce_window":
        return nn.avg_pool(x, (window, window), strides=(window, window), padding="VALID")
    parts = _window_slices(x, window)
    return sum(parts[1:], parts[0]) / (window * window)
