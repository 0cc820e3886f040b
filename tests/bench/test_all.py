"""bench.all: the commands it runs and the summary it writes, on fake per-benchmark JSON files
(the benchmarks themselves are smoke-tested at tiny sizes in the other tests/bench files)."""
from __future__ import annotations

import json
import sys

import pytest

from bench import all as bench_all
from bench import common

PAIRED = {"of_medians": 2.0, "paired_median": 2.1, "paired_min": 1.5, "paired_max": 2.5}


def fake_results() -> dict:
    return {
        "mlp": {"date": "d", "comparisons": [{"name": "jaxml / torch (2 threads) steps/s, batch 5", "ratio": 6.1,
                                              "paired": PAIRED, "goal": ">= 5.0", "met": True}],
                "notes": ["torch is not importable: the PyTorch baseline was skipped"]},
        "vision": {"settings": {"goal_jaxml_over_torch": 1.0},
                   "results": {"resnet18": {"speed_ratios": {"jaxml/torch_2t": dict(PAIRED, of_medians=0.65),
                                                             "jaxml/jaxml_stock": PAIRED}}}},
        "sequence": {"comparisons": [{"name": "jaxml_gpt / torch1t_gpt (steps/s)", "ratio": 0.95,
                                      "paired": PAIRED, "goal": "—", "met": None}]},
        "rl": {"peers": {"goals": {"rejax_over_jaxml_at_least": 2.0, "sb3_over_jaxml_at_least": 5.0},
                         "over_jaxml": {"rejax": dict(PAIRED, of_medians=3.0), "sb3": dict(PAIRED, of_medians=4.0)},
                         "greedy_mean": {"jaxml": 500.0, "rejax": 480.5, "sb3": 210.0},
                         "env_steps": {"jaxml": 500_000, "rejax": 500_000, "sb3": 100_000}},
               "dqn_cartpole": {"seeds": 8, "config": {"hidden_sizes": [64, 64]}, "vmap_over_1": PAIRED,
                                "solved_seeds": 7, "split": {"devices": 2, "over_1": PAIRED, "solved_seeds": 8}},
               "torch": {"jaxml_host_over_torch": PAIRED}},
        "classic": {"comparisons": [{"case": "kmeans", "numerator": "sklearn KMeans", "denominator": "jaxml kmeans",
                                     "meaning": "sklearn time / jaxml time", "ratio": 4.36, "paired": PAIRED}]},
        "decode": {"gpt2": [{"model": "small", "batch": 8, "ratio (jaxml/torch)": 3.0, "same tokens": True}],
                   "char": [{"preset": "baby", "speed-up": 10.7, "same tokens": True}]},
        # bf16 has no file: a "no results file" row
    }


def test_summary_from_fake_results(tmp_path):
    for name, data in fake_results().items():
        common.write_json(tmp_path / f"{name}.json", data)
    runs = {"classic": {"command": ["python", "-m", "bench.classic"], "returncode": 0, "wall_seconds": 1.0,
                        "load_before": [1.0, 1.0, 1.0], "load_after": [2.0, 1.0, 1.0]},
            "decode": {"command": ["python", "-m", "bench.decode"], "returncode": 2, "wall_seconds": 0.5,
                       "load_before": None, "load_after": None}}
    facts = bench_all.machine_facts()
    assert facts["cpu_count"] >= 1 and facts["cpu_model"]
    summary = bench_all.write_summary(tmp_path, list(bench_all.BENCHMARKS), runs, True, facts, facts, wall=12.0)
    md = (tmp_path / "summary.md").read_text()
    assert json.loads((tmp_path / "summary.json").read_text())["rows"] == json.loads(json.dumps(summary["rows"]))
    by = {(r["benchmark"], r["comparison"]): r for r in summary["rows"]}
    assert by[("mlp", "jaxml / torch (2 threads) steps/s, batch 5")]["met"] is True
    assert by[("vision", "resnet18: jaxml/torch_2t steps/s")]["met"] is False
    assert by[("vision", "resnet18: jaxml/jaxml_stock steps/s")]["goal"] is None
    rejax = by[("rl", "DQN CartPole: rejax / jaxml time per env step (1 seed)")]
    assert rejax["ratio"] == 3.0 and rejax["met"] is True and "rejax 480.5" in rejax["note"]
    assert by[("rl", "DQN CartPole: sb3 / jaxml time per env step (1 seed)")]["met"] is False
    assert ("decode", "benchmark failed (exit code 2)") in by and ("bf16", "no results file") in by
    assert ("classic", "kmeans: sklearn KMeans / jaxml kmeans") in by
    assert any(r["comparison"] == "note" and "skipped" in r["note"] for r in summary["rows"])
    assert "quick run" in md and "load average" in md and "| rl | DQN CartPole: rejax / jaxml" in md
    assert "FAILED (2)" in md and "2.10 (1.50–2.50)" in md


