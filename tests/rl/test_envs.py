"""Environments: one interface over gymnax and gymnasium; same CartPole dynamics; step semantics."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.rl.envs import HOST_ENV_IDS, JAX_ENV_IDS, UnknownEnvError, make_env, resolve_backend


@pytest.fixture(scope="module")
def jax_cartpole():
    env = make_env("CartPole-v1", backend="jax", num_envs=1)
    return env, jax.jit(env.step)


def test_unknown_env_lists_the_known_ids():
    with pytest.raises(UnknownEnvError) as info:
        make_env("CartPole-v0")
    msg = str(info.value)
    assert "'CartPole-v0'" in msg and all(e in msg for e in JAX_ENV_IDS + HOST_ENV_IDS)
    with pytest.raises(UnknownEnvError, match="unknown environment 'LunarLander-v3' for backend 'jax'"):
        make_env("LunarLander-v3", backend="jax")
    with pytest.raises(UnknownEnvError, match="unknown environment backend 'gpu'"):
        make_env("CartPole-v1", backend="gpu")
    assert resolve_backend("CartPole-v1") == "jax" and resolve_backend("LunarLander-v3") == "host"


def test_specs_agree_between_kinds():
    host = make_env("CartPole-v1", backend="host", num_envs=2)
    jx = make_env("CartPole-v1", backend="jax", num_envs=2)
    for field in ("env_id", "obs_shape", "num_actions", "max_episode_steps"):
        assert getattr(host.spec, field) == getattr(jx.spec, field)
    assert (jx.jittable, host.jittable) == (True, False)
    obs = host.reset(seed=0)
    assert obs.shape == (2, 4) and obs.dtype == np.float32
    host.close()


def test_host_and_jittable_cartpole_agree_on_dynamics(jax_cartpole):
    jx, step = jax_cartpole
    host = make_env("CartPole-v1", backend="host", num_envs=1)
    host.reset(seed=0)
    _, state = jx.reset(jax.random.PRNGKey(0))
    start = np.array([0.02, -0.03, 0.04, 0.01])
    host.envs[0].unwrapped.state = start.copy()
    state = state.replace(x=jnp.array([start[0]], jnp.float32), x_dot=jnp.array([start[1]], jnp.float32),
                          theta=jnp.array([start[2]], jnp.float32), theta_dot=jnp.array([start[3]], jnp.float32))
    actions = [1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1]
    for i, a in enumerate(actions):
        hs = host.step(np.array([a]))
        state, js = step(jax.random.PRNGKey(i), state, jnp.array([a]))
        np.testing.assert_allclose(np.asarray(js.obs), hs.obs, atol=1e-5, rtol=0)
        assert float(js.reward[0]) == hs.reward[0] == 1.0
        assert bool(js.terminated[0]) == hs.terminated[0] is np.False_
    host.close()


def test_termination_and_truncation_semantics(jax_cartpole):
    jx, step = jax_cartpole
    _, state = jx.reset(jax.random.PRNGKey(0))
    # Pole beyond 12 degrees after one step: terminated, obs is already the reset observation.
    fallen = state.replace(theta=jnp.array([0.25], jnp.float32), theta_dot=jnp.array([1.0], jnp.float32))
    _, s = step(jax.random.PRNGKey(1), fallen, jnp.array([1]))
    assert bool(s.terminated[0]) and not bool(s.truncated[0])
    assert float(s.final_obs[0, 2]) > 0.2 and abs(float(s.obs[0, 2])) <= 0.05
    # Step 500 of an upright pole: truncated (time limit), not terminated.
    late = state.replace(time=jnp.array([499]))
    _, s = step(jax.random.PRNGKey(2), late, jnp.array([1]))
    assert bool(s.truncated[0]) and not bool(s.terminated[0])
    assert not np.allclose(np.asarray(s.final_obs), np.asarray(s.obs))
    # The host env reports the same for its time limit.
    host = make_env("CartPole-v1", backend="host", num_envs=1)
    host.reset(seed=3)
    host.envs[0].unwrapped.state = np.zeros(4)
    host.envs[0]._elapsed_steps = 499
    hs = host.step(np.array([1]))
    assert hs.truncated[0] and not hs.terminated[0]
    np.testing.assert_allclose(hs.final_obs[0], [0.0, 0.195122, 0.0, -0.292683], atol=1e-5)
    assert not np.allclose(hs.final_obs, hs.obs)
    host.close()


@pytest.mark.parametrize("module, env", [("gymnax", "CartPole-v1"), ("gymnasium", "LunarLander-v3")])
def test_a_missing_package_names_the_extra_to_install(monkeypatch, module, env):
    import sys

    from jaxml.rl.envs import HostEnv, JaxEnv, MissingExtraError

    monkeypatch.setitem(sys.modules, module, None)  # what Python does for a package that is not installed
    factory = JaxEnv if module == "gymnax" else HostEnv
    with pytest.raises(MissingExtraError, match=rf"{env!r} needs the package {module!r}.*pip install 'jaxml\[rl\]'"):
        factory(env)
