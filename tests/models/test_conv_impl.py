"""The convolution implementations in jaxml.models.conv_impl compute lax.conv_general_dilated's
function (forward and both gradients) and plug into flax's nn.Conv without changing parameters."""
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from jaxml.models import conv_impl
from jaxml.models.cnn import mnist_cnn
from jaxml.models.resnet import ResNet

DN = ("NHWC", "HWIO", "NHWC")
# (N, H, W, C_in, C_out, kernel, stride, padding)
CASES = [
    (3, 9, 9, 1, 4, 3, 1, "VALID"),
    (2, 8, 7, 3, 5, 3, 2, "SAME"),
    (2, 10, 10, 2, 3, 5, 1, ((2, 2), (2, 2))),
    (4, 9, 9, 3, 4, 1, 2, "VALID"),
    (2, 7, 7, 3, 2, 3, 2, ((1, 0), (0, 1))),
]


def reference(x, k, s, p):
    return lax.conv_general_dilated(x, k, (s, s), p, dimension_numbers=DN)


@pytest.mark.parametrize("impl", ["patches", "batch_chunked"])
@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_forward_and_gradients_match_lax(impl, case):
    n, h, w, c, f, ksz, s, p = case
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(n, h, w, c)), jnp.float32)
    k = jnp.asarray(rng.normal(size=(ksz, ksz, c, f)), jnp.float32)
    fn = conv_impl.conv_fn(impl)
    if impl == "batch_chunked":  # chunks of 1 and 2 examples, uneven last chunk included
        fn = functools.partial(conv_impl.conv_batch_chunked, chunk=1 if n < 4 else 3)
    ref, ref_vjp = jax.vjp(lambda x, k: reference(x, k, s, p), x, k)
    out, out_vjp = jax.vjp(lambda x, k: fn(x, k, (s, s), p, dimension_numbers=DN), x, k)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    cot = jnp.asarray(rng.normal(size=ref.shape), jnp.float32)
    for got, want in zip(out_vjp(cot), ref_vjp(cot)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the choices asserted here are the CPU backend's")
def test_auto_choice_on_cpu():
    # Shallow patches (3*3*32 = 288 <= 300): patches. Deep, big batch, >= 8x8 output: chunked.
    assert conv_impl.choose_impl("auto", (128, 13, 13, 32), (3, 3, 32, 32), (1, 1), "VALID") == "patches"
    assert conv_impl.choose_impl("auto", (128, 32, 32, 64), (3, 3, 64, 64), (2, 2), "SAME") == "batch_chunked"
    # Deep, big batch, output under 8x8 (ResNets' last stage): patches (a small patches array), except
    # stride-1 3x3 ones with >= 64 channels, which are Winograd's (tests/models/test_conv_winograd.py).
    assert conv_impl.choose_impl("auto", (128, 4, 4, 512), (3, 3, 512, 512), (1, 1), "VALID") == "patches"
    assert conv_impl.choose_impl("auto", (128, 4, 4, 512), (3, 3, 512, 512), (1, 1), "SAME") == "winograd"
    assert conv_impl.choose_impl("auto", (128, 8, 8, 256), (3, 3, 256, 512), (2, 2), "SAME") == "patches"
    # Chunk size for "auto": 8 images from 32x32 output positions up, else CHUNK.
    assert (conv_impl.auto_chunk((32, 32)), conv_impl.auto_chunk((16, 16))) == (8, conv_impl.CHUNK)
    assert conv_impl.choose_impl("auto", (8, 32, 32, 64), (3, 3, 64, 64), (1, 1), "VALID") == "xla"
    assert conv_impl.choose_impl("xla", (128, 13, 13, 32), (3, 3, 32, 32), (1, 1), "VALID") == "xla"
    assert conv_impl.conv_fn("xla") is lax.conv_general_dilated
    # "auto" with its own chunk size (17 images at 32x32 -> chunks of 8, 8, 1) computes lax's conv.
    rng = np.random.default_rng(3)
    x, k = (jnp.asarray(rng.normal(size=s), jnp.float32) for s in ((17, 32, 32, 36), (3, 3, 36, 8)))
    assert conv_impl.choose_impl("auto", x.shape, k.shape, (1, 1), "SAME") == "batch_chunked"
    auto = jax.jit(lambda x, k: conv_impl.conv_fn("auto")(x, k, (1, 1), "SAME", dimension_numbers=DN))
    np.testing.assert_allclose(auto(x, k),
                               lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=DN),
                               rtol=1e-5, atol=1e-4)


