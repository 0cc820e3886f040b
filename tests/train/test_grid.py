"""Grid runs: weight scales and hyperparameters per run, run order, stacking separately made params."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models.mlp import MLP
from jaxml.train import create_state, make_optimizer
from jaxml.train.runs import Runs, init_params, make_runs, runs_from_params, scale_kernels, seed_keys

MODEL = MLP(hidden_sizes=(3,), output_size=2, kernel_init="normal", init_std=1.0, bias_init="normal")
X1 = jnp.zeros((1, 2))


def test_grid_scales_kernels_and_sets_hyperparameters():
    tx = make_optimizer({"name": "momentum", "learning_rate": 1.0, "momentum": 0.5})
    g = make_runs(MODEL, tx, X1, seeds=(0, 1),
                       grid={"weight_scale": (1.0, 2.5), "learning_rate": (0.01, 0.3, 1.0)})
    assert g.num_runs == 12 and g.shape == (2, 3, 2)
    assert g.info[0] == {"weight_scale": 1.0, "learning_rate": 0.01, "seed": 0}
    assert g.info[7] == {"weight_scale": 2.5, "learning_rate": 0.01, "seed": 1}
    lr = np.asarray(g.state.opt_state.hyperparams["learning_rate"])
    np.testing.assert_allclose(g.reshape(lr)[:, :, 0], [[0.01, 0.3, 1.0]] * 2, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(g.state.opt_state.hyperparams["momentum"]), 0.5)
    params = jax.tree_util.tree_map(g.reshape, g.state.params)          # (scale, lr, seed, ...)
    k0, k1 = params["hidden_0"]["kernel"], params["output"]["kernel"]
    # The same seed draws the same weights everywhere in the grid; the scale multiplies the kernels only.
    np.testing.assert_array_equal(k0[0, 0], k0[0, 2])
    np.testing.assert_allclose(k0[1], 2.5 * k0[0], rtol=1e-6)
    np.testing.assert_allclose(k1[1], 2.5 * k1[0], rtol=1e-6)
    np.testing.assert_array_equal(params["hidden_0"]["bias"][1], params["hidden_0"]["bias"][0])
    assert not np.array_equal(k0[0, 0, 0], k0[0, 0, 1])                  # seeds differ
    grouped = g.group(np.arange(12), "learning_rate")
    np.testing.assert_array_equal(grouped[0.3], [2, 3, 8, 9])


def test_grid_errors_are_named():
    tx = make_optimizer({"name": "sgd", "learning_rate": 0.1})
    with pytest.raises(ValueError, match="cannot set hyperparameter 'momentum'"):
        make_runs(MODEL, tx, X1, seeds=(0,), grid={"momentum": (0.1,)})
    with pytest.raises(ValueError, match="grid axis 'learning_rate' has no values"):
        make_runs(MODEL, tx, X1, seeds=(0,), grid={"learning_rate": ()})


def test_scale_kernels_only_touches_kernels():
    params = {"a": {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}}
    out = scale_kernels(params, 3.0)
    np.testing.assert_array_equal(out["a"]["kernel"], 3 * np.ones((2, 2)))
    np.testing.assert_array_equal(out["a"]["bias"], np.ones(2))


def test_init_params_and_runs_from_params():
    zero = MLP(hidden_sizes=(3,), output_size=2, kernel_init="zeros")
    tx = make_optimizer({"name": "sgd", "learning_rate": 0.1})
    p_normal, p_zero = init_params([MODEL, zero], X1, seeds=(4, 5))
    # Same draw as create_state for the same seed.
    ref = jax.jit(lambda k: create_state(MODEL, tx, k, X1).params)(seed_keys(5)[0])
    np.testing.assert_array_equal(p_normal["hidden_0"]["kernel"][1], ref["hidden_0"]["kernel"])
    assert float(jnp.abs(p_zero["hidden_0"]["kernel"]).max()) == 0.0
    info = [{"init": i, "seed": s} for i in ("normal", "zeros") for s in (4, 5)]
    runs = runs_from_params(MODEL, tx, [p_normal, p_zero], info)
    assert runs.num_runs == 4 and runs.seeds == (4, 5)
    np.testing.assert_array_equal(runs.state.params["hidden_0"]["kernel"][3], p_zero["hidden_0"]["kernel"][1])
    np.testing.assert_array_equal(jax.random.key_data(runs.keys[1]), jax.random.key_data(seed_keys(5)[1]))
    assert list(runs.group(np.arange(4), "init")) == ["normal", "zeros"]
    with pytest.raises(ValueError, match="parameters for \\[4\\] runs but 3 info entries"):
        runs_from_params(MODEL, tx, [p_normal, p_zero], info[:3])
    with pytest.raises(ValueError, match="not a grid x seeds"):
        Runs(state=None, keys=None, info=info + info[:2], seeds=(4, 5), axes={}).reshape(np.arange(6))
