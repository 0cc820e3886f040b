"""Replay buffer as a pure JAX circular buffer: fixed capacity, add, uniform sample.

The buffer is a pytree (``ReplayBuffer``) holding any pytree of transitions with a leading
slot axis of length ``capacity``, the next slot to write (``position``) and the number of
slots written so far (``size``, at most ``capacity``). Every function is pure and jittable,
so the buffer lives in a ``lax.scan`` carry (and under ``jax.vmap`` one buffer per seed):

    buf = replay_init(Transition(obs_D, action, reward, next_obs_D, terminated), capacity=10_000)
    buf = replay_add(buf, batch_of_N_transitions)      # slots position .. position+N-1 (mod capacity)
    sample = replay_sample(buf, key, batch_size=128)   # uniform over the ``size`` written slots

Once full, new transitions overwrite the oldest ones (first in, first out).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
from flax import struct


class Transition(NamedTuple):
    """One step of experience (add a leading axis for a batch)."""

    obs: Any          # (*obs_shape,) float32: observation acted on
    action: Any       # () int32
    reward: Any       # () float32
    next_obs: Any     # (*obs_shape,) float32: observation reached, BEFORE any auto-reset
    terminated: Any   # () bool: next_obs is terminal (no bootstrap); False on time-limit truncation


@struct.dataclass
class ReplayBuffer:
    data: Any             # pytree; each leaf (capacity, ...)
    position: jax.Array   # () int32: next slot to write
    size: jax.Array       # () int32: slots written so far, <= capacity

    @property
    def capacity(self) -> int:
        return int(jax.tree_util.tree_leaves(self.data)[0].shape[0])


def replay_init(example, capacity: int) -> ReplayBuffer:
    """An empty buffer of ``capacity`` slots shaped like ``example`` (ONE transition, no batch axis)."""
    capacity = int(capacity)
    if capacity < 1:
        raise ValueError(f"replay buffer capacity must be >= 1, got {capacity}")
    data = jax.tree_util.tree_map(
        lambda x: jnp.zeros((capacity, *jnp.shape(x)), jnp.asarray(x).dtype), example)
    return ReplayBuffer(data=data, position=jnp.zeros((), jnp.int32), size=jnp.zeros((), jnp.int32))


def replay_add(buf: ReplayBuffer, batch) -> ReplayBuffer:
    """Write the N transitions of ``batch`` (leaves with leading axis N <= capacity) at
    slots ``position, ..., position + N - 1`` modulo capacity."""
    capacity = buf.capacity
    leaves = jax.tree_util.tree_leaves(batch)
    n = int(leaves[0].shape[0])
    if n > capacity:
        raise ValueError(f"cannot add {n} transitions at once to a replay buffer of capacity {capacity}")
    for leaf, slot in zip(leaves, jax.tree_util.tree_leaves(buf.data)):
        chex.assert_shape(leaf, (n, *slot.shape[1:]))
    idx_N = (buf.position + jnp.arange(n, dtype=jnp.int32)) % capacity
    data = jax.tree_util.tree_map(
        lambda store, x: store.at[idx_N].set(x.astype(store.dtype), unique_indices=True), buf.data, batch)
    return ReplayBuffer(data=data, position=(buf.position + n) % capacity,
                        size=jnp.minimum(buf.size + n, capacity))


def replay_sample(buf: ReplayBuffer, key: jax.Array, batch_size: int):
    """``batch_size`` transitions drawn uniformly with replacement from the written slots.

    The buffer must hold at least one transition (an empty buffer returns zeros of slot 0).
    """
    idx_B = jax.random.randint(key, (int(batch_size),), 0, jnp.maximum(buf.size, 1))
    return jax.tree_util.tree_map(lambda store: jnp.take(store, idx_B, axis=0), buf.data)
