"""RL heads: Q-network sizes, the logistic policy's probabilities, policy factory errors."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models import count_params
from jaxml.models.rl_heads import COURSEWORK_Q_HIDDEN, LogisticPolicy, make_policy, q_network, softmax_policy


def test_coursework_q_network_shape_and_size():
    net = q_network(2, COURSEWORK_Q_HIDDEN)
    params = jax.eval_shape(net.init, jax.random.PRNGKey(0), jnp.zeros((1, 4)))["params"]
    # 4-16-32-16-2: (4*16+16) + (16*32+32) + (32*16+16) + (16*2+2)
    assert count_params(params) == 80 + 544 + 528 + 34
    assert jax.eval_shape(net.apply, {"params": params}, jnp.ones((7, 4))).shape == (7, 2)


def test_logistic_policy_is_sigmoid_of_a_linear_unit():
    pol = LogisticPolicy(init_std=0.5)
    params = jax.jit(pol.init)(jax.random.PRNGKey(1), jnp.zeros((1, 4)))["params"]
    w = np.asarray(params["linear"]["kernel"])[:, 0]
    b = float(params["linear"]["bias"][0])
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    probs = np.asarray(jax.jit(lambda p, x: jax.nn.softmax(pol.apply({"params": p}, x)))(params, x))
    p1 = 1.0 / (1.0 + np.exp(-(x @ w + b)))
    np.testing.assert_allclose(probs[:, 1], p1, rtol=1e-5)
    np.testing.assert_allclose(probs[:, 0], 1 - p1, rtol=1e-5)
    # The default initialisation (zeros) is the uniform policy.
    zero = jax.tree_util.tree_map(jnp.zeros_like, params)
    np.testing.assert_allclose(jax.jit(lambda p, x: jax.nn.softmax(pol.apply({"params": p}, x)))(zero, x), 0.5)
    assert jax.tree_util.tree_all(jax.tree_util.tree_map(  # the default initialisation is that uniform policy
        lambda a: bool(np.all(a == 0)), jax.jit(LogisticPolicy().init)(jax.random.PRNGKey(0), jnp.zeros((1, 4)))))


def test_softmax_policy_and_factory_errors():
    pol = softmax_policy(4, (8,))
    assert jax.eval_shape(lambda k, x: pol.apply(pol.init(k, x), x), jax.random.PRNGKey(0),
                          jnp.zeros((3, 8))).shape == (3, 4)
    assert isinstance(make_policy("logistic", 2), LogisticPolicy)
    with pytest.raises(ValueError, match="exactly 2 actions; this environment has 4"):
        make_policy("logistic", 4)
    with pytest.raises(ValueError, match="unknown policy 'cnn'"):
        make_policy("cnn", 2)
    with pytest.raises(ValueError, match="num_actions must be >= 1"):
        q_network(0)
    with pytest.raises(ValueError, match="shape \\(N, ...\\)"):
        jax.eval_shape(LogisticPolicy().init, jax.random.PRNGKey(0), jnp.zeros(4))
