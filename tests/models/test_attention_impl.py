"""Attention formulations (jaxml.models.attention_impl): JAX's dot_product_attention equals the written-out one
(values and gradients, causal, padding masks, a key/value cache), what "auto" picks, and the errors.
On a GPU backend the cuDNN kernel is compared too (skipped elsewhere)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models import attention_impl
from jaxml.models.attention import MultiHeadSelfAttention, init_cache, padding_mask
from jaxml.models.attention_impl import choose_attention_impl, jax_attention
from jaxml.models.gpt2 import GPT2Config
from jaxml.models.transformer import GPT

B, T, D, H = 2, 8, 32, 4


def _layer_outputs(impl_a: str, impl_b: str, dtype=jnp.float32):
    """Outputs and input gradients of two attention layers that differ only in attention_impl."""
    x = jax.random.normal(jax.random.key(0), (B, T, D), dtype)
    mask = padding_mask(jnp.asarray([[1] * T, [1] * (T - 3) + [0] * 3], jnp.int32))
    layers = {impl: MultiHeadSelfAttention(H, causal=True, attention_impl=impl, dtype=dtype)
              for impl in (impl_a, impl_b)}
    params = layers[impl_a].init(jax.random.key(1), x)

    @jax.jit
    def run(params, x):
        out = {}
        for impl, layer in layers.items():
            f = lambda x, layer=layer: layer.apply(params, x, mask=mask)  # noqa: E731
            y, vjp = jax.vjp(f, x)
            out[impl] = (y, vjp(jnp.ones_like(y))[0])
        return out

    return run(params, x)


def test_xla_formulation_equals_plain_values_and_gradients():
    out = _layer_outputs("plain", "xla")
    np.testing.assert_allclose(out["xla"][0], out["plain"][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["xla"][1], out["plain"][1], rtol=1e-4, atol=1e-5)


def test_xla_formulation_with_a_cache_equals_plain():
    x = jax.random.normal(jax.random.key(2), (B, T, D))
    plain, xla = (MultiHeadSelfAttention(H, causal=True, attention_impl=i) for i in ("plain", "xla"))
    p = plain.init(jax.random.key(3), x)

    @jax.jit
    def steps(p, x):
        outs = {}
        for name, layer in (("plain", plain), ("xla", xla)):
            cache = init_cache(B, H, T, D // H)
            y0, cache = layer.apply(p, x[:, :5], cache=cache)
            y1, cache = layer.apply(p, x[:, 5:6], cache=cache)
            outs[name] = jnp.concatenate([y0, y1], axis=1)
        return outs

    outs = steps(p, x)
    np.testing.assert_allclose(outs["xla"], outs["plain"], rtol=1e-5, atol=1e-6)


def test_jax_attention_mask_broadcasting_and_errors():
    q, k, v = (jax.random.normal(jax.random.key(i), (1, 2, 3, 8)) for i in range(3))
    keep_TxS = jnp.asarray([[1, 0, 0], [1, 1, 0], [1, 1, 1]], bool)  # a 2-D mask = causal
    np.testing.assert_allclose(jax_attention(q, k, v, mask=keep_TxS), jax_attention(q, k, v, causal=True),
                               rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="implementation must be 'xla' or 'cudnn'"):
        jax_attention(q, k, v, implementation="plain")


def test_auto_choice(monkeypatch):
    bf16 = jnp.bfloat16
    # On this backend (the test suite runs on the CPU) "auto" is the written-out formulation.
    if jax.default_backend() == "cpu":
        assert choose_attention_impl("auto", dtype=bf16, head_dim=64) == "plain"
    monkeypatch.setattr(attention_impl.jax, "default_backend", lambda: "gpu")
    assert choose_attention_impl("auto", dtype=bf16, head_dim=64) == "cudnn"
    assert choose_attention_impl("auto", dtype=jnp.float16, head_dim=128) == "cudnn"
    for kw in (dict(dtype=jnp.float32, head_dim=64), dict(dtype=bf16, head_dim=12), dict(dtype=bf16, head_dim=256),
               dict(dtype=bf16, head_dim=64, need_weights=True), dict(dtype=bf16, head_dim=64, dropout=True),
               dict(dtype=bf16, head_dim=64, cache=True)):
        assert choose_attention_impl("auto", **kw) == "plain", kw
    assert choose_attention_impl("xla", dtype=bf16, head_dim=64, cache=True) == "xla"
    with pytest.raises(ValueError, match="cannot provide the attention weights"):
        choose_attention_impl("xla", dtype=bf16, head_dim=64, need_weights=True)
    with pytest.raises(ValueError, match="cannot provide attention dropout"):
        choose_attention_impl("cudnn", dtype=bf16, head_dim=64, dropout=True)
    with pytest.raises(ValueError, match="unknown attention implementation 'flash'"):
        choose_attention_impl("flash", dtype=bf16, head_dim=64)
    with pytest.raises(ValueError, match="attention_impl must be one of"):
        GPT2Config(attention_impl="flash")


@pytest.mark.skipif(jax.default_backend() != "gpu", reason="cuDNN's fused attention needs an NVIDIA GPU")
def test_cudnn_equals_plain_on_gpu():
    assert choose_attention_impl("auto", dtype=jnp.bfloat16, head_dim=D // H) == "cudnn"
    out = _layer_outputs("plain", "cudnn", dtype=jnp.bfloat16)
    for got, want in zip(out["cudnn"], out["plain"]):
        np.testing.assert_allclose(np.asarray(got, np.float32), np.asarray(want, np.float32), rtol=3e-2, atol=3e-2)
    # A whole GPT in bf16: "auto" (cuDNN here, no dropout) against "plain": logits and parameter gradients.
    tokens = jax.random.randint(jax.random.key(4), (4, 64), 0, 50)
    got = {}
    for impl in ("auto", "plain"):
        model = GPT(vocab_size=50, block_size=64, num_layers=2, num_heads=4, embed_dim=64, dtype=jnp.bfloat16,
                    attention_impl=impl)
        params = model.init(jax.random.key(5), tokens)
        loss = lambda p, model=model: model.apply(p, tokens).astype(jnp.float32).mean()  # noqa: E731
        got[impl] = jax.jit(lambda p, model=model, loss=loss: (model.apply(p, tokens), jax.grad(loss)(p)))(params)
    np.testing.assert_allclose(np.asarray(got["auto"][0], np.float32), np.asarray(got["plain"][0], np.float32),
                               rtol=2e-2, atol=2e-2)
    for g_auto, g_plain in zip(*(jax.tree_util.tree_leaves(got[i][1]) for i in ("auto", "plain"))):
        np.testing.assert_allclose(np.asarray(g_auto, np.float32), np.asarray(g_plain, np.float32),
                                   rtol=5e-2, atol=5e-3)
