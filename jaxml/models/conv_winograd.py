"""3x3 convolutions by Winograd's minimal filtering, F(m x m, 3 x 3), for speed on XLA's CPU backend.

A stride-1 3x3 convolution with one pixel of zero padding on every side ("SAME") is computed on
tiles: each (m + 2) x (m + 2) patch of the padded input (tiles start every m pixels) gives an m x m
block of the output as

    Y_tile = A^T [ (G w G^T) (.) (B^T d_tile B) ] A        ((.) : elementwise over the a x a grid, a = m + 2)

(Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016). Summed over the input
channels, the elementwise product becomes a^2 independent matmuls, one per grid position:
(tiles, C_in) @ (C_in, C_out). That takes a^2 / m^2 multiplies per output instead of the direct
convolution's 9: 4 for m = 2, 2.25 for m = 4, i.e. 2.25x and 4x fewer. The transforms B^T . B and
A^T . A are adds and subtracts (and small constant multiplies for m = 4): two fused passes over the
input (rows, then columns) and one over the product. They are memory traffic that the saved
multiplies must pay for, which they do only with enough channels (``conv_impl``'s "auto" rule).

Shapes: input ``lhs`` (N, H, W, C_in), kernel ``rhs`` (3, 3, C_in, C_out) (flax's NHWC / HWIO),
output (N, H, W, C_out). H and W need not be multiples of m: the input is zero-padded up to whole
tiles and the output cropped.

The backward pass is written by hand (``jax.custom_vjp``) so that both gradients are Winograd
computations too: the input gradient is the same transform applied to the output gradient with the
kernel flipped in space and transposed in channels (a stride-1 "SAME" 3x3 convolution's input
gradient is such a convolution), and the kernel gradient is G^T [sum over tiles of
(B^T d B)^T (A dY A^T)] G, a^2 matmuls contracting over the tiles; the forward pass keeps its
transformed input B^T d B for this (a^2 / m^2 times the input's memory: 2.25x for m = 4, 4x for
m = 2). Autodiff through the forward transforms instead scatters into overlapping tiles; in a
first F(2x2) version the two gradients of one 32x32x64 layer (batch 128) took 252 ms that way
against 169 ms with this backward (bench/README.md, "Winograd convolutions"). With ``direct_chunk``
the kernel gradient is instead the direct (XLA) convolution's, summed over chunks of that many images,
and the forward keeps only its input: for narrow layers (ResNet-18's 64-channel 32x32 stage) writing
and re-reading the transformed input cost more than the Winograd kernel gradient saved. Being a
``custom_vjp`` function, it supports reverse-mode differentiation (``jax.grad``, ``jax.vjp``, and
gradients of gradients) but not forward mode (``jax.jvp``): use ``conv_impl="xla"`` for that.

Rounding: the transforms reorder and rescale the sums, so results differ from a direct convolution
by float32 rounding, about 1e-6 (m = 2) and 1e-5 (m = 4) of the output's largest magnitude; inputs
in bfloat16 / float16 are computed in float32 and the result cast back.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxml.models.conv_chunked import conv_batch_chunked, padding_pairs

__all__ = ["TILE_SIZES", "TILE_MATRICES", "winograd_supported", "conv_winograd"]

TILE_SIZES = (2, 4)

# m -> (B^T (a x a), G (a x 3), A^T (m x a)), a = m + 2; interpolation points 0, +-1 (m = 2) and
# 0, +-1, +-2 (m = 4), each plus the point at infinity. tests/models/test_conv_winograd.py checks them
# against direct 1-D correlations in float64.
TILE_MATRICES = {
    2: (np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float64),
        np.array([[1, 0, 0], [1 / 2, 1 / 2, 1 / 2], [1 / 2, -1 / 2, 1 / 2], [0, 0, 1]], np.float64),
        np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float64)),
    4: (np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                  [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], np.float64),
        np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                  [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], np.float64),
        np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
                 np.float64)),
}


def winograd_supported(lhs_shape, rhs_shape, window_strides, padding) -> bool:
    """True when ``conv_winograd`` computes this convolution: NHWC x HWIO with a 3x3 kernel, stride 1
    and one pixel of zero padding on every side ("SAME" or ((1, 1), (1, 1)))."""
    if len(lhs_shape) != 4 or len(rhs_shape) != 4 or tuple(rhs_shape[:2]) != (3, 3):
        return False
    if tuple(int(s) for s in window_strides) != (1, 1):
        return False
    return padding_pairs(padding, tuple(lhs_shape[1:3]), (3, 3), (1, 1)) == [(1, 1), (1, 1)]


def _combine(matrix: np.ndarray, parts: list) -> list:
    """[sum_j matrix[i, j] * parts[j] for each row i], skipping zero coefficients and multiplying only
    where the coefficient is not +-1 (so XLA sees adds and subtracts)."""
    rows = []
    for coefficients in matrix:
        acc = None
        for coef, part in zip(coefficients, parts):
            if coef == 0:
                continue
            term = part if coef == 1 else -part if coef == -1 else part * np.asarray(coef, part.dtype)
            acc = term if acc is None else acc + term
        rows.append(acc)
    return rows


def _input_transform(x, m: int):
    """x (n, m*th, m*tw, c), already padded to whole tiles -> V (a*a, n*th*tw, c): B^T d B for every
    tile d (the tiles read one pixel of zero padding above and left, m - 1 below and right)."""
    n, h, w, c = x.shape
    th, tw = h // m, w // m
    a = m + 2
    bt = TILE_MATRICES[m][0]
    # Padded to (th + 1) * m rows and columns, then split into (tile, offset) pairs: row offset i < m of
    # tile t is [t, i], offsets m and m + 1 are [t + 1, 0] and [t + 1, 1]. No strided slices.
    xp = jnp.pad(x, ((0, 0), (1, m - 1), (1, m - 1), (0, 0))).reshape(n, th + 1, m, tw + 1, m, c)
    rows = [xp[:, :th, i] if i < m else xp[:, 1:, i - m] for i in range(a)]  # each (n, th, tw+1, m, c)
    # B^T along the rows, then along the columns. Stored in between (the barrier): one fused pass over
    # all a*a outputs re-reads every input a times and measured 2x slower on XLA:CPU.
    half = lax.optimization_barrier(jnp.stack(_combine(bt, rows)))  # (a, n, th, tw+1, m, c)
    cols = [half[:, :, :, :tw, j] if j < m else half[:, :, :, 1:, j - m] for j in range(a)]
    return jnp.stack(_combine(bt, cols), axis=1).reshape(a * a, n * th * tw, c)


def _output_transform(product, n: int, th: int, tw: int, m: int):
    """product (a*a, n*th*tw, k) -> (n, m*th, m*tw, k): A^T M A for every tile, tiles laid side by side."""
    a, k = m + 2, product.shape[-1]
    at = TILE_MATRICES[m][2]
    grid = product.reshape(a, a, n, th, tw, k)
    half = _combine(at, [grid[i] for i in range(a)])  # m arrays (a, n, th, tw, k)
    out = [_combine(at, [r[j] for j in range(a)]) for r in half]  # out[r][s]: (n, th, tw, k)
    return jnp.stack([jnp.stack(out[r], axis=3) for r in range(m)], axis=2).reshape(n, m * th, m * tw, k)


def _kernel_transform(w, m: int):
    """w (3, 3, c, k) -> U = G w G^T per channel pair, as (a*a, c, k): G along the kernel's rows, then its
    columns, as weighted sums of whole (c, k) slices (an einsum here ran as badly shaped matmuls plus
    transposes, ~15 ms per layer and step in ResNet-18)."""
    g = TILE_MATRICES[m][1]
    half = _combine(g, [w[i] for i in range(3)])  # a arrays (3, c, k)
    return jnp.stack([u for r in half for u in _combine(g, [r[j] for j in range(3)])])


def _kernel_transform_transpose(du, m: int):
    """The transpose of ``_kernel_transform``: du (a*a, c, k) -> G^T du G as (3, 3, c, k)."""
    a = m + 2
    gt = TILE_MATRICES[m][1].T
    grid = du.reshape(a, a, *du.shape[1:])
    half = _combine(gt, [grid[p] for p in range(a)])  # 3 arrays (a, c, k)
    return jnp.stack([jnp.stack(_combine(gt, [r[q] for q in range(a)])) for r in half])


def _output_transform_transpose(dy, m: int):
    """The transpose of ``_output_transform``: dy (n, m*th, m*tw, k) -> A dY A^T per tile, as
    (a*a, n*th*tw, k). Tiles do not overlap, so this is two weighted-sum passes (rows, then columns), like
    the input transform; autodiff's transpose padded each of the a*a slices to full size and summed them."""
    n, h, w, k = dy.shape
    th, tw, a = h // m, w // m, m + 2
    a_mat = TILE_MATRICES[m][2].T  # (a, m)
    tiles = dy.reshape(n, th, m, tw, m, k)
    half = lax.optimization_barrier(jnp.stack(_combine(a_mat, [tiles[:, :, r] for r in range(m)])))
    # half: (a, n, th, tw, m, k), the row transform done; now the columns.
    return jnp.stack(_combine(a_mat, [half[..., s, :] for s in range(m)]), axis=1).reshape(a * a, n * th * tw, k)


