"""jaxml.data.transforms: exact results on hand examples, jit, input checks."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.data import transforms as T


def _images(n=5, h=8, w=7, c=2, seed=0):
    return np.random.default_rng(seed).integers(1, 256, (n, h, w, c), dtype=np.uint8)


def test_scale_to_unit():
    x = np.array([[[[0], [255]], [[51], [102]]]], np.uint8)
    y = T.scale_to_unit(x)
    assert y.dtype == jnp.float32
    np.testing.assert_allclose(y[0, :, :, 0], [[0.0, 1.0], [0.2, 0.4]], rtol=1e-6)
    with pytest.raises(ValueError, match="uint8"):
        T.scale_to_unit(x.astype(np.float32))


def test_standardise_scalar_and_per_channel():
    x = np.arange(2 * 2 * 2 * 3, dtype=np.float32).reshape(2, 2, 2, 3)
    mean = np.array([1.0, 2.0, 3.0], np.float32)
    std = np.array([2.0, 4.0, 0.5], np.float32)
    np.testing.assert_allclose(T.standardise(x, mean, std), (x - mean) / std, rtol=1e-6)
    np.testing.assert_allclose(T.standardise(x, 1.0, 2.0), (x - 1.0) / 2.0, rtol=1e-6)
    with pytest.raises(ValueError, match="trailing axes"):
        T.standardise(x, np.zeros(4), 1.0)


def test_one_hot_roundtrip():
    y = np.array([2, 0, 3, 1], np.int32)
    oh = T.one_hot(y, 4)
    np.testing.assert_array_equal(oh, np.eye(4, dtype=np.float32)[y])
    assert oh.dtype == jnp.float32
    back = T.from_one_hot(oh)
    np.testing.assert_array_equal(back, y)
    assert back.dtype == jnp.int32
    with pytest.raises(ValueError, match="integers"):
        T.one_hot(np.array([0.5]), 3)
    with pytest.raises(ValueError, match="num_classes"):
        T.one_hot(y, 0)


def test_flatten():
    assert T.flatten(np.zeros((4, 3, 2, 1))).shape == (4, 6)
    assert T.flatten(np.zeros((4,))).shape == (4, 1)
    with pytest.raises(ValueError):
        T.flatten(np.float32(1.0))


def test_translate_hand_example_direction():
    img = np.zeros((1, 5, 5), np.uint8)
    img[0, 2, 2] = 9
    up = np.asarray(T.translate(img, -2, 0))
    assert up[0, 0, 2] == 9 and up.sum() == 9  # negative dy moves content UP
    down_right = np.asarray(T.translate(img, 1, 2))
    assert down_right[0, 3, 4] == 9 and down_right.sum() == 9
    assert np.asarray(T.translate(img, 0, -3))[0, 2, 0] == 0  # moved out of the frame
    assert np.asarray(T.translate(img, 0, -3)).sum() == 0


@pytest.mark.parametrize("dy,dx", [(-4, 0), (3, -2), (0, 5), (-1, 1)])
def test_translate_and_back_restores_interior(dy, dx):
    x = _images()
    h, w = x.shape[1:3]
    moved = np.asarray(T.translate(x, dy, dx))
    back = np.asarray(T.translate(moved, -dy, -dx))
    assert moved.shape == x.shape and moved.dtype == x.dtype
    rows = slice(max(-dy, 0), h - max(dy, 0))  # rows whose content stayed in frame
    cols = slice(max(-dx, 0), w - max(dx, 0))
    np.testing.assert_array_equal(back[:, rows, cols], x[:, rows, cols])
    mask = np.ones((h, w), bool)
    mask[rows, cols] = False
    assert np.all(back[:, mask] == 0)  # the lost border comes back as zeros
    # the border the shift opened up is zero fill
    if dy < 0:
        assert np.all(moved[:, h + dy:] == 0)
    if dy > 0:
        assert np.all(moved[:, :dy] == 0)


def test_translate_by_whole_size_is_empty():
    assert np.asarray(T.translate(_images(), -8, 0)).sum() == 0


def test_rotate90_hand_example_and_identity():
    img = np.array([[1, 2, 3], [4, 5, 6]], np.uint8)[None]  # (1, 2, 3)
    rot = np.asarray(T.rotate90(img, 1))
    np.testing.assert_array_equal(rot[0], [[3, 6], [2, 5], [1, 4]])  # counter-clockwise
    np.testing.assert_array_equal(rot[0], np.rot90(img[0]))
    x = _images()
    np.testing.assert_array_equal(
        T.rotate90(T.rotate90(T.rotate90(T.rotate90(x, 1), 1), 1), 1), x)
    np.testing.assert_array_equal(T.rotate90(x, 2), x[:, ::-1, ::-1])
    np.testing.assert_array_equal(T.rotate90(x, -1), T.rotate90(x, 3))
    np.testing.assert_array_equal(T.rotate90(x, 1)[:, :, :, 1], np.rot90(x[:, :, :, 1], 1, axes=(1, 2)))


def test_random_crop():
    x = _images()
    key = jax.random.PRNGKey(0)
    np.testing.assert_array_equal(T.random_crop(key, x, 0), x)
    out = np.asarray(T.random_crop(key, x, 2))
    assert out.shape == x.shape and out.dtype == x.dtype
    np.testing.assert_array_equal(out, np.asarray(T.random_crop(key, x, 2)))
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
    h, w = x.shape[1:3]
    offsets = set()
    for i in range(len(x)):  # each output is some (h, w) window of the padded image
        hits = [(a, b) for a in range(5) for b in range(5)
                if np.array_equal(padded[i, a:a + h, b:b + w], out[i])]
        assert hits
        offsets.add(hits[0])
    assert len(offsets) > 1  # offsets are drawn per image
    with pytest.raises(ValueError, match="padding"):
        T.random_crop(key, x, -1)


def test_random_flip():
    x = _images(n=400, h=3, w=4, c=1)
    key = jax.random.PRNGKey(1)
    out = np.asarray(T.random_flip(key, x))
    np.testing.assert_array_equal(out, np.asarray(T.random_flip(key, x)))
    flipped = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x)])
    kept = np.array([np.array_equal(o, i) for o, i in zip(out, x)])
    assert np.all(flipped | kept)
    assert 150 < flipped.sum() < 250
    other = np.asarray(T.random_flip(jax.random.PRNGKey(2), x))
    assert not np.array_equal(other, out)


def test_jit_and_rank_checks():
    x = _images()
    f = jax.jit(lambda key, x: T.random_flip(key, T.random_crop(key, T.translate(x, -4, 0), 2)))
    assert f(jax.random.PRNGKey(0), x).shape == x.shape
    g = jax.jit(T.rotate90, static_argnums=1)
    np.testing.assert_array_equal(g(x, 1), T.rotate90(x, 1))
    with pytest.raises(ValueError, match=r"\(N, H, W, C\) or \(N, H, W\).*\(8, 7\)"):
        T.translate(x[0, :, :, 0], 1, 0)
    with pytest.raises(ValueError, match="dy must be a Python int"):
        T.translate(x, 1.5, 0)
    with pytest.raises(ValueError, match="rotate90"):
        T.rotate90(np.zeros((2, 2, 2, 2, 2)), 1)
