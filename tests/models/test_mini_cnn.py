"""MiniCNN: the flax module computes the coursework's formulas (checked against numpy)."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models.mini_cnn import MiniCNN, mini_cnn_params, mini_cnn_weights


def numpy_forward(w, v, x):
    a1 = x[:, 0] * w[0] + x[:, 1] * w[1]
    a2 = x[:, 1] * w[0] + x[:, 2] * w[1]
    return np.maximum(a1, 0) * v[0] + np.maximum(a2, 0) * v[1]


def test_forward_matches_the_formulas():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    w, v = rng.standard_normal(2).astype(np.float32), rng.standard_normal(2).astype(np.float32)
    out = MiniCNN().apply({"params": mini_cnn_params(w, v)}, x)
    assert out.shape == (64,)
    np.testing.assert_allclose(np.asarray(out), numpy_forward(w, v, x), rtol=1e-5, atol=1e-6)


def test_hand_set_example():
    # x = (1, 2, 3), w = (1, -1): a = (-1, -1) -> both ReLUs off; w = (2, 1): a = (4, 7).
    x = jnp.array([[1.0, 2.0, 3.0]])
    assert float(MiniCNN().apply({"params": mini_cnn_params([1.0, -1.0], [5.0, 5.0])}, x)[0]) == 0.0
    assert float(MiniCNN().apply({"params": mini_cnn_params([2.0, 1.0], [1.0, -1.0])}, x)[0]) == 4.0 - 7.0


def test_init_has_exactly_four_weights_and_roundtrips():
    params = MiniCNN().init(jax.random.PRNGKey(0), jnp.zeros((1, 3)))["params"]
    assert sum(a.size for a in jax.tree_util.tree_leaves(params)) == 4
    w, v = mini_cnn_weights(params)
    rebuilt = mini_cnn_params(w, v)
    assert jax.tree_util.tree_all(jax.tree_util.tree_map(lambda a, b: bool(jnp.array_equal(a, b)), params, rebuilt))


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"MiniCNN expects inputs of shape \(N, 3\)"):
        MiniCNN().init(jax.random.PRNGKey(0), jnp.zeros((2, 4)))
    with pytest.raises(ValueError, match="w and v must have shape"):
        mini_cnn_params([1.0, 2.0, 3.0], [1.0, 2.0])
