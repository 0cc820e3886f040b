"""VAE train/eval steps on the one driver: the ELBO decreases on a tiny run, the masked evaluation
matches a direct computation, an interrupted run resumes to the uninterrupted numbers, a NaN stops
with NonFiniteLossError naming the step and the last checkpoint, and a loss function without a
'loss' term is rejected."""
from __future__ import annotations

import re
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models.vae import VAE, negative_elbo
from jaxml.recipes.vae import create_latent_state, make_latent_eval_step, make_latent_train_step
from jaxml.train import NonFiniteLossError, fit, make_optimizer

EPOCHS = 4
BATCH = 20          # 120 examples -> 6 steps per epoch
EVAL_BATCH = 50     # 120 = 2 full evaluation batches + a padded one
EVAL_KEY = jax.random.PRNGKey(9)
MODEL = VAE(latent_dim=2, hidden=(32,))
TRAIN_STEP = make_latent_train_step(negative_elbo)
EVAL_STEP = make_latent_eval_step(negative_elbo, EVAL_KEY)


def binary_digits(n, seed=0):
    """Binary 'images' made of 4 prototypes with 5% flipped pixels (easy to model)."""
    rng = np.random.default_rng(seed)
    protos = rng.random((4, 784)) < 0.3
    x = protos[rng.integers(0, 4, n)] ^ (rng.random((n, 784)) < 0.05)
    return x.astype(np.float32)


X = binary_digits(120)


def initial_state():
    return create_latent_state(MODEL, make_optimizer({"name": "adam", "learning_rate": 3e-3}),
                               jax.random.PRNGKey(0), X[:1])


def run(workdir, epochs=EPOCHS, x=X, evaluate=True, **kwargs):
    evals = {"eval_sets": {"data": {"x": X}}, "eval_batch_size": EVAL_BATCH, "eval_before": True} if evaluate else {}
    return fit(initial_state(), {"x": x}, key=jax.random.key(1), epochs=epochs, batch_size=BATCH,
               train_step=TRAIN_STEP, eval_step=EVAL_STEP, workdir=workdir, progress=False, **evals, **kwargs)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """An uninterrupted run of EPOCHS epochs, and its work directory."""
    workdir = tmp_path_factory.mktemp("vae_full")
    return run(workdir), workdir


def test_elbo_decreases_on_a_tiny_run(trained):
    result, _ = trained
    epochs, loss = result.curve("data_loss", run=0)
    np.testing.assert_array_equal(epochs, np.arange(0, EPOCHS + 1))       # epoch 0: before training
    assert loss[-1] < 0.85 * loss[0], loss
    train_loss = result.curve("train_loss")[0]
    assert train_loss[-1] < train_loss[0]
    np.testing.assert_array_equal(result.updates, [EPOCHS * 6])
    logged = {k for h in result.history for k in h}
    assert {"train_loss", "train_bce", "train_kl", "data_loss", "data_bce", "data_kl"} <= logged
    # The evaluation over padded batches (2 x 50 + 20 real rows of 50) equals the direct
    # per-example computation with the same key.
    state = result.state
    direct = jax.jit(lambda params, x: negative_elbo(
        MODEL.apply({"params": params}, x, rngs={"latent": EVAL_KEY}), x)["loss"])
    x = jnp.asarray(X)
    rows = np.concatenate([np.asarray(direct(state.params, x[i:i + 50])) for i in (0, 50)]
                          + [np.asarray(direct(state.params, jnp.concatenate([x[100:], x[:30]])))[:20]])
    assert loss[-1] == pytest.approx(rows.mean(), rel=1e-5)


class Interrupted(Exception):
    pass


def test_interrupted_run_resumes_to_the_same_numbers(trained, tmp_path):
    full, _ = trained

    def stop_after_2(epoch, records):
        if epoch == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        run(tmp_path, callbacks=[stop_after_2])
    resumed = run(tmp_path)
    assert resumed.resumed_from == 2
    for metric in ("train_loss", "train_kl", "data_loss", "data_bce"):
        np.testing.assert_array_equal(resumed.curve(metric), full.curve(metric), err_msg=metric)
    for a, b in zip(jax.tree_util.tree_leaves(resumed.state), jax.tree_util.tree_leaves(full.state)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_nan_in_the_data_stops_naming_the_step_and_checkpoint(trained, tmp_path):
    _, workdir = trained
    shutil.copytree(workdir, tmp_path / "run")
    bad = X.copy()
    bad[47, 3] = np.nan              # with the stored order (shuffle=False): row 47 is in step 3 of 6
    with pytest.raises(NonFiniteLossError) as info:
        run(tmp_path / "run", epochs=EPOCHS + 1, x=bad, shuffle=False, evaluate=False)
    message = str(info.value)
    assert re.search(rf"at epoch {EPOCHS + 1}, step 3 of 6", message), message
    assert f"(epoch {EPOCHS})" in message and str(tmp_path / "run" / "checkpoints" / str(EPOCHS)) in message


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
