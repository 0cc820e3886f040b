"""VAE train/eval steps: the ELBO decreases on a tiny run, the masked evaluation matches a
direct computation, and a loss function without a 'loss' term is rejected."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models.vae import VAE, negative_elbo
from jaxml.train import make_epoch_fn, make_optimizer
from jaxml.recipes.vae import create_latent_state, make_latent_eval_fn, make_latent_train_step, means


def binary_digits(n, seed=0):
    """Binary 'images' made of 4 prototypes with 5% flipped pixels (easy to model)."""
    rng = np.random.default_rng(seed)
    protos = rng.random((4, 784)) < 0.3
    x = protos[rng.integers(0, 4, n)] ^ (rng.random((n, 784)) < 0.05)
    return x.astype(np.float32)


def test_elbo_decreases_on_a_tiny_run():
    model = VAE(latent_dim=2, hidden=(32,))
    x = binary_digits(120)
    state = create_latent_state(model, make_optimizer({"name": "adam", "learning_rate": 3e-3}),
                                jax.random.PRNGKey(0), x[:1])
    epoch = jax.jit(make_epoch_fn(make_latent_train_step(negative_elbo), 20))
    evaluate = jax.jit(make_latent_eval_fn(negative_elbo, 50))   # 120 = 2 full batches + a padded one
    data = {"x": jnp.asarray(x)}
    key = jax.random.PRNGKey(9)
    before = means(evaluate(state, data, key))
    train_losses = []
    for e in range(1, 6):
        state, m = epoch(state, data, jax.random.PRNGKey(e))
        train_losses.append(means(jax.tree_util.tree_map(lambda a: a.sum(0), m))["loss"])
        assert float(m["count"].sum()) == 120
    after = means(evaluate(state, data, key))
    assert after["loss"] < 0.85 * before["loss"], (before, after)
    assert train_losses[-1] < train_losses[0]
    # The evaluation over padded batches (2 x 50 + 20 real rows of 50) equals the direct
    # per-example computation with the same key.
    direct = jax.jit(lambda params, x: negative_elbo(
        model.apply({"params": params}, x, rngs={"latent": key}), x)["loss"])
    rows = np.concatenate([np.asarray(direct(state.params, data["x"][i:i + 50])) for i in (0, 50)]
                          + [np.asarray(direct(state.params, jnp.concatenate([data["x"][100:], data["x"][:30]])))[:20]])
    assert after["loss"] == pytest.approx(rows.mean(), rel=1e-5)
    assert set(after) == {"loss", "bce", "kl"}


def test_loss_fn_contract_is_checked():
    model = VAE(latent_dim=2, hidden=(8,))
    x = binary_digits(4)
    state = create_latent_state(model, make_optimizer({"name": "adam", "learning_rate": 1e-3}),
                                jax.random.PRNGKey(0), x[:1])
    step = jax.jit(make_latent_train_step(lambda out, x: {"bce": negative_elbo(out, x)["bce"]}))
    with pytest.raises(ValueError, match="'loss' entry"):
        step(state, {"x": jnp.asarray(x)}, jax.random.PRNGKey(1))
    step = jax.jit(make_latent_train_step(lambda out, x: {"loss": negative_elbo(out, x)["loss"][:2]}))
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        step(state, {"x": jnp.asarray(x)}, jax.random.PRNGKey(1))
