"""Smoke test of bench/: the helpers work and bench/mlp.py's jaxml side runs at a tiny size.

torch is optional: the test suite never installs it, and the baseline must be skipped with
a message (not crash) when it cannot be imported.
"""
from __future__ import annotations

import importlib.util
import json
import pathlib
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench"


def _load(name: str, filename: str):
    # bench/ is a folder of scripts, not a package: load by path under unique module names.
    spec = importlib.util.spec_from_file_location(name, BENCH / filename)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


common = _load("jaxml_bench_common", "common.py")
mlp = _load("jaxml_bench_mlp", "mlp.py")


def test_interleave_runs_round_robin_after_warmup():
    calls = []
    times = common.interleave({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                              repeats=3, warmup=1, per_repeat=2)
    assert calls == ["a", "b"] + ["a", "a", "b", "b"] * 3
    assert set(times) == {"a", "b"} and all(len(t) == 3 and min(t) >= 0 for t in times.values())


def test_statistics_and_table():
    assert common.median([3.0, 1.0, 2.0]) == 2.0
    s = common.spread([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s["median"] == 3.0 and s["min"] == 1.0 and s["max"] == 100.0 and s["n"] == 5
    r = common.ratio([2.0, 4.0, 6.0], [1.0, 1.0, 2.0])
    assert r["of_medians"] == pytest.approx(4.0) and r["paired_median"] == pytest.approx(3.0)
    table = common.markdown_table(["name", "x"], [["a", 1234.5], ["b", 0.01234]])
    assert table.splitlines()[1] == "|---|---|" and "1,234" in table and "0.0123" in table


def test_compile_jitted_and_machine_info(tmp_path):
    import jax
    import jax.numpy as jnp

    compiled, seconds = common.compile_jitted(jax.jit(lambda a: a * 2), jnp.ones(3))
    assert seconds >= 0 and float(common.block(compiled(jnp.ones(3)))[0]) == 2.0
    info = common.machine()
    with common.CpuMonitor() as monitor:
        sum(range(10_000))
    assert monitor.others_busy is None or 0.0 <= monitor.others_busy <= 1.0
    assert info["cpu_count"] >= 1 and info["cpu_model"] and "jax" in common.versions()
    path = common.write_json(tmp_path / "r" / "x.json", {"info": info, "t": (1, 2)})
    assert json.loads(path.read_text())["t"] == [1, 2]


def test_mlp_bench_jax_side_tiny_without_torch(monkeypatch, tmp_path):
    # Pretend torch is not installed, whatever this environment has.
    real = common.optional_import
    monkeypatch.setattr(common, "optional_import", lambda name: None if name == "torch" else real(name))
    res = mlp.run(examples=48, batch_sizes=(5,), seeds=2, repeats=2, warmup=1, measure_ceiling=False,
                  log=lambda *_: None)
    assert any("torch is not importable" in n for n in res["notes"])
    assert set(res["contestants"]) == {"jaxml_b5", "jaxml_x2_b5", "jaxml_tiny_b5"}
    c = res["contestants"]["jaxml_b5"]
    assert c["steps_per_epoch"] == 10 and c["steps_per_second"] > 0 and len(res["raw_epoch_seconds"]["jaxml_b5"]) == 2
    assert {k["kind"] for k in res["comparisons"]} == {"vmap_over_1"}
    assert set(res["compile_seconds"]) == set(res["contestants"])
    assert all(c["final_train_loss"] > 0 for c in res["contestants"].values())
    assert "| jaxml_b5 |" in mlp.tables(res)
    common.write_json(tmp_path / "mlp.json", res)  # JSON-serialisable


def test_mlp_bench_cli_parses_defaults():
    args = mlp.parse_args([])
    assert (args.repeats, args.epochs_per_repeat, args.quick, args.batch_sizes) == (7, 1, False, "5,128")
