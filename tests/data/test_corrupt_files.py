"""Damaged data files, for real: truncated, overwritten with random bytes, or with a wrong magic
number, in each upstream format the readers take. Every case is a CorruptDataError naming the file
(never a numpy/gzip/pickle traceback, never a silently short dataset)."""
import gzip
import re

import numpy as np
import pytest

from jaxml.data import CorruptDataError, load
from jaxml.testing import fake_files as writers

RANDOM = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()


def _damage(path, how):
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "random_bytes":
        path.write_bytes(RANDOM)
    elif how == "wrong_magic":
        raw = gzip.decompress(data) if path.suffix == ".gz" else data
        raw = b"\x00\x00\x07\x03" + raw[4:]   # IDX magic: two zero bytes, dtype code 0x07 (not a type), rank
        path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)


def _load_all(name, root):
    for split in ("train", "test"):
        load(name, split, data_dir=root)


@pytest.mark.parametrize("how", ["truncated", "random_bytes", "wrong_magic"])
@pytest.mark.parametrize("gz", [True, False])
def test_mnist_idx_files(tmp_path, how, gz):
    writers.make_mnist_like(tmp_path, "mnist", 6, 4, gz=gz)
    path = next((tmp_path / "mnist").glob("train-images*"))
    _damage(path, how)
    with pytest.raises(CorruptDataError, match=re.escape(str(path))):
        _load_all("mnist", tmp_path)


@pytest.mark.parametrize("how", ["truncated", "random_bytes"])
@pytest.mark.parametrize("layout", ["folder", "tar"])
def test_cifar10_batches(tmp_path, how, layout):
    files = writers.cifar_files(per_batch=2)
    if layout == "folder":
        writers.write_cifar_folder(tmp_path / "cifar10", files)
        path = tmp_path / "cifar10" / "data_batch_3"
    else:
        path = tmp_path / "cifar10" / "cifar-10-python.tar.gz"
        path.parent.mkdir()
        writers.write_cifar_tar(path, files)
    _damage(path, how)
    with pytest.raises(CorruptDataError, match=re.escape(str(path))):
        _load_all("cifar10", tmp_path)


@pytest.mark.parametrize("how", ["truncated", "random_bytes"])
def test_imdb_npz(tmp_path, how):
    path = tmp_path / "imdb" / "imdb.npz"
    path.parent.mkdir()
    seqs = np.empty(3, object)
    seqs[:] = [[1, 5, 9], [1, 7], [1, 4, 4, 2]]
    np.savez(path, x_train=seqs, y_train=np.array([0, 1, 1]), x_test=seqs, y_test=np.array([1, 0, 0]))
    _damage(path, how)
    with pytest.raises(CorruptDataError, match=re.escape(str(path))):
        _load_all("imdb", tmp_path)
