"""GAN steps: each step changes only its own network, the losses equal a direct computation,
masked rows do not count; on the one driver (``fit(gs, ..., train_step=gan_step)``) the GAN
trains the discriminator to tell a fixed real distribution from the initial fakes, an interrupted
run resumes to the uninterrupted numbers, and a NaN stops with NonFiniteLossError naming the step
and the last checkpoint."""
from __future__ import annotations

import re
import shutil

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxml.recipes.gan import create_gan_state, d_step, g_step, gan_step, generate
from jaxml.train import NonFiniteLossError, fit, make_optimizer

LATENT = 4


class TinyG(nn.Module):
    """z (B, 4) -> (B, 6) with batch norm (so batch_stats ownership is tested too)."""

    @nn.compact
    def __call__(self, z, train: bool = False):
        h = nn.Dense(8)(z)
        h = nn.BatchNorm(use_running_average=not train, momentum=0.9)(h)
        return jnp.tanh(nn.Dense(6)(nn.relu(h)))


class TinyD(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool = False):
        h = nn.leaky_relu(nn.Dense(8)(x), 0.2)
        h = nn.Dropout(0.3, deterministic=not train)(h)
        return nn.Dense(1)(h)[:, 0]


def tx():
    return make_optimizer({"name": "adam", "learning_rate": 1e-2, "b1": 0.5})


# Compiled once for the module (every batch below carries a mask, so shapes and structure agree).
D_STEP, G_STEP = jax.jit(d_step), jax.jit(g_step)


@pytest.fixture(scope="module")
def setup():
    real = np.random.default_rng(0).normal(0.5, 0.1, (40, 6)).astype(np.float32)
    gs = create_gan_state(TinyG(), TinyD(), tx(), tx(), jax.random.PRNGKey(0), real[:1], LATENT)
    return gs, {"x": jnp.asarray(real[:16]), "mask": jnp.ones(16)}


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


def test_steps_change_only_their_own_network(setup):
    gs, batch = setup
    key = jax.random.PRNGKey(3)
    after_d, _ = D_STEP(gs, batch, key)
    assert not _same(after_d.d.params, gs.d.params)
    assert _same(after_d.g.params, gs.g.params) and _same(after_d.g.opt_state, gs.g.opt_state)
    assert _same(after_d.g.batch_stats, gs.g.batch_stats) and int(after_d.g.step) == 0
    after_g, _ = G_STEP(gs, batch, key)
    assert not _same(after_g.g.params, gs.g.params)
    assert not _same(after_g.g.batch_stats, gs.g.batch_stats)   # G's own running stats move
    assert _same(after_g.d.params, gs.d.params) and _same(after_g.d.opt_state, gs.d.opt_state)
    assert int(after_g.d.step) == 0


@jax.jit
def direct_losses(gs, x, key):
    """The two losses written out by hand with the keys d_step / g_step use."""
    z_key, g_key, real_key, fake_key, d_key = jax.random.split(key, 5)
    z = jax.random.normal(z_key, (x.shape[0], LATENT))
    fake, _ = gs.g.apply_fn({"params": gs.g.params, "batch_stats": gs.g.batch_stats}, z, train=True,
                            rngs={"dropout": g_key}, mutable=["batch_stats"])
    d = lambda x, k: gs.d.apply_fn({"params": gs.d.params}, x, train=True, rngs={"dropout": k})  # noqa: E731
    sig_real, sig_fake = jax.nn.sigmoid(d(x, real_key)), jax.nn.sigmoid(d(fake, fake_key))
    d_loss = -(jnp.log(sig_real) + jnp.log(1 - sig_fake))
    g_loss = -jnp.log(jax.nn.sigmoid(d(fake, d_key)))       # non-saturating, unchanged D
    g_bce = optax.sigmoid_binary_cross_entropy(d(fake, d_key), jnp.ones(x.shape[0]))
    return d_loss.sum(), g_loss.sum(), g_bce.sum()


def test_losses_equal_direct_computation(setup):
    gs, batch = setup
    key = jax.random.PRNGKey(5)
    _, m = D_STEP(gs, batch, key)
    _, mg = G_STEP(gs, batch, key)
    d_loss, g_loss, g_bce = direct_losses(gs, batch["x"], key)
    assert float(m["d_loss_sum"]) == pytest.approx(float(d_loss), rel=1e-4)
    assert float(mg["g_loss_sum"]) == pytest.approx(float(g_loss), rel=1e-4)
    assert float(g_loss) == pytest.approx(float(g_bce), rel=1e-5)


