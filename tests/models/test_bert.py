"""BERT and RoBERTa in Linen (jaxml.models.bert): padding, positions, token types, errors.
(Numbers against Hugging Face's models: tests/pretrained/test_hf_parity.py.)"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models.bert import Bert, BertConfig, bert_positions

CFG = BertConfig(vocab_size=40, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                 max_position_embeddings=20)


@pytest.fixture(scope="module")
def bert():
    model = Bert(CFG)
    params = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, 4), jnp.int32))["params"]
    apply = jax.jit(lambda p, *a, **k: model.apply({"params": p}, *a, **k), static_argnames="return_hidden")
    return model, jax.tree.map(lambda a: a * 5.0 if a.ndim > 1 else a, params), apply


def test_right_padding_is_invisible_and_attention_is_bidirectional(bert):
    model, params, apply = bert
    ids = jnp.array([[2, 5, 6, 7, 3]])
    ref = apply(params, ids)
    padded = jnp.array([[2, 5, 6, 7, 3, 0, 0]])
    out = apply(params, padded, jnp.array([[1] * 5 + [0, 0]]))
    np.testing.assert_allclose(out[:, :5], ref, rtol=1e-5, atol=1e-5)
    changed = apply(params, ids.at[0, 4].set(9))
    assert not np.allclose(changed[:, 0], ref[:, 0], atol=1e-3)  # position 0 sees the last token
    types = apply(params, ids, token_type_ids_BxT=jnp.array([[0, 0, 1, 1, 1]]))
    assert not np.allclose(types, ref, atol=1e-3)
    hidden = apply(params, ids, return_hidden=True)
    assert hidden.shape == (1, 5, CFG.hidden_size) and ref.shape == (1, 5, CFG.vocab_size)


def test_roberta_positions_skip_padding():
    cfg = BertConfig(**{**CFG.__dict__, "model_type": "roberta", "pad_token_id": 1})
    np.testing.assert_array_equal(bert_positions(cfg, jnp.array([[0, 5, 6, 2, 1, 1]])), [[2, 3, 4, 5, 1, 1]])
    np.testing.assert_array_equal(bert_positions(CFG, jnp.array([[0, 5, 6]])), [[0, 1, 2]])
    with pytest.raises(ValueError, match="RoBERTa's offset"):
        Bert(cfg).init(jax.random.key(0), jnp.zeros((1, 19), jnp.int32))


def test_bad_configs_are_named():
    with pytest.raises(ValueError, match="hidden_act"):
        BertConfig(hidden_act="swish")
    with pytest.raises(ValueError, match="model_type"):
        BertConfig(model_type="albert")
    with pytest.raises(ValueError, match="not divisible"):
        BertConfig(hidden_size=30, num_attention_heads=4)
