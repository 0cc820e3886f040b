"""REINFORCE (Monte-Carlo policy gradient) on jittable and host environments.

Each update collects ``episodes_per_update`` episodes (one per parallel environment copy,
each cut at the time limit ``T``), computes the discounted reward-to-go

    G_t = Σ_{k >= t} γ^(k - t) r_k          (per episode, only over its own steps)

optionally subtracts a baseline (``"mean"``: the mean of G over all steps of the batch;
``"time"``: the mean over episodes of G at the same time index) and optionally normalises
the result to zero mean and unit variance over the batch (``normalize``), and takes one
optax step on the surrogate loss ``-Σ_t log π(a_t|s_t) A_t / episodes`` (gradient ascent on
the expected return; ``optimizer="sgd"`` with ``normalize=False`` and ``baseline="none"`` is the
coursework's plain gradient ascent on raw discounted returns, ``θ <- θ + η ∇J``). Policies: the
coursework's :class:`~jaxml.models.rl_heads.LogisticPolicy` (two actions), the linear softmax
policy ``"linear"`` (multinomial logistic regression ``π(·|s) = softmax(W s + b)`` over any number
of actions, zero-initialised so the first policy is uniform; on two actions it is the logistic
policy with ``w = w_1 - w_0``) or an MLP softmax policy.

- ``make_train(config) -> train(rng, hparams=None)`` (gymnax): every rollout is a
  ``lax.scan`` of ``T`` steps over the vmapped copies (finished episodes are masked; the
  auto-reset copies run on unused), the updates an outer ``lax.scan``; vmap over seeds and a
  swept (learning rate, γ) like DQN's ``train``.
- ``train_host(config, seed)``: the same update on episodes played by gymnasium, padded to
  ``T`` so the jitted update compiles once.
"""
from __future__ import annotations

import dataclasses
import functools
import time
from typing import Any, Callable, Mapping

import chex
import jax
import jax.numpy as jnp
import numpy as np

from jaxml.models.activations import NAMES as ACTIVATION_NAMES
from jaxml.models.mlp import MLP
from jaxml.models.rl_heads import make_policy
from jaxml.rl.common import apply_hparams, check_hparams, check_optimizer_fields
from jaxml.rl.envs import HostEnv, JaxEnv, resolve_backend
from jaxml.train.errors import ConfigError
from jaxml.train.optimizers import make_optimizer
from jaxml.train.state import TrainState

BASELINES = ("none", "mean", "time")
POLICIES = ("logistic", "linear", "mlp")


