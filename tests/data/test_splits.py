"""train_val_test: sizes, disjointness, determinism."""
import numpy as np
import pytest

from jaxml.data import ImageDataset, TabularDataset, train_val_test


def _rows(ds):
    return {r.tobytes() for r in ds.x.reshape(len(ds), -1)}


def test_sizes_disjoint_and_from_the_right_split(mnist_root):
    parts = train_val_test("mnist", 30, 15, 10, seed=0, data_dir=mnist_root.root)
    assert set(parts) == {"train", "validation", "test"}
    assert all(isinstance(p, ImageDataset) for p in parts.values())
    assert [len(parts[k]) for k in ("train", "validation", "test")] == [30, 15, 10]
    train_x, _ = mnist_root.arrays["mnist"]["train"]
    test_x, _ = mnist_root.arrays["mnist"]["test"]
    upstream_train = {r.tobytes() for r in train_x.reshape(len(train_x), -1)}
    upstream_test = {r.tobytes() for r in test_x.reshape(len(test_x), -1)}
    assert _rows(parts["train"]) <= upstream_train and _rows(parts["validation"]) <= upstream_train
    assert not _rows(parts["train"]) & _rows(parts["validation"])
    assert _rows(parts["test"]) <= upstream_test


def test_whole_test_split_and_determinism(mnist_root):
    a = train_val_test("mnist", 20, 10, 20, seed=3, data_dir=mnist_root.root)
    b = train_val_test("mnist", 20, 10, 20, seed=3, data_dir=mnist_root.root)
    c = train_val_test("mnist", 20, 10, 20, seed=4, data_dir=mnist_root.root)
    test_x, test_y = mnist_root.arrays["mnist"]["test"]
    np.testing.assert_array_equal(a["test"].x[..., 0], test_x)  # n_test == size: whole split
    np.testing.assert_array_equal(a["test"].y, test_y)
    for k in ("train", "validation"):
        np.testing.assert_array_equal(a[k].x, b[k].x)
        np.testing.assert_array_equal(a[k].y, b[k].y)
    assert not np.array_equal(a["train"].x, c["train"].x)


def test_test_subset_independent_of_train_sizes(mnist_root):
    a = train_val_test("mnist", 10, 5, 7, seed=0, data_dir=mnist_root.root)
    b = train_val_test("mnist", 25, 2, 7, seed=0, data_dir=mnist_root.root)
    c = train_val_test("mnist", 10, 5, 7, seed=1, data_dir=mnist_root.root)
    np.testing.assert_array_equal(a["test"].x, b["test"].x)
    assert not np.array_equal(a["test"].x, c["test"].x)


def test_sizes_too_large(mnist_root):
    with pytest.raises(ValueError, match=r"40 \+ 11 = 51 exceeds the 50"):
        train_val_test("mnist", 40, 11, 5, data_dir=mnist_root.root)
    with pytest.raises(ValueError, match="n_test = 21 exceeds the 20"):
        train_val_test("mnist", 1, 1, 21, data_dir=mnist_root.root)
    with pytest.raises(ValueError, match="n_val"):
        train_val_test("mnist", 1, -1, 1, data_dir=mnist_root.root)
    with pytest.raises(ValueError, match="image and tabular"):
        train_val_test("kjv", 1, 1, 1)


def test_tabular():
    pytest.importorskip("sklearn")
    parts = train_val_test("iris", 100, 20, 30, seed=0)
    assert all(isinstance(p, TabularDataset) for p in parts.values())
    assert [len(parts[k]) for k in ("train", "validation", "test")] == [100, 20, 30]
    rows = [_rows(parts[k]) for k in ("train", "validation", "test")]
    # iris has duplicate rows, so compare counts of the union instead of strict sets
    assert len(rows[0] | rows[1] | rows[2]) >= 147
    with pytest.raises(ValueError, match="151 exceeds the 150"):
        train_val_test("iris", 100, 20, 31)


def test_unit_arrays_scale_and_flatten():
    import numpy as np

    from jaxml.data import unit_arrays
    from jaxml.data.containers import ImageDataset

    x = np.arange(2 * 2 * 2 * 1, dtype=np.uint8).reshape(2, 2, 2, 1) * 30
    ds = ImageDataset(x=x, y=np.array([0, 1], np.int32), class_names=("a", "b"))
    out = unit_arrays({"train": ds})
    assert out["train"]["x"].dtype == np.float32 and out["train"]["x"].shape == (2, 2, 2, 1)
    np.testing.assert_allclose(out["train"]["x"], x / 255.0, rtol=1e-6)
    assert unit_arrays({"train": ds}, flatten=True)["train"]["x"].shape == (2, 4)
    np.testing.assert_array_equal(out["train"]["y"], [0, 1])


def test_standardised_arrays_use_the_training_statistics_per_channel():
    import numpy as np

    from jaxml.data import IMAGE_DATASETS, standardised_arrays
    from jaxml.data.containers import ImageDataset

    assert set(IMAGE_DATASETS) == {"mnist", "fashion_mnist", "cifar10"}
    rng = np.random.default_rng(0)
    train = ImageDataset(x=rng.integers(0, 256, (6, 4, 4, 3)).astype(np.uint8), y=(np.arange(6) % 2).astype(np.int32),
                         class_names=("a", "b"))
    test = ImageDataset(x=rng.integers(0, 256, (3, 4, 4, 3)).astype(np.uint8), y=(np.arange(3) % 2).astype(np.int32),
                        class_names=("a", "b"))
    out = standardised_arrays({"train": train, "test": test})
    ref = train.x / 255.0
    mean, std = ref.mean(axis=(0, 1, 2)), ref.std(axis=(0, 1, 2)) + 1e-6
    assert out["test"]["x"].dtype == np.float32
    np.testing.assert_allclose(out["train"]["x"].mean(axis=(0, 1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(out["test"]["x"], (test.x / 255.0 - mean) / std, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(out["test"]["y"], test.y)
