"""bench.vision's jaxml side runs at a tiny size without torch and reports both formulations."""
from __future__ import annotations

import pytest

from bench import common, vision

pytestmark = pytest.mark.slow  # runs the vision benchmark end to end at a tiny size; make test-slow and CI run it


def test_vision_bench_without_torch(monkeypatch):
    real = common.optional_import
    monkeypatch.setattr(common, "optional_import", lambda name: None if name == "torch" else real(name))
    res = vision.run(models=["cnn2"], repeats=1, steps=1, log=lambda *_: None)
    assert any("torch is not importable" in n for n in res["notes"])
    r = res["results"]["cnn2"]
    assert r["n_params"] == 80_650 and set(r["steps_per_s"]) == {"jaxml", "jaxml_stock", "jaxml_scan"}
    assert all(v > 0 for v in r["steps_per_s"].values())
    assert set(r["speed_ratios"]) == {"jaxml/jaxml_stock"}
    assert "| cnn2 | 80,650 |" in vision.tables(res)
    # FLOPs per train step: 3x the forward's, whose multiply-adds a hand count gives (VALID 7x7 conv to
    # 22x22x64, dense 7,744 -> 10; 2 FLOPs each); XLA's count adds the elementwise ops (bias, ReLU, pool).
    hand = 3 * vision.BATCH * 2 * (22 * 22 * 64 * 49 + 7_744 * 10)
    assert hand <= r["train_flops_per_step"] <= 1.06 * hand
    assert set(r["fraction_of_matmul_peak"]) == set(r["steps_per_s"])
    assert all(0 < f < 5 for f in r["fraction_of_matmul_peak"].values())
    assert "of the measured matmul peak" in vision.tables(res)
