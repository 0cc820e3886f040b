"""Smoke test of the ResNet CIFAR-10 study's tiny preset on small CIFAR-format files."""
from __future__ import annotations

import importlib.util
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import resnet_cifar10 as study
from jaxml.report import read_metrics
from jaxml.study.config import ConfigError


def _fixtures():
    """tests/experiments/fixtures_vision.py (not importable by name under --import-mode=importlib)."""
    if "fixtures_vision" not in sys.modules:
        path = pathlib.Path(__file__).with_name("fixtures_vision.py")
        spec = importlib.util.spec_from_file_location("fixtures_vision", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules["fixtures_vision"] = module
    return sys.modules["fixtures_vision"]


fake_cifar_dir = _fixtures().fake_cifar_dir


def test_tiny_preset_end_to_end(fake_cifar_dir, run_tiny):
    summary, workdir = run_tiny(study, data_dir=fake_cifar_dir)
    cfg = study.get_config("tiny")
    runs = [f"resnet18_{loss}" for loss in cfg.losses]
    assert list(summary) == [*runs, "comparison"]
    for name in runs:
        r = summary[name]
        for key in ("test_accuracy", "train_accuracy", "epoch_seconds", "eval_seconds"):
            assert np.asarray(r["curves"][key]).shape == (len(cfg.seeds), cfg.epochs)
        assert np.all(np.asarray(r["curves"]["epoch_seconds"]) > 0)
        assert np.all(np.asarray(r["curves"]["eval_seconds"]) > 0)
        assert r["diverged"] == [False] * len(cfg.seeds)
        records = read_metrics(workdir / name / "metrics.jsonl")
        assert [rec["epoch"] for rec in records] == list(range(1, cfg.epochs + 1))
        np.testing.assert_allclose(r["curves"]["eval_seconds"][0], [rec["eval_seconds"] for rec in records])
        np.testing.assert_allclose(r["curves"]["test_accuracy"][0], [rec["test_accuracy"] for rec in records])
        assert summary["comparison"]["final_test_accuracy_mean"][name] == np.mean(r["final"]["test_accuracy"])
    # The tiny preset trains with RMSE and SMAPE against one-hot targets; each run's "loss" field names it.
    # RMSE per example is sqrt(mean_j (o_j - t_j)^2): ~1/sqrt(10) = 0.32 for near-zero outputs, well below
    # the ~2.3 nats of a 10-class cross-entropy. SMAPE's nine zero-target terms 2|o|/(|o| + 1e-8) are ~2
    # each unless an output is exactly 0, so its mean over 10 outputs lies in [1.8, 2]: a different loss.
    assert cfg.losses == ("rmse", "smape")
    assert [summary[f"resnet18_{loss}"]["loss"] for loss in cfg.losses] == ["rmse", "smape"]
    rmse_test = np.asarray(summary["resnet18_rmse"]["curves"]["test_loss"][0])
    smape_test = np.asarray(summary["resnet18_smape"]["curves"]["test_loss"][0])
    assert np.all((0 < rmse_test) & (rmse_test < 1.5)) and np.all((1.75 < smape_test) & (smape_test <= 2.0))
    for loss in cfg.losses:
        assert np.all(np.isfinite(summary[f"resnet18_{loss}"]["curves"]["train_loss"]))
        assert f"| {loss} " in (workdir / "results.md").read_text()
    for name in ("results.md", "summary.json", "comparison/accuracy_per_epoch.png",
                 "comparison/seconds_per_epoch.png"):
        assert (workdir / name).stat().st_size > 0, name
    assert "eval s/epoch (median)" in (workdir / "results.md").read_text()


def test_resnets_adapt_to_28x28x1():
    for make in study.MODELS.values():
        model = make(num_classes=10, stem="cifar", width=4)
        out = jax.eval_shape(lambda x, m=model: m.init_with_output(jax.random.PRNGKey(0), x)[0],
                             jnp.zeros((2, 28, 28, 1)))
        assert out.shape == (2, 10)


def test_median_excludes_the_first_epoch():
    assert study._median_after_first(np.array([[9.0, 1.0, 3.0, 2.0]])) == 2.0
    assert study._median_after_first(np.array([[9.0]])) == 9.0


def test_invalid_config_values_are_named(fake_cifar_dir, run_tiny):
    with pytest.raises(ConfigError, match="losses"):
        run_tiny(study, "--config.losses=(hinge,)", data_dir=fake_cifar_dir)
    with pytest.raises(ConfigError, match="losses"):
        run_tiny(study, "--config.losses=(rmse,mape)", data_dir=fake_cifar_dir)
    with pytest.raises(ConfigError, match="models"):
        run_tiny(study, "--config.models=(resnet20,)", data_dir=fake_cifar_dir)
    with pytest.raises(ConfigError, match="warmup_epochs"):
        run_tiny(study, "--config.warmup_epochs=5", data_dir=fake_cifar_dir)


def test_runs_on_cifar10_by_default_and_offline_says_how_to_download(tmp_path, run_tiny, monkeypatch):
    """Every preset reads CIFAR-10 (fashion_mnist/mnist by config); offline on a fresh machine the
    study stops with the not-found message naming the download command."""
    from jaxml import data as jdata

    assert {study.get_config(p).dataset for p in study.PRESETS} == {"cifar10"}
    monkeypatch.setenv("JAXML_OFFLINE", "1")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "no-tfds"))
    with pytest.raises(jdata.DatasetNotFoundError, match="python -m jaxml.data download cifar10"):
        run_tiny(study, data_dir=tmp_path / "empty")