def _pad_to_tiles(x, m: int):
    h, w = x.shape[1:3]
    th, tw = -(-h // m), -(-w // m)
    if (th * m, tw * m) != (h, w):
        x = jnp.pad(x, ((0, 0), (0, th * m - h), (0, tw * m - w), (0, 0)))
    return x, th, tw


def _split_batch(x, chunk: int | None):
    """x's leading axis in consecutive chunks: (whole chunks stacked, (chunks, chunk, ...)), and the
    leftover images (fewer than ``chunk``) or None. ``chunk`` None or >= the batch: one whole chunk."""
    n = x.shape[0]
    size = n if not chunk or chunk >= n else chunk
    whole = n // size
    body = x[:whole * size].reshape(whole, size, *x.shape[1:])
    return body, (x[whole * size:] if n % size else None)


def _over_chunks(fn, x, chunk: int | None):
    """fn applied to consecutive chunks of x's leading axis: whole chunks by ``lax.map`` (one compiled
    body however many chunks), the leftover images by a second call. Returns (fn's outputs with a
    leading number-of-chunks axis, the leftover's outputs or None)."""
    body, leftover = _split_batch(x, chunk)
    main = jax.tree_util.tree_map(lambda t: t[None], fn(body[0])) if body.shape[0] == 1 else lax.map(fn, body)
    return main, (None if leftover is None else fn(leftover))


def _forward(x, w, m: int, chunk: int | None, precision, swap_channels: bool = False, keep: bool = True):
    """The convolution (n, h, w, c) x (3, 3, c, k) -> (n, h, w, k), ``chunk`` images at a time, and the
    transformed input: ((chunks, a*a, chunk*th*tw, c), leftover's (a*a, rest*th*tw, c) or None).
    ``swap_channels``: w is (3, 3, k, c) and used as its channel transpose, by the matmul contracting w's
    last axis (a transpose of the kernel fused into the transform's reads ran ~7 ms per 512 x 512 layer)."""
    n, h, wd, _ = x.shape
    # The barriers keep XLA from fusing the producer of x (a batch norm, a ReLU) into the input transform,
    # which reads each input up to a*a times, or the output transform into its consumers.
    x, th, tw = _pad_to_tiles(lax.optimization_barrier(x), m)
    u = _kernel_transform(w, m)

    def piece(xc):
        v = _input_transform(xc, m)
        product = lax.dot_general(v, u, (((2,), (2 if swap_channels else 1,)), ((0,), (0,))), precision=precision)
        return _output_transform(product, xc.shape[0], th, tw, m), (v if keep else None)

    (out, v_main), rest = _over_chunks(piece, x, chunk)
    out = out.reshape(-1, *out.shape[2:])
    if rest is not None:
        out = jnp.concatenate([out, rest[0]], axis=0)
    return lax.optimization_barrier(out[:, :h, :wd]), (v_main, None if rest is None else rest[1])


def _direct_kernel_grad(x, w, dy, chunk: int, precision):
    """The kernel gradient of the direct (XLA) convolution, summed over chunks of ``chunk`` images."""
    def conv(w_):
        return conv_batch_chunked(x, w_, (1, 1), ((1, 1), (1, 1)), chunk=chunk, precision=precision,
                                  dimension_numbers=("NHWC", "HWIO", "NHWC"))

    return jax.vjp(conv, w)[1](dy)[0]


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4, 5))
def _winograd(x, w, m, chunk, precision, direct_chunk):
    return _forward(x, w, m, chunk, precision, keep=False)[0]


