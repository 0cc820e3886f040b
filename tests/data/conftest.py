"""Fixtures for jaxml.data tests: the tiny upstream-format files come from jaxml.testing.fake_files
(the writers) and jaxml's pytest plugin (``real_data_dir``)."""
from __future__ import annotations

import types

import pytest

from jaxml.testing.fake_files import make_mnist_like


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory):
    """A data dir with small random mnist (50/20, gzipped) and fashion_mnist (40/30, plain IDX) sets."""
    root = tmp_path_factory.mktemp("mnist_root")
    arrays = {
        "mnist": make_mnist_like(root, "mnist", 50, 20, gz=True, seed=1),
        "fashion_mnist": make_mnist_like(root, "fashion_mnist", 40, 30, gz=False, seed=2),
    }
    return types.SimpleNamespace(root=root, arrays=arrays)


@pytest.fixture(autouse=True)
def _isolated_tfds(tmp_path_factory, monkeypatch):
    """Point the tfds fallback at an empty folder so tests never read ~/tensorflow_datasets,
    and turn automatic downloads off (JAXML_OFFLINE=1) so a missing dataset is never fetched
    from the internet; tests/data/test_download*.py serve their files from 127.0.0.1."""
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path_factory.getbasetemp() / "tfds-empty"))
    monkeypatch.setenv("JAXML_OFFLINE", "1")
    monkeypatch.delenv("JAXML_DATA_MIRROR", raising=False)
    monkeypatch.delenv("JAXML_DATA_SHA256SUMS", raising=False)
