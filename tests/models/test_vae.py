"""VAE module and loss: shapes, the KL term against a hand computation, the BCE against numpy,
the reparameterisation, and the pure encode/decode/sample/reconstruct functions."""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models import count_params
from jaxml.models.vae import (
    VAE,
    Decoder,
    bernoulli_nll,
    decode,
    encode,
    kl_divergence,
    negative_elbo,
    reconstruct,
    sample,
)

Z = 3


@pytest.fixture(scope="module")
def vae():
    model = VAE(latent_dim=Z, hidden=(16,))
    x = jnp.asarray(np.random.default_rng(0).random((4, 28, 28, 1)), jnp.float32)
    init = jax.jit(lambda k1, k2, x: model.init({"params": k1, "latent": k2}, x))
    params = init(jax.random.PRNGKey(0), jax.random.PRNGKey(1), x)["params"]
    return model, params, x


@pytest.fixture(scope="module")
def apply(vae):
    """The model applied with a latent key, compiled once."""
    model, _, _ = vae
    return jax.jit(lambda params, x, key: model.apply({"params": params}, x, rngs={"latent": key}))


def test_kl_matches_hand_computation():
    mu = jnp.array([[0.0, 0.0], [1.0, -2.0]])
    logvar = jnp.array([[0.0, 0.0], [np.log(0.5), np.log(4.0)]])
    # Row 0 is the prior itself: KL = 0. Row 1, by hand, -1/2 * sum(1 + log s2 - mu^2 - s2):
    # dim 1: 1 + log 0.5 - 1 - 0.5 = -1.193147 ; dim 2: 1 + log 4 - 4 - 4 = -5.613706
    # KL = -1/2 * (-1.193147 - 5.613706) = 3.403426
    np.testing.assert_allclose(np.asarray(kl_divergence(mu, logvar)), [0.0, 3.4034264], rtol=1e-6)
    # And against the closed form of KL between univariate Gaussians, summed over dimensions.
    s2 = np.exp(np.asarray(logvar[1]))
    closed = np.sum(0.5 * (s2 + np.asarray(mu[1]) ** 2 - 1 - np.log(s2)))
    assert float(kl_divergence(mu, logvar)[1]) == pytest.approx(closed, rel=1e-6)


def test_bernoulli_nll_matches_numpy_and_is_stable():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(3, 784)).astype(np.float32) * 3
    x = (rng.random((3, 28, 28, 1)) < 0.3).astype(np.float32)
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    xf = x.reshape(3, 784)
    expected = -(xf * np.log(p) + (1 - xf) * np.log(1 - p)).sum(axis=1)
    np.testing.assert_allclose(np.asarray(bernoulli_nll(jnp.asarray(logits), jnp.asarray(x))), expected, rtol=1e-5)
    big = bernoulli_nll(jnp.array([[200.0, -200.0]]), jnp.array([[1.0, 0.0]]))
    assert np.isfinite(np.asarray(big)).all() and float(big[0]) < 1e-6


def test_negative_elbo_is_bce_plus_kl(vae, apply):
    model, params, x = vae
    out = apply(params, x, jax.random.PRNGKey(2))
    terms = negative_elbo(out, x)
    np.testing.assert_allclose(np.asarray(terms["loss"]), np.asarray(terms["bce"] + terms["kl"]), rtol=1e-6)
    assert terms["loss"].shape == (4,) and (np.asarray(terms["kl"]) >= 0).all()


def test_shapes_and_parameter_count(vae, apply):
    model, params, x = vae
    logits, mu, logvar = apply(params, x, jax.random.PRNGKey(2))
    assert logits.shape == (4, 784) and mu.shape == (4, Z) and logvar.shape == (4, Z)
    # Encoder 784*16+16 + 2*(16*3+3); decoder 3*16+16 + 16*784+784.
    assert count_params(params) == (784 * 16 + 16 + 2 * (16 * Z + Z)) + (Z * 16 + 16 + 16 * 784 + 784)


def test_reparameterisation_uses_the_latent_rng(vae, apply):
    model, params, x = vae
    a, b = apply(params, x, jax.random.PRNGKey(5)), apply(params, x, jax.random.PRNGKey(5))
    c = apply(params, x, jax.random.PRNGKey(6))
    np.testing.assert_array_equal(np.asarray(a[0]), np.asarray(b[0]))
    assert not np.allclose(np.asarray(a[0]), np.asarray(c[0]))
    # z = mu + sigma * eps: the decoder's input, over many draws for one image, has mean mu and
    # standard deviation sigma = exp(logvar / 2).
    xs = jnp.repeat(x[:1], 4000, axis=0)
    captured = []

    def grab(next_fun, args, kwargs, context):
        if isinstance(context.module, Decoder) and context.method_name == "__call__":
            captured.append(args[0])
        return next_fun(*args, **kwargs)

    @jax.jit
    def decoder_input(params, xs, key):
        with nn.intercept_methods(grab):
            model.apply({"params": params}, xs, rngs={"latent": key})
        return captured[0], model.apply({"params": params}, xs[:1], method=VAE.encode)

    z, (mu, logvar) = decoder_input(params, xs, jax.random.PRNGKey(7))
    z, mu, logvar = np.asarray(z), np.asarray(mu[0]), np.asarray(logvar[0])
    sigma = np.exp(0.5 * logvar)
    np.testing.assert_allclose(z.mean(0), mu, atol=4 * sigma.max() / np.sqrt(4000))
    np.testing.assert_allclose(z.std(0), sigma, rtol=0.05)
    with pytest.raises(Exception, match="latent"):
        model.apply({"params": params}, x)


def test_pure_functions(vae, apply):
    model, params, x = vae
    fns = jax.jit(lambda params, key, x, z: (sample(model, params, key, 7), decode(model, params, z),
                                             reconstruct(model, params, key, x), encode(model, params, x)))
    key = jax.random.PRNGKey(1)
    imgs, dec, rec, (mu, _) = fns(params, key, x, jnp.zeros((2, Z)))
    assert imgs.shape == (7, 784) and float(imgs.min()) >= 0 and float(imgs.max()) <= 1
    logits0 = model.apply({"params": params}, jnp.zeros((2, Z)), method=VAE.decode)
    np.testing.assert_allclose(np.asarray(dec), np.asarray(jax.nn.sigmoid(logits0)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(rec), np.asarray(jax.nn.sigmoid(apply(params, x, key)[0])), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(mu), np.asarray(apply(params, x, key)[1]), rtol=1e-6)


def test_bad_inputs_are_named(vae):
    model, params, _ = vae
    with pytest.raises(ValueError, match="784 values per example"):
        encode(model, params, jnp.zeros((2, 10)))
    with pytest.raises(ValueError, match=r"latents of shape \(N, 3\)"):
        decode(model, params, jnp.zeros((2, 5)))
    with pytest.raises(ValueError, match="latent_dim"):
        VAE(latent_dim=0)
