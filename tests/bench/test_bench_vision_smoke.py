"""bench/vision.py's jaxml side runs at a tiny size without torch and reports both formulations."""
from __future__ import annotations

import importlib.util
import pathlib
import sys

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench"


def _load(name: str, filename: str):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, BENCH / filename)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_vision_bench_without_torch(monkeypatch):
    common = _load("jaxml_bench_common", "common.py")
    vision = _load("jaxml_bench_vision", "vision.py")
    real = common.optional_import
    monkeypatch.setattr(common, "optional_import", lambda name: None if name == "torch" else real(name))
    res = vision.run(models=["cnn2"], repeats=1, steps=1, log=lambda *_: None)
    assert any("torch is not importable" in n for n in res["notes"])
    r = res["results"]["cnn2"]
    assert r["n_params"] == 80_650 and set(r["steps_per_s"]) == {"jaxml", "jaxml_stock", "jaxml_scan"}
    assert all(v > 0 for v in r["steps_per_s"].values())
    assert set(r["speed_ratios"]) == {"jaxml/jaxml_stock"}
    assert "| cnn2 | 80,650 |" in vision.tables(res)
