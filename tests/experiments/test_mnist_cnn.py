"""Smoke test of the MNIST CNN study's tiny preset on fake IDX files."""
from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import mnist_cnn as study
from jaxml.models.cnn import mnist_cnn
from jaxml.report import read_metrics
from jaxml.study.config import ConfigError
from jaxml.trained import evaluate_checkpoint


def test_tiny_preset_end_to_end(run_tiny, study_command):
    summary, workdir = run_tiny(study)
    cfg = study.get_config("tiny")
    assert list(summary) == ["parameters", "training"]
    params, training = summary["parameters"], summary["training"]
    assert params["n_params"] == 61_546 and params["n_batch_stats"] == 64
    assert sum(r["count"] for r in params["parameter_shapes"] if r["collection"] == "params") == 61_546
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        assert np.asarray(training["curves"][key]).shape == (len(cfg.seeds), cfg.epochs)
    records = read_metrics(workdir / "training" / "metrics.jsonl")
    assert len(records) == len(cfg.seeds) * cfg.epochs
    val = np.asarray(training["curves"]["val_accuracy"])
    np.testing.assert_allclose(val[:, -1], [r["val_accuracy"] for r in records if r["epoch"] == cfg.epochs])
    last = {r["seed"]: r for r in records if r["epoch"] == cfg.epochs}
    assert training["seeds"] == list(cfg.seeds)
    for key in ("test_accuracy", "test_loss"):
        np.testing.assert_allclose(training["final"][key], [last[s][key] for s in cfg.seeds])
    final = training["final"]
    assert all(0.0 <= a <= 1.0 for a in final["test_accuracy"]) and all(np.isfinite(final["test_loss"]))
    # The seeds are evaluated together (vmapped): each epoch's evaluation time counts once.
    by_epoch = {r["epoch"]: r["eval_seconds"] for r in records}
    np.testing.assert_allclose(training["eval_seconds"], sum(by_epoch.values()), rtol=1e-6)
    for name in ("results.md", "summary.json", "training/curves_loss.png", "training/curves_accuracy.png"):
        assert (workdir / name).stat().st_size > 0, name
    text = (workdir / "results.md").read_text()
    assert "## Parameter shapes" in text and "(3, 3, 32, 32)" in text and "Test (final weights)" in text
    assert "](training/curves_loss.png)" in text
    # python -m jaxml.trained.evaluate_checkpoint on this work directory (model.json + the vmapped
    # checkpoint): each seed's final weights give the logged test and validation numbers.
    for run in range(len(cfg.seeds)):
        for split, prefix in (("test", "test"), ("validation", "val")):
            code, out, err = study_command(evaluate_checkpoint, f"--workdir={workdir}", f"--run={run}",
                                           f"--split={split}", "--json")
            assert code == 0, err
            r = json.loads(out.splitlines()[-1])
            assert (r["part"], r["weights"], r["examples"]) == ("training", "final", getattr(cfg, f"n_{prefix}"))
            assert r["accuracy"] == pytest.approx(final[f"{prefix}_accuracy"][run], abs=1e-6)
            assert r["loss"] == pytest.approx(final[f"{prefix}_loss"][run], rel=1e-4)
    code, _, err = study_command(evaluate_checkpoint, f"--workdir={workdir}", "--run=2")
    assert code == 1
    assert err.splitlines()[-1] == "evaluate_checkpoint: error: --run=2: part 'training' has 2 runs (0..1)"


def test_parameter_shapes_in_forward_order():
    variables = jax.eval_shape(mnist_cnn().init, jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)))
    rows = [(r["collection"], r["layer"], r["array"], r["shape"]) for r in study.parameter_shapes(variables)]
    assert rows == [
        ("params", "conv_0", "kernel", "(3, 3, 1, 32)"), ("params", "conv_0", "bias", "(32,)"),
        ("params", "conv_1", "kernel", "(3, 3, 32, 32)"), ("params", "conv_1", "bias", "(32,)"),
        ("params", "bn_1", "scale", "(32,)"), ("params", "bn_1", "bias", "(32,)"),
        ("params", "dense_0", "kernel", "(800, 64)"), ("params", "dense_0", "bias", "(64,)"),
        ("params", "output", "kernel", "(64, 10)"), ("params", "output", "bias", "(10,)"),
        ("batch_stats", "bn_1", "mean", "(32,)"), ("batch_stats", "bn_1", "var", "(32,)")]


def test_invalid_config_values_are_named(run_tiny):
    with pytest.raises(ConfigError, match="dropout"):
        run_tiny(study, "--config.dropout=1.0")
    with pytest.raises(ConfigError, match="dataset"):
        run_tiny(study, "--config.dataset=cifar100")
