"""Small pure array transforms for images and labels (jit-able).

They accept numpy or JAX arrays and return JAX arrays. Shapes, ranks and the integer
arguments (``dy``, ``dx``, ``k``, ``padding``, ``num_classes``) are checked in Python,
so under ``jax.jit`` those integers must be static (``static_argnums``); image and key
arguments may be traced. Broadcasting is always explicit, so everything works with
``jax_numpy_rank_promotion="raise"``.

Image layout is NHWC ``(N, H, W, C)``; the geometric transforms also take NHW
``(N, H, W)``. Rows run top to bottom and columns left to right, as displayed by
``matplotlib.pyplot.imshow``.

- :func:`scale_to_unit`  uint8 -> float32 in [0, 1] (divides by 255).
- :func:`standardise`    ``(x - mean) / std`` in float32; mean/std scalars or per-channel.
- :func:`one_hot`, :func:`from_one_hot`, :func:`flatten`.
- :func:`translate`      shift content by ``dy`` rows and ``dx`` columns with zero fill:
  positive ``dy`` moves content DOWN, negative UP; positive ``dx`` RIGHT, negative LEFT.
  The OOD study's "shift test images up by 4 pixels" is ``translate(x, -4, 0)``.
- :func:`rotate90`       ``k`` quarter turns counter-clockwise in the (H, W) plane
  (``np.rot90(image, k)`` for each image); negative ``k`` turns clockwise.
- :func:`random_crop`    zero-pad by ``padding`` on every side, then crop back to
  (H, W) at an independent uniformly random offset per image.
- :func:`random_flip`    mirror left-right each image independently with probability 1/2.
"""
from __future__ import annotations

import operator

import jax
import jax.numpy as jnp

__all__ = [
    "scale_to_unit",
    "standardise",
    "one_hot",
    "from_one_hot",
    "flatten",
    "translate",
    "rotate90",
    "random_crop",
    "random_flip",
]


def _static_int(fn: str, arg: str, v) -> int:
    if isinstance(v, bool):
        raise ValueError(f"{fn}: {arg} must be a Python int, got {v!r}")
    try:
        return operator.index(v)
    except TypeError:
        raise ValueError(
            f"{fn}: {arg} must be a Python int (static under jit), got {type(v).__name__}"
        ) from None


def _images(fn: str, x):
    x = jnp.asarray(x)
    if x.ndim not in (3, 4):
        raise ValueError(
            f"{fn}: expected a batch of images of shape (N, H, W, C) or (N, H, W); "
            f"got shape {tuple(x.shape)}"
        )
    return x


def scale_to_unit(x):
    """uint8 images -> float32 in [0, 1] (``x / 255``)."""
    x = jnp.asarray(x)
    if x.dtype != jnp.uint8:
        raise ValueError(f"scale_to_unit: expected uint8 input, got {x.dtype}")
    return x.astype(jnp.float32) / 255.0


def standardise(x, mean, std):
    """``(x - mean) / std`` as float32.

    ``mean`` and ``std`` are scalars or arrays matching the trailing axes of ``x`` (e.g.
    per-channel ``(C,)`` for NHWC); they are reshaped to broadcast explicitly. ``std``
    must be positive (not checked: it may be traced).
    """
    x = jnp.asarray(x, dtype=jnp.float32)

    def align(name, v):
        v = jnp.asarray(v, dtype=jnp.float32)
        if v.ndim > x.ndim or tuple(v.shape) != tuple(x.shape[x.ndim - v.ndim:]):
            raise ValueError(
                f"standardise: {name} of shape {tuple(v.shape)} does not match the trailing "
                f"axes of x of shape {tuple(x.shape)}"
            )
        return v.reshape((1,) * (x.ndim - v.ndim) + tuple(v.shape)) if v.ndim else v

    return (x - align("mean", mean)) / align("std", std)