def test_unreadable_file_is_a_row_not_a_crash(tmp_path):
    (tmp_path / "mlp.json").write_text("{broken")
    rows = bench_all.collect(tmp_path, ["mlp"])
    assert rows[0]["comparison"] == "unreadable results file"


def test_commands_and_cli(tmp_path, capsys):
    b = bench_all.BENCHMARKS
    assert set(b) == {"mlp", "vision", "sequence", "rl", "classic", "decode", "bf16"}
    assert b["mlp"].command(tmp_path, quick=True) == [sys.executable, "-m", "bench.mlp", "--quick",
                                                      "--out", str(tmp_path / "mlp.json")]
    assert b["vision"].command(tmp_path, quick=False)[-2:] == ["--out", str(tmp_path / "vision")]
    assert "--quick" in b["rl"].command(tmp_path, quick=True)
    for name in b:  # every benchmark's parser (where it has one) accepts the arguments bench.all passes
        parse = getattr(__import__(f"bench.{name}", fromlist=["parse_args"]), "parse_args", None)
        for quick in (True, False):
            if parse is not None:
                parse(b[name].command(tmp_path, quick)[3:])
    with pytest.raises(SystemExit, match="unknown benchmark"):
        bench_all.main(["--only", "nope"])
    common.write_json(tmp_path / "mlp.json", fake_results()["mlp"])
    assert bench_all.main(["--summary-only", "--only", "mlp", "--out-dir", str(tmp_path)]) == 0
    md = (tmp_path / "summary.md").read_text()
    assert "| mlp | jaxml / torch (2 threads) steps/s, batch 5 | 6.10 |" in md
    assert "collected results" in md and "| mlp | mlp.json | d |" in md
    assert "wrote" in capsys.readouterr().out


def test_quick_runs_share_a_compilation_cache(tmp_path, monkeypatch):
    """--quick hands every benchmark process JAX's persistent compilation cache (a real JAX process writes
    entries there); --no-compile-cache and full runs do not; the summary says whether it was cold or warm."""
    cache = tmp_path / "cache"
    env = {**__import__("os").environ, **bench_all.compile_cache_env(cache)}
    code = "import jax, jax.numpy as jnp; jax.jit(lambda x: x * 2 + 1)(jnp.ones(3)).block_until_ready()"
    __import__("subprocess").run([sys.executable, "-c", code], env=env, check=True)
    assert bench_all.cache_entries(cache) > 0 and bench_all.cache_entries(tmp_path / "absent") == 0

    seen = {}

    def fake_run(b, out_dir, quick, extra_env=None):
        seen[(b.name, quick)] = extra_env
        return {"command": ["python", "-m", f"bench.{b.name}"], "returncode": 0, "wall_seconds": 0.1,
                "load_before": None, "load_after": None}

    monkeypatch.setattr(bench_all, "run_benchmark", fake_run)
    monkeypatch.setattr(bench_all, "QUICK_COMPILE_CACHE", cache)
    assert bench_all.main(["--quick", "--only", "mlp", "--out-dir", str(tmp_path / "q")]) == 0
    assert seen[("mlp", True)]["JAX_COMPILATION_CACHE_DIR"] == str(cache)
    assert "JAX compilation cache" in (tmp_path / "q" / "summary.md").read_text()
    assert "warm" in (tmp_path / "q" / "summary.md").read_text()
    bench_all.main(["--quick", "--no-compile-cache", "--only", "mlp", "--out-dir", str(tmp_path / "q")])
    bench_all.main(["--only", "mlp", "--out-dir", str(tmp_path / "full")])
    assert seen[("mlp", True)] is None and seen[("mlp", False)] is None
    assert "compilation cache" not in (tmp_path / "full" / "summary.md").read_text()
