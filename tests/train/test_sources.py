"""Streaming batches (StreamSource) give the same training as device-resident arrays for the same
data and order: on memory-mapped IDX files and on a tfds data source; they resume like any run."""
import jax
import numpy as np
import pytest

from jaxml.data.idx import read_idx
from jaxml.data.random_access import idx_records
from jaxml.models.mlp import MLP
from jaxml.testing.fake_files import write_idx
from jaxml.train import ArraySource, StreamSource, fit, make_runs

N, BATCH, EPOCHS = 50, 16, 2
MODEL = MLP(hidden_sizes=(8,), output_size=10)


def to_xy(batch):
    """Host transform: records {"image", "label"} -> {"x": (B, 784) float32 in [0, 1], "y": int32}."""
    return {"x": batch["image"].reshape(len(batch["image"]), -1).astype(np.float32) / 255.0,
            "y": batch["label"].astype(np.int32)}


@pytest.fixture(scope="module")
def idx_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("idx")
    rng = np.random.default_rng(0)
    (root / "mnist").mkdir()
    for prefix, n in (("train", N), ("t10k", 10)):
        write_idx(root / "mnist" / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(root / "mnist" / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
    return root


@pytest.fixture(scope="module")
def runs():
    return make_runs(MODEL, __import__("optax").sgd(0.1), np.zeros((1, 784), np.float32), seeds=[0, 1])


def assert_same_training(a, b):
    np.testing.assert_array_equal(a.curve("train_loss"), b.curve("train_loss"))
    for x, y in zip(jax.tree_util.tree_leaves(a.state.params), jax.tree_util.tree_leaves(b.state.params)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_stream_of_memory_mapped_idx_equals_in_memory_arrays(idx_dir, runs, tmp_path):
    records = idx_records("mnist", "train", data_dir=idx_dir, cache_dir=tmp_path / "cache")
    assert len(records) == N and isinstance(records.images, np.memmap)
    images = read_idx(idx_dir / "mnist" / "train-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(records[7]["image"][..., 0], images[7])
    in_memory = to_xy({"image": images, "label": read_idx(idx_dir / "mnist" / "train-labels-idx1-ubyte.gz")})
    kw = dict(epochs=EPOCHS, progress=False)
    dense = fit(runs, ArraySource(in_memory, BATCH), **kw)
    streamed = fit(runs, StreamSource(records, BATCH, transform=to_xy, prefetch=3), **kw)
    assert_same_training(dense, streamed)
    # Resumed from a checkpoint after epoch 1: the same as the uninterrupted stream.
    fit(runs, StreamSource(records, BATCH, transform=to_xy), epochs=1, workdir=tmp_path / "w", progress=False)
    resumed = fit(runs, StreamSource(records, BATCH, transform=to_xy), workdir=tmp_path / "w", **kw)
    assert resumed.resumed_from == 1
    assert_same_training(dense, resumed)


def test_stream_of_a_tfds_data_source_equals_in_memory(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=N):
        source = tfds.data_source("mnist", split="train", data_dir=str(tmp_path), download=False)
        arrays = to_xy({k: np.stack([np.asarray(source[i][k]) for i in range(N)]) for k in ("image", "label")})
        state_runs = make_runs(MODEL, __import__("optax").sgd(0.1), arrays["x"][:1], seeds=[3])
        dense = fit(state_runs, arrays, batch_size=BATCH, epochs=EPOCHS, progress=False)
        streamed = fit(state_runs, StreamSource(source, BATCH, transform=to_xy), epochs=EPOCHS, progress=False)
    assert_same_training(dense, streamed)


def test_bad_stream_inputs_are_named(runs):
    with pytest.raises(ValueError, match="needs random access"):
        StreamSource(iter([1, 2]), 4)
    bad = StreamSource({"x": np.zeros((8, 784), np.float32), "y": np.zeros(8, np.int32)}, 4,
                       transform=lambda b: {"x": b["x"][:2], "y": b["y"]})
    with pytest.raises(ValueError, match=r"every field of a batch needs 4 rows"):
        fit(runs, bad, epochs=1, progress=False)
    with pytest.raises(ValueError, match="reserved for the padding mask"):
        ArraySource({"x": np.zeros(3), "mask": np.zeros(3)}, 2)
