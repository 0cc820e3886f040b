"""Generative adversarial networks for 28x28x1 images: an MLP GAN and a DCGAN.

Every generator maps noise z (N, latent_dim) to images (N, 28, 28, 1) in [-1, 1] (tanh);
every discriminator maps images (N, 28, 28, 1) (or (N, 784)) to one real-vs-fake **logit**
per image, shape (N,) — the sigmoid is left to a numerically stable BCE in the loss
(``jaxml.recipes.gan``). Modules take ``(x, train: bool)``: dropout is active, and batch
norm uses the batch statistics (updating ``batch_stats``), only when ``train=True``.

MLP GAN (Goodfellow et al.; the layer sizes of the classic Keras/PyTorch MNIST GAN)::

    Generator      z 100 -> 256 -> 512 -> 1024 -> 784, LeakyReLU(0.2) between, tanh at the end
                   1,486,352 parameters
    Discriminator  784 -> 1024 -> 512 -> 256 -> 1, LeakyReLU(0.2) + dropout 0.3 between
                   1,460,225 parameters

DCGAN (Radford et al., sized for MNIST; ``features`` = F, 64 by default)::

    DCGenerator      z -> Dense 7*7*2F (no bias) -> BN -> ReLU -> reshape (7, 7, 2F)
                     -> ConvT F, k4 s2 p1 -> (14, 14, F) -> BN -> ReLU
                     -> ConvT 1, k4 s2 p1 -> (28, 28, 1) -> tanh
    DCDiscriminator  x (28, 28, 1) -> Conv F, k4 s2 p1 -> (14, 14, F) -> LeakyReLU(0.2) -> dropout
                     -> Conv 2F, k4 s2 p1 -> (7, 7, 2F) -> LeakyReLU(0.2) -> dropout
                     -> flatten -> Dense 1 (logit)

Output-size arithmetic, per spatial dimension (input size n, kernel k, stride s, padding p
zeros on each side):

- convolution:             ``out = floor((n + 2p - k) / s) + 1``;
  k4 s2 p1: 28 -> floor(26 / 2) + 1 = 14 -> floor(12 / 2) + 1 = 7 (halves even sizes);
- transposed convolution:  ``out = (n - 1) s - 2p + k``;
  k4 s2 p1: 7 -> 6*2 - 2 + 4 = 14 -> 13*2 - 2 + 4 = 28 (doubles).

A transposed convolution is the convolution of the input dilated by s (s - 1 zeros between
entries: size (n - 1) s + 1) padded with k - 1 - p zeros on each side, with stride 1:
``(n - 1) s + 1 + 2(k - 1 - p) - k + 1 = (n - 1) s - 2p + k``. Flax's ``nn.ConvTranspose``
takes that *dilated-input* padding, so a PyTorch-style padding p is passed to it as
``k - 1 - p`` (see ``_transpose_padding``). The modules compute these sizes with
``conv_output_size`` / ``conv_transpose_output_size`` and assert them with chex.

Precision: every module takes ``dtype`` (computation, e.g. ``jnp.bfloat16``) and ``param_dtype``
(parameters, float32 by default; batch-norm statistics stay float32). Generators cast their
images to float32 after the final tanh, discriminators their logits after the output layer (the
BCE loss follows), so the two players can differ in dtype. ``make_gan(..., dtype=...)`` sets both.
"""
from __future__ import annotations

from typing import Any, Sequence

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

IMAGE_SHAPE = (28, 28, 1)
LEAKY_SLOPE = 0.2


def conv_output_size(n: int, kernel: int, stride: int, padding: int) -> int:
    """floor((n + 2p - k) / s) + 1."""
    return (n + 2 * padding - kernel) // stride + 1


def conv_transpose_output_size(n: int, kernel: int, stride: int, padding: int) -> int:
    """(n - 1) s - 2p + k."""
    return (n - 1) * stride - 2 * padding + kernel


