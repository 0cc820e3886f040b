"""Exploration: the linear ε schedule and ε-greedy action choice.

``epsilon_schedule(start, end, duration)`` is ``optax.linear_schedule``: ε(t) goes linearly
from ``start`` at t = 0 to ``end`` at t = ``duration`` and stays at ``end`` afterwards (t
counts environment steps, all parallel copies included).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def epsilon_schedule(start: float, end: float, duration: int) -> optax.Schedule:
    """ε(t) = start + (end - start) * min(t / duration, 1)."""
    if not (0.0 <= end <= 1.0 and 0.0 <= start <= 1.0):
        raise ValueError(f"epsilon start and end must be in [0, 1], got {start} and {end}")
    if int(duration) < 1:
        raise ValueError(f"epsilon decay duration must be >= 1 environment step, got {duration}")
    return optax.linear_schedule(float(start), float(end), int(duration))


def epsilon_greedy(key: jax.Array, q_NxA: jax.Array, epsilon) -> jax.Array:
    """Actions ``(N,)`` int32: with probability ε a uniform random action, else argmax Q."""
    n, num_actions = q_NxA.shape
    explore_key, action_key = jax.random.split(key)
    greedy_N = jnp.argmax(q_NxA, axis=-1).astype(jnp.int32)
    random_N = jax.random.randint(action_key, (n,), 0, num_actions, dtype=jnp.int32)
    explore_N = jax.random.uniform(explore_key, (n,)) < epsilon
    return jnp.where(explore_N, random_N, greedy_N)