def one_hot(y, num_classes: int):
    """Integer labels (any shape S) -> float32 one-hot of shape S + (num_classes,).

    Labels outside ``[0, num_classes)`` give an all-zero row.
    """
    num_classes = _static_int("one_hot", "num_classes", num_classes)
    if num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be >= 1, got {num_classes}")
    y = jnp.asarray(y)
    if not jnp.issubdtype(y.dtype, jnp.integer):
        raise ValueError(f"one_hot: labels must be integers, got {y.dtype}")
    classes = jnp.arange(num_classes, dtype=y.dtype).reshape((1,) * y.ndim + (num_classes,))
    return (y[..., None] == classes).astype(jnp.float32)


def from_one_hot(y):
    """One-hot (or score) rows -> int32 class index (argmax over the last axis)."""
    y = jnp.asarray(y)
    if y.ndim < 1 or y.shape[-1] < 1:
        raise ValueError(f"from_one_hot: expected shape (..., num_classes), got {tuple(y.shape)}")
    return jnp.argmax(y, axis=-1).astype(jnp.int32)


def flatten(x):
    """(N, ...) -> (N, D) with D the product of the other axes ((N,) -> (N, 1))."""
    x = jnp.asarray(x)
    if x.ndim < 1:
        raise ValueError("flatten: expected an array with a leading batch axis, got a scalar")
    return x.reshape((x.shape[0], -1))


def translate(x, dy: int, dx: int):
    """Shift each image's content by ``dy`` rows (down if > 0) and ``dx`` columns (right
    if > 0); pixels shifted in are 0 and content shifted past the edge is lost."""
    x = _images("translate", x)
    dy = _static_int("translate", "dy", dy)
    dx = _static_int("translate", "dx", dx)
    h, w = x.shape[1], x.shape[2]
    pad = [(0, 0)] * x.ndim
    pad[1] = (max(dy, 0), max(-dy, 0))
    pad[2] = (max(dx, 0), max(-dx, 0))
    xp = jnp.pad(x, pad)
    y0, x0 = max(-dy, 0), max(-dx, 0)
    return xp[:, y0:y0 + h, x0:x0 + w]


def rotate90(x, k: int):
    """Rotate each image by ``k`` quarter turns counter-clockwise (np.rot90 per image)."""
    x = _images("rotate90", x)
    k = _static_int("rotate90", "k", k)
    return jnp.rot90(x, k, axes=(1, 2))


def random_crop(key, x, padding: int):
    """Zero-pad by ``padding`` pixels on each side, then crop each image back to (H, W)
    at an independent random offset in ``[0, 2 * padding]`` (per axis) drawn from ``key``."""
    x = _images("random_crop", x)
    padding = _static_int("random_crop", "padding", padding)
    if padding < 0:
        raise ValueError(f"random_crop: padding must be >= 0, got {padding}")
    if padding == 0:
        return x
    n, h, w = x.shape[0], x.shape[1], x.shape[2]
    pad = [(0, 0)] * x.ndim
    pad[1] = pad[2] = (padding, padding)
    xp = jnp.pad(x, pad)
    key_y, key_x = jax.random.split(key)
    oy = jax.random.randint(key_y, (n,), 0, 2 * padding + 1)
    ox = jax.random.randint(key_x, (n,), 0, 2 * padding + 1)
    size = (h, w) + tuple(x.shape[3:])

    def crop(img, y0, x0):
        start = (y0, x0) + (0,) * (img.ndim - 2)
        return jax.lax.dynamic_slice(img, start, size)

    return jax.vmap(crop)(xp, oy, ox)


def random_flip(key, x):
    """Mirror each image left-right (reverse W) independently with probability 1/2."""
    x = _images("random_flip", x)
    flip = jax.random.bernoulli(key, 0.5, (x.shape[0],))
    flip = flip.reshape((x.shape[0],) + (1,) * (x.ndim - 1))
    return jnp.where(flip, x[:, :, ::-1], x)
