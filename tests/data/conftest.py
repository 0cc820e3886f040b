"""Fixtures for jaxml.data tests: tiny datasets written in their upstream formats."""
from __future__ import annotations

import gzip
import io
import os
import pickle
import tarfile
import types
from pathlib import Path

import numpy as np
import pytest

REAL_DATA = os.environ.get("JAXML_DATA_DIR", "").strip()


# --------------------------------------------------------------------------- writers


def write_idx(path: Path, arr: np.ndarray, *, truncate_by: int = 0) -> Path:
    """Write ``arr`` as an IDX file (gzipped if ``path`` ends with .gz)."""
    codes = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype("i2"): 0x0B,
             np.dtype("i4"): 0x0C, np.dtype("f4"): 0x0D, np.dtype("f8"): 0x0E}
    arr = np.asarray(arr)
    header = bytes([0, 0, codes[arr.dtype], arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes()
    raw = header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    if truncate_by:
        raw = raw[:-truncate_by]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)
    return path


def make_mnist_like(root: Path, name: str, n_train: int, n_test: int, *, gz: bool = True, seed: int = 0):
    """Random MNIST-like IDX files under root/name; returns {split: (images, labels)}."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = (np.arange(n) % 10).astype(np.uint8)
        rng.shuffle(y)
        ext = ".gz" if gz else ""
        write_idx(root / name / f"{prefix}-images-idx3-ubyte{ext}", x)
        write_idx(root / name / f"{prefix}-labels-idx1-ubyte{ext}", y)
        out[split] = (x, y)
    return out


def cifar_batch(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {
        b"batch_label": b"fake batch",
        b"labels": [int(v) for v in rng.integers(0, 10, n)],
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        b"filenames": [b"img%d.png" % i for i in range(n)],
    }


CIFAR_META = {b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer",
                               b"dog", b"frog", b"horse", b"ship", b"truck"],
              b"num_cases_per_batch": 4, b"num_vis": 3072}


def cifar_files(per_batch: int = 4) -> dict[str, bytes]:
    """The seven CIFAR-10 python-version files (pickle protocol 2, bytes keys), tiny."""
    files = {f"data_batch_{i}": pickle.dumps(cifar_batch(per_batch, i), protocol=2)
             for i in range(1, 6)}
    files["test_batch"] = pickle.dumps(cifar_batch(per_batch, 99), protocol=2)
    files["batches.meta"] = pickle.dumps(CIFAR_META, protocol=2)
    return files


def write_cifar_folder(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)


def write_cifar_tar(path: Path, files: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


# The three-review aclImdb corpus of test_imdb.py (checked there by hand).
ACL_REVIEWS = {
    ("train", "pos", "0_9.txt"): "Great movie, great acting.<br /><br />Loved it!",
    ("train", "pos", "1_8.txt"): "Great fun; 10 out of 10. Don't miss it",
    ("train", "neg", "0_2.txt"): "Boring movie. I didn't like it",
    ("test", "pos", "0_10.txt"): "Great acting and a great 'story'",
    ("test", "neg", "0_1.txt"): "Awful MOVIE!",
}


def write_acl(root: Path, reviews: dict = ACL_REVIEWS) -> Path:
    acl = root / "imdb" / "aclImdb"
    for s in ("train", "test"):
        for lab in ("pos", "neg"):
            (acl / s / lab).mkdir(parents=True, exist_ok=True)
    for (s, lab, fname), text in reviews.items():
        (acl / s / lab / fname).write_text(text, encoding="utf-8")
    return acl


@pytest.fixture
def writers():
    """The upstream-format writers above, for tests that build their own files."""
    return types.SimpleNamespace(
        write_idx=write_idx,
        make_mnist_like=make_mnist_like,
        cifar_files=cifar_files,
        write_cifar_folder=write_cifar_folder,
        write_cifar_tar=write_cifar_tar,
        write_acl=write_acl,
        acl_reviews=ACL_REVIEWS,
    )


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory):
    """A data dir with small mnist (50/20) and fashion_mnist (40/30, plain IDX) sets."""
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


def real_data_dir(name_or_path: str) -> Path:
    """``$JAXML_DATA_DIR/<name_or_path>``, or skip the test with a reason when absent."""
    if not REAL_DATA:
        pytest.skip("JAXML_DATA_DIR is not set; real-data test skipped")
    path = Path(REAL_DATA).expanduser() / name_or_path
    if not path.exists():
        pytest.skip(f"{path} is absent; real-data test skipped")
    return Path(REAL_DATA).expanduser()


@pytest.fixture
def real_root():
    return real_data_dir
