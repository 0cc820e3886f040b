"""Smoke test of the LeNet CIFAR-10 ablation study's tiny preset on small CIFAR-format files."""
from __future__ import annotations

import importlib.util
import pathlib
import re
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import cifar10_cnn as study
from jaxml import data as jdata
from jaxml.models import count_params
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


fixtures = _fixtures()
fake_cifar_dir = fixtures.fake_cifar_dir


def test_fake_cifar_files_read_back_as_written(fake_cifar_dir):
    """The writer's R..G..B plane layout is what jaxml's loader decodes (independent round trip)."""
    x, y = fixtures.fake_cifar_images(24, seed=1)  # data_batch_1
    train = jdata.load("cifar10", "train", data_dir=fake_cifar_dir)
    assert train.x.shape == (120, 32, 32, 3) and train.class_names == fixtures.CLASS_NAMES
    np.testing.assert_array_equal(train.x[:24], x)
    np.testing.assert_array_equal(train.y[:24], y)


def test_tiny_preset_end_to_end(fake_cifar_dir, run_tiny):
    summary, workdir = run_tiny(study, data_dir=fake_cifar_dir)
    cfg = study.get_config("tiny")
    test_y = jdata.train_val_test("cifar10", cfg.n_train, 0, cfg.n_test, seed=cfg.data_seed)["test"].y
    counts = np.bincount(test_y, minlength=10)
    assert list(summary) == ["activation", "learning_rate", "dense_only", "unpooled", "test_batch_size",
                             "per_class_accuracy", "first_test_images", "wall_time"]
    assert list(summary["activation"]["variants"]) == ["relu (base)"]
    assert list(summary["learning_rate"]["variants"]) == ["lr 0.01", "lr 0.03 (base)"]
    # The base network at two learning rates x two seeds: one program; then the two conv-free nets and
    # the unpooled one at the base learning rate.
    program, *others = summary["wall_time"]["programs"]
    assert program["learning_rates"] == [0.01, 0.03] and program["runs"] == 4
    assert [(p["network"], p["learning_rates"]) for p in others] == [
        ("noconv_dense16_relu", [0.03]), ("noconv_dense16-8-8-8_relu", [0.03]),
        ("conv4_dense16_relu_VALID_nopool", [0.03])]
    # Conv-free nets: only dense parameters (28x28x1 would be 784 inputs; these are 32x32x3 = 3,072).
    dense_only = summary["dense_only"]["variants"]
    assert list(dense_only) == ["no conv, 2 dense layers (16,)->10", "no conv, 5 dense layers (16, 8, 8, 8)->10",
                                "base LeNet, conv (4, 8) (reference)"]
    assert dense_only["no conv, 2 dense layers (16,)->10"]["n_params"] == 3072 * 16 + 16 + 16 * 10 + 10
    assert dense_only["no conv, 5 dense layers (16, 8, 8, 8)->10"]["n_params"] == (
        3072 * 16 + 16 + 16 * 8 + 8 + 2 * (8 * 8 + 8) + 8 * 10 + 10)
    model = study.make_model(cfg, {**study.base_net(cfg), "conv_channels": (), "dense": (16,)}, 3, 10)
    params = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((1, 32, 32, 3)))["params"]
    assert sorted(params) == ["dense_0", "output"]   # no conv layer
    # Unpooled: conv 4 5x5 VALID keeps 28x28 (no pool) -> 3,136 inputs to dense 16.
    unpooled = summary["unpooled"]["variants"]["channels (4,), no pooling"]
    assert unpooled["n_params"] == (25 * 3 * 4 + 4) + (28 * 28 * 4 * 16 + 16) + (16 * 10 + 10)
    for r in [*dense_only.values(), unpooled]:
        assert np.isfinite(r["final"]["train_loss"]).all() and len(r["test_accuracy"]) == len(cfg.seeds)
    # Test batch size: 40 (one batch) and 7 (five of 7, a masked one of 5) give the same accuracy;
    # the logits agree to float rounding, and the reference equals the record's own test accuracy.
    tb = summary["test_batch_size"]["batch_sizes"]
    assert list(tb) == list(cfg.test_batch_sizes) == [40, 7]
    np.testing.assert_allclose(tb[40]["test_accuracy"], summary["learning_rate"]["variants"]["lr 0.03 (base)"][
        "test_accuracy"], atol=1e-6)
    np.testing.assert_allclose(tb[7]["test_accuracy"], tb[40]["test_accuracy"], atol=1e-6)
    np.testing.assert_allclose(tb[7]["test_loss"], tb[40]["test_loss"], rtol=1e-5)
    assert tb[7]["max_abs_logit_diff"] < 1e-4 and tb[7]["prediction_changes"] == [0] * len(cfg.seeds)
    records = {**summary["activation"]["variants"], **summary["learning_rate"]["variants"]}
    assert records["relu (base)"] == records["lr 0.03 (base)"]  # the same training, reported in both groups
    for r in records.values():
        acc = np.asarray(r["test_accuracy"])
        # Predictions of the final weights agree with fit's own last-epoch test evaluation.
        np.testing.assert_allclose(acc, np.asarray(r["curves"]["test_accuracy"])[:, -1], atol=1e-6)
        # Per-class accuracies, weighted by the class counts, give the overall accuracy.
        pc = np.nan_to_num(np.asarray(r["per_class_accuracy"], float))
        np.testing.assert_allclose(pc @ counts / counts.sum(), acc, atol=1e-6)
        assert np.asarray(r["curves"]["train_loss"]).shape == (len(cfg.seeds), cfg.epochs)
        assert r["seeds"] == list(cfg.seeds) and len(r["predictions_first"][0]) == cfg.num_shown
    first = summary["first_test_images"]
    assert first["variant"] == "relu (base)" and first["predictions"] == records["relu (base)"]["predictions_first"][0]
    wrong = [i for i in range(cfg.num_shown) if first["predictions"][i] != test_y[i]]
    assert [m["index"] for m in first["mistakes"]] == wrong
    assert all(m["true"] == fixtures.CLASS_NAMES[test_y[m["index"]]] for m in first["mistakes"])
    for name in ("results.md", "summary.json", "activation/loss_activation.png", "learning_rate/loss_learning_rate.png",
                 "per_class_accuracy/per_class_accuracy.png", "first_test_images/first_test_images.png",
                 "conv4-8_dense16_relu_VALID/metrics.jsonl"):
        assert (workdir / name).stat().st_size > 0, name
    text = (workdir / "results.md").read_text()
    assert "## Per-class test accuracy" in text and "## First 20 test images" in text
    assert "## Test batch size" in text and re.search(r"\n\|\s+7 \|", text)
    assert text.count("| NO ") == len(wrong)


