"""Smoke test of the REINFORCE study's tiny preset, end to end (two compiled parts, two host parts), and
the LunarLander logistic part's update being plain gradient ascent on raw returns."""
from __future__ import annotations

import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import reinforce as study
from jaxml.report import read_metrics
from jaxml.rl import policy_gradient as pg
from jaxml.study.config import ConfigError


def test_tiny_preset_end_to_end(run_tiny):
    summary, workdir = run_tiny(study)
    cfg = study.get_config("tiny")
    for part in study.PARTS:
        settings = summary[part]["settings"]
        assert set(settings) == {"lr0.001_gamma0.5", "lr0.05_gamma0.999"}, part
        seeds = cfg[study.HOST_SEEDS[part]] if part in study.HOST_SEEDS else cfg.seeds
        for result in settings.values():
            assert len(result["greedy"]) == len(seeds) and len(result["greedy"][0]) == cfg.eval_episodes
            assert len(result["curve"][0]) == cfg[part].num_updates
        for name in (f"{part}/{part}_return.png", f"{part}/{part}_loss.png"):
            assert (workdir / name).stat().st_size > 0, name
        records = read_metrics(workdir / part / "metrics.jsonl")
        assert len(records) == 2 * len(seeds) * cfg[part].num_updates
    # CartPole pays 1 per step: greedy returns lie in [1, 500].
    for result in summary["cartpole_logistic"]["settings"].values():
        assert all(1 <= r <= 500 for seed in result["greedy"] for r in seed)
    assert summary["lunarlander_mlp"]["env_steps"] > 0
    # The coursework's LunarLander REINFORCE: linear softmax 8 -> 4, plain SGD on raw (unstandardised) returns.
    logistic = summary["lunarlander_logistic"]
    assert logistic["layer_sizes"] == [8, 4] and summary["lunarlander_mlp"]["layer_sizes"] == [8, 8, 4]
    assert (logistic["optimizer"], logistic["normalize"], logistic["baseline"]) == ("sgd", False, "none")
    assert logistic["env_steps"] > 0 and logistic["seconds"] > 0
    assert "plain gradient ascent (optax.sgd, no momentum)" in (workdir / "results.md").read_text()
    text = (workdir / "results.md").read_text()
    assert all(f"## {t}" in text for t in study.TITLES.values())


def test_invalid_config_values_are_named(run_tiny):
    with pytest.raises(ConfigError, match="paired settings and must have the same"):
        run_tiny(study, "--config.sweep_gammas=(0.5,)")
    with pytest.raises(ConfigError, match="'cartpole_mlp'.*'baseline' = 'critic'"):
        run_tiny(study, "--config.cartpole_mlp.baseline=critic")
    with pytest.raises(ConfigError, match="parts"):
        run_tiny(study, "--config.parts=('cartpole_cnn',)")


def test_lunarlander_logistic_update_is_plain_gradient_ascent_on_raw_returns():
    """One update of the part's config moves the parameters by exactly lr * ∇J, with J's advantages the
    raw discounted reward-to-go (written out here by hand), starting from the uniform policy."""
    cfg = pg.ReinforceConfig.from_mapping(study.get_config("tiny").lunarlander_logistic.to_dict()).validate()
    model, tx, _ = pg._setup(cfg, types.SimpleNamespace(num_actions=4, max_episode_steps=30))
    state = pg._init(model, tx, jax.random.PRNGKey(0), (8,))
    assert jax.tree_util.tree_map(jnp.shape, state.params) == {"output": {"kernel": (8, 4), "bias": (4,)}}
    np.testing.assert_array_equal(model.apply({"params": state.params}, jnp.ones((3, 8))), np.zeros((3, 4)))
    # Start from non-zero parameters so the step depends on them.
    state = state.replace(params=jax.tree_util.tree_map(
        lambda p: jax.random.normal(jax.random.PRNGKey(1), p.shape), state.params))
    t, n, gamma = 5, cfg.episodes_per_update, 0.9
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(t, n, 8)).astype(np.float32)
    action = rng.integers(0, 4, (t, n)).astype(np.int32)
    reward = rng.normal(3.0, 10.0, (t, n)).astype(np.float32)
    alive = np.ones((t, n), bool)
    alive[3:, 1] = False                                   # episode 1 ends after 3 steps
    g = np.zeros((t, n), np.float32)
    for i in range(n):
        run = 0.0
        for k in reversed(range(t)):
            run = reward[k, i] + gamma * run if alive[k, i] else 0.0
            g[k, i] = run

    def objective(params):                                 # J = Σ_t log π(a_t|s_t) G_t / episodes
        logp = jax.nn.log_softmax(model.apply({"params": params}, obs.reshape(t * n, 8))).reshape(t, n, 4)
        return jnp.sum(jnp.take_along_axis(logp, action[..., None], axis=-1)[..., 0] * g) / n

    new, _ = jax.jit(pg.make_update(cfg))(state, jnp.float32(gamma), obs, action, reward, alive)
    grad = jax.grad(objective)(state.params)
    want = jax.tree_util.tree_map(lambda p, d: p + cfg.learning_rate * d, state.params, grad)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), new.params, want)
    # Standardised returns would have given a different step.
    normalized = pg.make_update(pg.ReinforceConfig(**{**cfg.__dict__, "normalize": True}))
    other, _ = normalized(state, jnp.float32(gamma), obs, action, reward, alive)
    assert not np.allclose(other.params["output"]["kernel"], want["output"]["kernel"], atol=1e-4)
