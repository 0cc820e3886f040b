"""DQN on host (gymnasium) environments: a Python loop around ONE jitted call per vector step.

Same pieces and the same schedule as the compiled run in ``dqn.py`` (warm-up of
``learning_starts`` steps, one gradient step every ``update_every`` vector steps, a target
update every ``target_update_every`` gradient steps, the same ε schedule and TD loss); only
the environment lives outside JAX. Each vector step costs one gymnasium ``step`` of
``num_envs`` copies (``SyncVectorEnv``, same-step auto-reset) and one jitted ``observe``
call that stores the transition in the (device) replay buffer, learns when due and returns
the ε-greedy actions for the next observations. The replay buffer is donated, so it is
updated in place (the train state is not: its target parameters may share buffers with the
online ones).

    out = train_host(DQNConfig(env_id="LunarLander-v3", backend="host", ...), seed=0)
    out["state"].params, out["episode_returns"], out["loss"], out["env_steps_per_second"]
"""
from __future__ import annotations

import functools
import time
from typing import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.rl.common import apply_hparams
from jaxml.rl.dqn import (
    DQNConfig,
    example_transition,
    init_state,
    make_network,
    make_tx,
    to_transition,
    update_step,
    update_target,
)
from jaxml.rl.envs import HostEnv
from jaxml.rl.replay import replay_add, replay_init
from jaxml.rl.schedules import epsilon_greedy, epsilon_schedule


@functools.lru_cache(maxsize=16)
def _host_functions(config: DQNConfig, spec):
    """Model, optimizer, ε schedule and the jitted ``act``/``observe`` for a config (memoised,
    so several seeds of the same config compile once)."""
    model = make_network(config, spec.num_actions)
    tx = make_tx(config, config.num_updates)
    eps_fn = epsilon_schedule(config.epsilon_start, config.epsilon_end,
                              max(1, int(config.epsilon_fraction * config.total_timesteps)))

    @jax.jit
    def act(params, key, obs, t):
        key, act_key = jax.random.split(key)
        return key, epsilon_greedy(act_key, model.apply({"params": params}, obs), eps_fn(t))

    @functools.partial(jax.jit, static_argnames=("learn", "sync_target"), donate_argnums=(1,))
    def observe(state, buffer, key, transition, next_obs, t, gamma, learn: bool, sync_target: bool):
        buffer = replay_add(buffer, transition)
        key, sample_key, act_key = jax.random.split(key, 3)
        loss = jnp.float32(jnp.nan)
        if learn:
            state, loss = update_step(config, state, buffer, sample_key, gamma)
        if sync_target:
            state = update_target(state, config.tau)
        q_NxA = model.apply({"params": state.params}, next_obs)
        return state, buffer, key, epsilon_greedy(act_key, q_NxA, eps_fn(t)), loss

    return model, tx, eps_fn, act, observe


def train_host(config: DQNConfig, seed: int = 0, *, log: Callable[[dict], None] | None = None,
               log_every: int = 10_000, hparams: Mapping | None = None) -> dict:
    """Train on ``config.env_id`` through gymnasium. ``hparams`` may override ``gamma`` and
    ``learning_rate`` as in the compiled ``train`` (they are arguments of the jitted calls, so
    a γ x learning-rate sweep over one config compiles once). Returns the same dict as the compiled
    ``train`` (``state``, ``episode_returns`` (iterations, num_envs; NaN where no episode
    ended), ``loss`` as numpy) plus
    ``seconds`` (wall time of the loop, compilation included), ``first_call_seconds`` (the
    first jitted calls, dominated by compilation) and ``env_steps_per_second`` (measured
    after the first 5% of the run, so compilation is excluded).

    ``log(record)`` is called about every ``log_every`` environment steps with
    ``{"env_steps", "mean_return" (episodes since the last record), "episodes", "loss", "epsilon"}``.
    """
    config = config.validate()
    env = HostEnv(config.env_id, config.num_envs)
    model, tx, eps_fn, act, observe = _host_functions(config, env.spec)
    init_key, key = jax.random.split(jax.random.PRNGKey(seed))
    state = init_state(config, model, tx, init_key, env.spec.obs_shape)
    state, gamma = apply_hparams(state, config.gamma, hparams)
    buffer = replay_init(example_transition(env.spec.obs_shape), config.buffer_size)
    n = config.num_envs

    iters, warm = config.num_iterations, config.warmup_iterations
    episode_returns = np.full((iters, n), np.nan, np.float32)
    losses = np.zeros(config.num_updates, np.float32)
    ep_ret_N = np.zeros(n, np.float64)
    last_log, log_ret, log_eps = 0, 0.0, 0
    measure_from = max(1, iters // 20)
    t_start = time.perf_counter()
    try:
        obs = env.reset(seed=int(seed))
        key, action = act(state.params, key, obs, 0)
        action = np.asarray(action)
        first_call = 0.0
        t_measure = t_start
        updates = 0
        for i in range(iters):
            if i == measure_from:
                t_measure = time.perf_counter()
            s = env.step(action)
            ep_ret_N += s.reward
            done = s.terminated | s.truncated
            if done.any():
                episode_returns[i, done] = ep_ret_N[done]
                log_ret += ep_ret_N[done].sum()
                log_eps += int(done.sum())
                ep_ret_N[done] = 0.0
            learn = i >= warm and (i - warm + 1) % config.update_every == 0
            sync = learn and (updates + 1) % config.target_update_every == 0
            transition = to_transition(obs, action.astype(np.int32), s)
            state, buffer, key, action, loss = observe(state, buffer, key, transition, s.obs,
                                                       (i + 1) * n, gamma, learn=learn,
                                                       sync_target=sync)
            action, loss = jax.device_get((action, loss))
            if learn:
                losses[updates] = loss
                updates += 1
            if i == 0:
                first_call = time.perf_counter() - t_start
            obs = s.obs
            if log is not None and (i + 1) * n - last_log >= log_every:
                last_log = (i + 1) * n
                log({"env_steps": last_log, "mean_return": float(log_ret / log_eps) if log_eps else float("nan"),
                     "episodes": int(log_eps), "loss": float(np.mean(losses[max(0, updates - 100):updates]))
                     if updates else float("nan"), "epsilon": float(eps_fn(last_log))})
                log_ret, log_eps = 0.0, 0
    finally:
        env.close()
    t_end = time.perf_counter()
    steady = (iters - measure_from) * n / max(t_end - t_measure, 1e-9)
    return {"state": state, "episode_returns": episode_returns, "loss": losses,
            "seconds": t_end - t_start, "first_call_seconds": first_call, "env_steps_per_second": steady,
            "env_steps": iters * n, "model": model, "spec": env.spec}
