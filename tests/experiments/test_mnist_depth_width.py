"""Smoke test of the MNIST depth/width study's tiny preset on fake IDX files."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import mnist_depth_width as study
from jaxml.models import count_params
from jaxml.report import read_metrics
from jaxml.study.config import ConfigError

# Dense layer parameters by hand: (fan_in + 1) * fan_out per layer.
BY_HAND = {"small_dropout": 785 * 100 + 101 * 10,
           "wide": 785 * 1024 + 1025 * 10,
           "deep_dropout": 785 * 500 + 501 * 350 + 351 * 150 + 151 * 10}


def test_tiny_preset_end_to_end(run_tiny):
    summary, workdir = run_tiny(study)
    cfg = study.get_config("tiny")
    assert BY_HAND == {"small_dropout": 79_510, "wide": 814_090, "deep_dropout": 622_010}
    assert list(summary) == [*cfg.models, "comparison"] and list(cfg.models) == ["deep_dropout"]
    for name in cfg.models:
        r = summary[name]
        assert r["n_params"] == BY_HAND[name] and r["seeds"] == list(cfg.seeds)
        for key in ("train_loss", "val_loss", "test_loss", "test_accuracy"):
            assert np.asarray(r["curves"][key]).shape == (len(cfg.seeds), cfg.epochs)
        # The reported test numbers are the last epoch's, as logged by fit for each seed.
        records = read_metrics(workdir / name / "metrics.jsonl")
        assert len(records) == len(cfg.seeds) * cfg.epochs
        last = {rec["seed"]: rec for rec in records if rec["epoch"] == cfg.epochs}
        for key in ("test_loss", "test_accuracy"):
            np.testing.assert_allclose(r["final"][key], [last[s][key] for s in cfg.seeds])
            np.testing.assert_allclose(np.asarray(r["curves"][key])[:, -1], r["final"][key])
        assert np.all(np.isfinite(r["final"]["test_loss"]))
        # Two epochs of Adam lower the training loss of every model (fake classes are easy).
        train = np.asarray(r["curves"]["train_loss"])
        assert np.all(train[:, -1] < train[:, 0])
    assert summary["comparison"]["test_accuracy_mean"]["deep_dropout"] == np.mean(r["final"]["test_accuracy"])
    for name in ("results.md", "summary.json", "comparison/loss_per_epoch.png",
                 "comparison/test_accuracy_per_epoch.png"):
        assert (workdir / name).stat().st_size > 0, name
    text = (workdir / "results.md").read_text()
    assert "## (c) 784-500-350-150-10, dropout 0.25" in text and "Loss per epoch" in text
    assert "](comparison/loss_per_epoch.png)" in text


def test_models_have_the_documented_layers_and_parameter_counts():
    for name, (hidden, rate, _) in study.ARCHITECTURES.items():
        model = study.make_model(name)
        assert tuple(model.hidden_sizes) == hidden and model.dropout_rate == rate
        variables = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((1, 784)))
        assert count_params(variables["params"]) == BY_HAND[name]


def test_invalid_config_values_are_named(run_tiny):
    with pytest.raises(ConfigError, match="models"):
        run_tiny(study, "--config.models=(wide,huge)")
    with pytest.raises(ConfigError, match="dataset"):
        run_tiny(study, "--config.dataset=shakespeare")
    with pytest.raises(ConfigError, match="batch_size"):
        run_tiny(study, "--config.batch_size=0")
