"""Binary tanh-MLP study: data protocol (Fashion-MNIST and a fake CIFAR-10), tiny preset end to end."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from experiments import binary_mlp as study
from jaxml.data import DatasetNotFoundError
from jaxml.study.config import ConfigError


def write_fake_cifar(root, per_batch=40, n_test=40):
    """CIFAR-10 python batches whose labels alternate between cat (3) and automobile (1)."""
    folder = root / "cifar10"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)

    def batch(n):
        labels = [3 if i % 2 else 1 for i in range(n)]
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        return pickle.dumps({b"data": data, b"labels": labels}, protocol=2)

    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(batch(per_batch))
    (folder / "test_batch").write_bytes(batch(n_test))
    return root


def test_tiny_preset_end_to_end(run_tiny):
    summary, workdir = run_tiny(study)
    cfg = study.get_config("tiny")
    assert summary["classes"] == [6, 0]
    # Zero init: the output cannot depend on x, so on balanced data the sign is right for exactly half.
    zero = summary["init"]["final"]["zero"]
    assert zero["train error"] == pytest.approx(0.5) and zero["test error"] == pytest.approx(0.5)
    # The grid's choice is one of its settings, chosen on validation.
    best = summary["grid"]["best"]
    assert best["lr"] in cfg.grid_learning_rates and best["hidden"] in cfg.grid_hidden
    assert best["val_error"] == min(r["val_error"] for r in summary["grid"]["rows"])
    assert summary["chosen"]["lr"] == best["lr"]
    assert {"mse", "binary_cross_entropy"} <= set(summary["loss"])
    for name in ("results.md", "summary.json", "init/init_test_error.png", "init/metrics.jsonl", "grid/grid.jsonl",
                 "width/width_test_error.png", "depth_momentum/depth_test_error.png", "loss/loss_test_error.png"):
        assert (workdir / name).stat().st_size > 0, name
    text = (workdir / "results.md").read_text()
    for heading in ("(a) Initialisation", "(b) Grid search", "(c) Hidden units", "(d) Two hidden", "(e) MSE vs"):
        assert heading in text


def test_cifar_protocol_grayscale_and_classes(tmp_path, monkeypatch):
    monkeypatch.setenv("JAXML_DATA_DIR", str(write_fake_cifar(tmp_path)))
    c = study.get_config("tiny")
    c.dataset = "cifar10"
    data = study.load_data(c)
    assert data["classes"] == (3, 1) and data["class_names"] == ("cat", "automobile")
    for split, n in (("train", c.n_train), ("validation", c.n_val), ("test", c.n_test)):
        assert data[split]["x"].shape == (n, 32 * 32) and data[split]["x"].dtype == np.float32
        assert sorted(np.unique(data[split]["y"])) == [-1.0, 1.0] and data[split]["y"].sum() == 0
    assert abs(float(data["train"]["x"].mean())) < 1e-4 and abs(float(data["train"]["x"].std()) - 1) < 1e-3


def test_missing_cifar_and_bad_config_are_named(run_tiny):
    with pytest.raises(DatasetNotFoundError, match="cifar10"):
        run_tiny(study, "--config.dataset=cifar10")
    with pytest.raises(ConfigError, match="dataset"):
        run_tiny(study, "--config.dataset=cifar100")
    with pytest.raises(ConfigError, match="classes"):
        run_tiny(study, "--config.classes=(3,3)")
    with pytest.raises(ConfigError, match="n_train"):
        run_tiny(study, "--config.n_train=41")
    with pytest.raises(ConfigError, match="grid_inits"):
        run_tiny(study, "--config.grid_inits=(lecun,)")
    with pytest.raises(ValueError, match="class 6"):
        run_tiny(study, "--config.n_train=400")
