"""Smoke test of bench.rl's jax side at a tiny size (no torch, no host section)."""
from __future__ import annotations

import json

import pytest

from bench import common, rl
from experiments import dqn as study
from jaxml.rl.dqn import CARTPOLE_SETTINGS, LUNARLANDER_SETTINGS, DQNConfig

pytestmark = pytest.mark.slow  # runs the RL benchmark end to end at a tiny size; make test-slow and CI run it


def test_rl_bench_compiled_section_tiny(monkeypatch, tmp_path):
    real = common.optional_import
    monkeypatch.setattr(common, "optional_import",
                        lambda name: None if name in ("torch", "stable_baselines3") else real(name))
    tiny = DQNConfig.from_mapping(study.get_config("tiny").cartpole.to_dict())  # shares tests' compiled programs
    # The peers section without its peers (no rejax venv here, no stable-baselines3): jaxml alone, two notes.
    res = rl.run(seeds=2, repeats=1, eval_episodes=2, host_steps=0, torch_steps=100, cartpole_cfg=tiny,
                 peers=("rejax", "sb3"), peer_warmup=0, peer_venv=tmp_path / "no-venv", log=lambda *_: None)
    p = res["peers"]
    assert list(p["run_seconds"]) == ["jaxml"] and len(p["greedy_returns"]["jaxml"]) == 2 and p["over_jaxml"] == {}
    assert any("make bench-peers" in n and "no-venv" in n for n in res["notes"])
    assert any("stable-baselines3" in n and "skipped" in n for n in res["notes"])
    assert "### peers: DQN on CartPole-v1" in rl.tables(res) and "| jaxml |" in rl.tables(res)
    r = res["dqn_cartpole"]
    assert r["env_steps"] == tiny.env_steps and len(r["run_seconds"]["1"]) == 1 and len(r["greedy_mean_per_seed"]) == 2
    assert r["compile_seconds"]["1"] > 0 and r["vmap_over_1"]["of_medians"] > 0
    assert any("torch is not importable" in n for n in res["notes"]) and "torch" not in res
    text = rl.tables(res)
    assert "| 2 seeds (vmap) |" in text and "purejaxrl reference" in text
    json.loads(common.write_json(tmp_path / "rl.json", res).read_text())
    args = rl.parse_args([])
    assert (args.repeats, args.seeds, args.quick) == (3, 8, False)


def test_rl_bench_times_the_dqn_studys_full_preset():
    full = study.get_config("full")
    cartpole, lunarlander = rl.dqn_configs()
    assert cartpole == DQNConfig.from_mapping(full.cartpole.to_dict()) == DQNConfig.from_mapping(CARTPOLE_SETTINGS)
    assert lunarlander == DQNConfig.from_mapping(full.lunarlander.to_dict())
    assert lunarlander == DQNConfig.from_mapping(LUNARLANDER_SETTINGS)
    assert rl.dqn_configs(pjx_net=True)[0].hidden_sizes == (120, 84)
