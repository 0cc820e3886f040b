"""Environments behind one small interface: jittable (gymnax 1.0) and host (gymnasium 1.x).

``make_env(env_id, backend="auto", num_envs=1)`` returns a :class:`JaxEnv` or a
:class:`HostEnv`; both run ``num_envs`` copies side by side, expose ``spec``
(:class:`EnvSpec`: observation shape, number of discrete actions, time limit) and report a
step as a :class:`Step` with the same fields, so agents and experiments only branch on
``env.jittable`` to choose a compiled ``lax.scan`` or a host loop.

Step semantics (both kinds; gymnax 1.0's ``step`` and gymnasium's ``SAME_STEP`` autoreset):

- ``obs``: observation to act on next. Where an episode ended this is already the first
  observation of the next episode (auto-reset).
- ``final_obs``: the observation the transition actually reached (before any reset); equals
  ``obs`` where the episode goes on. Bootstrap targets use this.
- ``terminated``: the episode reached a terminal state (pole fell, lander crashed/landed):
  the value of ``final_obs`` is 0, do not bootstrap.
- ``truncated``: the time limit cut the episode (CartPole-v1: 500 steps, LunarLander-v3:
  1000); the state is not terminal, so bootstrap through it from ``final_obs``.

``JaxEnv.step(key, state, action_N) -> (state, Step)`` is a pure function (jit/vmap/scan
it); ``HostEnv.step(action_N) -> Step`` returns numpy arrays. Observations are float32
``(N, *obs_shape)``, rewards float32 ``(N,)``, flags bool ``(N,)``.
"""
from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

#: gymnax environments with discrete actions that the agents here can drive.
JAX_ENV_IDS = ("CartPole-v1", "Acrobot-v1", "MountainCar-v0", "Catch-bsuite", "Breakout-MinAtar",
               "Freeway-MinAtar", "SpaceInvaders-MinAtar", "Asterix-MinAtar")
#: gymnasium environments with discrete actions and vector observations (LunarLander needs box2d).
HOST_ENV_IDS = ("LunarLander-v3", "CartPole-v1", "Acrobot-v1", "MountainCar-v0")
BACKENDS = ("auto", "jax", "host")


class UnknownEnvError(ValueError):
    """An environment id (or backend) this module does not know; the message lists the known ones."""


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    env_id: str
    backend: str                 # "jax" or "host"
    obs_shape: tuple[int, ...]
    num_actions: int
    max_episode_steps: int       # the time limit (truncation), in environment steps


class Step(NamedTuple):
    obs: Any          # (N, *obs_shape) float32, after auto-reset
    reward: Any       # (N,) float32
    terminated: Any   # (N,) bool
    truncated: Any    # (N,) bool
    final_obs: Any    # (N, *obs_shape) float32, before auto-reset


def known_env_ids(backend: str = "auto") -> tuple[str, ...]:
    if backend == "jax":
        return JAX_ENV_IDS
    if backend == "host":
        return HOST_ENV_IDS
    return tuple(dict.fromkeys(JAX_ENV_IDS + HOST_ENV_IDS))


def resolve_backend(env_id: str, backend: str = "auto") -> str:
    """``"jax"`` or ``"host"`` for ``env_id``; ``auto`` prefers the jittable version."""
    if backend not in BACKENDS:
        raise UnknownEnvError(f"unknown environment backend {backend!r}; expected one of {list(BACKENDS)}")
    requested = backend
    if backend == "auto":
        backend = "jax" if env_id in JAX_ENV_IDS else "host"
    if env_id not in known_env_ids(backend):
        raise UnknownEnvError(
            f"unknown environment {env_id!r} for backend {requested!r}. Known jittable (gymnax) ids: "
            f"{', '.join(JAX_ENV_IDS)}; known host (gymnasium) ids: {', '.join(HOST_ENV_IDS)}")
    return backend


def make_env(env_id: str, backend: str = "auto", num_envs: int = 1):
    """A :class:`JaxEnv` or :class:`HostEnv` running ``num_envs`` copies of ``env_id``."""
    if int(num_envs) < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}")
    if resolve_backend(env_id, backend) == "jax":
        return JaxEnv(env_id, num_envs)
    return HostEnv(env_id, num_envs)