@dataclasses.dataclass(frozen=True)
class ReinforceConfig:
    env_id: str = "CartPole-v1"
    backend: str = "auto"
    policy: str = "logistic"           # logistic (2 actions) | linear (softmax, any actions) | mlp
    hidden_sizes: tuple = (64, 64)     # mlp policy only
    activation: str = "tanh"
    num_updates: int = 200
    episodes_per_update: int = 10      # parallel copies; one episode each per update
    max_episode_steps: int = 0         # rollout length T; 0 = the environment's time limit
    gamma: float = 0.99
    learning_rate: float = 1e-2
    optimizer: str = "adam"            # any jaxml.train.optimizers name; "sgd" = plain gradient ascent
    max_grad_norm: float = 0.0
    baseline: str = "none"             # none | mean | time
    normalize: bool = True             # standardise the advantages over the batch

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "ReinforceConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise ConfigError(f"unknown REINFORCE config field(s) {sorted(unknown)}; known: {sorted(names)}")
        cfg = dict(values)
        if "hidden_sizes" in cfg:
            cfg["hidden_sizes"] = tuple(int(h) for h in cfg["hidden_sizes"])
        return cls(**cfg)

    def validate(self) -> "ReinforceConfig":
        try:
            resolve_backend(self.env_id, self.backend)
        except ValueError as e:
            raise ConfigError(f"config key 'env_id'/'backend': {e}") from None
        for name in ("num_updates", "episodes_per_update"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"REINFORCE config key {name!r} must be >= 1, got {getattr(self, name)}")
        if self.max_episode_steps < 0:
            raise ConfigError(f"REINFORCE config key 'max_episode_steps' must be >= 0, got {self.max_episode_steps}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ConfigError(f"REINFORCE config key 'gamma' must be in [0, 1], got {self.gamma}")
        if not self.learning_rate > 0:
            raise ConfigError(f"REINFORCE config key 'learning_rate' must be > 0, got {self.learning_rate}")
        if self.baseline not in BASELINES:
            raise ConfigError(f"REINFORCE config key 'baseline' = {self.baseline!r}; expected one of {list(BASELINES)}")
        if self.policy not in POLICIES:
            raise ConfigError(f"REINFORCE config key 'policy' = {self.policy!r}; expected one of {list(POLICIES)}")
        if self.activation not in ACTIVATION_NAMES:
            raise ConfigError(f"REINFORCE config key 'activation' = {self.activation!r}; "
                              f"expected one of {list(ACTIVATION_NAMES)}")
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            raise ConfigError(f"REINFORCE config key 'hidden_sizes' must list positive widths, got {self.hidden_sizes}")
        check_optimizer_fields("REINFORCE", self.optimizer, self.max_grad_norm)
        return self


def reward_to_go(reward_TxN, alive_TxN, gamma):
    """``G_t = r_t + γ G_{t+1}`` over each column's alive steps (0 where not alive); ``(T, N)``."""
    chex.assert_equal_shape([reward_TxN, alive_TxN])
    r_TxN = jnp.where(alive_TxN, reward_TxN, 0.0).astype(jnp.float32)

    def back(g_N, r_N):
        g_N = r_N + gamma * g_N
        return g_N, g_N

    _, g_TxN = jax.lax.scan(back, jnp.zeros_like(r_TxN[0]), r_TxN, reverse=True)
    return jnp.where(alive_TxN, g_TxN, 0.0)


def advantages(g_TxN, alive_TxN, baseline: str, normalize: bool):
    """Reward-to-go minus the baseline, optionally standardised over the alive steps."""
    w = alive_TxN.astype(jnp.float32)
    count = jnp.maximum(w.sum(), 1.0)
    if baseline == "mean":
        g_TxN = g_TxN - (g_TxN * w).sum() / count
    elif baseline == "time":
        b_T = (g_TxN * w).sum(1) / jnp.maximum(w.sum(1), 1.0)
        g_TxN = g_TxN - b_T[:, None]
    if normalize:
        mean = (g_TxN * w).sum() / count
        std = jnp.sqrt((jnp.square(g_TxN - mean) * w).sum() / count)
        g_TxN = (g_TxN - mean) / (std + 1e-8)
    return g_TxN * w


def policy_loss(params, apply_fn, obs_TxNxD, action_TxN, adv_TxN, num_episodes: int):
    """Surrogate ``-Σ_t log π(a_t|s_t) A_t / episodes``; its gradient is minus REINFORCE's."""
    t, n = action_TxN.shape
    logits = apply_fn({"params": params}, obs_TxNxD.reshape(t * n, -1))
    logp = jax.nn.log_softmax(logits)
    logp_TxN = jnp.take_along_axis(logp, action_TxN.reshape(t * n, 1).astype(jnp.int32), axis=1).reshape(t, n)
    return -jnp.sum(logp_TxN * jax.lax.stop_gradient(adv_TxN)) / num_episodes


def make_update(config: ReinforceConfig):
    """``update(state, gamma, obs_TxNxD, action_TxN, reward_TxN, alive_TxN) -> (state, loss)``."""
    def update(state, gamma, obs, action, reward, alive):
        g = reward_to_go(reward, alive, gamma)
        adv = advantages(g, alive, config.baseline, config.normalize)
        loss, grads = jax.value_and_grad(policy_loss)(state.params, state.apply_fn, obs, action, adv,
                                                      config.episodes_per_update)
        return state.apply_gradients(grads=grads), loss
    return update


@functools.lru_cache(maxsize=32)
def greedy_policy(model):
    """``policy(params, obs_NxD) -> actions_N``: the most probable action (one function per model)."""
    def policy(params, obs):
        return jnp.argmax(model.apply({"params": params}, obs), axis=-1).astype(jnp.int32)
    return policy


def make_policy_model(config: ReinforceConfig, num_actions: int):
    """The policy network of ``config`` for ``num_actions`` actions (``obs_NxD -> logits_NxA``)."""
    if config.policy == "linear":   # one Dense layer, zero weights and bias: the uniform policy
        return MLP(hidden_sizes=(), output_size=int(num_actions), kernel_init="zeros")
    return make_policy(config.policy, num_actions, config.hidden_sizes, config.activation)


def _setup(config: ReinforceConfig, spec):
    model = make_policy_model(config, spec.num_actions)
    tx = make_optimizer({"name": config.optimizer, "learning_rate": config.learning_rate,
                         "clip_norm": config.max_grad_norm})
    horizon = config.max_episode_steps or spec.max_episode_steps
    return model, tx, horizon


def _init(model, tx, key, obs_shape):
    params = model.init(key, jnp.zeros((1, *obs_shape), jnp.float32))["params"]
    return TrainState.create(apply_fn=model.apply, params=params, tx=tx)


@functools.lru_cache(maxsize=16)
def make_train(config: ReinforceConfig):
    """``train(rng, hparams=None) -> {"state", "returns" (U, N), "loss" (U,)}`` on a gymnax env.

    Memoised on the (hashable) config, so ``jax.jit`` of it compiles once per process.

    ``returns[u, i]`` is the undiscounted return of episode i collected for update u (with
    the policy before that update), cut at ``T`` steps.
    """
    config = config.validate()
    if resolve_backend(config.env_id, config.backend) != "jax":
        raise ConfigError(f"make_train needs a jittable (gymnax) environment; {config.env_id!r} with backend "
                          f"{config.backend!r} runs on the host: use jaxml.rl.policy_gradient.train_host")
    n = config.episodes_per_update
    env = JaxEnv(config.env_id, n)
    model, tx, horizon = _setup(config, env.spec)
    update = make_update(config)

    def rollout(params, key):
        reset_key, key = jax.random.split(key)
        obs, env_state = env.reset(reset_key)

        def step(carry, step_key):
            env_state, obs, alive_N = carry
            act_key, env_key = jax.random.split(step_key)
            action_N = jax.random.categorical(act_key, model.apply({"params": params}, obs)).astype(jnp.int32)
            env_state, s = env.step(env_key, env_state, action_N)
            out = (obs, action_N, s.reward, alive_N)
            alive_N = alive_N & ~(s.terminated | s.truncated)
            return (env_state, s.obs, alive_N), out

        carry = (env_state, obs, jnp.ones((n,), bool))
        _, (obs_T, action_T, reward_T, alive_T) = jax.lax.scan(step, carry, jax.random.split(key, horizon))
        return obs_T, action_T, reward_T, alive_T

    def train(rng: jax.Array, hparams: Mapping | None = None):
        check_hparams(hparams)
        init_key, loop_key = jax.random.split(rng)
        state = _init(model, tx, init_key, env.spec.obs_shape)
        state, gamma = apply_hparams(state, config.gamma, hparams)

        def one_update(state, key):
            obs, action, reward, alive = rollout(state.params, key)
            returns_N = jnp.sum(jnp.where(alive, reward, 0.0), axis=0)
            state, loss = update(state, gamma, obs, action, reward, alive)
            return state, (returns_N, loss)

        state, (returns, loss) = jax.lax.scan(one_update, state, jax.random.split(loop_key, config.num_updates))
        return {"state": state, "returns": returns, "loss": loss}

    train.config, train.env, train.model, train.horizon = config, env, model, horizon
    return train


@functools.lru_cache(maxsize=16)
def make_vmapped_train(config: ReinforceConfig):
    """``jax.vmap(make_train(config))``, memoised (jit it; equal configs share the program)."""
    return jax.vmap(make_train(config))


@functools.lru_cache(maxsize=16)
def _host_functions(config: ReinforceConfig, spec):
    model, tx, horizon = _setup(config, spec)
    update = jax.jit(make_update(config), donate_argnums=(0,))

    @jax.jit
    def act(params, key, obs):
        key, sub = jax.random.split(key)
        return key, jax.random.categorical(sub, model.apply({"params": params}, obs)).astype(jnp.int32)

    return model, tx, horizon, update, act


def train_host(config: ReinforceConfig, seed: int = 0, *,
               log: Callable[[dict], None] | None = None) -> dict:
    """REINFORCE on a gymnasium env: returns numpy ``returns (U, N)``, ``loss (U,)``, the
    final ``state``, ``seconds``, ``env_steps`` and ``env_steps_per_second``.
    ``log(record)`` is called after every update with ``{"update", "mean_return", "loss"}``."""
    config = config.validate()
    n = config.episodes_per_update
    env = HostEnv(config.env_id, n)
    model, tx, horizon, update, act = _host_functions(config, env.spec)
    init_key, key = jax.random.split(jax.random.PRNGKey(seed))
    state = _init(model, tx, init_key, env.spec.obs_shape)
    state, gamma = apply_hparams(state, config.gamma, None)

    d = env.spec.obs_shape
    returns = np.zeros((config.num_updates, n))
    losses = np.zeros(config.num_updates, np.float32)
    env_steps = 0
    t0 = time.perf_counter()
    try:
        for u in range(config.num_updates):
            obs_T = np.zeros((horizon, n, *d), np.float32)
            action_T = np.zeros((horizon, n), np.int32)
            reward_T = np.zeros((horizon, n), np.float32)
            alive_T = np.zeros((horizon, n), bool)
            alive = np.ones(n, bool)
            obs = env.reset(seed=int(seed) * 1_000_003 + u * n)
            for t in range(horizon):
                key, action = act(state.params, key, obs)
                action = np.asarray(action)
                s = env.step(action)
                obs_T[t], action_T[t], reward_T[t], alive_T[t] = obs, action, s.reward, alive
                env_steps += int(alive.sum())
                alive = alive & ~(s.terminated | s.truncated)
                obs = s.obs
                if not alive.any():
                    break
            returns[u] = np.where(alive_T, reward_T, 0.0).sum(0)
            state, loss = update(state, gamma, obs_T, action_T, reward_T, alive_T)
            losses[u] = float(loss)
            if log is not None:
                log({"update": u + 1, "mean_return": float(returns[u].mean()), "loss": float(losses[u])})
    finally:
        env.close()
    seconds = time.perf_counter() - t0
    return {"state": state, "returns": returns, "loss": losses, "seconds": seconds, "env_steps": env_steps,
            "env_steps_per_second": env_steps / seconds, "model": model, "spec": env.spec, "horizon": horizon}


