"""scikit-learn bundled sets: shapes, values and the seeded train/test split."""
import numpy as np
import pytest

from jaxml.data import TabularDataset, load

sklearn_datasets = pytest.importorskip("sklearn.datasets")

SETS = {
    "digits": ("load_digits", 1797, 64, 10),
    "iris": ("load_iris", 150, 4, 3),
    "wine": ("load_wine", 178, 13, 3),
    "breast_cancer": ("load_breast_cancer", 569, 30, 2),
}


@pytest.mark.parametrize("name", sorted(SETS))
def test_all_split_matches_sklearn(name):
    loader, n, d, k = SETS[name]
    ref = getattr(sklearn_datasets, loader)()
    ds = load(name, "all")
    assert isinstance(ds, TabularDataset)
    assert ds.x.shape == (n, d) and ds.x.dtype == np.float32
    assert ds.y.shape == (n,) and ds.y.dtype == np.int32
    np.testing.assert_allclose(ds.x, ref.data.astype(np.float32))
    np.testing.assert_array_equal(ds.y, ref.target)
    assert len(ds.feature_names) == d and len(ds.class_names) == k


def test_train_test_partition_is_seeded():
    full = load("iris", "all")
    train = load("iris", "train")
    test = load("iris", "test")
    assert len(test) == 38 and len(train) == 112  # ceil(0.25 * 150) test rows
    rows = {tuple(r) for r in full.x.tolist()}
    assert {tuple(r) for r in np.concatenate([train.x, test.x]).tolist()} == rows
    again = load("iris", "test")
    np.testing.assert_array_equal(again.x, test.x)
    other = load("iris", "test", seed=1)
    assert not np.array_equal(other.x, test.x)
    assert len(load("iris", "test", test_fraction=0.1)) == 15
    with pytest.raises(ValueError, match="test_fraction"):
        load("iris", "train", test_fraction=1.5)
