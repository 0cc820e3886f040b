"""jaxml.study.experiment: run_experiment's work directory, config and machine files, the malloc setting."""
import json

import ml_collections
import pytest

from jaxml import cpu_memory
from jaxml.study.config import ConfigError
from jaxml.study.experiment import machine_info, make_workdir, run_experiment

PRESETS = ("tiny", "full")


def get_config(preset=None):
    cfg = ml_collections.ConfigDict()
    cfg.epochs = 20
    cfg.hidden_sizes = (128, 64)
    cfg.optimizer = ml_collections.ConfigDict({"name": "sgd", "momentum": 0.9})
    if preset == "tiny":
        cfg.epochs = 1
        cfg.hidden_sizes = (8,)
    return cfg


def test_run_experiment_writes_config_and_machine_info(tmp_path):
    calls = []

    def main(cfg, workdir):
        calls.append((cfg, workdir))
        return "done"

    out = run_experiment("demo", get_config, PRESETS, main,
                         argv=["--config=tiny", "--config.epochs=2", f"--workdir={tmp_path / 'w'}"])
    assert out == "done"
    cfg, workdir = calls[0]
    assert workdir == tmp_path / "w" and cfg.epochs == 2
    saved = json.loads((workdir / "config.json").read_text())
    assert saved["epochs"] == 2 and saved["hidden_sizes"] == [8] and saved["optimizer"]["name"] == "sgd"
    machine = json.loads((workdir / "machine.json").read_text())
    assert machine["backend"] == "cpu" and machine["devices"] and machine["jax"]
    assert machine["malloc_keeps_freed_memory"] is cpu_memory.status()["applied"]
    with pytest.raises(ConfigError, match="unknown preset"):
        run_experiment("demo", get_config, PRESETS, main, argv=["--config=nope"])


def test_run_experiment_keeps_freed_memory_before_main(tmp_path, monkeypatch):
    # The setting itself is process-wide (tests/test_cpu_memory.py checks it in subprocesses); here
    # only that the study runner asks for it, once per run, before main starts.
    events = []
    monkeypatch.setattr(cpu_memory, "keep_freed_memory_on_cpu", lambda: events.append("malloc") or False)
    run_experiment("demo", get_config, PRESETS, lambda cfg, workdir: events.append("main"),
                   argv=["--config=tiny", f"--workdir={tmp_path}"])
    assert events == ["malloc", "main"]


def test_make_workdir(tmp_path):
    a = make_workdir("exp", root=tmp_path)
    b = make_workdir("exp", root=tmp_path)
    assert a != b and a.parent == b.parent == tmp_path / "exp" and a.is_dir() and b.is_dir()
    given = make_workdir("exp", tmp_path / "given")
    assert given == tmp_path / "given" and given.is_dir()
    assert set(machine_info()) >= {"platform", "cpu_count", "python", "jax", "devices", "jaxml",
                                   "malloc_keeps_freed_memory"}
