"""The tensorflow_datasets fallback, used when the local files are missing.

Two levels: ``tfds.testing.mock_data`` drives the real ``tfds.data_source`` call (in
tfds 4.9.10 it patches ``DatasetBuilder.as_data_source`` to serve random examples with
the dataset's real feature spec, no files and no TensorFlow needed), and a fake data
source checks the adapter's exact output.
"""
import numpy as np
import pytest

from jaxml.data import ImageDataset, SequenceDataset, load, sources

tfds = pytest.importorskip("tensorflow_datasets")


@pytest.mark.parametrize("name,shape", [
    ("mnist", (28, 28, 1)), ("fashion_mnist", (28, 28, 1)), ("cifar10", (32, 32, 3)),
])
def test_images_via_tfds_mock_data(tmp_path, name, shape):
    with tfds.testing.mock_data(num_examples=6):
        ds = load(name, "test", data_dir=tmp_path)
    assert isinstance(ds, ImageDataset)
    assert ds.x.shape == (6, *shape) and ds.x.dtype == np.uint8
    assert ds.y.shape == (6,) and ds.y.dtype == np.int32
    assert np.all((ds.y >= 0) & (ds.y < 10))
    assert len(ds.class_names) == 10


def test_imdb_via_tfds_mock_data(tmp_path):
    with tfds.testing.mock_data(num_examples=5):
        ds = load("imdb", "test", data_dir=tmp_path, maxlen=12)
    assert isinstance(ds, SequenceDataset)
    assert ds.x.shape == (5, 12) and ds.x.dtype == np.int32
    assert set(ds.y.tolist()) <= {0, 1}


def test_local_files_win_over_tfds(mnist_root, monkeypatch):
    def boom(*args):
        raise AssertionError("tfds must not be consulted when local files exist")

    monkeypatch.setattr(sources, "tfds_source", boom)
    assert len(load("mnist", "train", data_dir=mnist_root.root)) == 50


class FakeSource:
    """Stands in for tfds' ArrayRecordDataSource: len() and integer indexing."""

    def __init__(self, examples):
        self.examples = examples

    def __len__(self):
        return len(self.examples)

    def __getitem__(self, i):
        return self.examples[i]


def test_adapter_exact_values(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 28, 28, 1), dtype=np.uint8)
    calls = []

    def fake(name, split, directory):
        calls.append((name, split, directory))
        return FakeSource([{"image": images[i], "label": np.int64(i + 4)} for i in range(3)])

    monkeypatch.setattr(sources, "tfds_source", fake)
    ds = load("fashion_mnist", "train", data_dir=tmp_path, tfds_data_dir=tmp_path / "tf")
    np.testing.assert_array_equal(ds.x, images)
    np.testing.assert_array_equal(ds.y, [4, 5, 6])
    assert ds.class_names[4] == "Coat"
    assert calls == [("fashion_mnist", "train", tmp_path / "tf")]


def test_adapter_imdb_uses_training_ranks(tmp_path, monkeypatch):
    texts = {
        "train": [(b"good good film", 1), (b"bad film", 0)],
        "test": [(b"good bad ugly", 1)],
    }

    def fake(name, split, directory):
        assert name == "imdb_reviews"
        return FakeSource([{"text": t, "label": np.int64(lab)} for t, lab in texts[split]])

    monkeypatch.setattr(sources, "tfds_source", fake)
    ds = load("imdb", "test", data_dir=tmp_path, num_words=None)
    # ranks from train: good 1, film 2, bad 3 -> ids 4, 5, 6; "ugly" unseen -> 2
    assert [r.tolist() for r in ds.x] == [[1, 4, 6, 2]]
    np.testing.assert_array_equal(ds.y, [1])
