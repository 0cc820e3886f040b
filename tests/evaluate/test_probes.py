"""Probes (dead units, layer outputs) and fit's probes / step_log / shuffle options."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.evaluate.probes import dead_relu_fraction, dead_unit_fraction, layer_outputs
from jaxml.models.mlp import MLP
from jaxml.train import create_state, fit, get_loss, make_optimizer


def test_dead_unit_fraction_matches_numpy():
    rng = np.random.default_rng(0)
    pre = rng.standard_normal((50, 8)).astype(np.float32)
    pre[:, [1, 5]] = -np.abs(pre[:, [1, 5]])   # dead
    pre[:, 6] = 0.0                             # exactly zero everywhere: dead too (ReLU'(0) = 0)
    pre[3, 2] = abs(pre[3, 2]) + 1e-3 if np.all(pre[:, 2] <= 0) else pre[3, 2]
    expected = np.mean(np.all(pre <= 0, axis=0))
    assert float(dead_unit_fraction(pre)) == pytest.approx(expected)
    assert float(dead_unit_fraction(pre)) == pytest.approx(3 / 8)
    with pytest.raises(ValueError, match=r"shape \(N, ..., H\)"):
        dead_unit_fraction(np.zeros(5))


@pytest.fixture(scope="module")
def mlp_state():
    model = MLP(hidden_sizes=(3, 2), output_size=2)
    tx = make_optimizer({"name": "sgd", "learning_rate": 0.1})
    state = jax.jit(lambda k: create_state(model, tx, k, jnp.zeros((1, 2))))(jax.random.PRNGKey(0))
    return model, state


def test_layer_outputs_are_the_pre_activations(mlp_state):
    _, state = mlp_state
    x = jnp.asarray(np.random.default_rng(1).standard_normal((7, 2)), jnp.float32)
    outs = layer_outputs(state, state.params, x)
    assert list(outs) == ["hidden_0", "hidden_1"]
    p = jax.tree_util.tree_map(np.asarray, state.params)
    h0 = np.asarray(x) @ p["hidden_0"]["kernel"] + p["hidden_0"]["bias"]
    h1 = np.maximum(h0, 0) @ p["hidden_1"]["kernel"] + p["hidden_1"]["bias"]
    np.testing.assert_allclose(np.asarray(outs["hidden_0"]), h0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(outs["hidden_1"]), h1, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="no submodule named 'conv_'"):
        layer_outputs(state, state.params, x, prefix="conv_")


def test_dead_relu_fraction_hand_set_and_zero_init(mlp_state):
    _, state = mlp_state
    x = jnp.asarray(np.random.default_rng(2).uniform(0.1, 1.0, (20, 2)), jnp.float32)   # positive inputs
    params = jax.tree_util.tree_map(jnp.zeros_like, state.params)
    assert float(dead_relu_fraction(state.replace(params=params), x)) == 1.0   # all-zero weights: all dead
    # hidden_0: unit 0 alive (+x1), unit 1 dead (-x1 - x2), unit 2 alive (bias 1); hidden_1: unit 0 dead (bias -1).
    params["hidden_0"]["kernel"] = jnp.array([[1.0, -1.0, 0.0], [0.0, -1.0, 0.0]])
    params["hidden_0"]["bias"] = jnp.array([0.0, 0.0, 1.0])
    params["hidden_1"]["kernel"] = jnp.zeros((3, 2)).at[0, 1].set(1.0)
    params["hidden_1"]["bias"] = jnp.array([-1.0, 0.0])
    assert float(dead_relu_fraction(state.replace(params=params), x)) == pytest.approx(2 / 5)


def test_fit_probes_step_log_and_unshuffled_order():
    """With a learning rate far below float32 resolution the weights never change, so the
    per-step losses of batch-1 SGD are the per-example losses in the order visited."""
    rng = np.random.default_rng(3)
    data = {"x": rng.standard_normal((6, 2)).astype(np.float32), "y": np.array([0, 1, 1, 0, 1, 0], np.int32)}
    model = MLP(hidden_sizes=(4,), output_size=2)
    tx = make_optimizer({"name": "sgd", "learning_rate": 1e-30})
    state = jax.jit(lambda k: create_state(model, tx, k, data["x"][:1]))(jax.random.PRNGKey(1))
    per_example = np.asarray(jax.jit(
        lambda p: get_loss("cross_entropy")(model.apply({"params": p}, data["x"]), data["y"])[0])(state.params))
    x_dev = jnp.asarray(data["x"])
    probes = {"dead_fraction": lambda s: dead_relu_fraction(s, x_dev),
              "w_sum": lambda s: s.params["output"]["kernel"].sum()}
    res = fit(state, data, key=jax.random.PRNGKey(0), epochs=2, batch_size=1, shuffle=False, step_log=True,
              probes=probes, progress=False)
    assert res.step_loss.shape == (1, 2, 6)
    np.testing.assert_allclose(res.step_loss[0, 0], per_example, rtol=1e-5)
    np.testing.assert_allclose(res.step_loss[0, 1], per_example, rtol=1e-5)
    expected_dead = float(dead_relu_fraction(state, x_dev))
    assert [h["dead_fraction"] for h in res.history] == pytest.approx([expected_dead] * 2)
    assert res.history[0]["w_sum"] == pytest.approx(float(state.params["output"]["kernel"].sum()))
    # Shuffled: the same losses, visited in another order (and a different one each epoch).
    shuffled = fit(state, data, key=jax.random.PRNGKey(0), epochs=2, batch_size=1, step_log=True, progress=False)
    np.testing.assert_allclose(np.sort(shuffled.step_loss[0, 0]), np.sort(per_example), rtol=1e-5)
    assert not np.allclose(shuffled.step_loss[0, 0], per_example)


def test_probe_names_may_not_clash_with_metrics(mlp_state):
    data = {"x": np.zeros((4, 2), np.float32), "y": np.zeros(4, np.int32)}
    with pytest.raises(ValueError, match="probe name 'val_loss' clashes"):
        fit(mlp_state[1], data, key=jax.random.PRNGKey(0), epochs=1, batch_size=2, eval_sets={"val": data},
            probes={"val_loss": lambda s: 0.0}, progress=False)
