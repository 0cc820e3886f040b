"""The plugin's fixtures and markers; run_on_cpu_devices in this process (its subprocess path is
tests/train/test_parallel.py's 8-device run)."""
import os

import jax
import numpy as np
import pytest

from jaxml.data import load
from jaxml.testing import run_on_cpu_devices
from jaxml.testing.fake_files import fake_cifar_images


def test_fake_data_is_read_by_the_loaders(fake_data):
    assert os.environ["JAXML_DATA_DIR"] == str(fake_data)
    mnist, fashion = load("mnist", "train"), load("fashion_mnist", "test")
    assert mnist.x.shape[:3] == (700, 28, 28) and fashion.x.shape[:3] == (300, 28, 28)
    cifar = load("cifar10", "train")
    assert cifar.x.shape[0] == 120
    np.testing.assert_array_equal(cifar.x[:24], fake_cifar_images(24, seed=1)[0])  # data_batch_1, NHWC
    imdb = load("imdb", "train")
    assert len(imdb.y) == 40 and set(np.unique(imdb.y)) == {0, 1}
    assert len(load("shakespeare", "train").ids) > 100
    for name in ("kjv", "austen"):
        load(name, "train")


def test_markers_are_registered(pytestconfig):
    names = {line.split(":")[0] for line in pytestconfig.getini("markers")}
    assert {"slow", "real_data"} <= names


def test_real_data_dir_skips_with_a_reason(real_data_dir, monkeypatch):
    monkeypatch.setenv("JAXML_DATA_DIR", "")
    with pytest.raises(pytest.skip.Exception, match="JAXML_DATA_DIR is not set"):
        real_data_dir("mnist")


def _device_count():
    return len(jax.devices())


def test_cpu_devices_runs_here_when_the_count_matches(cpu_devices):
    n = len(jax.devices())
    assert cpu_devices(n, _device_count) == n
    assert cpu_devices is run_on_cpu_devices
    with pytest.raises(ValueError, match="module-level function"):
        run_on_cpu_devices(n + 1, lambda: 0)