def _winograd_fwd(x, w, m, chunk, precision, direct_chunk):
    if direct_chunk:
        return _forward(x, w, m, chunk, precision, keep=False)[0], (x, w)
    out, transformed = _forward(x, w, m, chunk, precision)
    return out, (transformed, w)


def _winograd_bwd(m, chunk, precision, direct_chunk, residuals, dy):
    kept, w = residuals
    # Input gradient: the same convolution of dy with the kernel flipped in space, channels swapped.
    dx = _forward(dy, jnp.flip(w, (0, 1)), m, chunk, precision, swap_channels=True, keep=False)[0]
    if direct_chunk:
        return dx, _direct_kernel_grad(kept, w, dy, direct_chunk, precision)
    v_main, v_rest = kept
    # Kernel gradient: G^T [sum over tiles of V^T (A dY A^T)] G, with V the forward's transformed input.
    dy = _pad_to_tiles(lax.optimization_barrier(dy), m)[0]
    a, k = m + 2, w.shape[-1]

    def kernel_grad(v, dyc):  # (a*a, c, k) from one chunk
        return lax.dot_general(v, _output_transform_transpose(dyc, m), (((1,), (1,)), ((0,), (0,))),
                               precision=precision)

    dy_main, dy_rest = _split_batch(dy, chunk)
    if dy_main.shape[0] == 1:
        du = kernel_grad(v_main[0], dy_main[0])
    else:
        du, _ = lax.scan(lambda acc, xs: (acc + kernel_grad(*xs), None),
                         jnp.zeros((a * a, w.shape[2], k), dy.dtype), (v_main, dy_main))
    if dy_rest is not None:
        du = du + kernel_grad(v_rest, dy_rest)
    return dx, _kernel_transform_transpose(du, m)


