"""Smoke test of the Fashion-MNIST MLP study's tiny preset, end to end, on fake IDX files."""
from __future__ import annotations

import json

import pytest

from experiments import fashion_mnist_mlp as study
from jaxml.report import read_metrics
from jaxml.study.config import ConfigError
from jaxml.trained import evaluate_checkpoint


def test_tiny_preset_end_to_end(run_tiny, study_command):
    summary, workdir = run_tiny(study)
    assert summary["n_params"] == 101_770
    # Gradient check: jax.grad agrees with the central difference in float64.
    for row in summary["gradcheck"]["entries"]:
        assert float(row["relative error"]) < 1e-6
    assert 0.1 <= summary["gradcheck"]["ratio"] <= 10
    # Batch size part: every run recorded its epochs and updates consistently.
    cfg = study.get_config("tiny")
    for bs in cfg.batch_sizes:
        for r in summary["batch_size"][str(bs)]:
            steps = -(-cfg.n_train // bs)
            assert r["updates"] == r["epochs"] * steps
            assert 0.0 <= r["test_accuracy"] <= 1.0
    # Outputs on disk.
    for name in ("config.json", "machine.json", "results.md", "summary.json",
                 "batch_size/batch_size_test_accuracy.png", "batch_size/batch_size_train_time.png",
                 "early_stopping/early_stopping_accuracy.png", "momentum/momentum_train_loss.png"):
        assert (workdir / name).stat().st_size > 0, name
    text = (workdir / "results.md").read_text()
    for heading in ("## Gradient check", "## Batch size", "## Early stopping", "## Momentum"):
        assert heading in text
    records = read_metrics(workdir / "momentum" / "metrics.jsonl")
    assert {r["momentum"] for r in records} == set(cfg.momenta)
    assert len(records) == cfg.momentum_epochs * len(cfg.momenta) * len(cfg.seeds)
    assert json.loads((workdir / "config.json").read_text())["preset"] == "tiny"
    # Momentum helps on this problem at equal epochs: the training loss of α=0.9 ends below α=0.1.
    losses = summary["momentum"]["losses"]
    runs = summary["momentum"]["runs"]
    final = {m: [loss[-1] for loss, r in zip(losses, runs) if r["momentum"] == m] for m in cfg.momenta}
    assert max(final[0.9]) < min(final[0.1])
    # python -m jaxml.trained.evaluate_checkpoint: one folder per run (batch-size part, the early-stopping
    # best weights the study tests) and runs on a leading axis (momentum x seeds, final weights).
    def evaluated(*args):
        code, out, err = study_command(evaluate_checkpoint, f"--workdir={workdir}", "--json", *args)
        assert code == 0, err
        return json.loads(out.splitlines()[-1])

    for run in range(len(cfg.seeds)):
        r = evaluated(f"--part=batch_size/bs{cfg.batch_sizes[-1]}", f"--run={run}")
        assert r["weights"] == "best"
        assert r["accuracy"] == pytest.approx(summary["batch_size"][str(cfg.batch_sizes[-1])][run]["test_accuracy"],
                                              abs=1e-6)
    last = len(runs) - 1
    r = evaluated("--part=momentum", f"--run={last}")
    assert r["weights"] == "final" and r["accuracy"] == pytest.approx(summary["momentum"]["test_accuracy"][last],
                                                                      abs=1e-6)
    assert evaluated("--part=momentum", "--whole_split")["examples"] == 300   # the fake set's whole test split


def test_invalid_config_values_are_named(run_tiny):
    with pytest.raises(ConfigError, match="momenta"):
        run_tiny(study, "--config.momenta=(0.5,1.5)")
    with pytest.raises(ConfigError, match="parts"):
        run_tiny(study, "--config.parts=(momentum,warp)")
    with pytest.raises(ConfigError, match="learning_rate"):
        run_tiny(study, "--config.learning_rate=-1")
    with pytest.raises(ConfigError, match="batch_size"):
        run_tiny(study, "--config.batchsize=5")
