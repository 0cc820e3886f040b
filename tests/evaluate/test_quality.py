"""Fréchet distance and class histogram (against scipy's general sqrtm and closed forms), and the
cached feature classifier (checkpoint restores exactly; features are the last layer's input)."""
from __future__ import annotations

import json
import pathlib

import jax
import numpy as np
import pytest
import scipy.linalg

from jaxml.evaluate import feature_classifier as fc
from jaxml.evaluate.quality import (
    class_histogram,
    frechet_distance,
    frechet_distance_from_stats,
    gaussian_stats,
    histogram_spread,
    psd_sqrt,
)
from jaxml.models.mlp import MLP
from jaxml.report import read_metrics


def _reference(a, b):
    """The textbook formula with scipy's general (non-symmetric) matrix square root."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(ca @ cb)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(ca) + np.trace(cb) - 2 * np.trace(root).real)


def test_frechet_matches_scipy_reference():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))
    b = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6)) + 0.3
    assert frechet_distance(a, b) == pytest.approx(_reference(a, b), rel=1e-6)


def test_frechet_of_a_set_with_itself_is_zero_and_grows_with_noise():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(2000, 8)) @ rng.normal(size=(8, 8))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    distances = [frechet_distance(a, a + s * rng.normal(size=a.shape)) for s in (0.1, 0.5, 1.0, 2.0)]
    assert all(x < y for x, y in zip(distances, distances[1:])), distances
    assert distances[0] > 0


def test_frechet_closed_forms():
    # Same covariance, shifted mean: d = |shift|^2.
    mu, cov = np.zeros(3), np.diag([1.0, 2.0, 3.0])
    assert frechet_distance_from_stats(mu, cov, mu + [1.0, 2.0, 0.0], cov) == pytest.approx(5.0)
    # Diagonal covariances: d = sum (sqrt(a) - sqrt(b))^2, including a singular one.
    a, b = np.array([1.0, 4.0, 0.0]), np.array([4.0, 1.0, 9.0])
    expected = float(((np.sqrt(a) - np.sqrt(b)) ** 2).sum())
    assert frechet_distance_from_stats(mu, np.diag(a), mu, np.diag(b)) == pytest.approx(expected)
    r = psd_sqrt(np.array([[2.0, 1.0], [1.0, 2.0]]))
    np.testing.assert_allclose(r @ r, [[2.0, 1.0], [1.0, 2.0]], atol=1e-12)


def test_gaussian_stats_and_errors():
    x = np.random.default_rng(2).normal(size=(50, 3))
    mu, cov = gaussian_stats(x)
    np.testing.assert_allclose(cov, np.cov(x, rowvar=False))
    with pytest.raises(ValueError, match=r"shape \(N, F\)"):
        frechet_distance(np.zeros(5), np.zeros((5, 1)))
    with pytest.raises(ValueError, match="feature sizes differ: 3 and 4"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.full((4, 2), np.nan), np.zeros((4, 2)))


def test_class_histogram():
    logits = np.array([[0.0, 5.0, 1.0], [3.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 9.0]])
    np.testing.assert_allclose(class_histogram(logits), [0.25, 0.5, 0.25])
    np.testing.assert_allclose(class_histogram(np.array([0, 0, 2]), 4), [2 / 3, 0, 1 / 3, 0])
    spread = histogram_spread([0.25, 0.5, 0.25])
    assert spread["tv_from_uniform"] == pytest.approx(0.5 - 1 / 3)
    assert histogram_spread([1.0, 0.0])["tv_from_uniform"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="num_classes"):
        class_histogram(np.array([0, 1]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        class_histogram(np.array([0, 2]), 2)


def test_classifier_checkpoint_restores_exactly(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((120, 4, 4, 1), dtype=np.float32)
    y = (x.reshape(120, -1).mean(1) > 0.5).astype(np.int32)
    model = MLP(hidden_sizes=(5,), output_size=2)
    kwargs = dict(name="tiny", epochs=2, batch_size=40, root=tmp_path, progress=False)
    first = fc.train_or_restore(model, {"x": x, "y": y}, {"x": x[:30], "y": y[:30]}, **kwargs)
    assert not first.info["restored"]
    folder = pathlib.Path(first.info["path"])
    info = json.loads((folder / fc.INFO_FILE).read_text())
    assert info["epochs"] == 2 and 0 <= info["test_accuracy"] <= 1
    second = fc.train_or_restore(model, {"x": x, "y": y}, {"x": x[:30], "y": y[:30]}, **kwargs)
    assert second.info["restored"] and second.info["path"] == first.info["path"]
    for a, b in zip(jax.tree_util.tree_leaves(first.state), jax.tree_util.tree_leaves(second.state)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    f1, l1 = first.features_and_logits(x, batch_size=50)    # 120 = 2 chunks + a padded one
    f2, l2 = second.features_and_logits(x, batch_size=50)
    np.testing.assert_array_equal(f1, f2)
    np.testing.assert_array_equal(l1, l2)
    # The features are the output layer's input: relu(hidden) reproduces the logits.
    p = second.state.params
    hidden = np.maximum(x.reshape(120, -1) @ np.asarray(p["hidden_0"]["kernel"]) + np.asarray(p["hidden_0"]["bias"]), 0)
    np.testing.assert_allclose(f1, hidden, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(l1, f1 @ np.asarray(p["output"]["kernel"]) + np.asarray(p["output"]["bias"]),
                               rtol=1e-5, atol=1e-5)
    # Different data -> a different cache folder, never the stale checkpoint.
    other = fc.cache_dir("tiny", fc._settings(model, 2, 40, 1e-3, 0, {"x": x[::-1], "y": y[::-1]}), tmp_path)
    assert other.name != folder.name
    # A quality meter of a set against itself is ~0.
    meter = fc.QualityMeter(second, x)
    assert meter.measure(x)["frechet"] == pytest.approx(0.0, abs=1e-6)
    assert meter.measure(x.reshape(120, 16))["n"] == 120
    with pytest.raises(ValueError, match="16 values each"):
        meter.measure(np.zeros((3, 28, 28)))
    with pytest.raises(ValueError, match="feature layer 'nope'"):
        fc.features_and_logits(second.state, x[:4], layer="nope")


def test_interrupted_classifier_training_resumes(tmp_path, monkeypatch):
    """The classifier trains on the driver with the cache folder as its work directory: a training
    interrupted after epoch 1 (no classifier.json yet) resumes there and ends with the weights of an
    uninterrupted training."""
    rng = np.random.default_rng(0)
    x = rng.random((60, 4, 4, 1), dtype=np.float32)
    y = (x.reshape(60, -1).mean(1) > 0.5).astype(np.int32)
    model = MLP(hidden_sizes=(5,), output_size=2)
    kwargs = dict(name="tiny", epochs=2, batch_size=20, progress=False)
    data, test = {"x": x, "y": y}, {"x": x[:20], "y": y[:20]}
    reference = fc.train_or_restore(model, data, test, root=tmp_path / "a", **kwargs)

    class Interrupted(Exception):
        pass

    def stop_after_1(epoch, records):
        if epoch == 1:
            raise Interrupted

    fit = fc.fit
    monkeypatch.setattr(fc, "fit", lambda *a, **k: fit(*a, callbacks=[stop_after_1], **k))
    with pytest.raises(Interrupted):
        fc.train_or_restore(model, data, test, root=tmp_path / "b", **kwargs)
    monkeypatch.undo()
    folder = fc.cache_dir("tiny", fc._settings(model, 2, 20, 1e-3, 0, data), tmp_path / "b")
    assert not (folder / fc.INFO_FILE).exists() and (folder / "checkpoints" / "1").is_dir()
    resumed = fc.train_or_restore(model, data, test, root=tmp_path / "b", **kwargs)
    assert not resumed.info["restored"] and resumed.info["test_accuracy"] == reference.info["test_accuracy"]
    for a, b in zip(jax.tree_util.tree_leaves(reference.state), jax.tree_util.tree_leaves(resumed.state)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert [r["epoch"] for r in read_metrics(folder / "metrics.jsonl")] == [1, 2]


def test_classifier_cache_key_ignores_implementation_fields():
    """conv_impl / pool_impl choose how the same function is computed: one cached classifier."""
    from jaxml.models.cnn import mnist_cnn

    key = fc.model_key(mnist_cnn())
    assert key == fc.model_key(mnist_cnn(conv_impl="xla", pool_impl="reduce_window"))
    assert "conv_impl" not in key and "dropout" in key
    assert key != fc.model_key(mnist_cnn(dropout=0.3))