def _transpose_padding(kernel: int, padding: int):
    """Flax ConvTranspose padding (per side, on the stride-dilated input) for PyTorch-style ``padding``."""
    q = kernel - 1 - padding
    if q < 0:
        raise ValueError(f"transposed conv padding {padding} must be <= kernel - 1 = {kernel - 1}")
    return ((q, q), (q, q))


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}")
    return value


def _check_rate(value, what: str) -> None:
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{what} must be in [0, 1), got {value!r}")


def _check_noise(z, latent_dim: int, who: str):
    if z.ndim != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"{who} expects noise of shape (N, {latent_dim}), got {tuple(z.shape)}")


def _images(x, who: str):
    """(N, 28, 28, 1) float images from (N, 28, 28, 1), (N, 28, 28) or (N, 784)."""
    if x.ndim < 2 or x[0].size != 784:
        raise ValueError(f"{who} expects images of shape (N, 28, 28, 1) or (N, 784), got {tuple(x.shape)}")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise ValueError(f"{who} expects floating-point images in [-1, 1], got dtype {x.dtype}")
    return jnp.reshape(x, (x.shape[0],) + IMAGE_SHAPE)


def leaky_relu(x):
    return jax.nn.leaky_relu(x, negative_slope=LEAKY_SLOPE)


# ---------------------------------------------------------------------------------------------
# MLP GAN


class Generator(nn.Module):
    """z (N, latent_dim) -> images (N, 28, 28, 1) in [-1, 1]."""

    latent_dim: int = 100
    hidden: Sequence[int] = (256, 512, 1024)
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, z, train: bool = False):
        del train
        _check_noise(z, self.latent_dim, "Generator")
        n = z.shape[0]
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        h = z.astype(self.dtype)
        for i, width in enumerate(self.hidden):
            h = leaky_relu(nn.Dense(width, name=f"hidden_{i}", **kw)(h))
        x = jnp.tanh(nn.Dense(784, name="output", **kw)(h)).astype(jnp.float32)
        x = jnp.reshape(x, (n,) + IMAGE_SHAPE)
        chex.assert_shape(x, (n,) + IMAGE_SHAPE)
        return x


class Discriminator(nn.Module):
    """images (N, 28, 28, 1) or (N, 784) -> real-vs-fake logits (N,)."""

    hidden: Sequence[int] = (1024, 512, 256)
    dropout: float = 0.3
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    def __post_init__(self):
        _check_rate(self.dropout, "Discriminator.dropout")
        super().__post_init__()

    @nn.compact
    def __call__(self, x, train: bool = False):
        x = _images(x, "Discriminator")
        n = x.shape[0]
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        h = jnp.reshape(x, (n, -1)).astype(self.dtype)
        for i, width in enumerate(self.hidden):
            h = leaky_relu(nn.Dense(width, name=f"hidden_{i}", **kw)(h))
            if self.dropout > 0:
                h = nn.Dropout(self.dropout, deterministic=not train)(h)
        logits = nn.Dense(1, name="output", **kw)(h)[:, 0].astype(jnp.float32)
        chex.assert_shape(logits, (n,))
        return logits


# ---------------------------------------------------------------------------------------------
# DCGAN

KERNEL, STRIDE, PADDING = 4, 2, 1


class DCGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, 28, 28, 1) in [-1, 1] by two stride-2 transposed convs."""

    latent_dim: int = 100
    features: int = 64
    bn_momentum: float = 0.9
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    def __post_init__(self):
        _positive_int(self.features, "DCGenerator.features")
        super().__post_init__()

    @nn.compact
    def __call__(self, z, train: bool = False):
        _check_noise(z, self.latent_dim, "DCGenerator")
        n, f = z.shape[0], self.features
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        bn = lambda name: nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum,  # noqa: E731
                                       name=name, **kw)
        h = nn.Dense(7 * 7 * 2 * f, use_bias=False, name="project", **kw)(z.astype(self.dtype))
        h = nn.relu(bn("bn_0")(h))
        h = jnp.reshape(h, (n, 7, 7, 2 * f))
        size = 7
        for i, (out_features, last) in enumerate(((f, False), (1, True))):
            size = conv_transpose_output_size(size, KERNEL, STRIDE, PADDING)
            h = nn.ConvTranspose(out_features, (KERNEL, KERNEL), strides=(STRIDE, STRIDE),
                                 padding=_transpose_padding(KERNEL, PADDING), use_bias=last,
                                 name=f"deconv_{i}", **kw)(h)
            chex.assert_shape(h, (n, size, size, out_features))
            h = jnp.tanh(h).astype(jnp.float32) if last else nn.relu(bn(f"bn_{i + 1}")(h))
        chex.assert_shape(h, (n,) + IMAGE_SHAPE)
        return h


class DCDiscriminator(nn.Module):
    """images (N, 28, 28, 1) -> logits (N,) by two stride-2 convs (28 -> 14 -> 7) and a dense layer."""

    features: int = 64
    dropout: float = 0.3
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    def __post_init__(self):
        _positive_int(self.features, "DCDiscriminator.features")
        _check_rate(self.dropout, "DCDiscriminator.dropout")
        super().__post_init__()

    @nn.compact
    def __call__(self, x, train: bool = False):
        x = _images(x, "DCDiscriminator")
        n, size = x.shape[0], IMAGE_SHAPE[0]
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        h = x.astype(self.dtype)
        for i, out_features in enumerate((self.features, 2 * self.features)):
            size = conv_output_size(size, KERNEL, STRIDE, PADDING)
            h = nn.Conv(out_features, (KERNEL, KERNEL), strides=(STRIDE, STRIDE),
                        padding=((PADDING, PADDING), (PADDING, PADDING)), name=f"conv_{i}", **kw)(h)
            chex.assert_shape(h, (n, size, size, out_features))
            h = leaky_relu(h)
            if self.dropout > 0:
                h = nn.Dropout(self.dropout, deterministic=not train)(h)
        logits = nn.Dense(1, name="output", **kw)(jnp.reshape(h, (n, -1)))[:, 0].astype(jnp.float32)
        chex.assert_shape(logits, (n,))
        return logits


def make_gan(kind: str = "gan", latent_dim: int = 100, *, features: int = 64, dropout: float = 0.3,
             dtype: Any = jnp.float32, param_dtype: Any = jnp.float32):
    """(generator, discriminator) for ``kind`` "gan" (MLP) or "dcgan" (``features`` = F of the
    DCGAN; ignored by the MLP GAN). ``dropout`` is the discriminator's rate; ``dtype`` /
    ``param_dtype`` go to both players (module docstring: Precision)."""
    kw = dict(dtype=dtype, param_dtype=param_dtype)
    if kind == "gan":
        return Generator(latent_dim=latent_dim, **kw), Discriminator(dropout=dropout, **kw)
    if kind == "dcgan":
        return (DCGenerator(latent_dim=latent_dim, features=features, **kw),
                DCDiscriminator(features=features, dropout=dropout, **kw))
    raise ValueError(f"unknown GAN kind {kind!r}; expected 'gan' or 'dcgan'")


def interpolate(z_a, z_b, steps: int):
    """Points on the segments from z_a to z_b: (R, D) x (R, D) -> (R, steps, D), endpoints
    included (row r, column t is (1 - t/(steps-1)) z_a[r] + t/(steps-1) z_b[r])."""
    chex.assert_equal_shape([z_a, z_b])
    chex.assert_rank(z_a, 2)
    if steps < 2:
        raise ValueError(f"interpolate needs steps >= 2, got {steps}")
    t = jnp.linspace(0.0, 1.0, steps)[None, :, None]
    return (1.0 - t) * z_a[:, None, :] + t * z_b[:, None, :]
