"""REINFORCE: reward-to-go and advantages by hand, the logistic policy gradient by hand,
a short compiled run improves the return, the host loop runs."""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import reinforce as study
from jaxml.models.rl_heads import LogisticPolicy
from jaxml.rl import policy_gradient as pg
from jaxml.study.config import ConfigError


def test_reward_to_go_by_hand():
    reward = jnp.array([[1.0, 1.0], [2.0, 1.0], [3.0, 1.0], [4.0, 1.0]])        # (T=4, N=2)
    alive = jnp.array([[True, True], [True, True], [True, False], [False, False]])
    g = np.asarray(pg.reward_to_go(reward, alive, 0.5))
    np.testing.assert_allclose(g[:, 0], [1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3, 0])
    np.testing.assert_allclose(g[:, 1], [1 + 0.5, 1, 0, 0])
    np.testing.assert_allclose(pg.reward_to_go(reward, jnp.ones_like(alive), 1.0)[:, 0], [10, 9, 7, 4])


def test_advantages_baselines_and_normalisation():
    g = jnp.array([[4.0, 2.0], [3.0, 1.0], [1.0, 0.0]])
    alive = jnp.array([[True, True], [True, True], [True, False]])
    vals = np.array([4.0, 2.0, 3.0, 1.0, 1.0])
    a = np.asarray(pg.advantages(g, alive, "mean", False))
    np.testing.assert_allclose(a[np.asarray(alive)], vals - vals.mean(), rtol=1e-6)
    assert a[2, 1] == 0.0
    t = np.asarray(pg.advantages(g, alive, "time", False))
    np.testing.assert_allclose(t, [[1.0, -1.0], [1.0, -1.0], [0.0, 0.0]], atol=1e-6)
    z = np.asarray(pg.advantages(g, alive, "none", True))[np.asarray(alive)]
    np.testing.assert_allclose(z, (vals - vals.mean()) / vals.std(), rtol=1e-5)


def test_logistic_policy_gradient_by_hand():
    rng = np.random.default_rng(0)
    t, n, d = 6, 3, 4
    obs = rng.normal(size=(t, n, d)).astype(np.float32)
    action = rng.integers(0, 2, size=(t, n))
    adv = rng.normal(size=(t, n)).astype(np.float32)
    model = LogisticPolicy(init_std=0.3)
    params = jax.jit(model.init)(jax.random.PRNGKey(0), jnp.zeros((1, d)))["params"]
    grad_fn = jax.jit(jax.grad(pg.policy_loss), static_argnums=(1, 5))
    grads = grad_fn(params, model.apply, jnp.asarray(obs), jnp.asarray(action), jnp.asarray(adv), n)
    w = np.asarray(params["linear"]["kernel"])[:, 0]
    b = float(params["linear"]["bias"][0])
    p1 = 1 / (1 + np.exp(-(obs @ w + b)))
    # d/dw log π(a|s) = (a - σ(z)) s  =>  dLoss/dw = -Σ (a - σ(z)) A s / N
    coef = (action - p1) * adv
    np.testing.assert_allclose(grads["linear"]["kernel"][:, 0], -(coef[..., None] * obs).sum((0, 1)) / n, rtol=1e-4)
    np.testing.assert_allclose(grads["linear"]["bias"][0], -coef.sum() / n, rtol=1e-4)


def test_config_errors_are_named():
    base = pg.ReinforceConfig()
    with pytest.raises(ConfigError, match="'baseline' = 'critic'"):
        dataclasses.replace(base, baseline="critic").validate()
    with pytest.raises(ConfigError, match="'gamma' must be in \\[0, 1\\]"):
        dataclasses.replace(base, gamma=1.5).validate()
    with pytest.raises(ConfigError, match="use jaxml.rl.policy_gradient.train_host"):
        pg.make_train(dataclasses.replace(base, env_id="LunarLander-v3", policy="mlp"))
    with pytest.raises(ValueError, match="exactly 2 actions; this environment has 4"):
        pg.train_host(dataclasses.replace(base, env_id="LunarLander-v3", num_updates=1))


def test_short_compiled_run_improves_the_return():
    # The REINFORCE study's tiny logistic config: 40 updates x 8 episodes cut at 200 steps,
    # its 4 runs (2 settings x 2 seeds) as the study runs them (the smoke test reuses the program).
    c = study.get_config("tiny")
    cfg = pg.ReinforceConfig.from_mapping(c.cartpole_logistic.to_dict())
    keys = jnp.stack([jax.random.PRNGKey(s) for s in (0, 1, 0, 1)])
    hp = {"learning_rate": jnp.array([5e-2, 5e-2, 2e-2, 2e-2], jnp.float32),
          "gamma": jnp.array([0.999, 0.999, 0.99, 0.99], jnp.float32)}
    out = jax.jit(pg.make_vmapped_train(cfg))(keys, hp)
    ret = np.asarray(out["returns"]).mean(2)        # (runs, updates)
    assert out["returns"].shape == (4, 40, 8) and np.all(np.isfinite(out["loss"]))
    assert np.all(ret[:, :5].mean(1) < 35), ret[:, :5]
    assert np.all(ret[:, -5:].mean(1) > 1.5 * ret[:, :5].mean(1)), ret[:, -5:]
    # Runs with the same seed and different hyperparameters start alike and then differ.
    np.testing.assert_allclose(ret[0, 0], ret[2, 0])
    assert not np.allclose(ret[0], ret[2])


def test_host_loop_runs_and_logs():
    # The REINFORCE study's tiny LunarLander config (its smoke test reuses these compiled functions).
    cfg = pg.ReinforceConfig.from_mapping(study.get_config("tiny").lunarlander_mlp.to_dict())
    assert (cfg.env_id, cfg.backend, cfg.policy) == ("LunarLander-v3", "host", "mlp")
    records = []
    out = pg.train_host(cfg, seed=0, log=records.append)
    u, n = cfg.num_updates, cfg.episodes_per_update
    assert out["returns"].shape == (u, n) and out["loss"].shape == (u,) and out["horizon"] == cfg.max_episode_steps
    assert np.all(np.isfinite(out["returns"])) and np.all(np.isfinite(out["loss"]))
    assert 0 < out["env_steps"] <= u * n * cfg.max_episode_steps and out["env_steps_per_second"] > 0
    assert [r["update"] for r in records] == list(range(1, u + 1))
    np.testing.assert_allclose([r["mean_return"] for r in records], out["returns"].mean(1))
    # Same seed, same episodes and updates.
    again = pg.train_host(cfg, seed=0)
    np.testing.assert_array_equal(out["returns"], again["returns"])
    np.testing.assert_array_equal(out["loss"], again["loss"])
