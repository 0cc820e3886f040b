"""Optimizers and schedules from config against hand-rolled numpy references and optax itself."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxml.train import make_optimizer, optimizer_config, set_hyperparams
from jaxml.train.optimizers import lr_factor_schedule

# A quadratic f(w) = 0.5 w^T A w - b^T w, gradient A w - b (A symmetric positive definite).
A = np.array([[3.0, 0.5, 0.0], [0.5, 2.0, 0.3], [0.0, 0.3, 1.0]])
B = np.array([1.0, -2.0, 0.5])
W0 = np.array([0.5, 1.0, -1.5])


def quad_grad(w):
    return A @ w - B


def run_optax(tx, steps, w0=W0, grad=quad_grad, state_hook=None):
    """Apply ``tx`` for ``steps`` steps on the quadratic; returns the iterates (float64 numpy)."""
    w = jnp.asarray(w0, jnp.float32)
    state = tx.init(w)
    if state_hook is not None:
        state = state_hook(state)
    update = jax.jit(tx.update)
    out = []
    for _ in range(steps):
        g = jnp.asarray(grad(np.asarray(w, np.float64)), jnp.float32)
        updates, state = update(g, state, w)
        w = optax.apply_updates(w, updates)
        out.append(np.asarray(w, np.float64))
    return out, state


def numpy_momentum(lr, alpha, steps, nesterov=False, weight_decay=0.0):
    """The coursework's SGD with momentum: v <- α v + g ; w <- w - η v."""
    w, v, out = W0.copy(), np.zeros_like(W0), []
    for _ in range(steps):
        g = quad_grad(w) + weight_decay * w
        v = alpha * v + g
        w = w - lr * (alpha * v + g if nesterov else v)
        out.append(w.copy())
    return out


@pytest.mark.parametrize("name", ["sgd", "momentum"])
def test_sgd_with_momentum_matches_numpy_reference(name):
    tx = make_optimizer({"name": name, "learning_rate": 0.1, "momentum": 0.9})
    got, _ = run_optax(tx, 3)
    want = numpy_momentum(0.1, 0.9, 3)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)
    # Not the plain-SGD trajectory: momentum matters from step 2 on.
    assert not np.allclose(got[2], numpy_momentum(0.1, 0.0, 3)[2], atol=1e-3)


def test_nesterov_and_weight_decay_match_numpy_reference():
    tx = make_optimizer({"name": "nesterov", "learning_rate": 0.05, "momentum": 0.8, "weight_decay": 0.1})
    got, _ = run_optax(tx, 4)
    np.testing.assert_allclose(got, numpy_momentum(0.05, 0.8, 4, nesterov=True, weight_decay=0.1), rtol=1e-6)


def test_plain_sgd_step():
    got, state = run_optax(make_optimizer({"name": "sgd", "learning_rate": 0.2}), 1)
    np.testing.assert_allclose(got[0], W0 - 0.2 * quad_grad(W0), rtol=1e-6)
    assert sorted(state.hyperparams) == ["learning_rate"]


def test_clip_norm_clips_the_global_gradient_norm():
    tx = make_optimizer({"name": "sgd", "learning_rate": 1.0, "clip_norm": 0.5})
    got, _ = run_optax(tx, 1)
    g = quad_grad(W0)
    np.testing.assert_allclose(got[0], W0 - 0.5 * g / np.linalg.norm(g), rtol=1e-6)


