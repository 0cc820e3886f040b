"""Attention from scratch: against numpy by hand and against flax's MultiHeadDotProductAttention."""
import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models.attention import (
    MultiHeadSelfAttention,
    causal_mask,
    multi_head_self_attention,
    qkv,
    scaled_dot_product_attention,
)


def _np_attention(q, k, v, causal=False):
    s = q @ k.T / np.sqrt(q.shape[-1])
    if causal:
        s = np.where(np.tril(np.ones_like(s, bool)), s, -np.inf)
    a = np.exp(s - s.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    return a @ v, a


def test_single_head_matches_numpy_by_hand():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3)).astype(np.float32)
    wq, wk, wv = (rng.normal(size=(3, 2)).astype(np.float32) for _ in range(3))
    q, k, v = jax.jit(qkv)(jnp.asarray(x), jnp.asarray(wq), jnp.asarray(wk), jnp.asarray(wv))
    np.testing.assert_allclose(q, x @ wq, rtol=1e-5)
    attend = jax.jit(scaled_dot_product_attention, static_argnames="causal")
    for causal in (False, True):
        z, a = attend(q, k, v, causal=causal)
        z_np, a_np = _np_attention(x @ wq, x @ wk, x @ wv, causal)
        np.testing.assert_allclose(a, a_np, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(z, z_np, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(a).sum(-1), 1.0, rtol=1e-6)  # softmax over keys
    z, a = attend(q, k, v, causal=True)
    assert np.all(np.triu(np.asarray(a), 1) == 0.0) and a[0, 0] == 1.0


@pytest.fixture(scope="module")
def flax_setup():
    rng = np.random.default_rng(0)  # numpy data: eager jax.random would compile per shape
    x = jnp.asarray(rng.normal(size=(2, 6, 8)), jnp.float32)
    ref = nn.MultiHeadDotProductAttention(num_heads=2, qkv_features=8)
    params = jax.jit(ref.init)(jax.random.PRNGKey(1), x)
    # Non-zero biases, so bias handling is compared too.
    params = jax.tree_util.tree_map(lambda p: jnp.asarray(p + 0.1 * rng.normal(size=p.shape), jnp.float32), params)
    return x, ref, params


@pytest.mark.parametrize("causal", [False, True])
def test_module_equals_flax_given_same_weights(flax_setup, causal):
    x, ref, params = flax_setup
    mask = nn.make_causal_mask(x[..., 0]) if causal else None
    expected = jax.jit(lambda p, x, m: ref.apply(p, x, mask=m))(params, x, mask)
    ours = MultiHeadSelfAttention(num_heads=2, qkv_features=8, causal=causal)
    chex.assert_trees_all_equal_shapes(jax.eval_shape(ours.init, jax.random.PRNGKey(3), x), params)
    chex.assert_trees_all_close(jax.jit(ours.apply)(params, x), expected, rtol=1e-5, atol=1e-5)
    # The pure function with the same weights, head by head, concatenated and times W_O.
    p = params["params"]
    out, a = jax.jit(lambda p, x: multi_head_self_attention(
        x, p["query"]["kernel"], p["key"]["kernel"], p["value"]["kernel"], p["out"]["kernel"],
        bq_HxK=p["query"]["bias"], bk_HxK=p["key"]["bias"], bv_HxK=p["value"]["bias"], bo_O=p["out"]["bias"],
        causal=causal))(p, x)
    chex.assert_trees_all_close(out, expected, rtol=1e-5, atol=1e-5)
    chex.assert_shape(a, (2, 2, 6, 6))
    # concat_h(Z_h) @ W_O written with numpy for batch 0.
    x0 = np.asarray(x[0])
    heads = []
    for h in range(2):
        q = x0 @ np.asarray(p["query"]["kernel"][:, h]) + np.asarray(p["query"]["bias"][h])
        k = x0 @ np.asarray(p["key"]["kernel"][:, h]) + np.asarray(p["key"]["bias"][h])
        v = x0 @ np.asarray(p["value"]["kernel"][:, h]) + np.asarray(p["value"]["bias"][h])
        heads.append(_np_attention(q, k, v, causal)[0])
    w_o = np.asarray(p["out"]["kernel"]).reshape(8, 8)
    np.testing.assert_allclose(np.concatenate(heads, -1) @ w_o + np.asarray(p["out"]["bias"]), expected[0],
                               rtol=1e-4, atol=1e-5)


def test_weights_returned_and_dropout_only_in_training(flax_setup):
    x, _, params = flax_setup
    m = MultiHeadSelfAttention(num_heads=2, qkv_features=8, dropout_rate=0.5)

    @jax.jit
    def run(params, x, key):
        out, a = m.apply(params, x, return_weights=True)
        return out, a, m.apply(params, x, train=True, rngs={"dropout": key}), m.apply(params, x)

    out, a, train_out, eval_out = run(params, x, jax.random.PRNGKey(0))
    chex.assert_shape(a, (2, 2, 6, 6))
    np.testing.assert_allclose(np.asarray(a).sum(-1), 1.0, rtol=1e-5)
    assert not np.allclose(train_out, out)
    np.testing.assert_array_equal(eval_out, out)


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"Wk must have shape \(3, d\)"):
        qkv(jnp.ones((4, 3)), jnp.ones((3, 2)), jnp.ones((2, 2)), jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="same d_k"):
        scaled_dot_product_attention(jnp.ones((4, 2)), jnp.ones((4, 3)), jnp.ones((4, 3)))
    with pytest.raises(ValueError, match="not divisible by num_heads"):
        jax.eval_shape(MultiHeadSelfAttention(num_heads=3).init, jax.random.PRNGKey(0), jnp.ones((1, 2, 8)))
    with pytest.raises(ValueError, match=r"\(B, T, D\)"):
        jax.eval_shape(MultiHeadSelfAttention(num_heads=2).init, jax.random.PRNGKey(0), jnp.ones((2, 8)))
    assert causal_mask(3).tolist() == [[True, False, False], [True, True, False], [True, True, True]]
