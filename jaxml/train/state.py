"""Train state and the model-application convention used by every step.

Modules take ``(x, train: bool)``; dropout draws from the ``dropout`` rng; batch norm keeps
running statistics in the ``batch_stats`` collection. ``TrainState`` adds ``batch_stats``
(None for models without it) to flax's TrainState; subclass it to add fields
(``target_params``, ...).
"""
from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
from flax.training import train_state


class TrainState(train_state.TrainState):
    batch_stats: Any = None


def create_state(model: nn.Module, tx, key: jax.Array, sample_x, **fields) -> TrainState:
    """Initialise ``model`` on ``sample_x`` (a batch; only its shape/dtype matter) from ``key``."""
    params_key, dropout_key = jax.random.split(key)
    variables = model.init({"params": params_key, "dropout": dropout_key}, sample_x, train=False)
    return TrainState.create(
        apply_fn=model.apply, params=variables["params"], tx=tx,
        batch_stats=variables.get("batch_stats"), **fields)


def apply_model(state: TrainState, params, x, *, train: bool, rng: jax.Array | None = None):
    """Run the model; returns ``(outputs, new_batch_stats)`` (unchanged stats in eval mode)."""
    variables = {"params": params}
    if state.batch_stats is not None:
        variables["batch_stats"] = state.batch_stats
    rngs = {"dropout": rng} if rng is not None else {}
    if train and state.batch_stats is not None:
        out, updates = state.apply_fn(variables, x, train=True, rngs=rngs, mutable=["batch_stats"])
        return out, updates["batch_stats"]
    return state.apply_fn(variables, x, train=train, rngs=rngs), state.batch_stats