@pytest.mark.parametrize("cfg, reference", [
    ({"name": "adam", "learning_rate": 0.01}, optax.adam(0.01)),
    ({"name": "adam", "learning_rate": 0.03, "b1": 0.8, "b2": 0.99, "eps": 1e-6},
     optax.adam(0.03, b1=0.8, b2=0.99, eps=1e-6)),
    ({"name": "adamw", "learning_rate": 0.01, "weight_decay": 0.1}, optax.adamw(0.01, weight_decay=0.1)),
    ({"name": "rmsprop", "learning_rate": 0.01, "rms_decay": 0.95}, optax.rmsprop(0.01, decay=0.95, eps=1e-8)),
])
def test_matches_optax_directly(cfg, reference):
    got, _ = run_optax(make_optimizer(cfg), 5)
    want, _ = run_optax(reference, 5)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def lr_per_step(cfg, steps_per_epoch, steps):
    """The learning rate each update used, measured: SGD on f(w) = w (gradient 1)."""
    tx = make_optimizer({"name": "sgd", **cfg}, steps_per_epoch)
    w = jnp.zeros(())
    state = tx.init(w)
    update = jax.jit(tx.update)
    rates = []
    for _ in range(steps):
        updates, state = update(jnp.ones(()), state, w)
        rates.append(-float(updates))
    return np.array(rates), state


