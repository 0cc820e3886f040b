"""to_grayscale: ITU-R BT.601 luma, checked against PIL's convert("L") and by hand."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from jaxml.data.color import to_grayscale


def test_matches_pil_luma_on_random_images():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    gray = to_grayscale(x)
    assert gray.shape == (3, 8, 8, 1) and gray.dtype == np.uint8
    pil = np.stack([np.asarray(Image.fromarray(img, "RGB").convert("L")) for img in x])[..., None]
    # PIL uses fixed-point arithmetic; rounding may differ by one grey level.
    assert np.abs(gray.astype(int) - pil.astype(int)).max() <= 1
    assert np.mean(gray == pil) > 0.9


def test_hand_computed_values_and_float_input():
    x = np.array([[[[255, 0, 0], [0, 255, 0], [0, 0, 255], [100, 100, 100]]]], np.uint8)
    np.testing.assert_array_equal(to_grayscale(x)[0, 0, :, 0], [76, 150, 29, 100])  # 76.245, 149.685, 29.07
    xf = x.astype(np.float32) / 255
    out = to_grayscale(xf)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0, 0, :, 0], [0.299, 0.587, 0.114, 100 / 255], rtol=1e-6)


def test_jax_arrays_and_jit():
    x = jnp.asarray(np.random.default_rng(1).integers(0, 256, (2, 4, 4, 3), dtype=np.uint8))
    out = jax.jit(to_grayscale)(x)
    assert isinstance(out, jax.Array) and out.shape == (2, 4, 4, 1)
    np.testing.assert_array_equal(np.asarray(out), to_grayscale(np.asarray(x)))


def test_grayscale_input_passes_through_and_bad_input_is_named():
    g = np.zeros((1, 2, 2, 1), np.uint8)
    assert to_grayscale(g) is g
    with pytest.raises(ValueError, match=r"expected images of shape \(N, H, W, 3\)"):
        to_grayscale(np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(ValueError, match="expected uint8 or floating"):
        to_grayscale(np.zeros((1, 2, 2, 3), np.int32))
