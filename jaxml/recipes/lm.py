"""Language models on the one driver: random (B, T) windows of a token stream as a batch source,
and the next-token loss.

A language model here is any module ``apply({"params": p}, idx_BxT, train=...) -> logits_BxTxV``
(e.g. ``jaxml.models.transformer.GPT``) held in a ``jaxml.train.TrainState``. Iteration-based
training is ``jaxml.train.fit`` with a :class:`BlockSource`: one "epoch" is ``steps`` iterations
(one compiled ``lax.scan``), the records' ``updates`` count iterations, and the evaluation sets are
block sources too (``steps`` = batches averaged per evaluation, the same batches every time)::

    from jaxml.train import EarlyStopping, fit, make_eval_step, make_train_step
    from jaxml.recipes.lm import BlockSource, next_token_loss

    blocks = dict(batch_size=16, block_size=32)
    result = fit(state, BlockSource(train_ids, steps=250, **blocks), key=key, epochs=5000 // 250,
                 train_step=make_train_step(next_token_loss), eval_step=make_eval_step(next_token_loss),
                 eval_sets={"train_eval": BlockSource(train_ids, steps=50, seed=1, **blocks),
                            "val": BlockSource(val_ids, steps=50, seed=2, **blocks)},
                 early_stopping=EarlyStopping("val_loss", "min", patience=None), eval_before=True,
                 workdir=workdir)
    result.best_state.params          # the best-validation parameters

(``loss=next_token_loss`` alone does not do: the driver's default-step check wants source arrays
named ``x`` and ``y``, and a block source holds one stream, ``ids``.)

- :class:`BlockSource`: a device source (``jaxml.train.sources``); batch ``i`` of a plan holds B
  windows at uniformly random offsets drawn from ``fold_in(plan, i)`` (the plan is the epoch's key;
  for evaluation, a fixed key from ``seed``).
- :func:`sample_blocks`: B windows of T + 1 consecutive tokens from a key; inputs are the first
  T tokens, targets the last T (the next token at each place).
- :func:`next_token_loss`: the per-sequence loss for ``jaxml.train.steps``: mean cross-entropy
  (nats) over the T positions, and the fraction of positions predicted right.

Batches hold ``"x"``/``"y"`` int32 (B, T) and ``"mask"`` ones (B,) (no padding: every window is real).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

__all__ = ["BlockSource", "sample_blocks", "next_token_loss"]


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"BlockSource: {name} must be a positive integer, got {value!r}")
    return int(value)


def _check_stream(ids, block_size: int, what: str):
    dtype, shape = getattr(ids, "dtype", None), np.shape(ids)
    if dtype is None or len(shape) != 1 or not np.issubdtype(dtype, np.integer):
        raise ValueError(f"{what} must be a 1-D integer token array (N,), got "
                         f"{dtype if dtype is not None else type(ids).__name__} {shape}")
    if shape[0] <= block_size:
        raise ValueError(f"{what} has {shape[0]} tokens; need more than block_size={block_size}")


def sample_blocks(key, ids_N, batch_size: int, block_size: int, lo=0, hi=None):
    """``(x (B, T), y (B, T))`` int32: ``x[b] = ids[s_b : s_b + T]``, ``y[b] = ids[s_b + 1 : s_b + T + 1]``,
    offsets ``s_b`` uniform on ``[lo, hi - T - 1]`` (default the whole stream, ``[0, N - T - 1]``).

    ``lo``/``hi`` may be traced: one compiled program then samples from any part of a stream."""
    hi = ids_N.shape[0] if hi is None else hi
    starts_B = jax.random.randint(key, (batch_size,), lo, hi - block_size)
    idx_BxT = starts_B[:, None] + jnp.arange(block_size)[None, :]
    return jnp.take(ids_N, idx_BxT).astype(jnp.int32), jnp.take(ids_N, idx_BxT + 1).astype(jnp.int32)


def next_token_loss(logits_BxTxV, y_BxT):
    """``(loss_B, correct_B)`` float32: each sequence's mean next-token cross-entropy (nats) over its
    T positions, and the fraction of its positions whose argmax is the target. (The steps average
    ``loss_B`` over the batch: the mean over all B·T positions, as every sequence has T of them.)"""
    if logits_BxTxV.ndim != 3:
        raise ValueError(f"next_token_loss expects logits of shape (B, T, V), got {logits_BxTxV.shape}")
    if y_BxT.shape != logits_BxTxV.shape[:2]:
        raise ValueError(f"next_token_loss expects integer targets of shape {logits_BxTxV.shape[:2]}, "
                         f"got {y_BxT.shape}")
    y_BxT = y_BxT.astype(jnp.int32)
    loss_BxT = optax.softmax_cross_entropy_with_integer_labels(logits_BxTxV, y_BxT).astype(jnp.float32)
    correct_BxT = (jnp.argmax(logits_BxTxV, axis=-1) == y_BxT).astype(jnp.float32)
    return loss_BxT.mean(axis=1), correct_BxT.mean(axis=1)


class BlockSource:
    """``steps`` batches of ``batch_size`` random windows of ``block_size`` tokens of the stream ``ids``
    (1-D integers, more than ``block_size`` long), drawn on the device; a device source for
    ``jaxml.train.fit`` (training or evaluation).

    ``plan(key)`` is the key itself; ``plan(None)`` (evaluation) is ``jax.random.key(seed)``, so
    every evaluation of the source sees the same batches (curves comparable point to point).
    ``num_examples`` (sequences per epoch) is ``steps * batch_size``.
    """

    def __init__(self, ids, batch_size: int, block_size: int, steps: int, *, seed: int = 0, name: str = "ids"):
        self.batch_size = _positive_int("batch_size", batch_size)
        self.block_size = _positive_int("block_size", block_size)
        self.steps = _positive_int("steps", steps)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"BlockSource: seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        _check_stream(ids, self.block_size, name)
        self.arrays = {"ids": ids}
        self.num_examples = self.steps * self.batch_size

    def plan(self, key):
        return jax.random.key(self.seed) if key is None else key

    def batch(self, arrays, plan, i):
        x_BxT, y_BxT = sample_blocks(jax.random.fold_in(plan, i), arrays["ids"], self.batch_size, self.block_size)
        return {"x": x_BxT, "y": y_BxT, "mask": jnp.ones((self.batch_size,), jnp.float32)}

    def example(self):
        """Shapes/dtypes of one batch (``jax.ShapeDtypeStruct`` leaves), without running anything."""
        return jax.eval_shape(lambda a: self.batch(a, self.plan(None), 0), self.arrays)
