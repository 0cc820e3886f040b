"""Toy 2-D problems: shapes, balance, geometry, determinism, ordering helper, grid."""
from __future__ import annotations

import numpy as np
import pytest

from jaxml.data import toy


def test_xor_points_are_the_truth_table():
    x, y = toy.xor_points()
    assert x.dtype == np.float32 and y.dtype == np.int32
    np.testing.assert_array_equal(y, np.logical_xor(x[:, 0] > 0.5, x[:, 1] > 0.5).astype(np.int32))


def test_noisy_xor_labels_follow_the_quadrant():
    x, y = toy.xor(2001, noise=0.1, seed=3)
    assert x.shape == (2001, 2) and x.dtype == np.float32 and y.dtype == np.int32
    assert np.sum(y == 0) == 1000 and np.sum(y == 1) == 1001
    # With small noise every point stays in its corner's quadrant: label 1 iff signs differ.
    np.testing.assert_array_equal(y, (np.sign(x[:, 0]) != np.sign(x[:, 1])).astype(np.int32))
    # All four corners are used.
    assert len({(a, b) for a, b in np.sign(x).astype(int)}) == 4


def test_two_blobs_centres_and_spread():
    x, y = toy.two_blobs(20_000, distance=4.0, std=0.5, seed=1)
    np.testing.assert_allclose(x[y == 0].mean(0), [-2.0, 0.0], atol=0.02)
    np.testing.assert_allclose(x[y == 1].mean(0), [2.0, 0.0], atol=0.02)
    np.testing.assert_allclose(x[y == 1].std(0), [0.5, 0.5], atol=0.02)


def test_generators_are_deterministic_and_shuffled():
    a, b = toy.xor(50, seed=7), toy.xor(50, seed=7)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], toy.xor(50, seed=8)[0])
    _, y = toy.two_blobs(100, seed=0)
    assert np.any(np.diff(y) < 0) and np.any(np.diff(y) > 0)  # not sorted by label


def test_sort_by_label_is_stable():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.array([1, 0, 1, 0, 0, 1])
    xs, ys = toy.sort_by_label(x, y)
    np.testing.assert_array_equal(ys, [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(xs[:, 0], [2, 6, 8, 0, 4, 10])


def test_grid_points_layout_matches_contour_convention():
    g0, g1, pts = toy.grid_points((0.0, -1.0), (1.0, 1.0), 5)
    assert pts.shape == (25, 2)
    z = pts[:, 0].reshape(len(g1), len(g0))    # f(p) = p[0] varies along columns
    np.testing.assert_array_equal(z[0], g0)
    np.testing.assert_array_equal(pts[:, 1].reshape(5, 5)[:, 0], g1)


@pytest.mark.parametrize("call, match", [
    (lambda: toy.xor(1), "n must be an integer >= 2"),
    (lambda: toy.xor(10, noise=0), "noise must be > 0"),
    (lambda: toy.two_blobs(10, std=-1), "std must be > 0"),
    (lambda: toy.sort_by_label(np.zeros((3, 2)), np.zeros(4)), r"expected x of shape \(N, ...\)"),
    (lambda: toy.grid_points((1, 0), (0, 1)), "need low < high"),
])
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
