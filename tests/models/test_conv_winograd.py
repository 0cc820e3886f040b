"""Winograd 3x3 convolutions (jaxml.models.conv_winograd) compute lax.conv_general_dilated's function:
the tile matrices against direct 1-D correlations, the forward pass and both gradients (custom VJP)
against lax's, gradients of gradients, chunked batches, low-precision inputs, and the errors."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from jaxml.models import conv_impl
from jaxml.models import conv_winograd as cw
from jaxml.models.conv_winograd import TILE_MATRICES, conv_winograd, winograd_supported

DN = ("NHWC", "HWIO", "NHWC")


def reference(x, k):
    return lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=DN)


@pytest.mark.parametrize("m", sorted(TILE_MATRICES))
def test_tile_matrices_compute_a_correlation(m):
    """F(m, 3) in 1-D, float64: A^T [(G g) * (B^T d)] equals y[i] = sum_u d[i + u] g[u], i < m."""
    bt, g_mat, at = TILE_MATRICES[m]
    rng = np.random.default_rng(m)
    for _ in range(5):
        d, g = rng.normal(size=m + 2), rng.normal(size=3)
        direct = np.array([d[i:i + 3] @ g for i in range(m)])
        np.testing.assert_allclose(at @ ((g_mat @ g) * (bt @ d)), direct, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("m", sorted(TILE_MATRICES))
def test_hand_written_transposes_equal_autodiff_transposes(m):
    """The backward's explicit transforms are the linear transposes (jax.linear_transpose) of the forward's
    kernel and output transforms, in float64 (the kernel: (3, 3, 2, 3); the output: 2 images of 2x3 tiles)."""
    a = m + 2
    with jax.enable_x64(True):
        rng = np.random.default_rng(10 + m)
        du = jnp.asarray(rng.normal(size=(a * a, 2, 3)))
        kernel_t = jax.linear_transpose(lambda w: cw._kernel_transform(w, m),
                                        jax.ShapeDtypeStruct((3, 3, 2, 3), jnp.float64))
        np.testing.assert_allclose(cw._kernel_transform_transpose(du, m), kernel_t(du)[0], rtol=1e-12, atol=1e-12)
        dy = jnp.asarray(rng.normal(size=(2, 2 * m, 3 * m, 3)))
        output_t = jax.linear_transpose(lambda p: cw._output_transform(p, 2, 2, 3, m),
                                        jax.ShapeDtypeStruct((a * a, 2 * 2 * 3, 3), jnp.float64))
        np.testing.assert_allclose(cw._output_transform_transpose(dy, m), output_t(dy)[0], rtol=1e-12,
                                   atol=1e-12)


# (N, H, W, C_in, C_out, tile, chunk, direct_chunk): H, W not multiples of the tile; no chunks, whole
# chunks only (lax.map), whole chunks plus a leftover, one chunk per image; the direct kernel gradient
# in one chunk, in chunks with a leftover.
CASES = [(3, 7, 9, 3, 4, 4, None, None), (4, 8, 8, 2, 3, 4, 2, None), (5, 6, 5, 3, 2, 2, 2, None),
         (3, 4, 3, 2, 2, 2, 1, None), (2, 9, 8, 4, 3, 4, 1, None), (3, 7, 9, 3, 4, 4, None, 8),
         (5, 8, 6, 3, 2, 4, 2, 2)]


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_forward_and_gradients_match_lax(case):
    n, h, w, c, f, tile, chunk, direct = case
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(n, h, w, c)), jnp.float32)
    k = jnp.asarray(rng.normal(size=(3, 3, c, f)), jnp.float32)
    ref, ref_vjp = jax.vjp(reference, x, k)
    out, out_vjp = jax.vjp(lambda x, k: conv_winograd(x, k, (1, 1), "SAME", tile=tile, chunk=chunk,
                                                      direct_chunk=direct), x, k)
    assert out.shape == ref.shape and out.dtype == jnp.float32
    # Rounding grows with the tile (module docstring): compare relative to the largest magnitude.
    tol = 1e-5 if tile == 2 else 2e-5
    np.testing.assert_allclose(out, ref, atol=tol * float(jnp.max(jnp.abs(ref))))
    cot = jnp.asarray(rng.normal(size=ref.shape), jnp.float32)
    for got, want in zip(out_vjp(cot), ref_vjp(cot)):
        np.testing.assert_allclose(got, want, atol=tol * float(jnp.max(jnp.abs(want))))


def test_second_order_gradients_match_lax():
    """Reverse over reverse: the gradient of a function of the kernel gradient."""
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(size=(2, 6, 6, 3)), jnp.float32)
    k = jnp.asarray(rng.normal(size=(3, 3, 3, 2)), jnp.float32)

    def curvature(conv):
        inner = jax.grad(lambda k: jnp.sum(jnp.tanh(conv(x, k))))
        return jax.grad(lambda k: jnp.sum(jnp.square(inner(k))))(k)

    want = curvature(reference)
    got = curvature(functools.partial(conv_winograd, tile=4))
    np.testing.assert_allclose(got, want, atol=1e-4 * float(jnp.max(jnp.abs(want))))


def test_jit_and_vmap():
    rng = np.random.default_rng(2)
    x = jnp.asarray(rng.normal(size=(3, 2, 5, 5, 2)), jnp.float32)  # a leading axis to map over
    k = jnp.asarray(rng.normal(size=(3, 3, 2, 2)), jnp.float32)
    got = jax.jit(jax.vmap(lambda x: conv_winograd(x, k, tile=2, chunk=1)))(x)
    np.testing.assert_allclose(got, jax.vmap(lambda x: reference(x, k))(x), atol=1e-5 * float(jnp.max(jnp.abs(got))))
    # Kernel gradients per mapped example (vmap over a custom_vjp), with the direct kernel gradient too.
    for direct in (None, 1):
        grads = jax.jit(jax.vmap(jax.grad(lambda k, x, d=direct: jnp.sum(conv_winograd(x, k, tile=2, chunk=1,
                                                                                   direct_chunk=d) ** 2)),
                                 in_axes=(None, 0)))(k, x)
        want = jax.vmap(jax.grad(lambda k, x: jnp.sum(reference(x, k) ** 2)), in_axes=(None, 0))(k, x)
        np.testing.assert_allclose(grads, want, atol=1e-4 * float(jnp.max(jnp.abs(want))))


def test_low_precision_inputs_compute_in_float32_and_keep_their_dtype():
    rng = np.random.default_rng(3)
    x = jnp.asarray(rng.normal(size=(2, 8, 8, 4)), jnp.bfloat16)
    k = jnp.asarray(rng.normal(size=(3, 3, 4, 4)), jnp.bfloat16)
    out = conv_winograd(x, k)
    assert out.dtype == jnp.bfloat16
    want = reference(x.astype(jnp.float32), k.astype(jnp.float32))
    # Only the final cast rounds: within bfloat16's half-ulp (2^-9) of the float32 result.
    np.testing.assert_allclose(out.astype(jnp.float32), want, rtol=2 ** -8, atol=1e-4 * float(jnp.max(jnp.abs(want))))
    assert conv_winograd(x, k, preferred_element_type=jnp.float32).dtype == jnp.float32


def test_supported_configurations():
    assert winograd_supported((2, 8, 8, 3), (3, 3, 3, 4), (1, 1), "SAME")
    assert winograd_supported((2, 8, 8, 3), (3, 3, 3, 4), (1, 1), ((1, 1), (1, 1)))
    assert not winograd_supported((2, 8, 8, 3), (3, 3, 3, 4), (2, 2), "SAME")
    assert not winograd_supported((2, 8, 8, 3), (3, 3, 3, 4), (1, 1), "VALID")
    assert not winograd_supported((2, 8, 8, 3), (5, 5, 3, 4), (1, 1), "SAME")
    assert not winograd_supported((2, 8, 8, 3), (3, 3, 3, 4), (1, 1), ((1, 0), (1, 1)))


def test_errors_name_the_problem():
    x, k = jnp.ones((1, 6, 6, 3)), jnp.ones((3, 3, 3, 2))
    with pytest.raises(ValueError, match=r"tile must be one of \(2, 4\), got 3"):
        conv_winograd(x, k, tile=3)
    with pytest.raises(ValueError, match="chunk must be >= 1 or None, got 0"):
        conv_winograd(x, k, chunk=0)
    with pytest.raises(ValueError, match="direct_chunk must be >= 1 or None, got 0"):
        conv_winograd(x, k, direct_chunk=0)
    with pytest.raises(ValueError, match=r"3x3 convolutions with stride 1 .* strides \(2, 2\)"):
        conv_winograd(x, k, (2, 2))
    with pytest.raises(ValueError, match="input has 3 channels but the kernel expects 2"):
        conv_winograd(x, jnp.ones((3, 3, 2, 2)))


def test_conv_impl_winograd_setting():
    rng = np.random.default_rng(4)
    x = jnp.asarray(rng.normal(size=(3, 6, 6, 2)), jnp.float32)
    k = jnp.asarray(rng.normal(size=(3, 3, 2, 3)), jnp.float32)
    fn = conv_impl.conv_fn("winograd")
    np.testing.assert_allclose(fn(x, k, (1, 1), ((1, 1), (1, 1)), dimension_numbers=DN), reference(x, k),
                               atol=2e-5 * float(jnp.max(jnp.abs(reference(x, k)))))
    # Where Winograd does not apply (stride 2) the setting computes lax's convolution itself.
    strided = lax.conv_general_dilated(x, k, (2, 2), "SAME", dimension_numbers=DN)
    np.testing.assert_array_equal(fn(x, k, (2, 2), "SAME", dimension_numbers=DN), strided)
    assert conv_impl.choose_impl("winograd", x.shape, k.shape, (2, 2), "SAME") == "xla"
    # Tiles of 4 from 8x8 outputs up, 2 below; chunks of at most WINOGRAD_CHUNK_POSITIONS input positions.
    assert conv_impl.winograd_settings((128, 32, 32, 64)) == (4, conv_impl.WINOGRAD_CHUNK_POSITIONS // 1024)
    assert conv_impl.winograd_settings((128, 4, 4, 512)) == (2, None)


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the choices asserted here are the CPU backend's")
def test_auto_picks_winograd_on_cpu_for_wide_float32_convolutions():
    wide = ((128, 16, 16, 128), (3, 3, 128, 128), (1, 1), "SAME")
    assert conv_impl.choose_impl("auto", *wide) == "winograd"
    assert conv_impl.choose_impl("auto", *wide, dtype=jnp.bfloat16) == "batch_chunked"
    # From 64 channels (ResNet-18's first stage) too; too few positions, strided, narrow: not Winograd.
    assert conv_impl.choose_impl("auto", (128, 32, 32, 64), (3, 3, 64, 64), (1, 1), "SAME") == "winograd"
    assert conv_impl.choose_impl("auto", (128, 32, 32, 48), (3, 3, 48, 64), (1, 1), "SAME") == "batch_chunked"
    assert conv_impl.choose_impl("auto", (8, 4, 4, 512), (3, 3, 512, 512), (1, 1), "SAME") == "xla"
    assert conv_impl.choose_impl("auto", (128, 16, 16, 128), (3, 3, 128, 256), (2, 2), "SAME") == "batch_chunked"
