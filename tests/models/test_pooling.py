"""Strided-slice pooling (jaxml.models.pooling) against flax's reduce_window pools."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models import pooling


@pytest.mark.parametrize("shape, window", [((2, 8, 8, 3), 2), ((3, 13, 11, 2), 2), ((1, 9, 9, 1), 3)])
def test_max_pool_equals_flax_forward_and_gradient_without_ties(shape, window):
    # A random permutation of distinct values: no window has a tied maximum.
    x = jnp.asarray(np.random.default_rng(0).permutation(np.prod(shape)).reshape(shape), jnp.float32)
    def ref(x):
        return nn.max_pool(x, (window, window), strides=(window, window), padding="VALID")

    got = pooling.max_pool(x, window)
    np.testing.assert_array_equal(got, ref(x))
    cot = jnp.asarray(np.random.default_rng(1).normal(size=got.shape), jnp.float32)
    g_got = jax.vjp(lambda x: pooling.max_pool(x, window), x)[1](cot)[0]
    g_ref = jax.vjp(ref, x)[1](cot)[0]
    np.testing.assert_array_equal(g_got, g_ref)


def test_max_pool_ties_split_the_gradient_but_keep_the_window_total():
    x = jnp.zeros((1, 2, 2, 1))  # one window, all four tied
    g = jax.grad(lambda x: pooling.max_pool(x, 2).sum())(x)
    g_ref = jax.grad(lambda x: nn.max_pool(x, (2, 2), strides=(2, 2)).sum())(x)
    assert float(g.sum()) == pytest.approx(1.0) and float(g_ref.sum()) == pytest.approx(1.0)


@pytest.mark.parametrize("shape, window", [((2, 8, 8, 3), 2), ((2, 7, 9, 2), 2)])
def test_avg_pool_matches_flax(shape, window):
    x = jnp.asarray(np.random.default_rng(2).normal(size=shape), jnp.float32)
    def ref(x):
        return nn.avg_pool(x, (window, window), strides=(window, window), padding="VALID")

    np.testing.assert_allclose(pooling.avg_pool(x, window), ref(x), rtol=1e-6, atol=1e-6)
    g = jax.grad(lambda x: (pooling.avg_pool(x, window) ** 2).sum())(x)
    np.testing.assert_allclose(g, jax.grad(lambda x: (ref(x) ** 2).sum())(x), rtol=1e-5, atol=1e-6)


def test_reduce_window_impl_is_flax_and_errors_are_clear():
    x = jnp.ones((1, 4, 4, 1))
    np.testing.assert_array_equal(pooling.max_pool(x, 2, impl="reduce_window"), nn.max_pool(x, (2, 2), (2, 2)))
    with pytest.raises(ValueError, match="unknown pooling implementation 'fast'"):
        pooling.max_pool(x, 2, impl="fast")
    with pytest.raises(ValueError, match="rank 4"):
        pooling.max_pool(jnp.ones((4, 4, 1)), 2)
    with pytest.raises(ValueError, match="window 5 is larger than the 4x4 input"):
        pooling.avg_pool(x, 5)
