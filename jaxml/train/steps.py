"""Pure train and eval steps built from a loss name (or a per-example loss function).

A batch is a dict ``{"x": (B, ...), "y": (B, ...), "mask": (B,) float}``; ``mask`` marks real
examples (1) versus padding (0) so a partial last batch is neither dropped nor recompiled.
Metrics are sums plus a count: ``loss_sum``, ``correct_sum``, ``count`` (host divides).
The gradient is that of the mean loss over the real examples of the batch.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from jaxml.train.losses import get_loss
from jaxml.train.state import TrainState, apply_model


def _loss_fn(loss) -> Callable:
    return get_loss(loss) if isinstance(loss, str) else loss


def _mask(batch, n):
    mask = batch.get("mask")
    return jnp.ones((n,), jnp.float32) if mask is None else mask.astype(jnp.float32)


def make_train_step(loss="cross_entropy", *, batch_sharding=None):
    """``train_step(state, batch, rng) -> (state, metrics)``.

    ``batch_sharding``: a ``jax.sharding.Sharding`` for the batch arrays (data parallelism:
    batch split over a mesh axis, params replicated); None for a single device.
    """
    per_example = _loss_fn(loss)

    def train_step(state: TrainState, batch, rng):
        if batch_sharding is not None:
            batch = jax.lax.with_sharding_constraint(batch, batch_sharding)
        x, y = batch["x"], batch["y"]
        mask_B = _mask(batch, x.shape[0])
        count = jnp.sum(mask_B)

        def objective(params):
            out, new_stats = apply_model(state, params, x, train=True, rng=rng)
            loss_B, correct_B = per_example(out, y)
            return jnp.sum(loss_B * mask_B) / jnp.maximum(count, 1.0), (loss_B, correct_B, new_stats)

        grads, (loss_B, correct_B, new_stats) = jax.grad(objective, has_aux=True)(state.params)
        state = state.apply_gradients(grads=grads, batch_stats=new_stats)
        metrics = {"loss_sum": jnp.sum(loss_B * mask_B), "correct_sum": jnp.sum(correct_B * mask_B),
                   "count": count}
        return state, metrics

    return train_step


def make_eval_step(loss="cross_entropy"):
    """``eval_step(state, batch) -> metrics`` (sums and count, model in eval mode)."""
    per_example = _loss_fn(loss)

    def eval_step(state: TrainState, batch):
        x, y = batch["x"], batch["y"]
        mask_B = _mask(batch, x.shape[0])
        out, _ = apply_model(state, state.params, x, train=False)
        loss_B, correct_B = per_example(out, y)
        return {"loss_sum": jnp.sum(loss_B * mask_B), "correct_sum": jnp.sum(correct_B * mask_B),
                "count": jnp.sum(mask_B)}

    return eval_step
