"""The XLA convolution over consecutive chunks of the batch (``conv_impl``'s "batch_chunked"), and the
padding normaliser that :mod:`jaxml.models.conv_impl` and :mod:`jaxml.models.conv_winograd` share.

The forward result is the batch-wide convolution's; the kernel gradient becomes a sum of per-chunk
gradients, which XLA:CPU computes faster than one batch-wide weight-gradient convolution
(bench/README.md, "ResNet-18's convolutions"). Used by :mod:`jaxml.models.conv_impl` and by
:mod:`jaxml.models.conv_winograd` (its ``direct_chunk`` kernel gradient).
"""
from __future__ import annotations

import jax.numpy as jnp
from jax import lax

__all__ = ["CHUNK", "conv_batch_chunked", "padding_pairs"]

CHUNK = 16  # images per chunk for "batch_chunked" (and the fewest a batch must exceed for "auto" to chunk)


def padding_pairs(padding, in_hw, k_hw, strides) -> list[tuple[int, int]]:
    """``padding`` ("SAME" / "VALID" or explicit pairs) as [(top, bottom), (left, right)] ints for an
    input of spatial size ``in_hw``, a ``k_hw`` kernel and ``strides``."""
    if isinstance(padding, str):
        return [tuple(int(v) for v in p) for p in lax.padtype_to_pads(in_hw, k_hw, strides, padding)]
    return [tuple(int(v) for v in p) for p in padding]


def conv_batch_chunked(lhs, rhs, window_strides, padding, chunk: int = CHUNK, **kwargs):
    """``lax.conv_general_dilated`` on consecutive chunks of ``chunk`` examples (axis 0),
    concatenated; the last chunk may be smaller. Same result; faster kernel gradient on CPU."""
    if chunk < 1:
        raise ValueError(f"conv_batch_chunked: chunk must be >= 1, got {chunk}")
    n = lhs.shape[0]
    if n <= chunk:
        return lax.conv_general_dilated(lhs, rhs, window_strides, padding, **kwargs)
    parts = [lax.conv_general_dilated(lhs[i:i + chunk], rhs, window_strides, padding, **kwargs)
             for i in range(0, n, chunk)]
    return jnp.concatenate(parts, axis=0)
