"""Trigram next-word MLP: equals the formula written in numpy; parameter count; top-k words."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models import count_params
from jaxml.models.trigram import TrigramMLP, top_k_words


@pytest.mark.parametrize("combine", ["concat", "sum"])
def test_forward_equals_numpy_formula(combine):
    model = TrigramMLP(vocab_size=7, embed_dim=3, hidden=4, combine=combine, init_std=0.5)
    ctx = jnp.array([[0, 1, 2], [6, 6, 5]], jnp.int32)
    params = jax.jit(model.init)(jax.random.PRNGKey(0), ctx)["params"]
    p = jax.tree_util.tree_map(np.asarray, params)
    e = p["embedding"][np.asarray(ctx)]  # (B, 3, D): the same matrix for every context word
    e = e.reshape(2, 9) if combine == "concat" else e.sum(1)
    h = 1 / (1 + np.exp(-(e @ p["hidden"]["kernel"] + p["hidden"]["bias"])))
    logits = h @ p["output"]["kernel"] + p["output"]["bias"]
    np.testing.assert_allclose(jax.jit(model.apply)({"params": params}, ctx), logits, rtol=1e-5, atol=1e-6)


def test_parameter_count_and_init_scale():
    params = jax.jit(TrigramMLP().init)(jax.random.PRNGKey(0), jnp.zeros((1, 3), jnp.int32))["params"]
    assert count_params(params) == 250 * 32 + 96 * 256 + 256 + 256 * 250 + 250 == 97_082
    assert abs(float(jnp.std(params["output"]["kernel"])) - 0.01) < 1e-3
    assert float(jnp.abs(params["hidden"]["bias"]).max()) == 0.0


def test_top_k_words_and_errors():
    words = top_k_words(np.log([0.1, 0.6, 0.3]), ["a", "b", "c"], k=2)
    assert [w for w, _ in words] == ["b", "c"]
    np.testing.assert_allclose([p for _, p in words], [0.6, 0.3], rtol=1e-6)
    with pytest.raises(ValueError, match="3 logits for a vocabulary of 2"):
        top_k_words(np.zeros(3), ["a", "b"])
    with pytest.raises(ValueError, match=r"integer word ids of shape \(B, 3\)"):
        jax.eval_shape(TrigramMLP().init, jax.random.PRNGKey(0), jnp.zeros((1, 4), jnp.int32))
    with pytest.raises(ValueError, match="combine must be one of"):
        jax.eval_shape(TrigramMLP(combine="mean").init, jax.random.PRNGKey(0), jnp.zeros((1, 3), jnp.int32))
