"""Interchangeable implementations of a 2-D convolution, for speed on XLA's CPU backend.

Every function here has ``lax.conv_general_dilated``'s signature, so it plugs into flax's
``nn.Conv(..., conv_general_dilated=fn)`` without changing the parameters (same ``kernel``
(kh, kw, C_in, C_out) and ``bias`` arrays, same names, so checkpoints are interchangeable), and
computes the same function up to float32 rounding (summation order); tests compare outputs and
gradients with ``lax.conv_general_dilated``.

Why: XLA:CPU runs a jitted float32 matmul far faster than its convolution (an Eigen kernel), and
the convolution's kernel (weight) gradient slowest of all. Measurements: bench/README.md
("Convolutions vs matmuls").

- ``"xla"``: ``lax.conv_general_dilated`` itself.
- ``"patches"``: im2col by strided slices, then ONE matmul:
  ``patches (N, Ho, Wo, kh*kw*C_in) @ kernel.reshape(kh*kw*C_in, C_out)``. Its gradient is a
  matmul plus the slices' transposes (pads and adds). Fast when the patch depth kh*kw*C_in is
  small (first layers, small nets): the patches array is kh*kw times the input, so for deep
  layers the memory traffic loses to the conv.
- ``"batch_chunked"``: the XLA conv applied to chunks of ``chunk`` images, concatenated. The
  forward result is identical; the kernel gradient becomes a sum of per-chunk gradients, which
  XLA:CPU computes faster than one batch-wide weight-gradient conv (bench/README.md).
- ``"winograd"``: Winograd's minimal filtering F(m x m, 3x3) (:mod:`jaxml.models.conv_winograd`), for
  stride-1 "SAME" 3x3 convolutions only (others fall back to ``lax.conv_general_dilated``): 2.25x
  (m = 2) or 4x (m = 4) fewer multiplies, with a hand-written backward pass; reverse mode only.
  Under this setting (and "auto") the tile is m = 4 for outputs of at least 8x8, else 2, and images
  are transformed in chunks of at most ``WINOGRAD_CHUNK_POSITIONS`` positions (``winograd_settings``);
  with fewer than ``WINOGRAD_DIRECT_BELOW`` input or output channels the kernel gradient is XLA's, in
  chunks of ``auto_chunk`` images (``conv_winograd``'s ``direct_chunk``).
- ``"auto"``: on the CPU backend, ``patches`` when kh*kw*C_in <= ``PATCHES_MAX_DEPTH``; else
  ``winograd`` for float32 stride-1 "SAME" 3x3 convolutions with at least ``WINOGRAD_MIN_POSITIONS``
  output positions (N*Ho*Wo) in all and at least ``WINOGRAD_MIN_CHANNELS`` input and output
  channels; else, when the batch exceeds ``CHUNK``, ``batch_chunked`` for outputs of at least 8x8
  (chunks of ``CHUNK_LARGE_OUTPUT`` images from 32x32 positions up, else ``CHUNK``) and ``patches``
  for smaller outputs; ``xla`` for smaller batches. On any other backend (GPU, TPU) always ``xla``
  (cuDNN and the TPU compiler are the fast path there).

Only NHWC inputs / HWIO kernels (flax's layout for 2-D convs) without dilation or feature
groups take the fast paths; anything else falls back to ``lax.conv_general_dilated``.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax

from jaxml.models.conv_chunked import CHUNK, conv_batch_chunked, padding_pairs
from jaxml.models.conv_winograd import conv_winograd, winograd_supported

__all__ = ["CONV_IMPLS", "PATCHES_MAX_DEPTH", "CHUNK", "conv_fn", "conv_patches", "conv_batch_chunked",
           "choose_impl", "auto_chunk", "CHUNK_LARGE_OUTPUT", "WINOGRAD_MIN_POSITIONS", "WINOGRAD_MIN_CHANNELS",
           "WINOGRAD_CHUNK_POSITIONS", "WINOGRAD_DIRECT_BELOW", "winograd_settings"]

CONV_IMPLS = ("auto", "xla", "patches", "batch_chunked", "winograd")
PATCHES_MAX_DEPTH = 300  # kh*kw*C_in at or below which "auto" uses patches on CPU (MNIST CNN conv 2: 288)
CHUNK_LARGE_OUTPUT = 8  # images per chunk under "auto" when the output has at least 32x32 positions
# "auto" uses Winograd from this many output positions N*Ho*Wo (e.g. 8 images at 16x16, 128 at 4x4); below
# it the kernel transforms, whose cost does not shrink with the batch, outweigh the saved multiplies.
WINOGRAD_MIN_POSITIONS = 2048
# ... and from this many input and output channels: with fewer, each multiply saved costs more transform
# traffic than it saves.
WINOGRAD_MIN_CHANNELS = 64
# Below this many channels the kernel gradient is the direct (XLA) convolution's, in chunks: with the
# Winograd kernel gradient, keeping the transformed input made ResNet-18's 64-channel 32x32 stage slower
# than XLA's convolution (bench/README.md, "Winograd, sixth session").
WINOGRAD_DIRECT_BELOW = 128
WINOGRAD_CHUNK_POSITIONS = 32768  # Winograd transforms at most this many input positions (images * H * W) at once


def _is_nhwc_2d(lhs, rhs, dimension_numbers) -> bool:
    """True for a rank-4 NHWC input with an HWIO kernel (what flax's nn.Conv passes)."""
    if lhs.ndim != 4 or rhs.ndim != 4:
        return False
    dn = lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    return tuple(dn.lhs_spec) == (0, 3, 1, 2) and tuple(dn.rhs_spec) == (3, 2, 0, 1) and \
        tuple(dn.out_spec) == (0, 3, 1, 2)


def _plain(lhs_dilation, rhs_dilation, feature_group_count, batch_group_count) -> bool:
    def ones(d):
        return d is None or all(int(v) == 1 for v in d)

    return ones(lhs_dilation) and ones(rhs_dilation) and feature_group_count == 1 and batch_group_count == 1


def conv_patches(lhs, rhs, window_strides, padding, precision=None, preferred_element_type=None):
    """NHWC x HWIO convolution as strided-slice patches and one matmul (see the module docstring).

    lhs: (N, H, W, C_in); rhs: (kh, kw, C_in, C_out); window_strides: (sh, sw); padding:
    "VALID" / "SAME" or ((top, bottom), (left, right)). Returns (N, Ho, Wo, C_out) with
    Ho = (H + top + bottom - kh) // sh + 1 (likewise Wo).
    """
    n, h, w, c = lhs.shape
    kh, kw, c_in, c_out = rhs.shape
    if c_in != c:
        raise ValueError(f"conv_patches: input has {c} channels but the kernel expects {c_in} "
                         f"(kernel shape {tuple(rhs.shape)})")
    sh, sw = window_strides
    (pt, pb), (pl, pr) = padding_pairs(padding, (h, w), (kh, kw), (sh, sw))
    x = jnp.pad(lhs, ((0, 0), (pt, pb), (pl, pr), (0, 0))) if (pt, pb, pl, pr) != (0, 0, 0, 0) else lhs
    ho, wo = (h + pt + pb - kh) // sh + 1, (w + pl + pr - kw) // sw + 1
    if ho < 1 or wo < 1:
        raise ValueError(f"conv_patches: a {kh}x{kw} kernel does not fit the padded {h + pt + pb}x"
                         f"{w + pl + pr} input")
    cols = [lax.slice(x, (0, i, j, 0), (n, i + sh * (ho - 1) + 1, j + sw * (wo - 1) + 1, c), (1, sh, sw, 1))
            for i in range(kh) for j in range(kw)]  # each (N, Ho, Wo, C), ordered like the kernel's (i, j)
    patches = cols[0] if len(cols) == 1 else jnp.concatenate(cols, axis=-1)
    # A plain 2-D matmul (N*Ho*Wo, kh*kw*C) @ (kh*kw*C, C_out): XLA:CPU runs this far faster
    # than the same contraction written on the 4-D patches array.
    out = lax.dot(patches.reshape(n * ho * wo, kh * kw * c), rhs.reshape(kh * kw * c, c_out),
                  precision=precision, preferred_element_type=preferred_element_type)
    return out.reshape(n, ho, wo, c_out)


def _out_hw(lhs_shape, rhs_shape, window_strides, padding) -> tuple[int, int]:
    """(Ho, Wo) of an NHWC x HWIO convolution without dilation."""
    (_, h, w, _), (kh, kw) = lhs_shape, rhs_shape[:2]
    (pt, pb), (pl, pr) = padding_pairs(padding, (h, w), (kh, kw), tuple(window_strides))
    return (h + pt + pb - kh) // window_strides[0] + 1, (w + pl + pr - kw) // window_strides[1] + 1


def choose_impl(impl: str, lhs_shape, rhs_shape, window_strides, padding, dtype=jnp.float32) -> str:
    """The concrete implementation ("xla" | "patches" | "batch_chunked" | "winograd") ``impl`` stands
    for with these shapes and this computation dtype on the current default backend (see the module
    docstring). "winograd" where Winograd does not apply falls back to "xla"."""
    if impl not in CONV_IMPLS:
        raise ValueError(f"unknown conv implementation {impl!r}; expected one of {list(CONV_IMPLS)}")
    if impl == "winograd":
        return impl if winograd_supported(lhs_shape, rhs_shape, window_strides, padding) else "xla"
    if impl != "auto":
        return impl
    if jax.default_backend() != "cpu":
        return "xla"
    n, h, w, _ = lhs_shape
    kh, kw, c_in, _ = rhs_shape
    if kh * kw * c_in <= PATCHES_MAX_DEPTH:
        return "patches"
    ho, wo = _out_hw(lhs_shape, rhs_shape, window_strides, padding)
    if (jnp.dtype(dtype) == jnp.float32 and n * ho * wo >= WINOGRAD_MIN_POSITIONS
            and min(c_in, rhs_shape[3]) >= WINOGRAD_MIN_CHANNELS
            and winograd_supported(lhs_shape, rhs_shape, window_strides, padding)):
        return "winograd"
    if n > CHUNK and min(ho, wo) >= 8:
        return "batch_chunked"
    if n > CHUNK:  # outputs under 8x8 (ResNets' last stage): the patches array stays small
        return "patches"
    return "xla"


def auto_chunk(out_hw) -> int:
    """Images per chunk that "auto" uses for "batch_chunked" at this output size (Ho, Wo): smaller chunks
    for large feature maps, whose per-chunk working set otherwise outgrows the caches (bench/README.md,
    "ResNet-18's convolutions")."""
    return CHUNK_LARGE_OUTPUT if out_hw[0] * out_hw[1] >= 32 * 32 else CHUNK


def winograd_settings(lhs_shape) -> tuple[int, int | None]:
    """(tile m, images per chunk or None) for a Winograd convolution of an (N, H, W, C) input:
    F(4x4, 3x3) for outputs of at least 8x8, F(2x2, 3x3) below (a 4x4 tile would be mostly padding);
    chunks of at most ``WINOGRAD_CHUNK_POSITIONS`` input positions (bench/README.md, "Winograd
    convolutions")."""
    n, h, w, _ = lhs_shape
    tile = 4 if min(h, w) >= 8 else 2
    per_chunk = max(1, WINOGRAD_CHUNK_POSITIONS // (h * w))
    return tile, (per_chunk if per_chunk < n else None)


def _conv(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None, dimension_numbers=None,
          feature_group_count=1, batch_group_count=1, precision=None, preferred_element_type=None, *, impl: str):
    kwargs = dict(lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation, dimension_numbers=dimension_numbers,
                  feature_group_count=feature_group_count, batch_group_count=batch_group_count,
                  precision=precision, preferred_element_type=preferred_element_type)
    if not (_is_nhwc_2d(lhs, rhs, dimension_numbers)
            and _plain(lhs_dilation, rhs_dilation, feature_group_count, batch_group_count)):
        return lax.conv_general_dilated(lhs, rhs, window_strides, padding, **kwargs)
    chosen = choose_impl(impl, lhs.shape, rhs.shape, window_strides, padding, jnp.result_type(lhs, rhs))
    if chosen == "winograd":
        tile, chunk = winograd_settings(lhs.shape)
        narrow = min(lhs.shape[3], rhs.shape[3]) < WINOGRAD_DIRECT_BELOW
        direct = auto_chunk(lhs.shape[1:3]) if narrow else None
        return conv_winograd(lhs, rhs, window_strides, padding, tile=tile, chunk=chunk, precision=precision,
                             preferred_element_type=preferred_element_type, direct_chunk=direct)
    if chosen == "patches":
        return conv_patches(lhs, rhs, window_strides, padding, precision=precision,
                            preferred_element_type=preferred_element_type)
    if chosen == "batch_chunked":
        chunk = auto_chunk(_out_hw(lhs.shape, rhs.shape, window_strides, padding)) if impl == "auto" else CHUNK
        return conv_batch_chunked(lhs, rhs, window_strides, padding, chunk=chunk, **kwargs)
    return lax.conv_general_dilated(lhs, rhs, window_strides, padding, **kwargs)


@functools.lru_cache(maxsize=None)
def conv_fn(impl: str = "auto"):
    """A ``lax.conv_general_dilated``-compatible function for ``impl`` (one of ``CONV_IMPLS``);
    pass it as ``nn.Conv(..., conv_general_dilated=conv_fn(impl))``. ``"xla"`` returns
    ``lax.conv_general_dilated`` itself."""
    if impl not in CONV_IMPLS:
        raise ValueError(f"unknown conv implementation {impl!r}; expected one of {list(CONV_IMPLS)}")
    if impl == "xla":
        return lax.conv_general_dilated
    return functools.partial(_conv, impl=impl)