class MissingExtraError(ImportError):
    """An optional package is not installed; the message names the package and the extra to install."""


def optional_import(module: str, env_id: str):
    """``importlib.import_module(module)``, or MissingExtraError naming the ``rl`` extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingExtraError(
            f"environment {env_id!r} needs the package {module!r}, which could not be imported ({e}); install "
            "jaxml's RL extra: pip install 'jaxml[rl]' (gymnax, gymnasium[box2d], six)") from e


class JaxEnv:
    """``num_envs`` gymnax environments stepped together by ``jax.vmap`` (pure, jittable)."""

    jittable = True

    def __init__(self, env_id: str, num_envs: int = 1):
        resolve_backend(env_id, "jax")
        gymnax = optional_import("gymnax", env_id)

        self.env, self.params = gymnax.make(env_id)
        self.num_envs = int(num_envs)
        obs_shape = tuple(self.env.observation_space(self.params).shape)
        self.spec = EnvSpec(env_id, "jax", obs_shape, int(self.env.action_space(self.params).n),
                            int(self.params.max_steps_in_episode))

    def reset(self, key: jax.Array):
        """``(obs_NxD, state)`` for ``num_envs`` fresh episodes drawn from ``key``."""
        keys = jax.random.split(key, self.num_envs)
        obs, state = jax.vmap(self.env.reset, in_axes=(0, None))(keys, self.params)
        return obs.astype(jnp.float32), state

    def step(self, key: jax.Array, state, action_N: jax.Array):
        """``(state, Step)``: one step of every copy; ended episodes restart (auto-reset)."""
        keys = jax.random.split(key, self.num_envs)
        obs, state, reward, terminated, truncated, info = jax.vmap(
            self.env.step, in_axes=(0, 0, 0, None))(keys, state, action_N, self.params)
        step = Step(obs.astype(jnp.float32), reward.astype(jnp.float32), terminated.astype(bool),
                    truncated.astype(bool), info["final_observation"].astype(jnp.float32))
        return state, step


class HostEnv:
    """``num_envs`` gymnasium environments in a ``SyncVectorEnv`` with same-step auto-reset."""

    jittable = False

    def __init__(self, env_id: str, num_envs: int = 1):
        resolve_backend(env_id, "host")
        gym = optional_import("gymnasium", env_id)

        try:
            self.vec = gym.make_vec(env_id, num_envs=int(num_envs), vectorization_mode="sync",
                                    vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
        except gym.error.DependencyNotInstalled as e:  # LunarLander without box2d
            raise ImportError(f"{env_id} needs an optional dependency: {e} "
                              "(pip install 'gymnasium[box2d]' for LunarLander)") from e
        self.num_envs = int(num_envs)
        space = self.vec.single_action_space
        if not hasattr(space, "n"):
            raise UnknownEnvError(f"{env_id} has a non-discrete action space {space}; "
                                  "agents here need discrete actions")
        self.spec = EnvSpec(env_id, "host", tuple(self.vec.single_observation_space.shape), int(space.n),
                            int(self.vec.envs[0].spec.max_episode_steps))

    @property
    def envs(self) -> list:
        """The underlying single environments (e.g. to set ``envs[0].unwrapped.state``)."""
        return self.vec.envs

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Observations ``(N, D)`` float32 of fresh episodes (copy i is seeded ``seed + i``)."""
        obs, _ = self.vec.reset(seed=seed)
        return np.asarray(obs, np.float32)

    def step(self, action_N) -> Step:
        action_N = np.asarray(action_N).reshape(self.num_envs)
        obs, reward, terminated, truncated, info = self.vec.step(action_N)
        obs = np.asarray(obs, np.float32)
        final = obs.copy()
        if "_final_obs" in info:
            for i in np.flatnonzero(info["_final_obs"]):
                final[i] = info["final_obs"][i]
        return Step(obs, np.asarray(reward, np.float32), np.asarray(terminated, bool),
                    np.asarray(truncated, bool), final)

    def close(self) -> None:
        self.vec.close()
