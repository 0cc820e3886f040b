"""The default steps: a supervised classifier/regressor built from a per-example loss.

Any step the driver takes has this contract (``jaxml.train.fit``):

- ``train_step(state, batch, rng) -> (state, metric_sums)``
- ``eval_step(state, batch) -> metric_sums``

where ``batch`` is a dict of arrays with a leading batch axis B and a ``"mask"`` (B,) marking real
examples (1) against padding (0), and ``metric_sums`` is ``{"<name>_sum": scalar, ..., "count":
scalar}`` — sums over the real examples; the driver divides and logs ``<split>_<name>``.

The steps here read ``batch["x"]``/``batch["y"]`` and log ``loss`` and ``accuracy``; the gradient
is that of the mean loss over the real examples of the batch.
"""
from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp

from jaxml.train.epoch import batch_mask
from jaxml.train.losses import get_loss
from jaxml.train.state import TrainState, apply_model


def _loss_fn(loss) -> Callable:
    return get_loss(loss) if isinstance(loss, str) else loss


@functools.lru_cache(maxsize=None)
def _named_train_step(name: str):
    return _make_train_step(name)


@functools.lru_cache(maxsize=None)
def _named_eval_step(name: str):
    return _make_eval_step(name)


def make_train_step(loss="cross_entropy"):
    """``train_step(state, batch, rng) -> (state, metrics)`` for ``loss`` (a name from
    ``jaxml.train.losses`` or ``fn(outputs, targets) -> (loss_N, correct_N)``); ``rng`` feeds dropout.
    A loss name always gives the same function object (so compiled programs built on it are reused)."""
    return _named_train_step(loss) if isinstance(loss, str) else _make_train_step(loss)


def make_eval_step(loss="cross_entropy"):
    """``eval_step(state, batch) -> metrics`` (sums and count, model in eval mode); see
    :func:`make_train_step`."""
    return _named_eval_step(loss) if isinstance(loss, str) else _make_eval_step(loss)


def _make_train_step(loss):
    per_example = _loss_fn(loss)

    def train_step(state: TrainState, batch, rng):
        x, y = batch["x"], batch["y"]
        mask_B = batch_mask(batch, x.shape[0])
        count = jnp.sum(mask_B)

        def objective(params):
            out, new_stats = apply_model(state, params, x, train=True, rng=rng)
            loss_B, correct_B = per_example(out, y)
            return jnp.sum(loss_B * mask_B) / jnp.maximum(count, 1.0), (loss_B, correct_B, new_stats)

        grads, (loss_B, correct_B, new_stats) = jax.grad(objective, has_aux=True)(state.params)
        state = state.apply_gradients(grads=grads, batch_stats=new_stats)
        metrics = {"loss_sum": jnp.sum(loss_B * mask_B), "accuracy_sum": jnp.sum(correct_B * mask_B),
                   "count": count}
        return state, metrics

    return train_step


def _make_eval_step(loss):
    per_example = _loss_fn(loss)

    def eval_step(state: TrainState, batch):
        x, y = batch["x"], batch["y"]
        mask_B = batch_mask(batch, x.shape[0])
        out, _ = apply_model(state, state.params, x, train=False)
        loss_B, correct_B = per_example(out, y)
        return {"loss_sum": jnp.sum(loss_B * mask_B), "accuracy_sum": jnp.sum(correct_B * mask_B),
                "count": jnp.sum(mask_B)}

    return eval_step
