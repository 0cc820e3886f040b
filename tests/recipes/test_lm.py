"""Iteration-based LM training: block sampling, chunked scans, eval, best checkpoint, exact resume
(a run resumed after 2 of 3 chunks equals the uninterrupted run, so chunks compose exactly).

Also the ``constant_then_exponential`` learning-rate schedule added for the IMDB study (e).
"""
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxml.report import read_metrics
from jaxml.train import create_state, make_optimizer
from jaxml.recipes.lm import sample_blocks, token_cross_entropy, train_lm
from jaxml.train.optimizers import lr_factor_schedule

V = 5


class Bigram(nn.Module):
    """logits of the next token from the current one alone (the smallest language model)."""

    @nn.compact
    def __call__(self, idx_BxT, train: bool = False):
        return nn.Embed(V, V)(idx_BxT)


_STATE = []


def _state():
    """One initial state for every test (train_lm copies it; it is never modified)."""
    if not _STATE:
        tx = optax.sgd(0.5)
        _STATE.append(jax.jit(lambda k: create_state(Bigram(), tx, k, jnp.zeros((1, 4), jnp.int32)))(
            jax.random.PRNGKey(0)))
    return _STATE[0]


# A deterministic cycle 0 1 2 3 4 0 1 ...: the bigram model can learn it exactly.
STREAM = jnp.asarray(np.arange(400) % V, jnp.int32)


def test_sample_blocks_are_shifted_windows():
    ids = jnp.arange(50, dtype=jnp.int32)
    sample = jax.jit(sample_blocks, static_argnums=(2, 3))
    x, y = sample(jax.random.PRNGKey(0), ids, 64, 7, 0, 50)
    assert x.shape == y.shape == (64, 7) and x.dtype == jnp.int32
    x, y = np.asarray(x), np.asarray(y)
    np.testing.assert_array_equal(x, x[:, :1] + np.arange(7))  # contiguous windows
    np.testing.assert_array_equal(y, x + 1)                     # targets: the next token
    assert x.min() >= 0 and y.max() <= 49 and len(set(x[:, 0])) > 10
    # A sub-range [lo, hi) of the stream (traced bounds, same program): windows stay inside it.
    x, y = (np.asarray(a) for a in sample(jax.random.PRNGKey(1), ids, 64, 7, 10, 30))
    assert x.min() == 10 and y.max() == 29


def test_token_cross_entropy_matches_numpy():
    logits = np.random.default_rng(0).normal(size=(2, 3, V))
    y = np.array([[0, 1, 4], [2, 2, 3]])
    lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -np.mean([lp[b, t, y[b, t]] for b in range(2) for t in range(3)])
    got = jax.jit(token_cross_entropy)(jnp.asarray(logits, jnp.float32), jnp.asarray(y))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_train_lm_logs_keeps_best_and_resumes_exactly(tmp_path):
    kw = dict(key=jax.random.PRNGKey(2), batch_size=8, block_size=4, eval_interval=5, eval_batches=3,
              progress=False)
    full = train_lm(_state(), STREAM[:200], STREAM[200:], iterations=15, **kw)
    assert [h["iteration"] for h in full.history] == [0, 5, 10, 15]
    assert full.step_loss.shape == (15,)
    val = full.curve("val_loss")[1]
    assert val[-1] < val[0] and full.best_val_loss == val.min() and full.best_iteration == 15
    first = train_lm(_state(), STREAM[:200], STREAM[200:], iterations=10, workdir=tmp_path, **kw)
    assert first.resumed_from is None
    resumed = train_lm(_state(), STREAM[:200], STREAM[200:], iterations=15, workdir=tmp_path, **kw)
    assert resumed.resumed_from == 10
    np.testing.assert_allclose(resumed.curve("val_loss")[1], val, rtol=1e-6)
    np.testing.assert_allclose(resumed.best_params["Embed_0"]["embedding"],
                               full.best_params["Embed_0"]["embedding"], rtol=1e-6)
    assert [r["iteration"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [0, 5, 10, 15]


def test_train_lm_rejects_bad_arguments():
    kw = dict(key=jax.random.PRNGKey(0), batch_size=2, block_size=4, eval_batches=1, progress=False)
    with pytest.raises(ValueError, match="multiple of eval_interval"):
        train_lm(_state(), STREAM, STREAM, iterations=7, eval_interval=5, **kw)
    with pytest.raises(ValueError, match="val_ids has 3 tokens"):
        train_lm(_state(), STREAM, STREAM[:3], iterations=5, eval_interval=5, **kw)
    with pytest.raises(ValueError, match="1-D integer token array"):
        train_lm(_state(), STREAM.astype(jnp.float32), STREAM, iterations=5, eval_interval=5, **kw)


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
