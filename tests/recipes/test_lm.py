"""Language models on the one driver: BlockSource batches, the next-token loss, and iteration-based
training through ``fit`` (loss goes down, a resumed run equals an uninterrupted one, NaN stops).

Also the ``constant_then_exponential`` learning-rate schedule added for the IMDB study (e).
"""
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxml.models.transformer import GPT
from jaxml.recipes.lm import BlockSource, next_token_loss, sample_blocks
from jaxml.report import read_metrics
from jaxml.train import (
    EarlyStopping,
    NonFiniteLossError,
    create_state,
    evaluate,
    fit,
    make_eval_step,
    make_optimizer,
    make_train_step,
)
from jaxml.train.optimizers import lr_factor_schedule

V, B, T, STEPS = 5, 4, 8, 5

# A deterministic cycle 0 1 2 3 4 0 1 ...: a causal model can learn it exactly.
STREAM = jnp.asarray(np.arange(400) % V, jnp.int32)
TRAIN_IDS, VAL_IDS = STREAM[:300], STREAM[300:]
STEPS_LM = dict(train_step=make_train_step(next_token_loss), eval_step=make_eval_step(next_token_loss))


class Bigram(nn.Module):
    """logits of the next token from the current one alone (the smallest language model: cheap to compile)."""

    @nn.compact
    def __call__(self, idx_BxT, train: bool = False):
        return nn.Embed(V, V)(idx_BxT)


def _fit_kwargs(*eval_names):
    sets = {"train_eval": BlockSource(TRAIN_IDS, B, T, 2, seed=1), "val": BlockSource(VAL_IDS, B, T, 2, seed=2)}
    return dict(key=jax.random.key(2), **STEPS_LM, progress=False, eval_before=True,
                eval_sets={name: sets[name] for name in eval_names},
                early_stopping=EarlyStopping("val_loss", "min", patience=None))


def _init(model, tx):
    return jax.jit(lambda k: create_state(model, tx, k, jnp.zeros((1, T), jnp.int32)))(jax.random.key(0))


@pytest.fixture(scope="module")
def bigram_state():
    return _init(Bigram(), optax.adam(0.05))


@pytest.fixture(scope="module")
def bigram_run(bigram_state):
    """4 "epochs" of STEPS iterations each, no work directory."""
    return fit(bigram_state, BlockSource(TRAIN_IDS, B, T, STEPS), epochs=4, **_fit_kwargs("train_eval", "val"))


def test_block_source_windows_are_consecutive_and_shifted():
    ids = jnp.arange(50, dtype=jnp.int32)
    source = BlockSource(ids, 64, 7, steps=3)
    assert (source.steps, source.batch_size, source.num_examples) == (3, 64, 192)
    ex = source.example()
    assert ex["x"].shape == ex["y"].shape == (64, 7) and ex["x"].dtype == jnp.int32 and ex["mask"].shape == (64,)
    batch = jax.jit(source.batch)
    plan = source.plan(jax.random.key(0))
    b0 = jax.device_get(batch(source.arrays, plan, 0))
    x, y = b0["x"], b0["y"]
    np.testing.assert_array_equal(x, x[:, :1] + np.arange(7))  # contiguous windows
    np.testing.assert_array_equal(y, x + 1)                     # targets: the next token
    np.testing.assert_array_equal(b0["mask"], np.ones(64))
    assert x.min() >= 0 and y.max() <= 49 and len(set(x[:, 0])) > 10
    b1 = jax.device_get(batch(source.arrays, plan, 1))
    assert not np.array_equal(b1["x"], x)  # each step draws its own windows
    other = jax.device_get(batch(source.arrays, source.plan(jax.random.key(1)), 0))
    assert not np.array_equal(other["x"], x)  # each epoch key its own windows
    # A sub-range [lo, hi) of the stream (traced bounds): windows stay inside it.
    x, y = (np.asarray(a) for a in jax.jit(sample_blocks, static_argnums=(2, 3))(
        jax.random.key(1), ids, 64, 7, 10, 30))
    assert x.min() == 10 and y.max() == 29


def test_evaluation_batches_are_the_same_every_time(bigram_state):
    source = BlockSource(VAL_IDS, B, T, 3, seed=7)
    batch = jax.jit(source.batch)
    first = jax.device_get(batch(source.arrays, source.plan(None), 2))
    again = jax.device_get(BlockSource(VAL_IDS, B, T, 3, seed=7).batch(source.arrays, source.plan(None), 2))
    np.testing.assert_array_equal(first["x"], again["x"])
    other = jax.device_get(batch(source.arrays, BlockSource(VAL_IDS, B, T, 3, seed=8).plan(None), 2))
    assert not np.array_equal(first["x"], other["x"])
    m1 = evaluate(bigram_state, source, eval_step=STEPS_LM["eval_step"])
    m2 = evaluate(bigram_state, source, eval_step=STEPS_LM["eval_step"])
    assert m1 == m2 and set(m1) == {"loss", "accuracy"}


def test_next_token_loss_matches_numpy():
    logits = np.random.default_rng(0).normal(size=(2, 3, V))
    y = np.array([[0, 1, 4], [2, 2, 3]])
    lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected_B = [-np.mean([lp[b, t, y[b, t]] for t in range(3)]) for b in range(2)]
    correct_B = [np.mean(logits[b].argmax(-1) == y[b]) for b in range(2)]
    loss_B, got_correct_B = jax.jit(next_token_loss)(jnp.asarray(logits, jnp.float32), jnp.asarray(y))
    assert loss_B.shape == got_correct_B.shape == (2,) and loss_B.dtype == jnp.float32
    np.testing.assert_allclose(loss_B, expected_B, rtol=1e-5)
    np.testing.assert_allclose(got_correct_B, correct_B)
    with pytest.raises(ValueError, match=r"shape \(B, T, V\)"):
        next_token_loss(jnp.zeros((2, V)), jnp.zeros((2,), jnp.int32))
    with pytest.raises(ValueError, match=r"targets of shape \(2, 3\)"):
        next_token_loss(jnp.zeros((2, 3, V)), jnp.zeros((2, 4), jnp.int32))