def test_full_preset_variants_and_trainings():
    cfg = study.get_config("full")
    vs = study.variants(cfg)
    groups = [g for g, *_ in vs]
    assert {g: groups.count(g) for g in study.PARTS} == {**{g: 3 for g in study.PARTS}, "unpooled": 2,
                                                        "test_batch_size": 1}
    assert [lbl for g, lbl, _, _ in vs if g == "dense_layers"] == [
        "2 dense layers (120,)->10", "3 dense layers (120, 84)->10 (base)", "5 dense layers (120, 84, 64, 32)->10"]
    assert [lbl for g, lbl, _, _ in vs if g == "dense_only"] == [
        "no conv, 2 dense layers (120,)->10", "no conv, 5 dense layers (120, 84, 64, 32)->10",
        "base LeNet, conv (6, 16) (reference)"]
    # Distinct trainings: 13 networks (10 + 2 conv-free + 1 unpooled), the base one at 3 learning rates.
    combos = {(study.net_key(net), lr) for _, _, net, lr in vs}
    assert len(combos) == 15 and len({k for k, _ in combos}) == 13
    assert "conv6-16_dense120-84_relu_VALID_nopool" in {k for k, _ in combos}
    assert all(net["padding"] == "SAME" for g, _, net, _ in vs if g == "conv_layers")


def test_lenet_adapts_to_28x28x1():
    cfg = study.get_config("full")
    model = study.make_model(cfg, study.base_net(cfg), input_channels=1, num_classes=10)
    v = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)))
    # 28 -> 24 -> 12 -> 8 -> 4: flatten 4*4*16 = 256.
    assert count_params(v["params"]) == (25 * 6 + 6) + (25 * 6 * 16 + 16) + (256 * 120 + 120) + (120 * 84 + 84) + 850


def test_invalid_config_values_are_named(fake_cifar_dir, run_tiny):
    with pytest.raises(ConfigError, match="parts"):
        run_tiny(study, "--config.parts=(channels,pooling)", data_dir=fake_cifar_dir)
    with pytest.raises(ConfigError, match="activations"):
        run_tiny(study, "--config.activations=(relu,swish)", data_dir=fake_cifar_dir)
    with pytest.raises(ConfigError, match="1 to 3 entries"):
        run_tiny(study, "--config.channel_variants=((4,8,16,32),)", data_dir=fake_cifar_dir)


def test_runs_on_cifar10_by_default_and_offline_says_how_to_download(tmp_path, run_tiny, monkeypatch):
    """Every preset reads CIFAR-10 (the stand-ins are --config.dataset=...); on a fresh machine with
    JAXML_OFFLINE=1 the study stops with the not-found message naming the download command."""
    assert {study.get_config(p).dataset for p in study.PRESETS} == {"cifar10"}
    monkeypatch.setenv("JAXML_OFFLINE", "1")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "no-tfds"))
    with pytest.raises(jdata.DatasetNotFoundError, match="python -m jaxml.data download cifar10"):
        run_tiny(study, data_dir=tmp_path / "empty")
    assert not (tmp_path / "empty").exists()