_winograd.defvjp(_winograd_fwd, _winograd_bwd)


def conv_winograd(lhs, rhs, window_strides=(1, 1), padding="SAME", tile: int = 4, chunk: int | None = None,
                  precision=None, preferred_element_type=None, direct_chunk: int | None = None):
    """A stride-1, "SAME"-padded 3x3 convolution by Winograd's F(tile x tile, 3x3) (module docstring).

    lhs: (N, H, W, C_in); rhs: (3, 3, C_in, C_out); returns (N, H, W, C_out), in
    ``preferred_element_type`` if given, else the inputs' promoted dtype. ``tile`` is m (2 or 4);
    ``chunk`` transforms that many images at a time (None: the whole batch at once), which keeps the
    transformed tiles (a^2 / m^2 times the input) in cache for large feature maps. ``direct_chunk``
    (None: Winograd) computes the kernel gradient as ``lax.conv_general_dilated``'s, summed over chunks
    of that many images, and keeps no transformed input for the backward pass.
    """
    if tile not in TILE_SIZES:
        raise ValueError(f"conv_winograd: tile must be one of {TILE_SIZES}, got {tile!r}")
    if chunk is not None and chunk < 1:
        raise ValueError(f"conv_winograd: chunk must be >= 1 or None, got {chunk}")
    if direct_chunk is not None and direct_chunk < 1:
        raise ValueError(f"conv_winograd: direct_chunk must be >= 1 or None, got {direct_chunk}")
    if not winograd_supported(lhs.shape, rhs.shape, window_strides, padding):
        raise ValueError(
            "conv_winograd computes NHWC x HWIO 3x3 convolutions with stride 1 and padding ((1, 1), (1, 1)); "
            f"got input {tuple(lhs.shape)}, kernel {tuple(rhs.shape)}, strides {tuple(window_strides)}, "
            f"padding {padding!r}")
    if lhs.shape[3] != rhs.shape[2]:
        raise ValueError(f"conv_winograd: input has {lhs.shape[3]} channels but the kernel expects "
                         f"{rhs.shape[2]} (kernel shape {tuple(rhs.shape)})")
    out_dtype = jnp.dtype(preferred_element_type) if preferred_element_type is not None else \
        jnp.result_type(lhs, rhs)
    compute = jnp.float64 if out_dtype == jnp.float64 else jnp.float32
    out = _winograd(lhs.astype(compute), rhs.astype(compute), tile, chunk, precision, direct_chunk)
    return out.astype(out_dtype)
