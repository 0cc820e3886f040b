"""jaxml.models.dropout: the hash mask's statistics, flax's nn.Dropout for impl="bernoulli", errors."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxml.models.dropout import Dropout, dropout, hash_bits, keep_mask
from jaxml.models.gpt2 import GPT2Config

SHAPE = (4, 8, 64, 128)  # 262,144 elements, laid out like an attention mask (B, H, T, T)
N = int(np.prod(SHAPE))
TOL_SIGMAS = 5.0  # a correct generator fails one of these checks with probability ~1e-6


def _mask(seed, rate, shape=SHAPE):
    return np.asarray(jax.jit(keep_mask, static_argnums=(1, 2))(jax.random.key(seed), rate, shape))


@pytest.mark.parametrize("rate", [0.1, 0.2, 0.5, 0.9])
def test_keep_rate_within_binomial_bounds(rate):
    kept = _mask(0, rate).mean()
    sigma = np.sqrt(rate * (1 - rate) / N)
    assert abs(kept - (1 - rate)) < TOL_SIGMAS * sigma


def test_bits_are_uniform_in_their_high_and_low_bytes():
    bits = np.asarray(jax.jit(hash_bits, static_argnums=1)(jax.random.key(3), SHAPE)).ravel()
    for byte in (bits >> 24, bits & 0xFF):
        counts = np.bincount(byte.astype(np.int64), minlength=256)
        chi2 = ((counts - N / 256) ** 2 / (N / 256)).sum()
        assert chi2 < stats.chi2.ppf(1 - 1e-6, df=255), chi2
    assert len(np.unique(bits)) == N  # one mask's words are distinct: the hash is a bijection of the index


def test_masks_from_different_keys_agree_as_independent_draws():
    rate = 0.2
    a, b = _mask(1, rate), _mask(2, rate)
    p_agree = (1 - rate) ** 2 + rate ** 2
    sigma = np.sqrt(p_agree * (1 - p_agree) / N)
    assert abs((a == b).mean() - p_agree) < TOL_SIGMAS * sigma


@pytest.mark.parametrize("axis", [-1, -2, 0])
def test_neighbouring_elements_are_uncorrelated(axis):
    m = _mask(4, 0.5).astype(np.float64)
    first, second = np.moveaxis(m, axis, 0)[:-1].ravel(), np.moveaxis(m, axis, 0)[1:].ravel()
    r = np.corrcoef(first, second)[0, 1]
    assert abs(r) < TOL_SIGMAS / np.sqrt(first.size)


def test_same_key_same_mask_and_vmap_equals_a_loop():
    keys = jax.random.split(jax.random.key(7), 3)
    batched = jax.vmap(lambda k: keep_mask(k, 0.3, (5, 6)))(keys)
    for i in range(3):
        np.testing.assert_array_equal(batched[i], keep_mask(keys[i], 0.3, (5, 6)))
    assert not np.array_equal(batched[0], batched[1])


def test_inverted_scaling_and_gradient():
    x = jax.random.normal(jax.random.key(0), (16, 32))
    key, rate = jax.random.key(5), 0.25
    keep = np.asarray(keep_mask(key, rate, x.shape))
    np.testing.assert_allclose(dropout(key, x, rate), np.where(keep, x / (1 - rate), 0.0), rtol=1e-6)
    grad = jax.grad(lambda v: dropout(key, v, rate).sum())(x)
    np.testing.assert_allclose(grad, keep / (1 - rate), rtol=1e-6)


@pytest.mark.parametrize("broadcast_dims", [(), (0,), (-1,)])
def test_bernoulli_impl_is_flax_dropout_bit_for_bit(broadcast_dims):
    x = jax.random.normal(jax.random.key(0), (4, 5, 6))
    rngs = {"dropout": jax.random.key(9)}
    ours = Dropout(0.3, broadcast_dims=broadcast_dims, impl="bernoulli").apply({}, x, False, rngs=rngs)
    flax_ = nn.Dropout(0.3, broadcast_dims=broadcast_dims).apply({}, x, False, rngs=rngs)
    np.testing.assert_array_equal(ours, flax_)


def test_module_broadcast_dims_share_the_mask_and_deterministic_is_identity():
    x = jnp.ones((4, 5, 6))
    y = Dropout(0.5, broadcast_dims=(0,)).apply({}, x, deterministic=False, rngs={"dropout": jax.random.key(1)})
    np.testing.assert_array_equal(y, np.broadcast_to(y[:1], y.shape))
    assert set(np.unique(np.asarray(y))) <= {0.0, 2.0}
    np.testing.assert_array_equal(Dropout(0.5).apply({}, x, deterministic=True), x)


def test_bad_arguments_are_named():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="unknown dropout implementation 'philox'"):
        keep_mask(key, 0.1, (3,), impl="philox")
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
        keep_mask(key, 1.5, (3,))
    with pytest.raises(ValueError, match="dropout_impl must be one of"):
        GPT2Config(dropout_impl="threefry")
    with pytest.raises(ValueError, match="at most 2\\*\\*32 - 1"):
        jax.eval_shape(lambda k: hash_bits(k, (2**16, 2**16)), key)
