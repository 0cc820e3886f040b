"""The trained-model commands (``jaxml.trained.sample_text``, ``sample_images``, ``evaluate_checkpoint``)
and ``model.json``, without a training run. Each study's smoke test (``test_<study>.py``) runs the
commands on its own tiny run's work directory: the numbers and pictures the study logged."""
from __future__ import annotations

import subprocess
import sys

import jax.numpy as jnp
import pytest

from jaxml.models.gan import DCGenerator
from jaxml.models.mlp import MLP
from jaxml.study.model_spec import SpecError, read_model_spec, write_model_spec
from jaxml.trained import evaluate_checkpoint, sample_images, sample_text
from jaxml.trained.families import build
from jaxml.trained.load import find_parts, load_trained


def test_model_spec_round_trip(tmp_path):
    write_model_spec(tmp_path, "mlp", {"hidden_sizes": (32, 16), "output_size": 10, "dtype": jnp.bfloat16},
                     study="x", data={"layout": "flat", "image_shape": (28, 28, 1)})
    spec = read_model_spec(tmp_path)
    assert spec["kwargs"] == {"hidden_sizes": [32, 16], "output_size": 10, "dtype": "bfloat16"}
    assert spec["task"] == "classifier" and spec["data"]["image_shape"] == [28, 28, 1]
    assert build(spec) == MLP(hidden_sizes=(32, 16), output_size=10, dtype=jnp.bfloat16)
    write_model_spec(tmp_path / "g", "gan", {"kind": "dcgan", "latent_dim": 8, "features": 4}, study="y")
    assert build(read_model_spec(tmp_path / "g")) == DCGenerator(latent_dim=8, features=4)
    with pytest.raises(SpecError, match="unknown model family 'resnet9'"):
        write_model_spec(tmp_path, "resnet9", {}, study="x")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "model.json").write_text("{not json")
    with pytest.raises(SpecError, match="model.json is unreadable"):
        read_model_spec(tmp_path / "bad")


def test_parts_order_and_missing_checkpoints(tmp_path):
    for part in ("z20", "z2", "sweep/16", "main"):
        write_model_spec(tmp_path / part, "vae", {"latent_dim": 2, "hidden": (8,)}, study="v")
    assert find_parts(tmp_path) == ["main", "z2", "z20", "sweep/16"]     # shallow first, then by name
    with pytest.raises(SpecError, match=r"--part='z3': no such part .*; parts: main, z2, z20, sweep/16"):
        load_trained(tmp_path, "z3")
    with pytest.raises(SpecError, match="no checkpoints for run 0 in .*main .the study saved no checkpoint here"):
        load_trained(tmp_path)


def run(module, capsys, *args):
    code = module.main([module.PROG, *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_mistakes_are_one_line(tmp_path, capsys):
    code, _, err = run(sample_text, capsys, f"--workdir={tmp_path}")
    assert code == 1 and err.splitlines() == [f"sample_text: error: no model.json under {tmp_path}: not a work "
                                              "directory of a study that saves its model (or written before "
                                              "model.json existed)"]
    code, _, err = run(sample_images, capsys, f"--workdir={tmp_path}", "--num=x")
    assert code == 2 and len(err.splitlines()) == 1 and "--num" in err
    code, _, err = run(evaluate_checkpoint, capsys, "--split=tset")
    assert code == 2 and len(err.splitlines()) == 1 and "--split" in err
    code, _, err = run(evaluate_checkpoint, capsys)
    assert code == 1 and err.splitlines() == ["evaluate_checkpoint: error: --workdir is required: the work "
                                              "directory of a finished study run"]
    code, out, _ = run(sample_text, capsys, "--help")
    assert code == 0 and "--temperature" in out and "--part" in out
    # From the real command line: one line on stderr, no traceback.
    proc = subprocess.run([sys.executable, "-m", "jaxml.trained.evaluate_checkpoint", f"--workdir={tmp_path / 'nope'}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"evaluate_checkpoint: error: work directory {tmp_path / 'nope'} "
                                        "does not exist"]
