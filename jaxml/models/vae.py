"""Variational auto-encoder (Kingma & Welling) with MLP encoder/decoder and a Bernoulli likelihood.

Model (D = 784 pixels, H = ``hidden``, Z = ``latent_dim``)::

    encoder  x (N, D) -> Dense H -> ReLU -> Dense Z (μ),  Dense Z (log σ²)
    sample   z = μ + σ ⊙ ε,  ε ~ N(0, I)          (the reparameterisation trick)
    decoder  z (N, Z) -> Dense H -> ReLU -> Dense D (Bernoulli logits of the pixels)

``VAE.__call__(x, train)`` returns ``(logits_NxD, mu_NxZ, logvar_NxZ)``; it draws ε from the
``latent`` rng stream, so every call (train *and* eval) needs ``rngs={"latent": key}``. The
stream is not ``dropout`` on purpose: the noise is part of the model's estimator of the loss
(the ELBO is an expectation over z), not a regulariser that is switched off in eval mode.

Loss (per example, in nats): the negative ELBO

    -ELBO(x) = Σ_d BCE(logit_d, x_d)  +  KL(N(μ, σ²) || N(0, I)),
    KL       = -½ Σ_z (1 + log σ² - μ² - σ²).

With binary pixels the BCE sum is -log p(x | z), so the loss is an upper bound on -log p(x).

Pure functions of explicit parameters and keys: ``encode``, ``decode``, ``sample``,
``reconstruct``, ``kl_divergence``, ``bernoulli_nll``, ``negative_elbo``.

Precision: ``dtype`` is the computation dtype of the encoder and decoder layers (e.g.
``jnp.bfloat16``), ``param_dtype`` the parameters' (float32 by default). The encoder's μ and
log σ² and the decoder's logits are cast to float32 at the end of ``Encoder`` / ``Decoder``, so
the reparameterisation, the KL term and the BCE (the loss) are float32.
"""
from __future__ import annotations

from typing import Any, Sequence

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

LATENT_RNG = "latent"


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}")
    return value


class Encoder(nn.Module):
    """x (N, ...) -> (μ (N, Z), log σ² (N, Z)); the input is flattened."""

    hidden: Sequence[int] = (500,)
    latent_dim: int = 2
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        n = x.shape[0]
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        h = jnp.reshape(x, (n, -1)).astype(self.dtype)
        for i, width in enumerate(self.hidden):
            h = nn.relu(nn.Dense(width, name=f"hidden_{i}", **kw)(h))
        mu = nn.Dense(self.latent_dim, name="mean", **kw)(h).astype(jnp.float32)
        logvar = nn.Dense(self.latent_dim, name="logvar", **kw)(h).astype(jnp.float32)
        chex.assert_shape([mu, logvar], (n, self.latent_dim))
        return mu, logvar


class Decoder(nn.Module):
    """z (N, Z) -> Bernoulli logits (N, output_dim)."""

    hidden: Sequence[int] = (500,)
    output_dim: int = 784
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, z):
        n = z.shape[0]
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        h = z.astype(self.dtype)
        for i, width in enumerate(self.hidden):
            h = nn.relu(nn.Dense(width, name=f"hidden_{i}", **kw)(h))
        logits = nn.Dense(self.output_dim, name="logits", **kw)(h).astype(jnp.float32)
        chex.assert_shape(logits, (n, self.output_dim))
        return logits


