"""Colour conversion as a small pure transform.

:func:`to_grayscale` turns NHWC RGB images into NHWC grayscale (one channel) with the ITU-R
BT.601 luma weights ``L = 0.299 R + 0.587 G + 0.114 B`` (the weights of PIL's ``convert("L")``
and OpenCV's ``COLOR_RGB2GRAY``). It only uses operations that numpy and JAX arrays share,
so it works on either (and under ``jax.jit``) and returns the same kind of array.
"""
from __future__ import annotations

import numpy as np

__all__ = ["to_grayscale", "LUMA_WEIGHTS"]

#: ITU-R BT.601 weights of R, G, B.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def to_grayscale(x):
    """RGB images (N, H, W, 3) -> grayscale (N, H, W, 1); grayscale input is returned as is.

    uint8 input gives uint8 output (rounded to nearest); floating input keeps its dtype.
    Raises ValueError for a rank other than 4, a channel count other than 1 or 3, or another
    dtype.
    """
    if getattr(x, "ndim", None) != 4 or x.shape[-1] not in (1, 3):
        raise ValueError(f"to_grayscale: expected images of shape (N, H, W, 3) (or (N, H, W, 1)), "
                         f"got shape {tuple(getattr(x, 'shape', ()))}")
    dtype = np.dtype(x.dtype)
    if dtype != np.uint8 and not np.issubdtype(dtype, np.floating):
        raise ValueError(f"to_grayscale: expected uint8 or floating images, got dtype {dtype}")
    if x.shape[-1] == 1:
        return x
    r, g, b = LUMA_WEIGHTS
    work = x.astype(np.float32) if dtype == np.uint8 else x
    luma = work[..., 0:1] * r + work[..., 1:2] * g + work[..., 2:3] * b
    if dtype == np.uint8:
        # Values lie in [0, 255]; adding 0.5 and truncating rounds half up.
        return (luma + 0.5).clip(0, 255).astype(np.uint8)
    return luma.astype(dtype)
