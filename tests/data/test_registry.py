"""Registry: errors and their messages, catalog, the CLI, import hygiene."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import jaxml.data as jd
from jaxml.data import (
    DataError,
    DatasetNotFoundError,
    InvalidSplitError,
    UnknownDatasetError,
    catalog,
    data_dir,
    load,
    sources,
)

REPO = Path(__file__).resolve().parents[2]


def test_public_api_names():
    for name in ["load", "catalog", "DataError", "DatasetNotFoundError", "CorruptDataError",
                 "UnknownDatasetError", "InvalidSplitError", "ImageDataset", "TextDataset",
                 "WordStream", "SequenceDataset", "TabularDataset", "train_val_test",
                 "build_vocab", "trigram_windows", "data_dir", "transforms"]:
        assert hasattr(jd, name), name
    for name in ["scale_to_unit", "standardise", "one_hot", "from_one_hot", "translate",
                 "rotate90", "random_crop", "random_flip", "flatten"]:
        assert callable(getattr(jd.transforms, name)), name


def test_data_dir_env_and_default(monkeypatch, tmp_path):
    monkeypatch.setenv("JAXML_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path
    monkeypatch.delenv("JAXML_DATA_DIR")
    assert data_dir() == Path.home() / ".cache" / "jaxml" / "data"


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_missing_mnist_like_message(tmp_path, name):
    with pytest.raises(DatasetNotFoundError) as info:
        load(name, "train", data_dir=tmp_path)
    err = info.value
    msg = str(err)
    assert isinstance(err, FileNotFoundError) and isinstance(err, DataError)
    assert repr(name) in msg
    assert str(tmp_path / name) in msg
    for f in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]:
        assert f in msg
    assert "JAXML_DATA_DIR" in msg and "https://" in msg
    assert "tensorflow_datasets" in msg  # the fallback was tried and is reported


@pytest.mark.parametrize("name,files", [
    ("cifar10", ["data_batch_1", "test_batch", "batches.meta", "cifar-10-python.tar.gz"]),
    ("imdb", ["imdb.npz", "aclImdb"]),
    ("shakespeare", ["complete_works.txt", "tiny_shakespeare/input.txt"]),
    ("kjv", ["kjv.txt"]),
    ("austen", ["austen.txt"]),
])
def test_missing_other_datasets_message(tmp_path, name, files):
    with pytest.raises(DatasetNotFoundError) as info:
        load(name, "train", data_dir=tmp_path)
    msg = str(info.value)
    assert repr(name) in msg and str(tmp_path) in msg and "JAXML_DATA_DIR" in msg
    assert "http" in msg
    for f in files:
        assert f in msg


def test_missing_without_tfds_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "tfds_importable", lambda: False)
    with pytest.raises(DatasetNotFoundError, match="tensorflow_datasets is not installed"):
        load("mnist", "test", data_dir=tmp_path)


def test_unknown_dataset_lists_names():
    with pytest.raises(UnknownDatasetError) as info:
        load("fashion-mnist")
    msg = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "'fashion-mnist'" in msg and "Did you mean 'fashion_mnist'" in msg
    for known in ["mnist", "cifar10", "imdb", "shakespeare", "kjv", "austen", "iris"]:
        assert known in msg
    with pytest.raises(UnknownDatasetError, match="Known datasets"):
        load("zzzz")


def test_invalid_split_message(mnist_root):
    with pytest.raises(InvalidSplitError) as info:
        load("mnist", "validation", data_dir=mnist_root.root)
    msg = str(info.value)
    assert "'mnist'" in msg and "'validation'" in msg and "'train', 'test'" in msg
    assert isinstance(info.value, ValueError)


def test_unknown_option_is_type_error(mnist_root):
    with pytest.raises(TypeError, match="maxlen.*accepts: tfds_data_dir"):
        load("mnist", "train", data_dir=mnist_root.root, maxlen=3)


def test_catalog_entries(mnist_root):
    rows = catalog(mnist_root.root)
    by_name = {r["name"]: r for r in rows}
    assert set(by_name) == {"mnist", "fashion_mnist", "cifar10", "imdb", "shakespeare", "kjv",
                            "austen", "digits", "iris", "wine", "breast_cancer"}
    for r in rows:
        assert {"name", "description", "shapes", "source", "files", "available", "splits"} <= set(r)
    assert by_name["mnist"]["available"] and by_name["fashion_mnist"]["available"]
    assert not by_name["cifar10"]["available"] and not by_name["kjv"]["available"]
    assert by_name["mnist"]["source"] == str(mnist_root.root / "mnist")
    assert "train-images-idx3-ubyte.gz" in by_name["mnist"]["files"]


def _run(code_or_args, env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, *code_or_args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_import_is_light():
    code = ("import sys, jaxml.data; "
            "heavy = [m for m in ('tensorflow', 'tensorflow_datasets', 'sklearn', 'jax', 'flax') "
            "if m in sys.modules]; print(heavy); assert not heavy, heavy")
    proc = _run(["-c", code])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_cli_prints_table(mnist_root):
    proc = _run(["-m", "jaxml.data"], {"JAXML_DATA_DIR": str(mnist_root.root)})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.startswith("mnist ") and " yes " in line for line in lines)
    assert any(line.startswith("cifar10 ") and " no " in line for line in lines)
    assert str(mnist_root.root) in proc.stdout
