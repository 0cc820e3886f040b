"""The course's update rules (jaxml.train.course_rules) against the formulas computed by hand in
numpy on the course's small vectors, their exact relation to optax's own rules, and the course's
layers (jaxml.train.course_layers) differentiated by jax.grad against hand-written numpy backward passes."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxml.train import course_layers as layers
from jaxml.train import course_rules as rules

N, D = 4, 5
W = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
DW = np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)
STATE = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
V_ADAM = np.linspace(0.7, 0.5, num=N * D).reshape(N, D)   # the course's second moment for Adam


def step(tx, state, w=W, dw=DW):
    updates, new_state = jax.jit(tx.update)(jnp.asarray(dw, jnp.float32), state)
    return np.asarray(optax.apply_updates(jnp.asarray(w, jnp.float32), updates)), new_state


def assert_close(actual, expected, rtol=1e-6, atol=1e-7):
    np.testing.assert_allclose(np.asarray(actual, np.float64), expected, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------------
# The rules on the course's vectors, against the formulas in numpy (float64).

def test_sgd_momentum_velocity_form():
    lr, mu = 1e-3, 0.9
    state = rules.VelocityState(velocity=jnp.asarray(STATE, jnp.float32))
    next_w, new_state = step(rules.sgd_momentum(lr, mu), state)
    v = mu * STATE - lr * DW
    assert_close(new_state.velocity, v)
    assert_close(next_w, W + v)
    assert next_w[0, 0] == pytest.approx(0.1406, abs=1e-6)    # -0.4 + (0.9 * 0.6 - 1e-3 * -0.6)


def test_rmsprop_eps_outside_the_root():
    lr, d, eps = 1e-2, 0.99, 1e-8
    state = rules.CacheState(cache=jnp.asarray(STATE, jnp.float32))
    next_w, new_state = step(rules.rmsprop(lr, d, eps), state)
    cache = d * STATE + (1 - d) * DW**2
    assert_close(new_state.cache, cache)
    assert_close(next_w, W - lr * DW / (np.sqrt(cache) + eps))


def test_adam_increments_t_before_the_bias_correction():
    lr, b1, b2, eps = 1e-2, 0.9, 0.999, 1e-8
    state = rules.AdamState(t=jnp.asarray(5, jnp.int32), m=jnp.asarray(STATE, jnp.float32),
                            v=jnp.asarray(V_ADAM, jnp.float32))
    next_w, new_state = step(rules.adam(lr, b1, b2, eps), state)
    t = 6
    m = b1 * STATE + (1 - b1) * DW
    v = b2 * V_ADAM + (1 - b2) * DW**2
    expected = W - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    assert int(new_state.t) == 6
    assert_close(new_state.m, m)
    assert_close(new_state.v, v)
    assert_close(next_w, expected, rtol=2e-6)
    # With t used before incrementing (t = 5) the step would be measurably different.
    wrong = W - lr * (m / (1 - b1**5)) / (np.sqrt(v / (1 - b2**5)) + eps)
    assert np.abs(wrong - expected).min() > 2e-5      # 10x the tolerance above


def test_first_steps_from_zero_state():
    """init() gives zero state; the first Adam step moves every weight by about lr * sign(dw)."""
    lr = 1e-2
    tx = rules.adam(lr)
    next_w, _ = step(tx, tx.init(jnp.asarray(W, jnp.float32)))
    assert_close(next_w, W - lr * np.sign(DW), rtol=1e-5, atol=1e-6)
    tx = rules.sgd_momentum(0.1, 0.9)
    next_w, _ = step(tx, tx.init(jnp.asarray(W, jnp.float32)))
    assert_close(next_w, W - 0.1 * DW)


@pytest.mark.parametrize("make, kwargs, name", [
    (rules.sgd_momentum, {"momentum": 1.0}, "momentum"),
    (rules.sgd_momentum, {"learning_rate": -0.1}, "learning_rate"),
    (rules.rmsprop, {"decay_rate": 1.5}, "decay_rate"),
    (rules.adam, {"beta2": -0.1}, "beta2"),
    (rules.adam, {"eps": -1.0}, "eps"),
])
def test_bad_hyperparameters_are_named(make, kwargs, name):
    with pytest.raises(ValueError, match=name):
        make(**kwargs)


# ---------------------------------------------------------------------------------------------
# Relation to optax's own rules.

def run_updates(tx, grads, params=W):
    """Updates of ``tx`` for a sequence of gradients from its init state (one jitted scan)."""
    def body(state, g):
        updates, state = tx.update(g, state)
        return state, updates
    _, ups = jax.jit(lambda g: jax.lax.scan(body, tx.init(jnp.asarray(params, jnp.float32)), g))(grads)
    return np.asarray(ups)


GRADS = jax.random.normal(jax.random.key(0), (6, N, D), jnp.float32)


def test_sgd_momentum_equals_optax_trace_after_the_change_of_variables():
    lr, mu = 0.05, 0.9
    ours = run_updates(rules.sgd_momentum(lr, mu), GRADS)
    theirs = run_updates(optax.sgd(lr, momentum=mu), GRADS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)
    # From a non-zero state: v = -lr * trace.
    ours, _ = rules.sgd_momentum(lr, mu).update(jnp.asarray(DW), rules.VelocityState(jnp.asarray(STATE)))
    opt = optax.sgd(lr, momentum=mu)
    state = opt.init(jnp.asarray(W))
    state = (optax.TraceState(trace=jnp.asarray(-STATE / lr)),) + tuple(state[1:])
    theirs, _ = opt.update(jnp.asarray(DW), state)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)


def test_sgd_momentum_and_optax_trace_part_when_the_learning_rate_changes():
    """lr1 for the first step, lr2 for the second: the velocity form keeps lr1 in v, the trace
    form multiplies the whole trace by lr2."""
    mu, lr1, lr2 = 0.9, 0.1, 0.01
    g1, g2 = GRADS[0], GRADS[1]
    updates = {}
    for name, make in (("course", rules.sgd_momentum), ("optax", optax.sgd)):
        tx = optax.inject_hyperparams(make)(learning_rate=lr1, momentum=mu)
        state = tx.init(jnp.asarray(W, jnp.float32))
        _, state = tx.update(g1, state)
        state.hyperparams["learning_rate"] = jnp.asarray(lr2)
        updates[name], _ = tx.update(g2, state)
    v1 = -lr1 * np.asarray(g1)
    np.testing.assert_allclose(updates["course"], mu * v1 - lr2 * np.asarray(g2), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(updates["optax"], -lr2 * (mu * np.asarray(g1) + np.asarray(g2)), rtol=1e-5, atol=1e-8)
    assert np.abs(np.asarray(updates["course"]) - np.asarray(updates["optax"])).max() > 1e-2


def test_rmsprop_equals_optax_with_eps_outside_the_root_and_differs_by_default():
    lr, d, eps = 1e-2, 0.99, 1e-8
    ours = run_updates(rules.rmsprop(lr, d, eps), GRADS)
    outside = run_updates(optax.rmsprop(lr, decay=d, eps=eps, eps_in_sqrt=False), GRADS)
    np.testing.assert_allclose(ours, outside, rtol=1e-5)
    # Tiny gradients: cache ~ eps. A first gradient of 1e-5: cache = 0.01 * 1e-10 = 1e-12.
    g = jnp.full((1, N, D), 1e-5, jnp.float32)
    ours = run_updates(rules.rmsprop(lr, d, eps), g)[0]
    default = run_updates(optax.rmsprop(lr, decay=d, eps=eps), g)[0]
    np.testing.assert_allclose(ours, -lr * 1e-5 / (1e-6 + eps), rtol=1e-4)           # ~ -9.9 lr
    np.testing.assert_allclose(default, -lr * 1e-5 / np.sqrt(1e-12 + eps), rtol=1e-4)  # ~ -0.1 lr
    assert abs(ours[0, 0] / default[0, 0]) > 90


def test_adam_equals_optax_adam():
    lr, b1, b2, eps = 1e-2, 0.9, 0.999, 1e-8
    ours = run_updates(rules.adam(lr, b1, b2, eps), GRADS)
    theirs = run_updates(optax.adam(lr, b1=b1, b2=b2, eps=eps), GRADS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-8)


# ---------------------------------------------------------------------------------------------
# Layers: jax.grad of the JAX forward vs the course's hand-written numpy backward.

RNG = np.random.default_rng(0)


def test_affine_backward():
    x = RNG.normal(size=(3, 2, 4)).astype(np.float32)
    w = RNG.normal(size=(8, 5)).astype(np.float32)
    b = RNG.normal(size=(5,)).astype(np.float32)
    dout = RNG.normal(size=(3, 5)).astype(np.float32)
    out, vjp = jax.vjp(layers.affine, x, w, b)
    dx, dw, db = vjp(jnp.asarray(dout))
    np.testing.assert_allclose(out, x.reshape(3, -1) @ w + b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx, (dout @ w.T).reshape(x.shape), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dw, x.reshape(3, -1).T @ dout, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(db, dout.sum(0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="affine"):
        layers.affine(x, w[:7], b)


def test_relu_backward_including_zero():
    x = np.array([[-1.5, 0.0, 2.0], [0.3, -0.2, 0.0]], np.float32)
    dout = RNG.normal(size=x.shape).astype(np.float32)
    out, vjp = jax.vjp(layers.relu, x)
    (dx,) = vjp(jnp.asarray(dout))
    np.testing.assert_array_equal(out, np.maximum(x, 0))
    np.testing.assert_allclose(dx, dout * (x > 0))            # derivative 0 at exactly 0


def test_softmax_loss_and_gradient():
    scores = RNG.normal(size=(6, 4)).astype(np.float32)
    y = np.array([0, 3, 1, 1, 2, 0])
    loss, grad = jax.value_and_grad(layers.softmax_loss)(jnp.asarray(scores), jnp.asarray(y))
    s = scores.astype(np.float64)
    p = np.exp(s - s.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert float(loss) == pytest.approx(-np.log(p[np.arange(6), y]).mean(), rel=1e-5)
    dscores = p.copy()
    dscores[np.arange(6), y] -= 1
    np.testing.assert_allclose(grad, dscores / 6, rtol=1e-4, atol=1e-6)


def test_svm_loss_and_gradient():
    scores = RNG.normal(size=(7, 5)).astype(np.float32)
    y = np.array([0, 4, 2, 2, 1, 3, 0])
    loss, grad = jax.value_and_grad(layers.svm_loss)(jnp.asarray(scores), jnp.asarray(y))
    n = scores.shape[0]
    margins = np.maximum(0, scores - scores[np.arange(n), y][:, None] + 1.0)
    margins[np.arange(n), y] = 0
    assert float(loss) == pytest.approx(margins.sum() / n, rel=1e-5)
    dscores = (margins > 0).astype(np.float64)
    dscores[np.arange(n), y] = -dscores.sum(1)
    np.testing.assert_allclose(grad, dscores / n, rtol=1e-5, atol=1e-7)
    assert (margins > 0).any() and (margins == 0).sum() > n     # both active and inactive margins occur
    with pytest.raises(ValueError, match="labels"):
        layers.svm_loss(jnp.asarray(scores), jnp.asarray(y[:3]))
