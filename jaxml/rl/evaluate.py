"""Greedy evaluation over N episodes, and episode-return curves from training logs.

A policy is ``policy(params, obs_NxD) -> actions_N`` (e.g. ``dqn.greedy_policy(model)``, the
argmax of the Q-values, or ``policy_gradient.greedy_policy(model)``, the most probable action).

- :func:`evaluate_jax` runs ``num_episodes`` gymnax episodes in parallel for the time limit
  (one ``lax.scan``; jit- and vmap-able over ``params``/``key``) and returns each episode's
  undiscounted return ``(num_episodes,)``.
- :func:`evaluate_host` does the same with a gymnasium vector env of ``num_episodes``
  copies (copy i seeded ``seed + i``) around a jitted policy.
- :func:`make_evaluator` is the jitted (optionally vmapped) form of :func:`evaluate_jax`, built
  once per (environment, policy, number of episodes); :func:`evaluate` picks the jittable
  or the host evaluation from the environment id and backend; :func:`evaluate_runs` evaluates
  the stacked parameters of many runs in one vmapped program.

Evaluation episodes of the run with training seed ``s`` are seeded ``EVAL_SEED_OFFSET + s``, so they
are never the training episodes; ``SOLVED_AT`` holds the mean greedy return at which an
environment counts as solved (gymnasium's ``reward_threshold``).
"""
from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.rl.envs import HostEnv, JaxEnv, resolve_backend

EVAL_SEED_OFFSET = 10_000
SOLVED_AT = {"CartPole-v1": 475.0, "LunarLander-v3": 200.0}


def evaluate_jax(env_id: str, policy: Callable, params, key: jax.Array, num_episodes: int) -> jax.Array:
    """Returns ``(num_episodes,)`` float32 of the first episode of each of ``num_episodes`` copies."""
    env = JaxEnv(env_id, num_episodes)
    obs, env_state = env.reset(key)

    def step(carry, step_key):
        env_state, obs, ret_E, alive_E = carry
        env_state, s = env.step(step_key, env_state, policy(params, obs))
        ret_E = ret_E + jnp.where(alive_E, s.reward, 0.0)
        alive_E = alive_E & ~(s.terminated | s.truncated)
        return (env_state, s.obs, ret_E, alive_E), None

    keys = jax.random.split(jax.random.fold_in(key, 1), env.spec.max_episode_steps)
    carry = (env_state, obs, jnp.zeros((num_episodes,), jnp.float32), jnp.ones((num_episodes,), bool))
    (_, _, ret_E, _), _ = jax.lax.scan(step, carry, keys)
    return ret_E


def evaluate_host(env_id: str, policy: Callable, params, seed: int, num_episodes: int) -> np.ndarray:
    """Returns ``(num_episodes,)`` float64 returns of gymnasium episodes (copy i seeded seed + i)."""
    env = HostEnv(env_id, num_episodes)
    act = _jitted_policy(policy)
    try:
        obs = env.reset(seed=int(seed))
        ret_E = np.zeros(num_episodes)
        alive_E = np.ones(num_episodes, bool)
        for _ in range(env.spec.max_episode_steps):
            s = env.step(np.asarray(act(params, obs)))
            ret_E += np.where(alive_E, s.reward, 0.0)
            alive_E &= ~(s.terminated | s.truncated)
            obs = s.obs
            if not alive_E.any():
                break
    finally:
        env.close()
    return ret_E


@functools.lru_cache(maxsize=32)
def _jitted_policy(policy):
    return jax.jit(policy)


@functools.lru_cache(maxsize=32)
def make_evaluator(env_id: str, policy: Callable, num_episodes: int, vmapped: bool = False):
    """Jitted ``(params, key) -> returns (num_episodes,)`` (``vmapped``: params and keys with a
    leading run axis, returns ``(R, num_episodes)``). Memoised, so it compiles once per
    (environment, policy, episodes)."""
    def run(params, key):
        return evaluate_jax(env_id, policy, params, key, num_episodes)
    return jax.jit(jax.vmap(run) if vmapped else run)


def evaluate_runs(env_id: str, policy: Callable, params_R, seeds, num_episodes: int,
                  offset: int = EVAL_SEED_OFFSET) -> np.ndarray:
    """``(R, num_episodes)`` returns of R runs (``params_R`` stacked on a leading axis) as ONE
    vmapped program; run r's episodes come from ``PRNGKey(offset + seeds[r])``."""
    keys = jnp.stack([jax.random.PRNGKey(offset + int(s)) for s in seeds])
    return np.asarray(make_evaluator(env_id, policy, int(num_episodes), vmapped=True)(params_R, keys))


def evaluate(env_id: str, policy: Callable, params, seed: int, num_episodes: int = 100,
             backend: str = "auto") -> np.ndarray:
    """Greedy returns ``(num_episodes,)`` on the host as numpy, whichever kind of environment."""
    if resolve_backend(env_id, backend) == "jax":
        return np.asarray(make_evaluator(env_id, policy, int(num_episodes))(params, jax.random.PRNGKey(seed)))
    return evaluate_host(env_id, policy, params, seed, num_episodes)


def episode_curve(episode_returns, steps_per_iteration: int, num_points: int = 100):
    """Mean return of the episodes that ended in each of ``num_points`` equal windows of a run.

    ``episode_returns`` ``(..., I, N)``: per vector step and copy, the return of the episode
    that ended there, NaN where none did (as logged by the trainers; leading axes are runs).
    Returns ``(steps_W, mean_return_...xW)`` with ``steps_W`` the env step at each window's
    end; a window without a finished episode repeats the previous window's value (NaN at the
    start).
    """
    e = np.asarray(episode_returns, np.float64)
    total = e.shape[-2]
    w = max(1, total // int(num_points))
    k = total // w
    windows = e[..., : k * w, :].reshape(*e.shape[:-2], k, w * e.shape[-1])
    done = ~np.isnan(windows)
    count = done.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, np.where(done, windows, 0.0).sum(-1) / np.maximum(count, 1), np.nan)
    for i in range(1, k):  # carry the last value through empty windows
        mean[..., i] = np.where(np.isnan(mean[..., i]), mean[..., i - 1], mean[..., i])
    steps = (np.arange(1, k + 1) * w * steps_per_iteration).astype(np.int64)
    return steps, mean


def smooth_curve(values, num_points: int = 100):
    """``(index_W, mean_...xW)``: the mean of ``values (..., U)`` over ``num_points`` equal windows."""
    v = np.asarray(values, np.float64)
    total = v.shape[-1]
    w = max(1, total // int(num_points))
    k = total // w
    mean = v[..., : k * w].reshape(*v.shape[:-1], k, w).mean(-1)
    return np.arange(1, k + 1) * w, mean
