"""Deep Q-learning (DQN): config, learner pieces, and the fully compiled training run.

The pieces, shared by the compiled run here and the host loop in ``dqn_host.py``:

- :class:`DQNConfig`: every knob, validated (``ConfigError`` names the field).
- :class:`DQNState`: ``jaxml.train.TrainState`` plus ``target_params``.
- :func:`td_target`: ``y = r + γ (1 - terminated) max_a' Q_target(s', a')`` (Double DQN: the
  online network picks ``a'``, the target network values it). ``s'`` is the observation the
  transition reached before any auto-reset, so time-limit truncations bootstrap and only
  true terminations do not.
- :func:`td_loss` (mean squared TD error, or Huber with δ = 1), :func:`update_step` (one
  optax step on a uniform replay sample) and :func:`update_target` (Polyak
  ``θ' <- τ θ + (1 - τ) θ'``; τ = 1 is the periodic hard copy).

``make_train(config)`` (gymnax environments only) returns ``train(rng, hparams=None)``:
the whole run — acting ε-greedily in ``num_envs`` parallel environments, storing in a
circular replay buffer, learning, target updates, episode-return logging — is nested
``lax.scan`` loops with no ``lax.cond`` (warm-up, then periods of ``target_update_every``
blocks of ``update_every`` acting steps followed by one gradient step), so
``jax.jit(jax.vmap(train))(keys)`` runs many seeds as one program without executing both
sides of any branch. ``hparams`` may override ``gamma`` and ``learning_rate`` with traced
values, so a (γ, η) sweep is one vmapped program too.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import types
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import optax

from jaxml.models.rl_heads import COURSEWORK_Q_HIDDEN, DEFAULT_Q_HIDDEN, q_network
from jaxml.rl.common import apply_hparams, check_hparams, check_optimizer_fields
from jaxml.rl.envs import JaxEnv, resolve_backend
from jaxml.rl.evaluate import evaluate_jax
from jaxml.rl.replay import Transition, replay_add, replay_init, replay_sample
from jaxml.rl.schedules import epsilon_greedy, epsilon_schedule
from jaxml.train.errors import ConfigError
from jaxml.train.optimizers import make_optimizer
from jaxml.train.state import TrainState

LOSSES = ("huber", "mse")

# Settings that solve the environments (read-only; ``DQNConfig.from_mapping(CARTPOLE_SETTINGS)``): the DQN
# study's full preset (experiments/dqn.py), which bench/rl.py times too. Fields not named keep their defaults.
CARTPOLE_SETTINGS = types.MappingProxyType(dict(
    env_id="CartPole-v1", total_timesteps=500_000, num_envs=10, hidden_sizes=(64, 64), buffer_size=10_000,
    batch_size=128, learning_starts=10_000, target_update_every=50, learning_rate=2.5e-4, gamma=0.99,
    epsilon_fraction=0.5, epsilon_end=0.05, eval_every=25_000, eval_episodes=10))
LUNARLANDER_SETTINGS = types.MappingProxyType(dict(
    env_id="LunarLander-v3", backend="host", total_timesteps=1_000_000, num_envs=4, hidden_sizes=(128, 128),
    buffer_size=100_000, batch_size=128, learning_starts=10_000, update_every=1, target_update_every=250,
    learning_rate=5e-4, gamma=0.99, epsilon_fraction=0.1, epsilon_end=0.05, double_dqn=True))


@dataclasses.dataclass(frozen=True)
class DQNConfig:
    """DQN settings. Steps count environment transitions (all parallel copies together)."""

    env_id: str = "CartPole-v1"
    backend: str = "auto"              # auto | jax | host
    total_timesteps: int = 500_000
    num_envs: int = 10
    hidden_sizes: tuple = DEFAULT_Q_HIDDEN  # (16, 32, 16) is the coursework's network
    buffer_size: int = 10_000
    batch_size: int = 128
    learning_starts: int = 10_000      # env steps of pure acting (and storing) before learning
    update_every: int = 1              # vector steps (of num_envs transitions) per gradient step
    target_update_every: int = 50      # gradient steps between target updates
    tau: float = 1.0                   # 1 = hard copy; < 1 = Polyak averaging
    gamma: float = 0.99
    learning_rate: float = 2.5e-4
    optimizer: str = "adam"
    max_grad_norm: float = 10.0        # 0 = no clipping
    lr_decay: bool = False             # cosine decay of the learning rate to 0 over the run
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_fraction: float = 0.5      # ε reaches epsilon_end after this fraction of total_timesteps
    double_dqn: bool = False
    eval_every: int = 0                # env steps between greedy evaluations while training (0 = none)
    eval_episodes: int = 10            # episodes per such evaluation; the best network is kept
    loss: str = "mse"                  # mse (mean squared TD error) | huber (δ = 1)
    # (With Huber and these defaults, one 100k-step CartPole run diverged: Q-values ~1e4 and
    # the return fell to ~10; the MSE runs did not. MSE is also purejaxrl's choice.)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "DQNConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise ConfigError(f"unknown DQN config field(s) {sorted(unknown)}; known: {sorted(names)}")
        cfg = dict(values)
        if "hidden_sizes" in cfg:
            cfg["hidden_sizes"] = tuple(int(h) for h in cfg["hidden_sizes"])
        return cls(**cfg)

    def validate(self) -> "DQNConfig":
        try:
            resolve_backend(self.env_id, self.backend)
        except ValueError as e:
            raise ConfigError(f"config key 'env_id'/'backend': {e}") from None
        positive = ("total_timesteps", "num_envs", "buffer_size", "batch_size", "update_every",
                    "target_update_every")
        for name in positive:
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"DQN config key {name!r} must be >= 1, got {getattr(self, name)}")
        if self.learning_starts < self.batch_size:
            raise ConfigError(f"DQN config key 'learning_starts' ({self.learning_starts}) must be >= batch_size "
                              f"({self.batch_size}) so the first sample draws from a filled buffer")
        if self.buffer_size < self.num_envs:
            raise ConfigError(f"DQN config key 'buffer_size' ({self.buffer_size}) must be >= num_envs "
                              f"({self.num_envs})")
        if not 0.0 < self.tau <= 1.0:
            raise ConfigError(f"DQN config key 'tau' must be in (0, 1], got {self.tau}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ConfigError(f"DQN config key 'gamma' must be in [0, 1], got {self.gamma}")
        if not self.learning_rate > 0:
            raise ConfigError(f"DQN config key 'learning_rate' must be > 0, got {self.learning_rate}")
        if not 0.0 < self.epsilon_fraction <= 1.0:
            raise ConfigError(f"DQN config key 'epsilon_fraction' must be in (0, 1], got {self.epsilon_fraction}")
        for name in ("epsilon_start", "epsilon_end"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"DQN config key {name!r} must be in [0, 1], got {getattr(self, name)}")
        if self.eval_every < 0 or self.eval_episodes < 1:
            raise ConfigError(f"DQN config keys 'eval_every' (>= 0) and 'eval_episodes' (>= 1) got "
                              f"{self.eval_every} and {self.eval_episodes}")
        if self.loss not in LOSSES:
            raise ConfigError(f"DQN config key 'loss' = {self.loss!r}; expected one of {list(LOSSES)}")
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            raise ConfigError(f"DQN config key 'hidden_sizes' must list positive widths, got {self.hidden_sizes}")
        check_optimizer_fields("DQN", self.optimizer, self.max_grad_norm)
        return self

    # Derived sizes of the compiled loop.
    @property
    def warmup_iterations(self) -> int:
        return math.ceil(self.learning_starts / self.num_envs)

    @property
    def num_periods(self) -> int:
        per = self.update_every * self.target_update_every
        return max(0, (self.total_timesteps // self.num_envs - self.warmup_iterations) // per)

    @property
    def num_updates(self) -> int:
        return self.num_periods * self.target_update_every

    @property
    def num_iterations(self) -> int:
        """Vector steps actually run (total_timesteps rounded down to whole target periods)."""
        return self.warmup_iterations + self.num_updates * self.update_every

    @property
    def env_steps(self) -> int:
        return self.num_iterations * self.num_envs

    @property
    def period_env_steps(self) -> int:
        """Env steps of one target period (``target_update_every`` gradient steps)."""
        return self.target_update_every * self.update_every * self.num_envs

    @property
    def eval_stride(self) -> int:
        """Target periods between in-training evaluations (0 = none); the last period always evaluates."""
        if self.eval_every <= 0:
            return 0
        return max(1, round(self.eval_every / self.period_env_steps))

    def eval_env_steps(self) -> list[int]:
        """Env step at which each in-training evaluation happens."""
        if not self.eval_stride:
            return []
        p = [i for i in range(self.num_periods) if (i + 1) % self.eval_stride == 0 or i == self.num_periods - 1]
        return [self.warmup_iterations * self.num_envs + (i + 1) * self.period_env_steps for i in p]


#: The coursework's network (4-16-32-16-2 ReLU) with the defaults above.
COURSEWORK_CONFIG = DQNConfig(hidden_sizes=COURSEWORK_Q_HIDDEN)


class DQNState(TrainState):
    target_params: Any = None


def make_network(config: DQNConfig, num_actions: int):
    return q_network(num_actions, config.hidden_sizes)


def make_tx(config: DQNConfig, num_updates: int):
    return make_optimizer({"name": config.optimizer, "learning_rate": config.learning_rate,
                           "clip_norm": config.max_grad_norm,
                           "schedule": "warmup_cosine" if config.lr_decay else "constant",
                           "warmup_epochs": 0, "total_epochs": max(num_updates, 1)})


def init_state(config: DQNConfig, model, tx, key: jax.Array, obs_shape) -> DQNState:
    params = model.init(key, jnp.zeros((1, *obs_shape), jnp.float32))["params"]
    return DQNState.create(apply_fn=model.apply, params=params, tx=tx, target_params=params)


def td_target(reward_B, terminated_B, next_q_target_BxA, gamma, next_q_online_BxA=None):
    """``r + γ (1 - terminated) V(s')`` with ``V = max_a Q_target`` (or Double DQN's
    ``Q_target(s', argmax_a Q_online(s', a))`` when ``next_q_online_BxA`` is given)."""
    if next_q_online_BxA is None:
        v_B = jnp.max(next_q_target_BxA, axis=-1)
    else:
        a_B = jnp.argmax(next_q_online_BxA, axis=-1)
        v_B = jnp.take_along_axis(next_q_target_BxA, a_B[:, None], axis=-1)[:, 0]
    return reward_B + gamma * (1.0 - terminated_B.astype(jnp.float32)) * v_B


def td_loss(params, target_params, apply_fn, batch: Transition, gamma, *, double: bool, loss: str):
    """Mean TD loss over the batch and the TD targets (targets carry no gradient)."""
    q_BxA = apply_fn({"params": params}, batch.obs)
    q_B = jnp.take_along_axis(q_BxA, batch.action[:, None].astype(jnp.int32), axis=-1)[:, 0]
    next_target_BxA = apply_fn({"params": target_params}, batch.next_obs)
    next_online_BxA = apply_fn({"params": params}, batch.next_obs) if double else None
    y_B = jax.lax.stop_gradient(td_target(batch.reward, batch.terminated, next_target_BxA, gamma, next_online_BxA))
    if loss == "huber":
        value = jnp.mean(optax.huber_loss(q_B, y_B, delta=1.0))
    else:
        value = jnp.mean(jnp.square(q_B - y_B))
    return value, y_B


def update_step(config: DQNConfig, state: DQNState, buffer, key: jax.Array, gamma):
    """One gradient step on ``batch_size`` uniform replay samples: ``(state, loss)``."""
    batch = replay_sample(buffer, key, config.batch_size)
    grad_fn = jax.value_and_grad(td_loss, has_aux=True)
    (loss, _), grads = grad_fn(state.params, state.target_params, state.apply_fn, batch, gamma,
                               double=config.double_dqn, loss=config.loss)
    return state.apply_gradients(grads=grads), loss


def update_target(state: DQNState, tau: float) -> DQNState:
    """Polyak update ``θ' <- τ θ + (1 - τ) θ'`` (τ = 1: hard copy)."""
    if tau == 1.0:
        return state.replace(target_params=state.params)
    return state.replace(target_params=optax.incremental_update(state.params, state.target_params, tau))


@functools.lru_cache(maxsize=32)
def greedy_policy(model):
    """``policy(params, obs_NxD) -> actions_N``: argmax of the Q-values (one function per
    model, so jitted evaluators built from it are compiled once)."""
    def policy(params, obs):
        return jnp.argmax(model.apply({"params": params}, obs), axis=-1).astype(jnp.int32)
    return policy


def to_transition(obs, action, step) -> Transition:
    """The stored transition of one environment ``Step``: it keeps ``final_obs`` (the state
    reached, before auto-reset) as ``next_obs`` and only ``terminated`` as the no-bootstrap flag."""
    return Transition(obs, action, step.reward, step.final_obs, step.terminated)


def example_transition(obs_shape) -> Transition:
    return Transition(jnp.zeros(obs_shape, jnp.float32), jnp.zeros((), jnp.int32), jnp.zeros((), jnp.float32),
                      jnp.zeros(obs_shape, jnp.float32), jnp.zeros((), bool))


@functools.lru_cache(maxsize=16)
def make_train(config: DQNConfig):
    """``train(rng, hparams=None) -> dict`` for a gymnax environment, one compiled program.

    Memoised on the (frozen, hashable) config: the same config gives the same function, so
    ``jax.jit`` of it compiles once per process (see also :func:`make_vmapped_train`).

    Returns a dict: ``state`` (final :class:`DQNState`), ``episode_returns``
    ``(num_iterations, num_envs)`` (the undiscounted return of the episode that copy i finished
    at vector step t, NaN where none finished), ``loss`` ``(num_updates,)`` (TD loss of each
    gradient step). With ``eval_every > 0`` the
    greedy policy is also evaluated (``eval_episodes`` fresh episodes, in the same program)
    every ``eval_stride`` target periods and after the last one: ``eval_score``
    ``(num_periods,)`` (mean greedy return, NaN where not evaluated), ``best_params`` (the
    network with the highest such score, ties to the earlier) and ``best_score``. The
    evaluations are a ``lax.cond`` on the period index, which is the same in every run, so
    under ``vmap`` it stays a branch. ``train.config``, ``train.env``, ``train.model`` are
    attached for the caller.
    """
    config = config.validate()
    if resolve_backend(config.env_id, config.backend) != "jax":
        raise ConfigError(f"make_train needs a jittable (gymnax) environment; {config.env_id!r} with backend "
                          f"{config.backend!r} runs on the host: use jaxml.rl.dqn_host.train_host")
    env = JaxEnv(config.env_id, config.num_envs)
    model = make_network(config, env.spec.num_actions)
    tx = make_tx(config, config.num_updates)
    eps_fn = epsilon_schedule(config.epsilon_start, config.epsilon_end,
                              max(1, int(config.epsilon_fraction * config.total_timesteps)))
    n = config.num_envs
    stride = config.eval_stride
    policy = greedy_policy(model)

    def act_and_store(carry, _):
        state, buffer, env_state, obs, ep_ret_N, t, key = carry
        key, act_key, env_key = jax.random.split(key, 3)
        q_NxA = state.apply_fn({"params": state.params}, obs)
        action_N = epsilon_greedy(act_key, q_NxA, eps_fn(t))
        env_state, step = env.step(env_key, env_state, action_N)
        buffer = replay_add(buffer, to_transition(obs, action_N, step))
        ep_ret_N = ep_ret_N + step.reward
        done_N = step.terminated | step.truncated
        logs = jnp.where(done_N, ep_ret_N, jnp.nan)
        ep_ret_N = jnp.where(done_N, 0.0, ep_ret_N)
        return (state, buffer, env_state, step.obs, ep_ret_N, t + n, key), logs

    def train(rng: jax.Array, hparams: Mapping | None = None):
        check_hparams(hparams)
        init_key, env_key, loop_key, eval_key = jax.random.split(rng, 4)
        state = init_state(config, model, tx, init_key, env.spec.obs_shape)
        state, gamma = apply_hparams(state, config.gamma, hparams)
        buffer = replay_init(example_transition(env.spec.obs_shape), config.buffer_size)
        obs, env_state = env.reset(env_key)
        carry = (state, buffer, env_state, obs, jnp.zeros((n,), jnp.float32), jnp.zeros((), jnp.int32), loop_key)
        carry, warm_logs = jax.lax.scan(act_and_store, carry, None, length=config.warmup_iterations)

        def block(carry, _):
            carry, logs = jax.lax.scan(act_and_store, carry, None, length=config.update_every)
            state, buffer, env_state, obs, ep_ret_N, t, key = carry
            key, sample_key = jax.random.split(key)
            state, loss = update_step(config, state, buffer, sample_key, gamma)
            return (state, buffer, env_state, obs, ep_ret_N, t, key), (logs, loss)

        def evaluate_best(args):
            params, best_params, best_score, key = args
            score = jnp.mean(evaluate_jax(config.env_id, policy, params, key, config.eval_episodes))
            better = score > best_score
            best_params = jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b), params, best_params)
            return best_params, jnp.maximum(score, best_score), score

        def skip(args):
            return args[1], args[2], jnp.float32(jnp.nan)

        def period(carry, p):
            core, best_params, best_score = carry
            core, out = jax.lax.scan(block, core, None, length=config.target_update_every)
            state = update_target(core[0], config.tau)
            score = jnp.float32(jnp.nan)
            if stride:
                due = ((p + 1) % stride == 0) | (p == config.num_periods - 1)
                best_params, best_score, score = jax.lax.cond(
                    due, evaluate_best, skip, (state.params, best_params, best_score, jax.random.fold_in(eval_key, p)))
            return ((state, *core[1:]), best_params, best_score), (out, score)

        carry = (carry, state.params, jnp.float32(-jnp.inf))
        carry, ((ep_returns, loss), scores) = jax.lax.scan(
            period, carry, jnp.arange(config.num_periods, dtype=jnp.int32))
        core, best_params, best_score = carry
        episode_returns = jnp.concatenate([warm_logs, ep_returns.reshape(-1, n)])
        out = {"state": core[0], "episode_returns": episode_returns, "loss": loss.reshape(-1)}
        if stride:
            out.update(eval_score=scores, best_params=best_params, best_score=best_score)
        return out

    train.config = config
    train.env = env
    train.model = model
    return train


@functools.lru_cache(maxsize=16)
def make_vmapped_train(config: DQNConfig):
    """``jax.vmap(make_train(config))`` (memoised): ``(rngs_R, hparams_R=None) -> outputs with a
    leading run axis R``. Jit it; equal configs share the compiled program."""
    return jax.vmap(make_train(config))
