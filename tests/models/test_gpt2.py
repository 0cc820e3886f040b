"""GPT-2 in Linen (jaxml.models.gpt2): causality, left padding, the cache, bf16, errors.
(Numbers against Hugging Face's GPT-2: tests/pretrained/test_hf_parity.py.)"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models import count_params
from jaxml.models.gpt2 import GPT2, GPT2Config, init_cache, positions_from_mask

CFG = GPT2Config(vocab_size=50, n_positions=16, n_embd=32, n_layer=2, n_head=4)


@pytest.fixture(scope="module")
def gpt2():
    model = GPT2(CFG)
    params = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, 4), jnp.int32))["params"]
    params = jax.tree.map(lambda a: a * 5.0 if a.ndim > 1 else a, params)  # larger weights: errors show
    return model, params, jax.jit(lambda p, *a, **k: model.apply({"params": p}, *a, **k))


def test_parameter_count_by_formula(gpt2):
    _, params, _ = gpt2
    d, v, p = CFG.n_embd, CFG.vocab_size, CFG.n_positions
    block = 4 * d + (4 * d * d + 4 * d) + (d * 4 * d + 4 * d) + (4 * d * d + d)
    assert count_params(params) == v * d + p * d + CFG.n_layer * block + 2 * d  # output layer tied to wte


def test_left_padding_with_positions_gives_the_unpadded_logits(gpt2):
    model, params, apply = gpt2
    ids = jnp.array([[5, 6, 7, 8, 9, 10]])
    ref = apply(params, ids)
    padded = jnp.concatenate([jnp.zeros((1, 3), jnp.int32), ids], axis=1)
    mask = jnp.array([[0, 0, 0] + [1] * 6])
    out = apply(params, padded, mask, positions_from_mask(mask))
    np.testing.assert_allclose(out[:, 3:], ref, rtol=1e-5, atol=1e-5)
    assert not np.allclose(apply(params, padded)[:, 3:], ref, atol=1e-3)  # mask matters


def test_cache_steps_equal_the_full_pass(gpt2):
    model, params, apply = gpt2
    ids = jax.random.randint(jax.random.key(1), (2, 9), 0, CFG.vocab_size)
    ref = apply(params, ids)
    cache = init_cache(CFG, 2, 12)
    logits, cache = apply(params, ids[:, :5], cache=cache)
    steps = [logits]
    for t in range(5, 9):
        logits, cache = apply(params, ids[:, t:t + 1], cache=cache)
        steps.append(logits)
    np.testing.assert_allclose(jnp.concatenate(steps, axis=1), ref, rtol=1e-5, atol=1e-5)
    assert np.abs(ref).max() > 1.0


def test_bfloat16_forward(gpt2):
    model, params, apply = gpt2
    ids = jnp.arange(8)[None] % CFG.vocab_size
    out = jax.jit(GPT2(CFG, dtype=jnp.bfloat16).apply)({"params": params}, ids)
    ref = apply(params, ids)
    assert out.dtype == jnp.float32  # logits returned in float32
    assert np.corrcoef(np.ravel(out), np.ravel(ref))[0, 1] > 0.99


def test_bad_inputs_are_named(gpt2):
    model, params, apply = gpt2
    with pytest.raises(ValueError, match="exceeds n_positions"):
        model.apply({"params": params}, jnp.zeros((1, 17), jnp.int32))
    with pytest.raises(ValueError, match="integer input_ids"):
        model.apply({"params": params}, jnp.zeros((1, 3)))
    with pytest.raises(ValueError, match="not divisible by n_head"):
        GPT2Config(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="exceeds n_positions"):
        init_cache(CFG, 1, 17)