def test_unsupported_configurations_fall_back_to_lax():
    x, k = jnp.ones((2, 6, 6, 4)), jnp.ones((3, 3, 2, 4))
    # feature groups: the fast paths do not apply, the result is lax's.
    got = conv_impl.conv_fn("patches")(x, k, (1, 1), "VALID", dimension_numbers=DN, feature_group_count=2)
    np.testing.assert_array_equal(got, lax.conv_general_dilated(x, k, (1, 1), "VALID", dimension_numbers=DN,
                                                                feature_group_count=2))


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown conv implementation 'fast'; expected one of"):
        conv_impl.conv_fn("fast")
    with pytest.raises(ValueError, match="input has 3 channels but the kernel expects 2"):
        conv_impl.conv_patches(jnp.ones((1, 5, 5, 3)), jnp.ones((3, 3, 2, 4)), (1, 1), "VALID")
    with pytest.raises(ValueError, match="chunk must be >= 1"):
        conv_impl.conv_batch_chunked(jnp.ones((2, 5, 5, 1)), jnp.ones((3, 3, 1, 1)), (1, 1), "VALID", chunk=0)
    with pytest.raises(ValueError, match="CNN.conv_impl must be one of"):
        mnist_cnn(conv_impl="im2col")


def test_flax_conv_keeps_its_parameters():
    x = jnp.ones((2, 8, 8, 3))
    plain = nn.Conv(4, (3, 3)).init(jax.random.key(0), x)
    fast = nn.Conv(4, (3, 3), conv_general_dilated=conv_impl.conv_fn("patches")).init(jax.random.key(0), x)
    assert jax.tree_util.tree_structure(plain) == jax.tree_util.tree_structure(fast)
    np.testing.assert_array_equal(plain["params"]["kernel"], fast["params"]["kernel"])


@pytest.mark.parametrize("make, shape", [(lambda impl: mnist_cnn(conv_impl=impl, dropout=0.0), (20, 28, 28, 1)),
                                         (lambda impl: ResNet((1, 1), width=4, conv_impl=impl), (18, 10, 10, 3))],
                         ids=["mnist_cnn", "resnet_2_stages"])
def test_models_agree_across_implementations(make, shape):
    """Same variables, outputs and parameter gradients (train mode, batch statistics) for every
    implementation; batch 18 > CHUNK so "auto" really chunks the ResNet's 10x10 convs."""
    x = jnp.asarray(np.random.default_rng(1).normal(size=shape), jnp.float32)
    y = jnp.arange(shape[0]) % 10
    ref_model = make("xla")
    variables = ref_model.init(jax.random.key(0), x)

    def loss_and_grads(model):   # one compiled program per implementation (eager dispatch is slower)
        def loss(params):
            logits, _ = model.apply({**variables, "params": params}, x, train=True, mutable=["batch_stats"])
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], 1))
        return jax.jit(jax.value_and_grad(loss))(variables["params"])

    ref_loss, ref_grads = loss_and_grads(ref_model)
    ref_out = jax.jit(ref_model.apply)(variables, x)
    for impl in ("auto", "patches", "batch_chunked", "winograd"):
        model = make(impl)
        assert jax.tree_util.tree_structure(jax.eval_shape(model.init, jax.random.key(0), x)) == \
            jax.tree_util.tree_structure(variables)
        np.testing.assert_allclose(jax.jit(model.apply)(variables, x), ref_out, rtol=1e-4, atol=1e-5)
        got_loss, got_grads = loss_and_grads(model)
        np.testing.assert_allclose(got_loss, ref_loss, rtol=1e-5)
        for g, r in zip(jax.tree_util.tree_leaves(got_grads), jax.tree_util.tree_leaves(ref_grads)):
            np.testing.assert_allclose(g, r, rtol=1e-3, atol=1e-5)
