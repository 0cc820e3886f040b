"""Smoke test of the DQN study's tiny preset, end to end (CartPole compiled, sweep, LunarLander host and its
γ x learning-rate sweep)."""
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
    # The LunarLander γ x learning-rate sweep: the coursework's 8-16-32-16-4 network, one run per (γ, lr, seed).
    ls = summary["lunarlander_sweep"]
    assert ls["layer_sizes"] == [8, 16, 32, 16, 4]
    assert set(ls["settings"]) == {"gamma0.9_lr0.001", "gamma0.99_lr0.001"}
    for result in ls["settings"].values():
        assert len(result["greedy"]) == len(cfg.lunarlander_sweep_seeds) == len(result["seconds"])
        assert len(result["greedy"][0]) == cfg.eval_episodes and all(t > 0 for t in result["seconds"])
        assert len(result["curve"][0]) == cfg.curve_points
    assert ls["env_steps"] == 240 and ls["reduced_budget"] is True and ls["seeds"] == [0]
    ls_records = read_metrics(workdir / "lunarlander_sweep" / "metrics.jsonl")
    assert {(r["gamma"], r["learning_rate"], r["env_steps"]) for r in ls_records} == {
        (g, 1e-3, n) for g in (0.9, 0.99) for n in (100, 200)}
    for name in ("config.json", "machine.json", "results.md", "summary.json",
                 "cartpole/cartpole_return.png", "cartpole/cartpole_td_loss.png", "sweep/sweep_all.png",
                 "sweep/sweep_gamma0.99_lr0.001.png", "sweep/sweep_gamma0.9_lr0.001.png",
                 "lunarlander/lunarlander_return.png", "lunarlander/lunarlander_td_loss.png",
                 "lunarlander_sweep/lunarlander_sweep_all.png",
                 "lunarlander_sweep/lunarlander_sweep_gamma0.9_lr0.001.png",
                 "lunarlander_sweep/lunarlander_sweep_gamma0.99_lr0.001.png"):
        assert (workdir / name).stat().st_size > 0, name
    text = (workdir / "results.md").read_text()
    for heading in ("## CartPole-v1 (gymnax, compiled)", "## Sweep: γ x learning rate on CartPole",
                    "## LunarLander-v3 (gymnasium, host loop)",
                    "## Sweep: γ x learning rate on LunarLander (host loop)"):
        assert heading in text
    assert "**Reduced budget: 240 env steps per run**" in text and "8-16-32-16-4" in text
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
    with pytest.raises(ConfigError, match="lunarlander_sweep_gammas"):
        run_tiny(study, "--config.lunarlander_sweep_gammas=(0.9,1.5)")
    with pytest.raises(ConfigError, match="lunarlander_sweep.env_id"):
        run_tiny(study, "--config.lunarlander_sweep.env_id=CartPole-v1")
