"""GAN and DCGAN modules: output shapes and ranges, the conv / transposed-conv size arithmetic
(against flax's own layers), parameter counts, train/eval behaviour, input checks."""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models import count_params
from jaxml.models.gan import (
    DCDiscriminator,
    DCGenerator,
    Discriminator,
    Generator,
    conv_output_size,
    conv_transpose_output_size,
    interpolate,
    make_gan,
)


def _init(module, x, train=False):
    fn = jax.jit(lambda k, x: module.init({"params": k, "dropout": k}, x, train=train))
    return fn(jax.random.PRNGKey(0), x)


@pytest.fixture(scope="module")
def dcgan():
    gen, disc = DCGenerator(features=8), DCDiscriminator(features=8)
    z = jax.random.normal(jax.random.PRNGKey(1), (5, 100))
    return gen, disc, _init(gen, z), z


def test_size_arithmetic():
    assert [conv_output_size(n, 4, 2, 1) for n in (28, 14)] == [14, 7]
    assert [conv_transpose_output_size(n, 4, 2, 1) for n in (7, 14)] == [14, 28]
    assert conv_output_size(28, 5, 1, 0) == 24 and conv_transpose_output_size(24, 5, 1, 0) == 28


@pytest.mark.parametrize("n,k,s,p", [(7, 4, 2, 1), (14, 4, 2, 1), (5, 3, 2, 0), (6, 5, 3, 2)])
def test_transposed_size_formula_matches_flax(n, k, s, p):
    """Our padding translation gives flax's ConvTranspose the size (n - 1)s - 2p + k, which is
    also the size whose stride-s conv with padding p maps back to n (for these cases)."""
    q = k - 1 - p
    layer = nn.ConvTranspose(2, (k, k), strides=(s, s), padding=((q, q), (q, q)))
    x = jnp.zeros((1, n, n, 3))
    out = jax.eval_shape(lambda x: layer.init_with_output(jax.random.PRNGKey(0), x)[0], x)
    m = conv_transpose_output_size(n, k, s, p)
    assert out.shape == (1, m, m, 2)
    conv = nn.Conv(2, (k, k), strides=(s, s), padding=((p, p), (p, p)))
    back = jax.eval_shape(lambda y: conv.init_with_output(jax.random.PRNGKey(0), y)[0], jnp.zeros((1, m, m, 3)))
    assert back.shape[1] == conv_output_size(m, k, s, p) == n


def test_dcgan_generator_outputs_28x28x1_in_range(dcgan):
    gen, _, variables, z = dcgan
    assert set(variables) == {"params", "batch_stats"}
    apply = jax.jit(lambda v, z: gen.apply(v, z, train=False))
    x = np.asarray(apply(variables, z * 10.0))   # large inputs saturate tanh but stay in range
    assert x.shape == (5, 28, 28, 1)
    assert x.min() >= -1.0 and x.max() <= 1.0 and x.std() > 0
    # Train mode normalises with batch statistics and returns updated running averages.
    _, updates = jax.jit(lambda v, z: gen.apply(v, z, train=True, mutable=["batch_stats"]))(variables, z)
    before = jax.tree_util.tree_leaves(variables["batch_stats"])
    after = jax.tree_util.tree_leaves(updates["batch_stats"])
    assert any(not np.allclose(a, b) for a, b in zip(before, after))


def test_dcgan_discriminator_logits_and_dropout(dcgan):
    _, disc, _, _ = dcgan
    x = jax.random.uniform(jax.random.PRNGKey(2), (5, 28, 28, 1), minval=-1, maxval=1)

    @jax.jit
    def run(x):
        variables = disc.init({"params": jax.random.PRNGKey(0)}, x)
        train = lambda k: disc.apply(variables, x, train=True, rngs={"dropout": k})  # noqa: E731
        return variables, disc.apply(variables, x), disc.apply(variables, x), train(jax.random.PRNGKey(0)), \
            train(jax.random.PRNGKey(1))

    variables, eval_a, eval_b, train_a, train_b = run(x)
    assert eval_a.shape == (5,)
    assert not np.allclose(train_a, train_b)                   # dropout active in train mode
    np.testing.assert_array_equal(eval_a, eval_b)              # eval mode: deterministic
    # conv 4x4x1x8 + 8, conv 4x4x8x16 + 16, dense 7*7*16 + 1.
    assert count_params(variables["params"]) == (16 * 8 + 8) + (16 * 8 * 16 + 16) + (7 * 7 * 16 + 1)


def test_mlp_gan_sizes_and_range():
    gen, disc = make_gan("gan")
    assert isinstance(gen, Generator) and isinstance(disc, Discriminator)
    z = jax.random.normal(jax.random.PRNGKey(0), (3, 100))
    shapes = jax.eval_shape(lambda k: gen.init(k, z), jax.random.PRNGKey(0))
    assert count_params(shapes["params"]) == 1_486_352
    d_shapes = jax.eval_shape(lambda k: disc.init(k, jnp.zeros((3, 784))), jax.random.PRNGKey(0))
    assert count_params(d_shapes["params"]) == 1_460_225
    out = jax.eval_shape(lambda k: gen.init_with_output(k, z)[0], jax.random.PRNGKey(0))
    assert out.shape == (3, 28, 28, 1)


def test_interpolate_endpoints_and_midpoint():
    a, b = jnp.zeros((2, 4)), jnp.ones((2, 4)) * 2
    path = np.asarray(interpolate(a, b, 5))
    assert path.shape == (2, 5, 4)
    np.testing.assert_allclose(path[:, 0], 0.0)
    np.testing.assert_allclose(path[:, -1], 2.0)
    np.testing.assert_allclose(path[:, 2], 1.0)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"noise of shape \(N, 100\)"):
        Generator().init(jax.random.PRNGKey(0), jnp.zeros((2, 50)))
    with pytest.raises(ValueError, match=r"\(N, 28, 28, 1\) or \(N, 784\)"):
        DCDiscriminator(features=2).init(jax.random.PRNGKey(0), jnp.zeros((2, 32, 32, 1)))
    with pytest.raises(ValueError, match="floating-point"):
        Discriminator().init(jax.random.PRNGKey(0), jnp.zeros((2, 784), jnp.uint8))
    with pytest.raises(ValueError, match="dropout"):
        Discriminator(dropout=1.0)
    with pytest.raises(ValueError, match="'gan' or 'dcgan'"):
        make_gan("wgan")
