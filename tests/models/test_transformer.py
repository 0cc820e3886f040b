"""GPT: causality, parameter count by formula, greedy generation vs a step-by-step loop, one compile."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models import count_params
from jaxml.models.transformer import GPT, make_generate

V, BLOCK, D, L, H = 11, 8, 16, 1, 2


@pytest.fixture(scope="module")
def gpt():
    model = GPT(vocab_size=V, block_size=BLOCK, num_layers=L, num_heads=H, embed_dim=D)
    params = jax.jit(model.init)(jax.random.PRNGKey(0), jnp.zeros((1, BLOCK), jnp.int32))["params"]
    return model, params, jax.jit(lambda p, x: model.apply({"params": p}, x))


def test_parameter_count_by_formula(gpt):
    _, params, _ = gpt
    per_block = 2 * 2 * D + (3 * (D * D + D) + D * D + D) + (D * 4 * D + 4 * D) + (4 * D * D + D)
    assert count_params(params) == V * D + BLOCK * D + L * per_block + 2 * D + D * V + V


def test_causal_future_tokens_do_not_change_past_logits(gpt):
    _, params, apply = gpt
    x = np.random.default_rng(1).integers(0, V, (2, BLOCK)).astype(np.int32)
    y = x.copy()
    y[:, 5:] = (x[:, 5:] + 1) % V
    a, b = apply(params, jnp.asarray(x)), apply(params, jnp.asarray(y))
    assert a.shape == (2, BLOCK, V)
    np.testing.assert_allclose(a[:, :5], b[:, :5], rtol=1e-5, atol=1e-6)
    assert not np.allclose(a[:, 5:], b[:, 5:])


def test_generate_greedy_matches_step_by_step_and_compiles_once(gpt):
    model, params, apply = gpt
    generate = make_generate(model)
    prompt = jnp.array([[1, 2, 3, 4, 5, 6, 7], [4, 5, 6, 7, 8, 9, 10]], jnp.int32)
    n_new = 3  # 7 + 3 > block_size: the window slides
    greedy = np.asarray(generate(params, jax.random.PRNGKey(0), prompt, n_new, temperature=1.0, top_k=1))
    seq = np.asarray(prompt)
    for _ in range(n_new):  # reference: crop to the last block_size tokens, take the argmax
        logits = apply(params, jnp.asarray(seq[:, -BLOCK:]))
        seq = np.concatenate([seq, np.argmax(np.asarray(logits[:, -1]), -1)[:, None]], axis=1)
    np.testing.assert_array_equal(greedy, seq)
    # New keys, temperatures, top-k values and prompts of the same shape reuse the program.
    s1 = generate(params, jax.random.PRNGKey(1), prompt, n_new, temperature=0.7, top_k=3)
    s2 = generate(params, jax.random.PRNGKey(2), (prompt + 1) % V, n_new, temperature=1.3, top_k=0)
    assert generate.cache_size() == 1
    assert s1.shape == s2.shape == (2, 7 + n_new)
    np.testing.assert_array_equal(s1[:, :7], prompt)
    assert int(s2.max()) < V and int(s2.min()) >= 0 and not np.array_equal(s1, s2)


def test_bad_inputs_are_named(gpt):
    model, params, _ = gpt
    with pytest.raises(ValueError, match="exceeds block_size"):
        jax.eval_shape(model.apply, {"params": params}, jnp.zeros((1, BLOCK + 1), jnp.int32))
    generate = make_generate(model)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        generate(params, jax.random.PRNGKey(0), jnp.array([1]), 3, temperature=0.0)
    with pytest.raises(ValueError, match="integer tokens"):
        generate(params, jax.random.PRNGKey(0), jnp.array([1.0]), 3)
    with pytest.raises(ValueError, match="not divisible by num_heads"):
        jax.eval_shape(GPT(V, BLOCK, 1, 3, D).init, jax.random.PRNGKey(0), jnp.zeros((1, 2), jnp.int32))


@pytest.mark.parametrize("n_new", [3, 6])  # 7 + 3: cache then one windowed step; 2 + 6: cache only
def test_cached_sampler_equals_the_windowed_sampler_token_for_token(gpt, n_new):
    model, params, _ = gpt
    cached, windowed = make_generate(model), make_generate(model, use_cache=False)
    prompt = jnp.array([[1, 2, 3, 4, 5, 6, 7], [4, 5, 6, 7, 8, 9, 10]], jnp.int32)[:, :7 if n_new == 3 else 2]
    for kwargs in (dict(top_k=1), dict(temperature=1.5, top_k=0), dict(temperature=0.8, top_k=4)):
        a = cached(params, jax.random.PRNGKey(5), prompt, n_new, **kwargs)
        b = windowed(params, jax.random.PRNGKey(5), prompt, n_new, **kwargs)
        np.testing.assert_array_equal(a, b)
    assert cached.cache_size() == 1


def test_sampler_rejects_out_of_vocab_prompts_and_negative_top_k(gpt):
    from jaxml.models.sampling import SamplingConfigError, TokenIdError

    model, params, _ = gpt
    generate = make_generate(model)
    with pytest.raises(TokenIdError, match=rf"prompt must lie in \[0, {V}\).*got {V} at index \(0, 1\)"):
        generate(params, jax.random.PRNGKey(0), jnp.array([1, V, 2]), 3)
    with pytest.raises(TokenIdError, match="got -1"):
        generate(params, jax.random.PRNGKey(0), jnp.array([[1, -1]]), 3)
    with pytest.raises(SamplingConfigError, match="top_k must be an integer >= 0.*got -2"):
        generate(params, jax.random.PRNGKey(0), jnp.array([1, 2]), 3, top_k=-2)
    assert issubclass(TokenIdError, ValueError) and issubclass(SamplingConfigError, ValueError)
    assert generate.cache_size() == 0  # nothing compiled for bad input
