"""One epoch (or one evaluation pass) as one compiled call.

The data is a dict of device arrays with a common leading axis N (``{"x": (N, ...),
"y": (N, ...)}``). An epoch draws a permutation of N from its key, pads it to
``num_batches * batch_size`` and runs the train step over the batches with ``lax.scan``;
padded positions have mask 0, so every example counts exactly once per epoch and the
shapes never change (no recompiles). Batch ``i`` gets the step rng ``fold_in(key, i)``.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp


def num_batches(num_examples: int, batch_size: int) -> int:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return math.ceil(num_examples / batch_size)


def _num_examples(data) -> int:
    sizes = {leaf.shape[0] for leaf in jax.tree_util.tree_leaves(data)}
    if len(sizes) != 1:
        raise ValueError(f"all data arrays must share the leading (example) axis, got sizes {sorted(sizes)}")
    return sizes.pop()


def batch_plan(key, num_examples: int, batch_size: int, shuffle: bool = True):
    """Indices (num_batches, B) and mask (num_batches, B): a permutation padded with index 0."""
    nb = num_batches(num_examples, batch_size)
    total = nb * batch_size
    order = jax.random.permutation(key, num_examples) if shuffle else jnp.arange(num_examples)
    idx = jnp.concatenate([order, jnp.zeros((total - num_examples,), order.dtype)])
    mask = (jnp.arange(total) < num_examples).astype(jnp.float32)
    return idx.reshape(nb, batch_size), mask.reshape(nb, batch_size)


def make_epoch_fn(train_step, batch_size: int, shuffle: bool = True):
    """``epoch(state, data, key) -> (state, step_metrics)``; step_metrics have a leading
    axis of length num_batches (per-step sums), so per-iteration curves come for free.

    ``shuffle=False`` visits the examples in their stored order every epoch (e.g. all of
    one class before another, for studying ordering effects); the default draws a fresh
    permutation per epoch."""

    def epoch(state, data, key):
        n = _num_examples(data)
        perm_key, step_key = jax.random.split(key)
        idx_SxB, mask_SxB = batch_plan(perm_key, n, batch_size, shuffle=shuffle)

        def body(state, inputs):
            i, idx_B, mask_B = inputs
            batch = jax.tree_util.tree_map(lambda a: jnp.take(a, idx_B, axis=0), data)
            batch["mask"] = mask_B
            return train_step(state, batch, jax.random.fold_in(step_key, i))

        steps = jnp.arange(idx_SxB.shape[0])
        return jax.lax.scan(body, state, (steps, idx_SxB, mask_SxB))

    return epoch


def make_eval_fn(eval_step, batch_size: int = 1000):
    """``evaluate(state, data) -> metric sums`` over the whole split, in order, one call.

    Batches hold ``min(batch_size, n)`` examples (a split smaller than ``batch_size`` is not
    padded up to it); a short last batch is zero-padded and masked out of the sums."""

    def evaluate(state, data):
        n = _num_examples(data)
        bs = max(1, min(batch_size, n))
        nb = num_batches(n, bs)
        pad = nb * bs - n

        def padded(a):
            a = jnp.concatenate([a, jnp.zeros((pad,) + a.shape[1:], a.dtype)]) if pad else a
            return a.reshape((nb, bs) + a.shape[1:])

        batches = jax.tree_util.tree_map(padded, dict(data))
        batches["mask"] = (jnp.arange(nb * bs) < n).astype(jnp.float32).reshape(nb, bs)

        def body(total, batch):
            m = eval_step(state, batch)
            return jax.tree_util.tree_map(jnp.add, total, m), None

        zeros = jax.tree_util.tree_map(
            lambda s: jnp.zeros(s.shape, s.dtype),
            jax.eval_shape(eval_step, state, jax.tree_util.tree_map(lambda b: b[0], batches)))
        total, _ = jax.lax.scan(body, zeros, batches)
        return total

    return evaluate


def summarize(sums, prefix: str = "") -> dict:
    """Host-side: metric sums (possibly with leading run/step axes summed already) -> means."""
    import numpy as np

    count = np.maximum(np.asarray(sums["count"], np.float64), 1.0)
    return {f"{prefix}loss": np.asarray(sums["loss_sum"], np.float64) / count,
            f"{prefix}accuracy": np.asarray(sums["correct_sum"], np.float64) / count}
