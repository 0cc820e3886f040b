"""Smoke test of the DQN study's tiny preset, end to end (CartPole compiled, sweep, LunarLander host)."""
from __future__ import annotations

import json

import pytest

from experiments import dqn as study
from jaxml.report import read_metrics
from jaxml.study.config import ConfigError


def test_tiny_preset_end_to_end(run_tiny):
    summary, workdir = run_tiny(study)
    cfg = study.get_config("tiny")
    cp = summary["cartpole"]
    for key in ("greedy_final", "greedy_kept"):
        assert len(cp[key]) == len(cfg.seeds) and len(cp[key][0]) == cfg.eval_episodes
        assert all(1 <= r <= 500 for seed in cp[key] for r in seed)
    assert len(cp["eval_scores"][0]) == len(cp["eval_env_steps"]) == 3
    assert cp["env_steps"] <= cfg.cartpole.total_timesteps and cp["compile_seconds"] > 0
    assert set(summary["sweep"]["settings"]) == {"gamma0.99_lr0.001", "gamma0.9_lr0.001"}
    ll = summary["lunarlander"]
    assert len(ll["greedy"][0]) == cfg.eval_episodes and ll["env_steps_per_second"][0] > 0
    for name in ("config.json", "machine.json", "results.md", "summary.json",
                 "cartpole/cartpole_return.png", "cartpole/cartpole_td_loss.png", "sweep/sweep_all.png",
                 "sweep/sweep_gamma0.99_lr0.001.png", "sweep/sweep_gamma0.9_lr0.001.png",
                 "lunarlander/lunarlander_return.png", "lunarlander/lunarlander_td_loss.png"):
        assert (workdir / name).stat().st_size > 0, name
    text = (workdir / "results.md").read_text()
    for heading in ("## CartPole-v1 (gymnax, compiled)", "## Sweep: γ x learning rate on CartPole",
                    "## LunarLander-v3 (gymnasium, host loop)"):
        assert heading in text
    records = read_metrics(workdir / "cartpole" / "metrics.jsonl")
    assert {r["seed"] for r in records} == set(cfg.seeds)
    assert sum("td_loss" in r for r in records) == len(cfg.seeds) * cfg.curve_points
    assert {r["env_steps"] for r in read_metrics(workdir / "lunarlander" / "metrics.jsonl")} == {100, 200}
    assert json.loads((workdir / "config.json").read_text())["preset"] == "tiny"


def test_invalid_config_values_are_named(run_tiny):
    with pytest.raises(ConfigError, match="parts"):
        run_tiny(study, "--config.parts=('cartpole','atari')")
    with pytest.raises(ConfigError, match="sweep_gammas"):
        run_tiny(study, "--config.sweep_gammas=(0.5,1.5)")
    with pytest.raises(ConfigError, match="'cartpole'.*'tau' must be in"):
        run_tiny(study, "--config.cartpole.tau=2.0")
    with pytest.raises(ConfigError, match="learning_rate"):
        run_tiny(study, "--config.cartpole.learning_rat=0.1")
