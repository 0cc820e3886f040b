"""DQN host loop on gymnasium CartPole, and greedy evaluation on both kinds of environment."""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import dqn as study
from jaxml.rl import dqn
from jaxml.rl.dqn_host import train_host
from jaxml.rl.envs import make_env
from jaxml.rl.evaluate import episode_curve, evaluate, evaluate_jax, smooth_curve


def test_host_loop_trains_with_the_compiled_schedule():
    # The DQN study's tiny LunarLander config (its smoke test then reuses these compiled functions).
    cfg = dqn.DQNConfig.from_mapping(study.get_config("tiny").lunarlander.to_dict())
    assert (cfg.backend, cfg.num_envs, cfg.target_update_every) == ("host", 2, 1)
    records = []
    out = train_host(cfg, seed=0, log=records.append, log_every=100)
    assert cfg.num_iterations == cfg.warmup_iterations + cfg.num_updates * cfg.update_every
    assert out["env_steps"] == cfg.env_steps == cfg.num_iterations * 2
    assert out["episode_returns"].shape == (cfg.num_iterations, 2) and out["loss"].shape == (cfg.num_updates,)
    assert np.all(np.isfinite(out["loss"])) and out["env_steps_per_second"] > 0
    assert [r["env_steps"] for r in records] == [100, 200]
    assert records[0]["loss"] != records[0]["loss"] and np.isfinite(records[1]["loss"])  # no update before 100
    first = out["episode_returns"][:100]                                         # 100 vector steps = 200 steps
    assert sum(r["episodes"] for r in records) == int((~np.isnan(first)).sum())
    if records[1]["episodes"]:
        assert records[1]["mean_return"] == pytest.approx(np.nanmean(out["episode_returns"][50:100]), rel=1e-5)
    # The same seed gives the same run.
    again = train_host(cfg, seed=0)
    np.testing.assert_array_equal(out["loss"], again["loss"])
    # The trained parameters drive the evaluator.
    rets = evaluate("LunarLander-v3", dqn.greedy_policy(out["model"]), out["state"].params, seed=0,
                    num_episodes=4)
    assert rets.shape == (4,) and np.all(np.isfinite(rets))


def test_host_loop_hparams_equal_the_same_values_in_the_config():
    # The DQN study's tiny LunarLander sweep config: γ and the learning rate passed as traced hparams
    # (one compiled program for the whole grid) give the run with those values written into the config.
    cfg = dqn.DQNConfig.from_mapping(study.get_config("tiny").lunarlander_sweep.to_dict())
    assert cfg.hidden_sizes == (16, 32, 16) and (cfg.gamma, cfg.learning_rate) != (0.9, 1e-2)
    swept = train_host(cfg, seed=0, hparams={"gamma": 0.9, "learning_rate": 1e-2})
    direct = train_host(dataclasses.replace(cfg, gamma=0.9, learning_rate=1e-2), seed=0)
    np.testing.assert_array_equal(swept["loss"], direct["loss"])
    jax.tree_util.tree_map(np.testing.assert_array_equal, swept["state"].params, direct["state"].params)
    default = train_host(cfg, seed=0)
    assert not np.array_equal(default["loss"], swept["loss"])   # the hparams really took effect


def test_jax_evaluation_matches_gymnasium_from_the_same_start():
    # A constant policy ("always push right") from the start states JaxEnv.reset draws:
    # gymnasium, put in the same states, must end each episode after the same number of steps.
    n = 4
    key = jax.random.PRNGKey(7)
    policy = lambda params, obs: jnp.ones(obs.shape[0], jnp.int32)  # noqa: E731
    got = np.asarray(jax.jit(lambda k: evaluate_jax("CartPole-v1", policy, None, k, n))(key))
    starts, _ = make_env("CartPole-v1", backend="jax", num_envs=n).reset(key)
    host = make_env("CartPole-v1", backend="host", num_envs=1)
    want = []
    for s in np.asarray(starts, np.float64):
        host.reset(seed=0)
        host.envs[0].unwrapped.state = s.copy()
        steps, done = 0, False
        while not done:
            r = host.step(np.array([1]))
            steps += 1
            done = bool(r.terminated[0] | r.truncated[0])
        want.append(steps)
    host.close()
    np.testing.assert_array_equal(got, want)


def test_episode_curve_by_hand():
    nan = np.nan
    # One run, 8 vector steps of 2 copies: episodes of 10 | - | 10, 20 and 20 | - .
    returns = np.array([[[nan, nan], [10, nan], [nan, nan], [nan, nan], [10, 20], [nan, 20], [nan, nan], [nan, nan]]])
    steps, curve = episode_curve(returns, steps_per_iteration=5, num_points=4)
    np.testing.assert_array_equal(steps, [10, 20, 30, 40])
    np.testing.assert_allclose(curve, [[10.0, 10.0, 50 / 3, 50 / 3]])   # empty windows repeat
    idx, m = smooth_curve(np.arange(10.0), num_points=5)
    np.testing.assert_allclose(m, [0.5, 2.5, 4.5, 6.5, 8.5])
    np.testing.assert_array_equal(idx, [2, 4, 6, 8, 10])
