"""Smoke test of bench/rl.py's jax side at a tiny size (no torch, no host section)."""
from __future__ import annotations

import importlib.util
import json
import pathlib
import sys

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench"


def _load(name: str, filename: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / filename)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_rl_bench_compiled_section_tiny(monkeypatch, tmp_path):
    common = _load("jaxml_bench_common", "common.py")
    rl = _load("jaxml_bench_rl", "rl.py")
    from experiments import dqn as study
    from jaxml.rl.dqn import DQNConfig

    real = common.optional_import
    monkeypatch.setattr(common, "optional_import", lambda name: None if name == "torch" else real(name))
    tiny = DQNConfig.from_mapping(study.get_config("tiny").cartpole.to_dict())  # shares tests' compiled programs
    res = rl.run(seeds=2, repeats=1, eval_episodes=2, host_steps=0, torch_steps=100, cartpole_cfg=tiny,
                 log=lambda *_: None)
    r = res["dqn_cartpole"]
    assert r["env_steps"] == tiny.env_steps and len(r["run_seconds"]["1"]) == 1 and len(r["greedy_mean_per_seed"]) == 2
    assert r["compile_seconds"]["1"] > 0 and r["vmap_over_1"]["of_medians"] > 0
    assert any("torch is not importable" in n for n in res["notes"]) and "torch" not in res
    text = rl.tables(res)
    assert "| 2 seeds (vmap) |" in text and "purejaxrl reference" in text
    json.loads(common.write_json(tmp_path / "rl.json", res).read_text())
    args = rl.parse_args([])
    assert (args.repeats, args.seeds, args.quick) == (3, 8, False)