def test_block_source_rejects_bad_arguments():
    with pytest.raises(ValueError, match="val_ids has 8 tokens; need more than block_size=8"):
        BlockSource(STREAM[:8], B, T, 1, name="val_ids")
    with pytest.raises(ValueError, match="1-D integer token array"):
        BlockSource(STREAM.astype(jnp.float32), B, T, 1)
    with pytest.raises(ValueError, match="1-D integer token array"):
        BlockSource(STREAM.reshape(20, 20), B, T, 1)
    with pytest.raises(ValueError, match="1-D integer token array"):
        BlockSource(list(range(100)), B, T, 1)
    for field, kw in (("batch_size", dict(batch_size=0)), ("block_size", dict(block_size=2.5)),
                      ("steps", dict(steps=True))):
        args = {"batch_size": B, "block_size": T, "steps": 1, **kw}
        with pytest.raises(ValueError, match=f"{field} must be a positive integer"):
            BlockSource(STREAM, **args)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        BlockSource(STREAM, B, T, 1, seed=-1)


def test_fit_on_blocks_trains_a_tiny_gpt():
    state = _init(GPT(vocab_size=V, block_size=T, num_layers=1, num_heads=2, embed_dim=16), optax.adam(1e-2))
    result = fit(state, BlockSource(TRAIN_IDS, B, T, STEPS), epochs=3, **_fit_kwargs("val"))
    hist = result.run_history(0)
    assert [h["epoch"] for h in hist] == [0, 1, 2, 3]
    assert [h["updates"] for h in hist] == [0, 5, 10, 15]  # updates count iterations
    assert "train_loss" not in hist[0] and {"val_loss", "val_accuracy"} <= set(hist[0])
    val = result.curve("val_loss", run=0)[1]
    assert val[0] == pytest.approx(math.log(V), rel=0.05)  # near-uniform logits at initialisation
    assert val[-1] < 0.6 * val[0] and hist[-1]["val_accuracy"] > hist[0]["val_accuracy"]
    assert result.best_epoch[0] == 1 + int(np.argmin(val[1:]))


def test_interrupted_run_equals_uninterrupted(bigram_state, bigram_run, tmp_path):
    full = bigram_run
    assert [h["updates"] for h in full.run_history(0)] == [0, 5, 10, 15, 20]
    source = BlockSource(TRAIN_IDS, B, T, STEPS)
    first = fit(bigram_state, source, epochs=2, workdir=tmp_path, **_fit_kwargs("train_eval", "val"))
    assert first.resumed_from is None
    resumed = fit(bigram_state, source, epochs=4, workdir=tmp_path, **_fit_kwargs("train_eval", "val"))
    assert resumed.resumed_from == 2 and resumed.updates[0] == 20
    for metric in ("val_loss", "train_eval_loss", "train_loss"):
        np.testing.assert_allclose(resumed.curve(metric, run=0)[1], full.curve(metric, run=0)[1], rtol=1e-6)
    assert full.curve("val_loss", run=0)[1][-1] < full.curve("val_loss", run=0)[1][0]
    for got, want in ((resumed.state, full.state), (resumed.best_state, full.best_state)):
        jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7),
                               got.params, want.params)
        jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7),
                               got.opt_state, want.opt_state)
    assert [r["updates"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [0, 5, 10, 15, 20]


def test_non_finite_loss_stops_training(bigram_state):
    state = bigram_state.replace(params=jax.tree_util.tree_map(lambda p: p.at[3].set(jnp.nan), bigram_state.params))
    with pytest.raises(NonFiniteLossError, match=r"non-finite training metric .*at epoch 1, step \d+ of 5"):
        fit(state, BlockSource(TRAIN_IDS, B, T, STEPS), key=jax.random.key(0), epochs=2, progress=False,
            **STEPS_LM)


def test_constant_then_exponential_schedule_is_keras_scheduler():
    cfg = {"schedule": "constant_then_exponential", "decay_after_epochs": 5, "decay_rate": math.exp(-0.1)}
    steps = 3
    factor = lr_factor_schedule(cfg, steps)
    lr = 1.0
    for epoch in range(9):  # Keras: lr if epoch < 5 else lr * exp(-0.1), applied at each epoch start
        lr = lr if epoch < 5 else lr * math.exp(-0.1)
        for s in range(steps):
            assert float(factor(epoch * steps + s)) == pytest.approx(lr, rel=1e-6)
    tx = make_optimizer({"name": "sgd", "learning_rate": 0.1, **cfg}, steps_per_epoch=steps)
    assert tx is not None
    with pytest.raises(ValueError, match="decay_after_epochs must be >= 0"):
        lr_factor_schedule({**cfg, "decay_after_epochs": -1}, steps)
    with pytest.raises(ValueError, match="end_factor must be in"):
        lr_factor_schedule({"schedule": "warmup_cosine", "total_epochs": 5, "end_factor": 2.0}, 1)
    cos = lr_factor_schedule({"schedule": "warmup_cosine", "warmup_epochs": 2, "total_epochs": 10,
                              "end_factor": 0.1}, 1)
    assert float(cos(2)) == pytest.approx(1.0) and float(cos(10)) == pytest.approx(0.1)