def test_step_schedule_decays_by_decay_rate_every_n_epochs():
    spe, n = 3, 2
    rates, state = lr_per_step({"learning_rate": 0.1, "schedule": "step", "decay_rate": 0.5, "decay_epochs": n},
                               spe, 4 * n * spe)
    epoch = np.arange(len(rates)) // spe  # 0-based epoch of each update
    np.testing.assert_allclose(rates, 0.1 * 0.5 ** (epoch // n), rtol=1e-6)
    # After N epochs the factor is exactly decay_rate; the injected base rate is untouched.
    assert rates[n * spe] == pytest.approx(0.05, rel=1e-6)
    assert float(state.hyperparams["learning_rate"]) == pytest.approx(0.1)


def test_exponential_schedule():
    spe = 4
    rates, _ = lr_per_step({"learning_rate": 0.2, "schedule": "exponential", "decay_rate": 0.1,
                            "decay_epochs": 2}, spe, 20)
    np.testing.assert_allclose(rates, 0.2 * 0.1 ** (np.arange(20) / (2 * spe)), rtol=1e-5)


def test_warmup_cosine_starts_at_zero_and_peaks_at_base_lr():
    spe, warmup, total = 2, 3, 8
    rates, _ = lr_per_step({"learning_rate": 0.4, "schedule": "warmup_cosine", "warmup_epochs": warmup,
                            "total_epochs": total}, spe, total * spe + 2)
    t = np.arange(len(rates))
    w, T = warmup * spe, total * spe
    cosine = 0.5 * (1 + np.cos(np.pi * np.clip(t - w, 0, T - w) / (T - w)))
    expected = 0.4 * np.where(t < w, t / w, cosine)
    np.testing.assert_allclose(rates, expected, atol=1e-7, rtol=1e-5)
    assert rates[0] == 0.0
    assert rates.max() == pytest.approx(0.4) and int(rates.argmax()) == w
    assert rates[T] == pytest.approx(0.0, abs=1e-7)


def test_warmup_cosine_without_warmup_starts_at_base_lr():
    f = lr_factor_schedule({"schedule": "warmup_cosine", "warmup_epochs": 0, "total_epochs": 4}, 2)
    t = np.arange(10)
    np.testing.assert_allclose([float(f(i)) for i in t], 0.5 * (1 + np.cos(np.pi * np.minimum(t, 8) / 8)),
                               atol=1e-6)


def test_constant_schedule_factor():
    f = lr_factor_schedule({"schedule": "constant"}, 5)
    assert float(f(0)) == 1.0 and float(f(1000)) == 1.0


def test_set_hyperparams_changes_the_momentum_used():
    tx = make_optimizer({"name": "sgd", "learning_rate": 0.1, "momentum": 0.9})
    got, state = run_optax(tx, 3, state_hook=lambda s: set_hyperparams(s, momentum=0.5))
    np.testing.assert_allclose(got, numpy_momentum(0.1, 0.5, 3), rtol=1e-6)
    assert float(state.hyperparams["momentum"]) == 0.5
    assert state.hyperparams["momentum"].dtype == jnp.float32


def test_set_hyperparams_learning_rate_under_vmap():
    tx = make_optimizer({"name": "sgd", "learning_rate": 0.1})
    w = jnp.zeros(())

    def one_step(lr):
        state = set_hyperparams(tx.init(w), learning_rate=lr)
        updates, _ = tx.update(jnp.ones(()), state, w)
        return updates

    np.testing.assert_allclose(jax.vmap(one_step)(jnp.array([0.1, 0.3])), [-0.1, -0.3], rtol=1e-6)


def test_set_hyperparams_unknown_name_raises():
    state = make_optimizer({"name": "sgd", "learning_rate": 0.1}).init(jnp.zeros(2))
    with pytest.raises(ValueError, match=r"cannot set hyperparameter 'momentum'.*\['learning_rate'\]"):
        set_hyperparams(state, momentum=0.5)
    with pytest.raises(ValueError, match="no injected hyperparameters"):
        set_hyperparams(optax.sgd(0.1).init(jnp.zeros(2)), learning_rate=0.2)


def test_hyperparams_present_per_optimizer():
    def names(**cfg):
        return sorted(make_optimizer(cfg).init(jnp.zeros(2)).hyperparams)

    assert names(name="sgd") == ["learning_rate"]
    assert names(name="sgd", momentum=0.5) == ["learning_rate", "momentum"]
    assert names(name="momentum") == ["learning_rate", "momentum"]
    assert names(name="adam", weight_decay=0.01) == ["learning_rate", "weight_decay"]
    assert names(name="adamw") == ["learning_rate", "weight_decay"]


@pytest.mark.parametrize("cfg, field", [
    ({"name": "sgdd"}, "optimizer.name"),
    ({"learning_rate": -0.1}, "optimizer.learning_rate"),
    ({"learning_rate": 0.0}, "optimizer.learning_rate"),
    ({"momentum": 1.0}, "optimizer.momentum"),
    ({"momentum": -0.1}, "optimizer.momentum"),
    ({"schedule": "cosine"}, "optimizer.schedule"),
    ({"schedule": "step", "decay_epochs": 0}, "optimizer.decay_epochs"),
    ({"schedule": "step", "decay_rate": 0.0}, "optimizer.decay_rate"),
    ({"schedule": "exponential", "decay_rate": -0.5}, "optimizer.decay_rate"),
    ({"schedule": "warmup_cosine", "warmup_epochs": 5, "total_epochs": 5}, "optimizer.total_epochs"),
])
def test_invalid_config_raises_naming_the_field(cfg, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        make_optimizer(cfg, steps_per_epoch=2)


def test_steps_per_epoch_must_be_positive():
    with pytest.raises(ValueError, match="steps_per_epoch"):
        make_optimizer({"name": "sgd"}, steps_per_epoch=0)


def test_optimizer_config():
    cfg = optimizer_config(name="adam", learning_rate=0.001)
    assert cfg["name"] == "adam" and cfg["learning_rate"] == 0.001 and cfg["momentum"] == 0.0
    with pytest.raises(ValueError, match=r"unknown optimizer field\(s\) \['lr'\]"):
        optimizer_config(lr=0.1)


@pytest.mark.parametrize("cfg,match", [
    ({"name": "sgd", "learning_rate": 0.1, "momentun": 0.9},
     "unknown optimizer field 'momentun'. Did you mean 'momentum'"),
    ({"name": "sgd", "learning_rate": float("nan")}, "learning_rate=nan: expected a finite number"),
    ({"name": "adam", "learning_rate": 0.1, "b2": 1.5}, "b2 must be in \\[0, 1\\)"),
    ({"name": "adamw", "learning_rate": 0.1, "weight_decay": -0.1}, "weight_decay must be >= 0"),
    ({"name": "sgd", "learning_rate": 0.1, "decay_epochs": 2.5}, "decay_epochs=2.5: expected a whole number"),
    ({"name": "sgd", "learning_rate": "fast"}, "learning_rate='fast': expected a finite number"),
])
def test_bad_fields_are_refused_by_name(cfg, match):
    from jaxml.train.errors import ConfigError

    with pytest.raises(ConfigError, match=match):
        make_optimizer(cfg)