def test_masked_rows_do_not_count(setup):
    gs, batch = setup
    key = jax.random.PRNGKey(7)
    mask = jnp.concatenate([jnp.ones(10), jnp.zeros(6)])
    _, m = D_STEP(gs, {**batch, "mask": mask}, key)
    _, full = D_STEP(gs, batch, key)
    assert float(m["count"]) == 10
    assert float(m["d_loss_sum"]) < float(full["d_loss_sum"])


EPOCHS = 6
REAL = np.random.default_rng(1).normal(0.5, 0.1, (40, 6)).astype(np.float32)   # 40 = 2 x 16 + a padded 8


def run(gs, workdir, epochs=EPOCHS, x=REAL, **kwargs):
    return fit(gs, {"x": x}, key=jax.random.key(2), epochs=epochs, batch_size=16, train_step=gan_step,
               workdir=workdir, progress=False, **kwargs)


@pytest.fixture(scope="module")
def trained(setup, tmp_path_factory):
    """An uninterrupted run of EPOCHS epochs, and its work directory."""
    workdir = tmp_path_factory.mktemp("gan_full")
    return run(setup[0], workdir), workdir


def test_fit_trains_the_discriminator(trained):
    result, workdir = trained
    d_loss = result.curve("train_d_loss")[0]
    assert d_loss[-1] < d_loss[0]
    for h in result.history:
        assert h["train_loss"] == pytest.approx(h["train_d_loss"] + h["train_g_loss"], rel=1e-6)
        assert 0 <= h["train_d_real"] <= 1 and 0 <= h["train_d_fake"] <= 1
    gs = result.state
    # gan_step = d_step then g_step (each once per batch): both step counters advanced together.
    assert int(gs.d.step) == EPOCHS * 3 and int(gs.g.step) == EPOCHS * 3
    np.testing.assert_array_equal(result.updates, [EPOCHS * 3])
    out = jax.jit(generate)(gs, jnp.zeros((3, LATENT)))
    assert out.shape == (3, 6)
    # The whole GANState is checkpointed: both networks' parameters, optimizer and batch-norm state.
    assert (workdir / "checkpoints" / str(EPOCHS)).is_dir()


class Interrupted(Exception):
    pass


def test_interrupted_run_resumes_to_the_same_numbers(setup, trained, tmp_path):
    full, _ = trained

    def stop_after_3(epoch, records, state):
        assert isinstance(state, type(setup[0]))      # callbacks see the current GANState
        if epoch == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        run(setup[0], tmp_path, callbacks=[stop_after_3])
    resumed = run(setup[0], tmp_path)
    assert resumed.resumed_from == 3
    for metric in ("train_d_loss", "train_g_loss", "train_d_real", "train_d_fake"):
        np.testing.assert_array_equal(resumed.curve(metric), full.curve(metric), err_msg=metric)
    for a, b in zip(jax.tree_util.tree_leaves(resumed.state), jax.tree_util.tree_leaves(full.state)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_nan_in_the_data_stops_naming_the_step_and_checkpoint(setup, trained, tmp_path):
    _, workdir = trained
    shutil.copytree(workdir, tmp_path / "run")
    bad = REAL.copy()
    bad[20, 0] = np.nan               # with the stored order (shuffle=False): row 20 is in step 2 of 3
    with pytest.raises(NonFiniteLossError) as info:
        run(setup[0], tmp_path / "run", epochs=EPOCHS + 1, x=bad, shuffle=False)
    message = str(info.value)
    assert re.search(rf"at epoch {EPOCHS + 1}, step 2 of 3", message), message
    assert f"(epoch {EPOCHS})" in message and str(tmp_path / "run" / "checkpoints" / str(EPOCHS)) in message


def test_bad_latent_dim():
    with pytest.raises(ValueError, match="latent_dim"):
        create_gan_state(TinyG(), TinyD(), tx(), tx(), jax.random.PRNGKey(0), np.zeros((1, 6), np.float32), 0)