class VAE(nn.Module):
    """MLP VAE; see the module docstring. ``hidden`` are the encoder's hidden widths (the
    decoder mirrors them); ``latent_dim`` Z (2 for plotting the latent plane, 20 for quality);
    ``input_dim`` D = 784 for MNIST (inputs of shape (N, 28, 28[, 1]) are flattened)."""

    latent_dim: int = 2
    hidden: Sequence[int] = (500,)
    input_dim: int = 784
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    def __post_init__(self):
        _positive_int(self.latent_dim, "VAE.latent_dim")
        _positive_int(self.input_dim, "VAE.input_dim")
        for i, width in enumerate(self.hidden):
            _positive_int(width, f"VAE.hidden[{i}]")
        super().__post_init__()

    def setup(self):
        self.encoder = Encoder(tuple(self.hidden), self.latent_dim, self.dtype, self.param_dtype)
        self.decoder = Decoder(tuple(reversed(self.hidden)), self.input_dim, self.dtype, self.param_dtype)

    def _flat(self, x):
        n = x.shape[0]
        if x.ndim < 2 or x[0].size != self.input_dim:
            raise ValueError(f"VAE expects inputs of shape (N, ...) with {self.input_dim} values per example "
                             f"(e.g. (N, 784) or (N, 28, 28, 1)), got shape {tuple(x.shape)}")
        return jnp.reshape(x, (n, self.input_dim))

    def encode(self, x):
        return self.encoder(self._flat(x))

    def decode(self, z):
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"VAE.decode expects latents of shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        return self.decoder(z)

    def __call__(self, x, train: bool = False):
        del train  # no dropout or batch norm; the latent noise is drawn in both modes
        mu, logvar = self.encode(x)
        eps = jax.random.normal(self.make_rng(LATENT_RNG), mu.shape, mu.dtype)
        z = mu + jnp.exp(0.5 * logvar) * eps
        return self.decode(z), mu, logvar


# ---------------------------------------------------------------------------------------------
# Losses (per example, nats).

def kl_divergence(mu_NxZ, logvar_NxZ):
    """KL(N(μ, diag σ²) || N(0, I)) = -½ Σ_z (1 + log σ² - μ² - σ²), shape (N,)."""
    chex.assert_equal_shape([mu_NxZ, logvar_NxZ])
    return -0.5 * jnp.sum(1.0 + logvar_NxZ - mu_NxZ ** 2 - jnp.exp(logvar_NxZ), axis=-1)


def bernoulli_nll(logits_NxD, x):
    """Σ_d BCE(logit_d, x_d) from logits (numerically stable), shape (N,). ``x`` in [0, 1] with
    N·D values (any shape (N, ...)); for binary x this is -log p(x | z)."""
    n = logits_NxD.shape[0]
    x_NxD = jnp.reshape(x, (n, -1)).astype(logits_NxD.dtype)
    chex.assert_equal_shape([logits_NxD, x_NxD])
    return jnp.sum(optax.sigmoid_binary_cross_entropy(logits_NxD, x_NxD), axis=-1)


def negative_elbo(outputs, x) -> dict:
    """Per-example terms of the loss from the model outputs ``(logits, mu, logvar)`` and the
    input ``x``: ``{"loss": bce + kl, "bce": ..., "kl": ...}``, each (N,) in nats."""
    logits, mu, logvar = outputs
    bce = bernoulli_nll(logits, x)
    kl = kl_divergence(mu, logvar)
    return {"loss": bce + kl, "bce": bce, "kl": kl}


# ---------------------------------------------------------------------------------------------
# Pure functions of (model, params, key).

def encode(model: VAE, params, x):
    """(μ (N, Z), log σ² (N, Z)) of the approximate posterior q(z | x)."""
    return model.apply({"params": params}, x, method=VAE.encode)


def decode(model: VAE, params, z_NxZ):
    """Pixel probabilities (N, D) in [0, 1] (the Bernoulli means) of the latents ``z``."""
    return jax.nn.sigmoid(model.apply({"params": params}, z_NxZ, method=VAE.decode))


def sample(model: VAE, params, key, num: int):
    """``num`` images (num, D) decoded from z ~ N(0, I): pixel probabilities in [0, 1]."""
    z = jax.random.normal(key, (num, model.latent_dim))
    return decode(model, params, z)


def reconstruct(model: VAE, params, key, x):
    """Pixel probabilities (N, D) of x's reconstruction through one sampled z ~ q(z | x)."""
    logits, _, _ = model.apply({"params": params}, x, rngs={LATENT_RNG: key})
    return jax.nn.sigmoid(logits)
