"""Smoke test of the REINFORCE study's tiny preset, end to end (two compiled parts, one host part)."""
from __future__ import annotations

import pytest

from experiments import reinforce as study
from jaxml.report import read_metrics
from jaxml.study.config import ConfigError


def test_tiny_preset_end_to_end(run_tiny):
    summary, workdir = run_tiny(study)
    cfg = study.get_config("tiny")
    for part in study.PARTS:
        settings = summary[part]["settings"]
        assert set(settings) == {"lr0.001_gamma0.5", "lr0.05_gamma0.999"}, part
        seeds = cfg.lunarlander_seeds if part == "lunarlander_mlp" else cfg.seeds
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
    text = (workdir / "results.md").read_text()
    assert all(f"## {t}" in text for t in study.TITLES.values())


def test_invalid_config_values_are_named(run_tiny):
    with pytest.raises(ConfigError, match="paired settings and must have the same"):
        run_tiny(study, "--config.sweep_gammas=(0.5,)")
    with pytest.raises(ConfigError, match="'cartpole_mlp'.*'baseline' = 'critic'"):
        run_tiny(study, "--config.cartpole_mlp.baseline=critic")
    with pytest.raises(ConfigError, match="parts"):
        run_tiny(study, "--config.parts=('cartpole_cnn',)")
