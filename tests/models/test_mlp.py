"""MLP: shapes, parameter count, dropout semantics, input validation (and named activations)."""
import re

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models import count_params
from jaxml.models.activations import activation
from jaxml.models.mlp import MLP


def test_output_and_parameter_shapes():
    model = MLP(hidden_sizes=(16, 12), output_size=3)
    x = jnp.ones((5, 4, 2))  # (N, ...) is flattened to (N, 8)
    params = model.init(jax.random.PRNGKey(0), x)["params"]
    chex.assert_shape(model.apply({"params": params}, x), (5, 3))
    chex.assert_shape([params["hidden_0"]["kernel"], params["hidden_0"]["bias"]], [(8, 16), (16,)])
    chex.assert_shape([params["hidden_1"]["kernel"], params["hidden_1"]["bias"]], [(16, 12), (12,)])
    chex.assert_shape([params["output"]["kernel"], params["output"]["bias"]], [(12, 3), (3,)])
    assert sorted(params) == ["hidden_0", "hidden_1", "output"]


def test_forward_pass_matches_numpy():
    model = MLP(hidden_sizes=(6,), output_size=2, activation="tanh")
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    params = model.init(jax.random.PRNGKey(1), x)["params"]
    p = jax.tree_util.tree_map(np.asarray, params)
    h = np.tanh(x @ p["hidden_0"]["kernel"] + p["hidden_0"]["bias"])
    expected = h @ p["output"]["kernel"] + p["output"]["bias"]
    np.testing.assert_allclose(model.apply({"params": params}, x), expected, rtol=1e-5, atol=1e-6)


def test_parameter_count_784_128_10():
    model = MLP(hidden_sizes=(128,), output_size=10)
    params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28)))["params"]
    by_hand = 784 * 128 + 128 + 128 * 10 + 10
    assert by_hand == 101_770
    assert count_params(params) == by_hand
    assert sum(np.size(leaf) for leaf in jax.tree_util.tree_leaves(params)) == by_hand


def test_count_params_nested_tree():
    tree = {"a": np.zeros((2, 3)), "b": [np.zeros(4), {"c": np.zeros(())}]}
    assert count_params(tree) == 6 + 4 + 1


@pytest.fixture(scope="module")
def dropout_model():
    model = MLP(hidden_sizes=(256,), output_size=4, activation="identity", dropout_rate=0.5)
    x = np.random.default_rng(0).normal(size=(8, 6)).astype(np.float32)
    params = model.init(jax.random.PRNGKey(0), x)["params"]
    return model, params, x


def test_dropout_inactive_in_eval_mode(dropout_model):
    model, params, x = dropout_model
    plain = MLP(hidden_sizes=(256,), output_size=4, activation="identity", dropout_rate=0.0)
    reference = plain.apply({"params": params}, x)
    # train=False: deterministic and equal to the same network without dropout, rng or not.
    np.testing.assert_array_equal(model.apply({"params": params}, x), reference)
    np.testing.assert_array_equal(
        model.apply({"params": params}, x, train=False, rngs={"dropout": jax.random.PRNGKey(3)}), reference)


def test_dropout_active_in_train_mode_is_inverted_dropout(dropout_model):
    model, params, x = dropout_model
    rate = model.dropout_rate
    _, inter = model.apply({"params": params}, x, train=True, rngs={"dropout": jax.random.PRNGKey(7)},
                           capture_intermediates=True)
    pre = np.asarray(inter["intermediates"]["hidden_0"]["__call__"][0])
    post = np.asarray(inter["intermediates"]["Dropout_0"]["__call__"][0])
    kept = post != 0
    # about half the units dropped ...
    assert 0.4 < 1.0 - kept.mean() < 0.6
    # ... and the kept ones scaled by 1 / (1 - rate) (inverted dropout keeps the expectation).
    np.testing.assert_allclose(post[kept], pre[kept] / (1.0 - rate), rtol=1e-6)
    # Different rngs give different masks; the output changes with the rng.
    out1 = model.apply({"params": params}, x, train=True, rngs={"dropout": jax.random.PRNGKey(1)})
    out2 = model.apply({"params": params}, x, train=True, rngs={"dropout": jax.random.PRNGKey(2)})
    assert not np.allclose(out1, out2)


def test_dropout_mean_over_masks_equals_eval_output(dropout_model):
    model, params, x = dropout_model
    keys = jax.random.split(jax.random.PRNGKey(0), 2000)
    outs = jax.vmap(lambda k: model.apply({"params": params}, x, train=True, rngs={"dropout": k}))(keys)
    reference = model.apply({"params": params}, x)
    spread = np.asarray(outs).std(axis=0) / np.sqrt(len(keys))
    assert np.all(np.abs(np.asarray(outs).mean(axis=0) - reference) < 5 * spread + 1e-6)


def test_dropout_in_train_mode_needs_an_rng(dropout_model):
    model, params, x = dropout_model
    with pytest.raises(Exception, match="dropout"):
        model.apply({"params": params}, x, train=True)


@pytest.mark.parametrize("shape", [(8,), ()])
def test_bad_input_rank_raises(shape):
    model = MLP(hidden_sizes=(4,), output_size=2)
    with pytest.raises(ValueError, match=r"rank >= 2.*" + re.escape(str(shape))):
        model.init(jax.random.PRNGKey(0), jnp.zeros(shape))


def test_bad_dropout_rate_raises():
    model = MLP(hidden_sizes=(4,), output_size=2, dropout_rate=1.0)
    with pytest.raises(ValueError, match="dropout_rate"):
        model.init(jax.random.PRNGKey(0), jnp.zeros((2, 3)))


def test_named_kernel_initializer_is_used():
    model = MLP(hidden_sizes=(400,), output_size=300, kernel_init="normal", init_std=0.1)
    params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 500)))["params"]
    assert abs(float(np.std(params["hidden_0"]["kernel"])) - 0.1) < 0.002
    assert abs(float(np.std(params["output"]["kernel"])) - 0.1) < 0.002
    np.testing.assert_array_equal(params["hidden_0"]["bias"], 0.0)
    with pytest.raises(ValueError, match="std"):
        MLP(hidden_sizes=(4,), output_size=2, kernel_init="normal").init(jax.random.PRNGKey(0), jnp.zeros((1, 3)))


def test_output_activation():
    model = MLP(hidden_sizes=(4,), output_size=3, output_activation="sigmoid")
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    params = model.init(jax.random.PRNGKey(0), x)
    logits = MLP(hidden_sizes=(4,), output_size=3).apply(params, x)
    np.testing.assert_allclose(model.apply(params, x), 1 / (1 + np.exp(-np.asarray(logits))), rtol=1e-5)


def test_activations_by_name():
    z = jnp.array([-2.0, -0.5, 0.0, 1.5])
    np.testing.assert_allclose(activation("relu")(z), [0, 0, 0, 1.5])
    np.testing.assert_allclose(activation("ReLU")(z), [0, 0, 0, 1.5])
    np.testing.assert_allclose(activation("leaky_relu")(z), [-0.02, -0.005, 0, 1.5], rtol=1e-6)
    np.testing.assert_allclose(activation("leaky_relu", negative_slope=0.2)(z), [-0.4, -0.1, 0, 1.5], rtol=1e-6)
    np.testing.assert_allclose(activation("identity")(z), z)
    np.testing.assert_allclose(activation("tanh")(z), np.tanh(z), rtol=1e-6)
    with pytest.raises(ValueError, match="unknown activation 'relux'.*'relu'"):
        activation("relux")
