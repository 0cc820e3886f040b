"""MNIST-like IDX reader on small files written by the tests."""
import gzip

import numpy as np
import pytest

from jaxml.data import CorruptDataError, DataError, ImageDataset, load
from jaxml.data.idx import FASHION_MNIST_CLASSES, read_idx
from jaxml.testing import fake_files as writers


def test_mnist_gzipped_train_and_test(mnist_root):
    for split in ("train", "test"):
        ds = load("mnist", split, data_dir=mnist_root.root)
        x, y = mnist_root.arrays["mnist"][split]
        assert isinstance(ds, ImageDataset)
        assert ds.x.dtype == np.uint8 and ds.x.shape == (len(x), 28, 28, 1)
        assert ds.y.dtype == np.int32 and ds.y.shape == (len(x),)
        np.testing.assert_array_equal(ds.x[..., 0], x)
        np.testing.assert_array_equal(ds.y, y)
        assert len(ds) == len(x)
        assert ds.class_names == tuple("0123456789")


def test_fashion_mnist_plain_idx_and_class_names(mnist_root):
    ds = load("fashion_mnist", "test", data_dir=mnist_root.root)
    x, y = mnist_root.arrays["fashion_mnist"]["test"]
    np.testing.assert_array_equal(ds.x[..., 0], x)
    np.testing.assert_array_equal(ds.y, y)
    assert ds.class_names == FASHION_MNIST_CLASSES
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"


def test_data_dir_from_environment(mnist_root, monkeypatch):
    monkeypatch.setenv("JAXML_DATA_DIR", str(mnist_root.root))
    assert len(load("mnist", "test")) == 20


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
def test_read_idx_dtypes_roundtrip(tmp_path, dtype):
    offset = 0 if dtype == "u1" else 5  # negative values where the type has them
    arr = (np.arange(24).reshape(2, 3, 4) - offset).astype(dtype)
    path = writers.write_idx(tmp_path / "a-idx3.gz", arr)
    got = read_idx(path)
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, arr)


def test_truncated_idx_names_file_and_byte_counts(tmp_path):
    root = tmp_path
    writers.make_mnist_like(root, "mnist", 5, 3)
    images = root / "mnist" / "train-images-idx3-ubyte.gz"
    x = np.zeros((5, 28, 28), np.uint8)
    writers.write_idx(images, x, truncate_by=100)
    with pytest.raises(CorruptDataError) as info:
        load("mnist", "train", data_dir=root)
    msg = str(info.value)
    expected = 16 + 5 * 28 * 28
    assert "train-images-idx3-ubyte.gz" in msg
    assert str(expected) in msg and str(expected - 100) in msg
    assert "truncated" in msg
    assert isinstance(info.value, ValueError) and isinstance(info.value, DataError)


def test_bad_magic_number(tmp_path):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(b"\x1f\x8b\x08\x01" + b"\x00" * 10)
    with pytest.raises(CorruptDataError, match=r"bad IDX magic number 0x1f8b0801"):
        read_idx(path)


def test_cut_gzip_stream_is_corrupt(tmp_path):
    path = writers.write_idx(tmp_path / "x-idx1-ubyte.gz", np.arange(200, dtype=np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptDataError, match="gzip"):
        read_idx(path)


def test_label_count_mismatch_is_corrupt(tmp_path):
    writers.make_mnist_like(tmp_path, "mnist", 6, 3)
    writers.write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(CorruptDataError, match="3 images .* 4 labels"):
        load("mnist", "test", data_dir=tmp_path)


def test_gz_preferred_but_plain_accepted_per_file(tmp_path):
    arrays = writers.make_mnist_like(tmp_path, "mnist", 4, 2, gz=False)
    # Replace one plain file by its gzipped version only: mixed folders still load.
    plain = tmp_path / "mnist" / "t10k-images-idx3-ubyte"
    with gzip.open(str(plain) + ".gz", "wb") as f:
        f.write(plain.read_bytes())
    plain.unlink()
    ds = load("mnist", "test", data_dir=tmp_path)
    np.testing.assert_array_equal(ds.x[..., 0], arrays["test"][0])
