"""``assert_learns``: the loss falls on a tiny overfit problem within a step budget.

The step is run ``steps`` times on the same batch (one compiled ``lax.scan``; a fresh dropout key per
step) and the final loss (the mean of the last ``min(5, steps)`` steps, robust to a noisy last step) must be at
most ``factor`` x the first step's loss. A model that cannot fit a handful of examples — a gradient that does
not reach the parameters, a step that forgets to apply it, a wrong sign, a dead activation — fails this.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Learned", "assert_learns"]


class Learned(NamedTuple):
    """What :func:`assert_learns` measured: the per-step losses and the trained state."""
    losses: np.ndarray
    state: object


def assert_learns(model_or_state, batch, *, train_step=None, loss="cross_entropy", steps: int = 100,
                  factor: float = 0.5, learning_rate: float = 1e-2, optimizer=None, metric: str = "loss",
                  seed: int = 0) -> Learned:
    """Train on ``batch`` (a dict with ``"x"`` and ``"y"``, or whatever ``train_step`` reads) for ``steps``
    steps and assert the loss falls to ``factor`` x its first value.

    ``model_or_state``: a ``flax.linen`` module (a state is created with ``jaxml.train.create_state`` and
    ``optimizer``, default Adam at ``learning_rate``) or a train state. ``train_step``: any driver step
    ``(state, batch, rng) -> (state, metrics)`` (default: ``jaxml.train.make_train_step(loss)``);
    ``metric``: the name whose ``<metric>_sum / count`` is the loss. Returns :class:`Learned`.
    """
    import flax.linen as nn

    from jaxml.train import create_state, make_optimizer, make_train_step

    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    init_key, train_key = jax.random.split(jax.random.key(seed))
    state = model_or_state
    if isinstance(model_or_state, nn.Module):
        tx = optimizer if optimizer is not None else make_optimizer({"name": "adam", "learning_rate": learning_rate})
        x = batch["x"]
        state = jax.jit(lambda k: create_state(model_or_state, tx, k, x))(init_key)  # one compile, not op by op
    step = train_step if train_step is not None else make_train_step(loss)
    key_sum = f"{metric}_sum"

    @jax.jit
    def train(state, batch, key):
        def body(state, k):
            state, metrics = step(state, batch, k)
            return state, metrics[key_sum] / jnp.maximum(metrics["count"], 1)
        return jax.lax.scan(body, state, jax.random.split(key, steps))

    state, losses = train(state, batch, train_key)
    losses = np.asarray(losses, np.float64)
    first, last = float(losses[0]), float(losses[-min(5, steps):].mean())
    assert np.all(np.isfinite(losses)), f"the {metric} became non-finite at step {int(np.argmin(np.isfinite(losses)))}"
    assert last <= factor * first, (
        f"the {metric} did not fall: {first:.4g} at the first step, {last:.4g} over the last steps after {steps} "
        f"steps (needed <= {factor} x {first:.4g} = {factor * first:.4g}); lowest {losses.min():.4g} at step "
        f"{int(losses.argmin()) + 1}")
    return Learned(losses, state)
