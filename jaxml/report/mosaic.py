"""Image mosaics: many small images tiled into one picture, saved at (a multiple of) their
native resolution.

``image_grid`` (``jaxml.report.plots``) draws each image in its own 1.5-inch matplotlib cell,
which suits a few labelled images; a 20x20 grid of 28x28 digits is better as one 560x560
mosaic scaled up by an integer factor with nearest-neighbour pixels (a 10x10 grid of 28x28
digits at scale 2 is 578x578 pixels with 1-pixel gaps, instead of 1800x1800).
"""
from __future__ import annotations

import os
import tempfile

import numpy as np

from jaxml.report.primary import is_primary

__all__ = ["tile_images", "mosaic_png"]


def tile_images(images, nrows: int, ncols: int | None = None, pad: int = 1, pad_value: float = 1.0) -> np.ndarray:
    """Tile ``images`` (N, H, W) or (N, H, W, 1) floats in [0, 1] row-major into one
    (nrows*H + (nrows-1)*pad, ncols*W + (ncols-1)*pad) array; unused cells and gaps are
    ``pad_value`` (white by default).

    Raises ValueError for a bad shape, values outside [0, 1] or more images than cells."""
    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 3:
        raise ValueError("tile_images: expected grayscale images (N, H, W) or (N, H, W, 1), "
                         f"got shape {np.shape(images)}")
    if arr.size and (not np.all(np.isfinite(arr)) or arr.min() < -1e-3 or arr.max() > 1 + 1e-3):
        raise ValueError(f"tile_images: values must be finite and in [0, 1], got [{np.nanmin(arr):.4g}, "
                         f"{np.nanmax(arr):.4g}]; rescale first (e.g. (x + 1) / 2 for tanh outputs)")
    n, h, w = arr.shape
    if nrows < 1:
        raise ValueError(f"tile_images: nrows must be >= 1, got {nrows}")
    ncols = ncols if ncols is not None else max(1, -(-n // nrows))
    if n > nrows * ncols:
        raise ValueError(f"tile_images: {n} images do not fit in {nrows} x {ncols} cells")
    out = np.full((nrows * h + (nrows - 1) * pad, ncols * w + (ncols - 1) * pad), pad_value, np.float32)
    for k in range(n):
        r, c = divmod(k, ncols)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = np.clip(arr[k], 0.0, 1.0)
    return out


def mosaic_png(path, images, nrows: int, ncols: int | None = None, *, scale: int = 2, pad: int = 1):
    """Write ``tile_images(images, nrows, ncols, pad)`` as an 8-bit grayscale PNG, each pixel
    repeated ``scale`` x ``scale`` times (written atomically). Returns ``path``."""
    from PIL import Image

    if scale < 1:
        raise ValueError(f"mosaic_png: scale must be >= 1, got {scale}")
    if not is_primary():  # one writer per multi-process job
        return path
    tiled = tile_images(images, nrows, ncols, pad=pad)
    pixels = np.round(tiled * 255).astype(np.uint8)
    pixels = np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)
    fspath = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(fspath))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".png")
    os.close(fd)
    try:
        Image.fromarray(pixels).save(tmp, format="PNG")
        os.chmod(tmp, 0o644)
        os.replace(tmp, fspath)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path
