"""CIFAR-10 python-version reader: folder, nested folder and .tar.gz."""
import pickle

import numpy as np
import pytest

from jaxml.data import CorruptDataError, ImageDataset, load
from jaxml.testing import fake_files as writers


def _expected(files, names):
    xs, ys = [], []
    for n in names:
        b = pickle.loads(files[n], encoding="bytes")
        xs.append(b[b"data"])
        ys.append(b[b"labels"])
    return np.concatenate(xs), np.concatenate(ys)


@pytest.mark.parametrize("layout", ["flat", "nested", "archive"])
def test_cifar_layouts(tmp_path, layout):
    files = writers.cifar_files(per_batch=4)
    folder = tmp_path / "cifar10"
    if layout == "flat":
        writers.write_cifar_folder(folder, files)
    elif layout == "nested":
        writers.write_cifar_folder(folder / "cifar-10-batches-py", files)
    else:
        writers.write_cifar_tar(folder / "cifar-10-python.tar.gz", files)
        assert [p.name for p in folder.iterdir()] == ["cifar-10-python.tar.gz"]

    train = load("cifar10", "train", data_dir=tmp_path)
    test = load("cifar10", "test", data_dir=tmp_path)
    assert isinstance(train, ImageDataset)
    assert train.x.shape == (20, 32, 32, 3) and train.x.dtype == np.uint8
    assert test.x.shape == (4, 32, 32, 3) and test.y.dtype == np.int32
    assert train.class_names[0] == "airplane" and train.class_names[9] == "truck"

    data, labels = _expected(files, [f"data_batch_{i}" for i in range(1, 6)])
    np.testing.assert_array_equal(train.y, labels)
    # Row layout: 1024 red, 1024 green, 1024 blue values, each 32x32 row-major.
    img = data[7]
    np.testing.assert_array_equal(train.x[7, :, :, 0], img[:1024].reshape(32, 32))
    np.testing.assert_array_equal(train.x[7, :, :, 1], img[1024:2048].reshape(32, 32))
    np.testing.assert_array_equal(train.x[7, 5, 6, 2], img[2048 + 5 * 32 + 6])
    if layout == "archive":  # nothing was extracted to disk
        assert [p.name for p in folder.iterdir()] == ["cifar-10-python.tar.gz"]


def test_cifar_pickles_naming_numpy_core(tmp_path):
    # Upstream batches were pickled by Python 2 / numpy 1, whose globals are
    # ``numpy.core.multiarray._reconstruct``; numpy 2 moved it to ``numpy._core``.
    files = writers.cifar_files(per_batch=3)
    legacy = files["test_batch"].replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert legacy != files["test_batch"]
    files["test_batch"] = legacy
    writers.write_cifar_folder(tmp_path / "cifar10", files)
    expected, labels = _expected(writers.cifar_files(per_batch=3), ["test_batch"])
    ds = load("cifar10", "test", data_dir=tmp_path)
    np.testing.assert_array_equal(ds.x.transpose(0, 3, 1, 2).reshape(3, -1), expected)
    np.testing.assert_array_equal(ds.y, labels)


def test_cifar_class_names_from_meta(tmp_path):
    files = writers.cifar_files(per_batch=2)
    files["batches.meta"] = pickle.dumps({b"label_names": [b"c%d" % i for i in range(10)]}, protocol=2)
    writers.write_cifar_folder(tmp_path / "cifar10", files)
    assert load("cifar10", "test", data_dir=tmp_path).class_names[3] == "c3"


def test_cifar_rejects_pickles_with_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    files = writers.cifar_files(per_batch=2)
    files["test_batch"] = pickle.dumps({b"data": Evil(), b"labels": []}, protocol=2)
    writers.write_cifar_folder(tmp_path / "cifar10", files)
    with pytest.raises(CorruptDataError, match="test_batch.*not allowed"):
        load("cifar10", "test", data_dir=tmp_path)


def test_cifar_bad_shape_is_corrupt(tmp_path):
    files = writers.cifar_files(per_batch=2)
    files["test_batch"] = pickle.dumps(
        {b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, protocol=2
    )
    writers.write_cifar_folder(tmp_path / "cifar10", files)
    with pytest.raises(CorruptDataError, match=r"\(N, 3072\)"):
        load("cifar10", "test", data_dir=tmp_path)
