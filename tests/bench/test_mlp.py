"""bench.mlp's jaxml side runs at a tiny size; the CLI defaults.

torch is optional: the test suite never installs it, and the baseline must be skipped with
a message (not crash) when it cannot be imported.
"""
from __future__ import annotations

import pytest

from bench import common, mlp

pytestmark = pytest.mark.slow  # runs the MLP benchmark end to end at a tiny size; make test-slow and CI run it


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
