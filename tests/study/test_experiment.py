"""jaxml.study.experiment: run_experiment's work directory, config and machine files, the malloc setting;
run_parts' results files; timed_call and compile_and_run."""
import json

import ml_collections
import pytest

from jaxml import cpu_memory
from jaxml.study.config import ConfigError
from jaxml.study.experiment import compile_and_run, machine_info, make_workdir, run_experiment, run_parts, timed_call

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


@pytest.mark.parametrize("part_dirs", [True, False])
def test_run_parts_writes_results_and_summary(tmp_path, part_dirs):
    seen = []

    def part(name, value):
        def fn(part_dir):
            seen.append(part_dir)
            (part_dir / f"{name}.txt").write_text(name)
            return f"{name} text", value
        return fn

    parts = {"a": ("Part A", part("a", {"x": 1.5})), "b": ("Part B", part("b", [1, 2])),
             "c": ("Part C", part("c", {"y": 0}))}
    summary = run_parts("Title", parts, ("c", "a"), tmp_path, [("Setup", "setup text")], part_dirs=part_dirs)
    assert seen == ([tmp_path / "a", tmp_path / "c"] if part_dirs else [tmp_path, tmp_path])  # order of parts
    assert list(summary) == ["a", "c"] and summary["a"]["x"] == 1.5 and summary["a"]["wall_seconds"] >= 0
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    text = (tmp_path / "results.md").read_text()
    assert text.startswith("# Title") and text.index("## Setup") < text.index("## Part A") < text.index("## Part C")
    assert "Part B" not in text and "a text" in text and "## Run" in text
    assert (tmp_path / ("a/a.txt" if part_dirs else "a.txt")).read_text() == "a"


def test_timed_call_first_and_second_call():
    calls = []

    def fn(x):
        calls.append(x)
        return x + 1

    assert timed_call(fn, 1)[0] == 2 and calls == [1, 1]
    out, first, seconds = timed_call(fn, 5, repeat=False)
    assert out == 6 and calls == [1, 1, 5] and first == seconds >= 0


def test_compile_and_run_equals_the_jitted_call():
    import jax
    import jax.numpy as jnp

    fn = jax.jit(lambda x, y: jnp.sin(x) * y)
    x, y = jnp.arange(5.0), jnp.float32(3.0)
    out, compile_s, run_s = compile_and_run(fn, x, y)
    assert compile_s > 0 and run_s >= 0
    assert jnp.array_equal(out, fn(x, y))
