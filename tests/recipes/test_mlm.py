"""The masked-LM recipe (jaxml.recipes.mlm): BERT's corruption rule, the loss over selected positions,
and a tiny BERT trained through fit with the step (loss falls; evaluation masks are fixed)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models.bert import Bert, BertConfig
from jaxml.recipes.lm import BlockSource
from jaxml.recipes.mlm import make_mlm_eval_step, make_mlm_train_step, mask_tokens, masked_lm_loss
from jaxml.train import create_state, evaluate, fit, make_optimizer

MASK, CLS, SEP, V = 1, 2, 3, 12


def test_mask_tokens_follows_the_80_10_10_rule_and_spares_special_tokens():
    ids = jnp.asarray(np.random.default_rng(0).integers(4, V, (200, 50)), jnp.int32).at[:, 0].set(CLS)
    inputs, selected = jax.jit(lambda k, x: mask_tokens(k, x, mask_token_id=MASK, vocab_size=V,
                                                        special_ids=(CLS, SEP)))(jax.random.key(0), ids)
    inputs, selected, ids = np.asarray(inputs), np.asarray(selected), np.asarray(ids)
    assert not selected[:, 0].any()  # special tokens never selected
    assert abs(selected[:, 1:].mean() - 0.15) < 0.01
    np.testing.assert_array_equal(inputs[~selected], ids[~selected])
    as_mask = (inputs[selected] == MASK).mean()
    kept = (inputs[selected] == ids[selected]).mean()
    assert abs(as_mask - 0.8) < 0.03 and 0.07 < kept < 0.15  # 10% kept + random draws of the same token


def test_masked_lm_loss_counts_only_selected_positions():
    logits = jnp.log(jnp.array([[[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]]]))
    targets = jnp.array([[0, 0, 0]])
    loss, correct = masked_lm_loss(logits, targets, jnp.array([[False, True, True]]))
    np.testing.assert_allclose(loss, [-(np.log(0.9) + np.log(0.2)) / 2], rtol=1e-6)
    np.testing.assert_allclose(correct, [0.5])
    loss, _ = masked_lm_loss(logits, targets, jnp.zeros((1, 3), bool))
    assert float(loss[0]) == 0.0
    with pytest.raises(ValueError, match="mask_token_id"):
        make_mlm_train_step(mask_token_id=V, vocab_size=V)


def test_fit_trains_a_tiny_bert_with_the_masked_lm_step():
    stream = jnp.asarray(np.arange(600) % 8 + 4, jnp.int32)  # a cycle: every masked token is predictable
    cfg = BertConfig(vocab_size=V, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                     max_position_embeddings=12)
    model = Bert(cfg)
    tx = make_optimizer({"name": "adam", "learning_rate": 1e-2}, steps_per_epoch=1)
    state = jax.jit(lambda k: create_state(model, tx, k, jnp.zeros((1, 10), jnp.int32)))(jax.random.key(0))
    kw = dict(mask_token_id=MASK, vocab_size=V, special_ids=(CLS, SEP), cls_id=CLS, sep_id=SEP, mask_prob=0.3)
    train_step, eval_step = make_mlm_train_step(**kw), make_mlm_eval_step(**kw)
    val = BlockSource(stream, batch_size=8, block_size=8, steps=4, seed=1)
    res = fit(state, BlockSource(stream, batch_size=8, block_size=8, steps=100), key=jax.random.key(1), epochs=3,
              train_step=train_step, eval_step=eval_step, eval_sets={"val": val}, eval_before=True, progress=False)
    first, last = res.run_history(0)[0], res.run_history(0)[-1]
    assert last["val_loss"] < 0.5 * first["val_loss"] and last["val_accuracy"] > 0.6
    a, b = evaluate(res.state, val, eval_step=eval_step), evaluate(res.state, val, eval_step=eval_step)
    assert a == b  # the evaluation masks are a function of the batches
