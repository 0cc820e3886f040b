"""The key/value cache and padding masks of jaxml.models.attention: cached steps equal the full pass,
padded keys are invisible."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models.attention import MultiHeadSelfAttention, init_cache, padding_mask

B, T, D, H = 2, 7, 16, 4


@pytest.fixture(scope="module")
def setup():
    x = jax.random.normal(jax.random.key(0), (B, T, D))
    params = {}
    for causal in (True, False):
        params[causal] = MultiHeadSelfAttention(H, causal=causal).init(jax.random.key(1), x)
    return x, params


@pytest.mark.parametrize("causal", [True, False])
def test_prefill_then_single_steps_equal_the_full_pass(setup, causal):
    x, params = setup
    attn = MultiHeadSelfAttention(H, causal=causal)
    apply = jax.jit(attn.apply)
    p = params[causal]
    cache = init_cache(B, H, T + 3, D // H)  # more slots than tokens: unwritten slots stay hidden
    mask = padding_mask(jnp.ones((B, T + 3), jnp.int32))
    out1, cache = apply(p, x[:, :4], mask=mask, cache=cache)
    outs = [out1]
    for t in range(4, T):
        o, cache = apply(p, x[:, t:t + 1], mask=mask, cache=cache)
        outs.append(o)
    assert int(cache.index) == T
    stepped = jnp.concatenate(outs, axis=1)
    if causal:  # every prefix sees only itself: the stepped outputs are the full pass
        np.testing.assert_allclose(stepped, attn.apply(p, x), rtol=1e-5, atol=1e-5)
    else:  # bidirectional: step t sees tokens <= t only, i.e. the full pass over x[:, :t + 1]
        for t in range(4, T):
            np.testing.assert_allclose(stepped[:, t], attn.apply(p, x[:, :t + 1])[:, t], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(stepped[:, :4], attn.apply(p, x[:, :4]), rtol=1e-5, atol=1e-5)


def test_padded_keys_are_invisible(setup):
    x, params = setup
    attn = MultiHeadSelfAttention(H, causal=False)
    apply = jax.jit(attn.apply)
    am = jnp.array([[1] * T, [1] * 4 + [0] * (T - 4)])
    a = apply(params[False], x, mask=padding_mask(am))
    b = apply(params[False], x.at[1, 4:].set(100.0), mask=padding_mask(am))
    np.testing.assert_allclose(a[1, :4], b[1, :4], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(a[1, :4], attn.apply(params[False], x[1:, :4])[0], rtol=1e-5, atol=1e-5)
    assert not np.allclose(a[1, :4], attn.apply(params[False], x)[1, :4])
    with pytest.raises(ValueError, match=r"shape \(B, S\)"):
        padding_mask(jnp.ones((T,)))


def test_bfloat16_computation_keeps_float32_params(setup):
    x, params = setup
    out = MultiHeadSelfAttention(H, causal=True, dtype=jnp.bfloat16).apply(params[True], x)
    assert out.dtype == jnp.bfloat16
    ref = MultiHeadSelfAttention(H, causal=True).apply(params[True], x)
    np.testing.assert_allclose(np.asarray(out, np.float32), ref, atol=0.1)
    p16 = MultiHeadSelfAttention(H, param_dtype=jnp.bfloat16).init(jax.random.key(1), x)
    assert all(leaf.dtype == jnp.bfloat16 for leaf in jax.tree.leaves(p16))
