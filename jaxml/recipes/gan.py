"""Pure GAN training steps: two networks, two optimizers, one state for the driver.

State: ``GANState(g=TrainState, d=TrainState, latent_dim)`` — the generator's and the
discriminator's parameters, optimizer states and (optional) ``batch_stats``, each with its
own optax optimizer. Nothing here knows a particular architecture: a generator is any module
``G(z (B, latent_dim), train) -> images`` and a discriminator any ``D(images, train) -> logits
(B,)`` (modules as in ``jaxml.models.gan``).

Losses (per example, from logits with optax's stable sigmoid BCE, ℓ(s, t) = -t log σ(s) -
(1 - t) log(1 - σ(s))):

- discriminator:  ℓ(D(x), 1) + ℓ(D(G(z)), 0)       (real -> 1, fake -> 0)
- generator:      ℓ(D(G(z)), 1) = -log σ(D(G(z)))  (the non-saturating loss)

One step (``gan_step``) is the discriminator step followed by the generator step on the same
noise z ~ N(0, I), the generator step seeing the just-updated discriminator:

- ``d_step`` differentiates w.r.t. D's parameters only; G runs in train mode to make the fakes
  (its batch-norm statistics are *not* written: only the G step writes G's state);
- ``g_step`` differentiates w.r.t. G's parameters only, through D in train mode (dropout on;
  D's batch-norm statistics are not written: only the D step writes D's state).

So each step changes only its own network. A batch is ``{"x": (B, ...), "mask": (B,)}`` (the
driver pads the last batch; padded rows count neither as real nor as fake examples). Metrics are
sums plus a count: ``d_loss_sum``, ``g_loss_sum``, ``loss_sum`` (their sum), ``d_real_sum`` and
``d_fake_sum`` (D's mean probability of "real" on real and on fake images) and ``count``. The
state is one pytree, so the whole GAN trains on the one driver::

    fit(gs, {"x": images}, key=..., epochs=..., batch_size=..., train_step=gan_step, workdir=...)

which logs ``train_d_loss``, ``train_g_loss``, ``train_loss``, ``train_d_real``, ``train_d_fake``,
checkpoints and resumes the ``GANState``, and stops with ``NonFiniteLossError`` on a NaN/inf loss.
"""
from __future__ import annotations

import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp
import optax

from jaxml.train.epoch import batch_mask
from jaxml.train.state import TrainState, apply_model, create_state


class GANState(flax.struct.PyTreeNode):
    g: TrainState
    d: TrainState
    latent_dim: int = flax.struct.field(pytree_node=False, default=100)


def create_gan_state(generator: nn.Module, discriminator: nn.Module, g_tx, d_tx, key, sample_x,
                     latent_dim: int) -> GANState:
    """Initialise both networks from ``key`` (``sample_x``: a batch of real images, only its
    shape/dtype matter; the generator is initialised on noise of shape (1, latent_dim))."""
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
    g_key, d_key = jax.random.split(key)

    # Jitted: eager initialisation would compile one small XLA program per parameter.
    @jax.jit
    def init(g_key, d_key, sample_x):
        g = create_state(generator, g_tx, g_key, jnp.zeros((1, latent_dim), jnp.float32))
        d = create_state(discriminator, d_tx, d_key, sample_x)
        return GANState(g=g, d=d, latent_dim=latent_dim)

    return init(g_key, d_key, jnp.asarray(sample_x))


def _bce(logits_B, target: float):
    return optax.sigmoid_binary_cross_entropy(logits_B, jnp.full_like(logits_B, target))


def _keys(rng):
    """z, generator dropout, D dropout (real), D dropout (fake) / D dropout in the G step."""
    return jax.random.split(rng, 5)


def d_step(gs: GANState, batch, rng):
    """Update the discriminator only. Returns ``(gs, metrics)``."""
    x = batch["x"]
    n = x.shape[0]
    mask_B = batch_mask(batch, n)
    count = jnp.maximum(jnp.sum(mask_B), 1.0)
    z_key, g_key, real_key, fake_key, _ = _keys(rng)
    z = jax.random.normal(z_key, (n, gs.latent_dim), jnp.float32)
    fake, _ = apply_model(gs.g, gs.g.params, z, train=True, rng=g_key)
    fake = jax.lax.stop_gradient(fake)

    def objective(d_params):
        real_logits, stats = apply_model(gs.d, d_params, x, train=True, rng=real_key)
        fake_logits, stats = apply_model(gs.d.replace(batch_stats=stats), d_params, fake, train=True,
                                         rng=fake_key)
        loss_B = _bce(real_logits, 1.0) + _bce(fake_logits, 0.0)
        return jnp.sum(loss_B * mask_B) / count, (loss_B, real_logits, fake_logits, stats)

    grads, (loss_B, real_logits, fake_logits, stats) = jax.grad(objective, has_aux=True)(gs.d.params)
    d = gs.d.apply_gradients(grads=grads, batch_stats=stats)
    metrics = {"d_loss_sum": jnp.sum(loss_B * mask_B),
               "d_real_sum": jnp.sum(jax.nn.sigmoid(real_logits) * mask_B),
               "d_fake_sum": jnp.sum(jax.nn.sigmoid(fake_logits) * mask_B),
               "count": jnp.sum(mask_B)}
    return gs.replace(d=d), metrics


def g_step(gs: GANState, batch, rng):
    """Update the generator only (non-saturating loss). Returns ``(gs, metrics)``; the noise is
    the same as ``d_step``'s for the same ``rng``."""
    n = batch["x"].shape[0]
    mask_B = batch_mask(batch, n)
    count = jnp.maximum(jnp.sum(mask_B), 1.0)
    z_key, g_key, _, _, d_key = _keys(rng)
    z = jax.random.normal(z_key, (n, gs.latent_dim), jnp.float32)

    def objective(g_params):
        fake, g_stats = apply_model(gs.g, g_params, z, train=True, rng=g_key)
        logits, _ = apply_model(gs.d, gs.d.params, fake, train=True, rng=d_key)
        loss_B = _bce(logits, 1.0)
        return jnp.sum(loss_B * mask_B) / count, (loss_B, g_stats)

    grads, (loss_B, g_stats) = jax.grad(objective, has_aux=True)(gs.g.params)
    g = gs.g.apply_gradients(grads=grads, batch_stats=g_stats)
    return gs.replace(g=g), {"g_loss_sum": jnp.sum(loss_B * mask_B)}


def gan_step(gs: GANState, batch, rng):
    """One discriminator step, then one generator step: ``(gs, batch, rng) -> (gs, metrics)``;
    ``loss_sum`` is ``d_loss_sum + g_loss_sum`` (the driver's ``train_loss``)."""
    gs, d_metrics = d_step(gs, batch, rng)
    gs, g_metrics = g_step(gs, batch, rng)
    return gs, {**d_metrics, **g_metrics, "loss_sum": d_metrics["d_loss_sum"] + g_metrics["g_loss_sum"]}


def generate(gs: GANState, z):
    """Images from noise ``z`` (N, latent_dim) with the generator in eval mode (batch norm uses
    its running averages)."""
    out, _ = apply_model(gs.g, gs.g.params, z, train=False)
    return out

