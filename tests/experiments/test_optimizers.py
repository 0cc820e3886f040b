"""Fully-connected nets study: inverted dropout, tiny preset end to end, config errors."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import optimizers as study
from jaxml.models.mlp import MLP
from jaxml.study.config import ConfigError


def test_inverted_dropout_keeps_the_mean_and_is_identity_at_eval():
    """The MLP's dropout with keep 0.25 on a large input: kept units scaled by 1/0.25, mean kept."""
    d = 4
    model = MLP(hidden_sizes=(d,), output_size=d, activation="identity", dropout_rate=0.75)
    eye = {"kernel": jnp.eye(d), "bias": jnp.zeros(d)}
    params = {"hidden_0": eye, "output": eye}          # the net is dropout(x) exactly
    x = jnp.ones((250_000, d)) * 2.0
    out = model.apply({"params": params}, x, train=True, rngs={"dropout": jax.random.PRNGKey(0)})
    out = np.asarray(out)
    assert abs(out.mean() / 2.0 - 1.0) < 0.01                      # expected activation kept (within 1%)
    assert abs(np.mean(out == 0) - 0.75) < 0.01                      # 75% dropped
    np.testing.assert_allclose(out[out != 0], 2.0 / 0.25)            # survivors scaled by 1/keep
    np.testing.assert_array_equal(np.asarray(model.apply({"params": params}, x, train=False)), np.asarray(x))


def test_tiny_preset_end_to_end(run_tiny):
    summary, workdir = run_tiny(study)
    cfg = study.get_config("tiny")
    acc = np.array(summary["overfit"]["3_layer"]["accuracy"])
    assert acc.shape == (len(cfg.a_weight_scales), len(cfg.a_learning_rates), len(cfg.a_seeds))
    assert ((acc >= 0) & (acc <= 1)).all()
    iterations = -(-cfg.b_examples // cfg.b_batch_size) * cfg.b_epochs
    for label in cfg.b_optimizers:
        assert len(summary["update_rules"][label]["step_loss_mean"]) == iterations
        assert np.array(summary["update_rules"][label]["val_accuracy"]).shape == (len(cfg.b_seeds), cfg.b_epochs)
    assert 0 <= summary["best"]["test_accuracy"][0] <= 1
    assert {str(k) for k in cfg.d_keep} <= set(summary["dropout"])
    for name in ("results.md", "summary.json", "overfit/overfit_sensitivity.png", "update_rules/loss_per_iteration.png",
                 "update_rules/train_accuracy.png", "update_rules/val_accuracy.png", "best/best_accuracy.png",
                 "dropout/dropout_accuracy.png", "update_rules/metrics_adam.jsonl"):
        assert (workdir / name).stat().st_size > 0, name


def test_invalid_config_is_named(run_tiny):
    with pytest.raises(ConfigError, match="b_optimizers.sgd"):
        run_tiny(study, "--config.b_optimizers.sgd.name=sgdd")
    with pytest.raises(ConfigError, match="d_keep"):
        run_tiny(study, "--config.d_keep=(1.0,0.0)")
    with pytest.raises(ConfigError, match="a_depths"):
        run_tiny(study, "--config.a_depths=(1,)")
