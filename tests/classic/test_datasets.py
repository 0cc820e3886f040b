"""Study data helpers: scaled tabular splits and toy sets."""
import numpy as np
import pytest

from jaxml.classic.datasets import tabular_split, toy_set


def test_tabular_split_scalings_use_train_statistics():
    d = tabular_split("breast_cancer", scaling="standardise", n_train=100, n_test=20)
    (x, y), (xt, _) = d["train"], d["test"]
    assert x.shape == (100, 30) and xt.shape == (20, 30) and x.dtype == np.float32 and y.dtype == np.int32
    np.testing.assert_allclose(x.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(0), 1, atol=1e-4)
    assert d["num_classes"] == 2
    digits = tabular_split("digits", scaling="max")
    assert digits["train"][0].max() == 1.0 and digits["num_classes"] == 10
    raw = tabular_split("digits")
    np.testing.assert_array_equal(raw["train"][0] / 16.0, digits["train"][0])
    with pytest.raises(ValueError, match="scaling must be one of"):
        tabular_split("digits", scaling="minmax")


def test_toy_sets():
    x, y = toy_set("circles", 50, noise=0.0, factor=0.5)
    r = np.linalg.norm(x, axis=1)
    np.testing.assert_allclose(np.sort(np.unique(np.round(r, 4))), [0.5, 1.0])
    assert set(np.unique(y)) == {0, 1} and x.dtype == np.float32
    with pytest.raises(ValueError, match="unknown toy set 'spirals'"):
        toy_set("spirals", 10)
