"""Principles study: a zero-initialised ReLU net cannot learn; XOR by hand; tiny preset end to end."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import principles as study
from jaxml.data import toy
from jaxml.models.mlp import MLP
from jaxml.study.config import ConfigError
from jaxml.train import get_loss


def test_zero_initialised_relu_net_gets_zero_gradients():
    """All kernels and hidden biases get exactly zero gradient, on any data; the output bias
    is the only parameter that can move, and moving it changes the output for every x alike."""
    x, y = toy.xor(37, seed=5)                         # odd size: unbalanced labels
    model = MLP(hidden_sizes=(5, 4), output_size=2, kernel_init="zeros")
    params = jax.jit(model.init)(jax.random.PRNGKey(0), x[:1])["params"]
    params["output"]["bias"] = jnp.array([0.3, -0.2])  # wherever the output bias has moved to

    def mean_loss(p):
        return get_loss("cross_entropy")(model.apply({"params": p}, x), y)[0].mean()

    grads = jax.jit(jax.grad(mean_loss))(params)
    for layer in ("hidden_0", "hidden_1"):
        for name in ("kernel", "bias"):
            assert float(jnp.abs(grads[layer][name]).max()) == 0.0, (layer, name)
    assert float(jnp.abs(grads["output"]["kernel"]).max()) == 0.0
    assert float(jnp.abs(grads["output"]["bias"]).max()) > 0.0
    logits = jax.jit(model.apply)({"params": params}, x)
    assert np.ptp(np.asarray(logits), axis=0).max() == 0.0           # the same output for every x


def test_hand_set_xor_network():
    x, y = toy.xor_points()
    model = MLP(hidden_sizes=(2,), output_size=1)
    out = np.asarray(model.apply({"params": study.xor_hand_params()}, x))[:, 0]
    np.testing.assert_array_equal(out, y.astype(np.float32))


def test_tiny_preset_end_to_end(run_tiny):
    summary, workdir = run_tiny(study)
    init = summary["init"]
    zero_runs = [r for r, info in enumerate(init["runs"]) if info["init"] == "zeros"]
    for r in zero_runs:     # every hidden unit dead from the start to the end; accuracy of a constant
        assert init["dead"][r] == [1.0] * len(init["dead"][r])
        assert init["test_accuracy"][r] == pytest.approx(0.5)
    g = init["zero_init_max_grad"]
    assert g["hidden_0/kernel"] == 0.0 and g["hidden_0/bias"] == 0.0 and g["output/kernel"] == 0.0
    assert g["output/bias"] < 1e-6     # balanced training set: zero up to rounding
    assert summary["xor"]["hand_exact"] is True
    # Zero-initialised sigmoid net: the first layer's weights have moved, but every unit of a layer
    # is still identical to its neighbours; random ReLU units differ.
    sig = init["zero_sigmoid"]
    assert min(sig["hidden_0_kernel_max_abs"]) > 0.0
    assert max(sig["unit_spread"]) <= 1e-6
    assert min(init["unit_spread"][f"ReLU, {study.get_config('tiny').random_init} init"]) > 0.1
    assert set(init["iterations_to_threshold"]) == {"ReLU, zero init", "ReLU, he_normal init", "sigmoid, zero init"}
    assert {"sigmoid", "relu"} <= set(summary["activation"])
    assert {"sorted", "shuffled"} <= set(summary["order"])
    for name in ("results.md", "summary.json", "init/init_loss.png", "init/init_dead_units.png",
                 "activation/boundary_relu.png", "activation/activation_loss.png", "order/order_loss.png",
                 "xor/xor_hand.png", "init/metrics.jsonl"):
        assert (workdir / name).stat().st_size > 0, name


def test_invalid_config_is_named(run_tiny):
    with pytest.raises(ConfigError, match="activations"):
        run_tiny(study, "--config.activations=(relu,swish)")
    with pytest.raises(ConfigError, match="order_batch_size"):
        run_tiny(study, "--config.order_batch_size=0")
