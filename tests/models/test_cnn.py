"""CNN: parameter counts, output-size arithmetic, a numpy forward pass, batch norm and dropout
semantics, input validation, and a train step through jaxml.train."""
import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxml.models import count_params, param_count
from jaxml.models.cnn import CNN, ConvBlock, cnn2, cnn3, lenet, mnist_cnn
from jaxml.train import create_state, make_train_step

MNIST = (1, 28, 28, 1)
CIFAR = (1, 32, 32, 3)


def abstract_init(model, shape):
    """Variables as ShapeDtypeStructs: no compile, no allocation."""
    return jax.eval_shape(lambda k: model.init(k, jnp.zeros(shape)), jax.random.PRNGKey(0))


def rand(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


# --- parameter counts --------------------------------------------------------------------------

def test_cnn2_parameter_count_and_layers():
    v = abstract_init(cnn2(), MNIST)
    by_hand = (7 * 7 * 1 * 64 + 64) + (11 * 11 * 64 * 10 + 10)  # 28 -> 22 -> pool 11
    assert by_hand == 80_650
    assert count_params(v["params"]) == by_hand
    assert "batch_stats" not in v
    chex.assert_shape([v["params"]["conv_0"]["kernel"], v["params"]["output"]["kernel"]],
                      [(7, 7, 1, 64), (7744, 10)])



def test_param_count_from_shapes_alone():
    model = mnist_cnn()
    x = jnp.zeros(MNIST)
    assert param_count(model, x) == count_params(abstract_init(model, MNIST)["params"]) == 61_546
    assert param_count(model, x, "batch_stats") == 2 * 32  # bn running mean and var
    assert param_count(cnn2(), x, "batch_stats") == 0  # no such collection

def test_cnn3_parameter_count():
    v = abstract_init(cnn3(), MNIST)
    by_hand = (7 * 7 * 64 + 64) + (2 * 2 * 64 * 128 + 128) + (5 * 5 * 128 * 10 + 10)  # 22/11/10/5
    assert by_hand == 68_106
    assert count_params(v["params"]) == by_hand


def test_mnist_cnn_parameter_count_batch_stats_separate():
    v = abstract_init(mnist_cnn(), MNIST)
    bn_scale_bias = 2 * 32  # the running mean/var are batch_stats, not params
    by_hand = 320 + 9_248 + bn_scale_bias + (800 * 64 + 64) + (64 * 10 + 10)
    assert by_hand == 61_546
    assert count_params(v["params"]) == by_hand
    chex.assert_shape([v["batch_stats"]["bn_1"]["mean"], v["batch_stats"]["bn_1"]["var"]], [(32,), (32,)])
    # Keras' "Total params" (BN counted as 4 x 32 = 128) is params + batch_stats.
    assert count_params(v["params"]) + count_params(v["batch_stats"]) == 320 + 9_248 + 128 + 51_264 + 650
    chex.assert_shape(v["params"]["dense_0"]["kernel"], (800, 64))


def test_lenet_default_parameter_count():
    v = abstract_init(lenet(), CIFAR)
    by_hand = 456 + 2_416 + 48_120 + 10_164 + 850  # 32 -> 28 -> 14 -> 10 -> 5; flatten 400
    assert by_hand == (5 * 5 * 3 * 6 + 6) + (5 * 5 * 6 * 16 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + 850
    assert count_params(v["params"]) == by_hand == 62_006


@pytest.mark.parametrize("kwargs, by_hand", [
    # one conv layer, no hidden dense: 32 -> 28 -> 14, flatten 14*14*6
    (dict(conv_channels=(6,), dense=()), 456 + (14 * 14 * 6 * 10 + 10)),
    # three wider SAME layers: 32 -> 16 -> 8 -> 4, flatten 4*4*128; one hidden dense layer
    (dict(conv_channels=(32, 64, 128), padding="SAME", dense=(256,)),
     (75 * 32 + 32) + (800 * 64 + 64) + (1600 * 128 + 128) + (2048 * 256 + 256) + (256 * 10 + 10)),
    # three dense layers, tanh (activation does not change the count)
    (dict(dense=(120, 84, 32), activation="tanh"), 456 + 2_416 + 48_120 + 10_164 + (84 * 32 + 32) + 330),
])
def test_lenet_variants_parameter_counts(kwargs, by_hand):
    assert count_params(abstract_init(lenet(**kwargs), CIFAR)["params"]) == by_hand


# --- output shapes and size arithmetic ----------------------------------------------------------

@pytest.mark.parametrize("make, shape", [(cnn2, (2, 28, 28, 1)), (cnn3, (2, 28, 28, 1)),
                                         (mnist_cnn, (2, 28, 28, 1)), (lenet, (2, 32, 32, 3))])
def test_output_shapes(make, shape):
    model = make()
    variables = abstract_init(model, shape)
    for train in (False, True):
        out = jax.eval_shape(lambda v, x, k, train=train: model.apply(v, x, train=train, rngs={"dropout": k},
                                                                      mutable=["batch_stats"])[0],
                             variables, jnp.zeros(shape), jax.random.PRNGKey(0))
        chex.assert_shape(out, (2, 10))
        assert out.dtype == jnp.float32


@pytest.mark.parametrize("n, kernel, stride, padding, expected", [
    (28, 7, 1, "VALID", 22),   # floor((28 - 7) / 1) + 1
    (9, 3, 2, 1, 5),           # floor((9 + 2 - 3) / 2) + 1
    (10, 4, 3, 2, 4),          # floor((10 + 4 - 4) / 3) + 1
    (32, 5, 1, "SAME", 32),    # ceil(32 / 1)
    (9, 3, 2, "SAME", 5),      # ceil(9 / 2)
])
def test_conv_output_size_arithmetic(n, kernel, stride, padding, expected):
    spec = ConvBlock(2, kernel=kernel, stride=stride, padding=padding)
    assert spec.conv_output_size(n) == expected
    model = CNN(blocks=(spec,), num_classes=3)
    captured = jax.eval_shape(
        lambda v, x: model.apply(v, x, capture_intermediates=True)[1],
        abstract_init(model, (1, n, n, 1)), jnp.zeros((1, n, n, 1)))
    chex.assert_shape(captured["intermediates"]["conv_0"]["__call__"][0], (1, expected, expected, 2))


def test_pool_drops_leftover_rows():
    spec = ConvBlock(2, kernel=3, pool=2)  # 12 -> 10 -> 5; 11 -> 9 -> 4 (floor)
    assert spec.output_size(12) == 5 and spec.output_size(11) == 4
    assert ConvBlock(2, kernel=1, pool=3).output_size(8) == 2


# --- forward pass against numpy ------------------------------------------------------------------

def np_conv(x, kernel, bias, stride, pad):
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    kh, kw = kernel.shape[:2]
    oh, ow = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, kernel.shape[-1]))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j] = np.einsum("nhwc,hwcf->nf", patch, kernel) + bias
    return out


def np_pool(x, w, reduce):
    n, h, wd, c = x.shape
    x = x[:, :h // w * w, :wd // w * w]
    return reduce(x.reshape(n, h // w, w, wd // w, w, c), axis=(2, 4))


@pytest.mark.parametrize("pool_type, act, slope, np_act", [
    ("max", "relu", None, lambda z: np.maximum(z, 0)),
    ("avg", "tanh", None, np.tanh),
    ("max", "leaky_relu", 0.2, lambda z: np.where(z > 0, z, 0.2 * z)),
])
def test_forward_matches_numpy(pool_type, act, slope, np_act):
    # 9x9x2 -> conv 3x3 stride 2 pad 1 -> 5x5x3 -> pool 2 -> 2x2x3 -> flatten 12 -> dense 4 -> 5
    model = CNN(blocks=(ConvBlock(3, kernel=3, stride=2, padding=1, activation=act, pool=2,
                                  pool_type=pool_type),),
                dense=(4,), num_classes=5, dense_activation=act, negative_slope=slope,
                bias_init="normal", init_std=0.5)
    x = rand((2, 9, 9, 2))
    params = model.init(jax.random.PRNGKey(0), x)["params"]
    p = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), params)
    h = np_act(np_conv(x, p["conv_0"]["kernel"], p["conv_0"]["bias"], stride=2, pad=1))
    h = np_pool(h, 2, np.max if pool_type == "max" else np.mean).reshape(2, -1)
    h = np_act(h @ p["dense_0"]["kernel"] + p["dense_0"]["bias"])
    expected = h @ p["output"]["kernel"] + p["output"]["bias"]
    np.testing.assert_allclose(model.apply({"params": params}, x), expected, rtol=1e-4, atol=1e-5)


# --- batch norm ------------------------------------------------------------------------------------

EPS = 1e-5


def bn_model(momentum=0.9, before=True):
    block = ConvBlock(4, kernel=3, batch_norm=True, norm_before_activation=before)
    return CNN(blocks=(block,), num_classes=3, bn_momentum=momentum, bn_epsilon=EPS)


def captured(inter, name):
    return np.asarray(inter["intermediates"][name]["__call__"][0], np.float64)


@pytest.mark.parametrize("momentum", [0.9, 0.5])
def test_batch_norm_train_mode_uses_batch_statistics(momentum):
    model = bn_model(momentum)
    x = rand((6, 5, 5, 2))
    variables = model.init(jax.random.PRNGKey(0), x)
    variables = {"params": variables["params"], "batch_stats": variables["batch_stats"]}
    scale = np.asarray(variables["params"]["bn_0"]["scale"])
    assert np.all(scale == 1.0)
    out, state = model.apply(variables, x, train=True, mutable=["batch_stats", "intermediates"],
                             capture_intermediates=True)
    conv = captured(state, "conv_0")
    mean, var = conv.mean(axis=(0, 1, 2)), conv.var(axis=(0, 1, 2))
    np.testing.assert_allclose(captured(state, "bn_0"), (conv - mean) / np.sqrt(var + EPS),
                               rtol=1e-4, atol=1e-4)
    # running averages: avg = momentum * avg + (1 - momentum) * batch (init mean 0, var 1)
    new = state["batch_stats"]["bn_0"]
    np.testing.assert_allclose(new["mean"], (1 - momentum) * mean, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(new["var"], momentum + (1 - momentum) * var, rtol=1e-4, atol=1e-6)
    # batch statistics: example 0's output depends on the rest of the batch
    alone = model.apply(variables, x[:1], train=True, mutable=["batch_stats"])[0]
    assert not np.allclose(alone[0], out[0], atol=1e-3)


def test_batch_norm_after_activation():
    model = bn_model(before=False)
    x = rand((6, 5, 5, 2))
    variables = model.init(jax.random.PRNGKey(0), x)
    _, state = model.apply(variables, x, train=True, mutable=["batch_stats", "intermediates"],
                           capture_intermediates=True)
    relu = np.maximum(captured(state, "conv_0"), 0)
    expected = (relu - relu.mean(axis=(0, 1, 2))) / np.sqrt(relu.var(axis=(0, 1, 2)) + EPS)
    np.testing.assert_allclose(captured(state, "bn_0"), expected, rtol=1e-4, atol=1e-4)


def test_batch_norm_eval_mode_uses_running_averages():
    model = bn_model()
    x = rand((6, 5, 5, 2))
    variables = model.init(jax.random.PRNGKey(0), x)
    # non-trivial running averages and affine parameters
    stats = {"bn_0": {"mean": jnp.asarray([0.5, -1.0, 0.2, 0.0]), "var": jnp.asarray([2.0, 0.5, 1.0, 3.0])}}
    params = dict(variables["params"])
    params["bn_0"] = {"scale": jnp.asarray([1.5, 0.5, -1.0, 2.0]), "bias": jnp.asarray([0.1, 0.0, -0.3, 1.0])}
    variables = {"params": params, "batch_stats": stats}
    out, state = model.apply(variables, x, train=False, mutable=["batch_stats", "intermediates"],
                             capture_intermediates=True)
    s = {k: np.asarray(v, np.float64) for k, v in stats["bn_0"].items()}
    expected = ((captured(state, "conv_0") - s["mean"]) / np.sqrt(s["var"] + EPS)
                * np.asarray(params["bn_0"]["scale"]) + np.asarray(params["bn_0"]["bias"]))
    np.testing.assert_allclose(captured(state, "bn_0"), expected, rtol=1e-4, atol=1e-4)
    # eval mode leaves batch_stats unchanged ...
    chex.assert_trees_all_equal(state["batch_stats"], stats)
    # ... and example 0's output does not depend on the rest of the batch
    np.testing.assert_allclose(model.apply(variables, x[:1])[0], out[0], rtol=1e-5, atol=1e-6)


# --- dropout -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mnist_setup():
    model = mnist_cnn(dropout=0.5)
    x = rand((4, 28, 28, 1))
    variables = jax.jit(model.init)(jax.random.PRNGKey(0), x)
    return model, variables, x


def test_dropout_only_in_train_mode(mnist_setup):
    model, variables, x = mnist_setup
    plain = mnist_cnn(dropout=0.0)
    reference = plain.apply(variables, x)
    np.testing.assert_array_equal(model.apply(variables, x), reference)
    np.testing.assert_array_equal(
        model.apply(variables, x, train=False, rngs={"dropout": jax.random.PRNGKey(1)}), reference)

    def train_apply(key):
        return model.apply(variables, x, train=True, rngs={"dropout": key}, mutable=["batch_stats"])[0]

    a, b = train_apply(jax.random.PRNGKey(1)), train_apply(jax.random.PRNGKey(2))
    assert not np.allclose(a, b)  # the mask follows the rng
    np.testing.assert_array_equal(a, train_apply(jax.random.PRNGKey(1)))  # and only the rng
    with pytest.raises(Exception, match="dropout"):  # train mode needs the dropout rng
        model.apply(variables, x, train=True, mutable=["batch_stats"])


def test_conv_block_dropout_is_inverted_dropout(mnist_setup):
    model, variables, x = mnist_setup
    _, state = model.apply(variables, x, train=True, rngs={"dropout": jax.random.PRNGKey(3)},
                           mutable=["batch_stats", "intermediates"], capture_intermediates=True)
    post = captured(state, "dropout_0")
    # the first block has no batch norm, so its pre-dropout output is the same in eval mode
    _, ev = model.apply(variables, x, mutable=["intermediates"], capture_intermediates=True)
    pre = captured(ev, "dropout_0")
    live = pre != 0
    kept = post[live] != 0
    assert 0.4 < 1 - kept.mean() < 0.6
    np.testing.assert_allclose(post[live][kept], pre[live][kept] / 0.5, rtol=1e-5)


def test_dense_dropout_only_in_train_mode():
    model = lenet(dropout=0.5, input_channels=1, dense=(64,))
    x = rand((2, 16, 16, 1))  # 16 -> 12 -> 6 -> 2 -> 1
    variables = model.init(jax.random.PRNGKey(0), x)
    _, st = model.apply(variables, x, train=True, rngs={"dropout": jax.random.PRNGKey(0)},
                        mutable=["intermediates"], capture_intermediates=True)
    _, ev = model.apply(variables, x, mutable=["intermediates"], capture_intermediates=True)
    pre, post = captured(ev, "dense_dropout_0"), captured(st, "dense_dropout_0")
    # eval mode: dropout is the identity on relu(dense_0)
    np.testing.assert_allclose(pre, np.maximum(captured(ev, "dense_0"), 0), rtol=1e-6)
    live = pre != 0
    kept = post[live] != 0
    assert 0.25 < 1 - kept.mean() < 0.75
    np.testing.assert_allclose(post[live][kept], pre[live][kept] / 0.5, rtol=1e-5)


# --- validation -----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(28, 28, 1), (2, 28, 28), (2, 1, 28, 28, 1)])
def test_bad_rank_names_nhwc(shape):
    model = cnn2()
    with pytest.raises(ValueError, match=r"NHWC.*\(N, H, W, C\)"):
        model.init(jax.random.PRNGKey(0), jnp.zeros(shape))


def test_integer_input_rejected():
    with pytest.raises(ValueError, match="floating-point NHWC.*uint8"):
        cnn2().init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1), jnp.uint8))


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown activation 'rleu'.*'relu'.*'tanh'.*'leaky_relu'"):
        ConvBlock(8, activation="rleu")
    with pytest.raises(ValueError, match=r"unknown activation 'swishy'.*'relu'"):
        CNN(blocks=(), dense_activation="swishy")
    with pytest.raises(ValueError, match=r"unknown activation 'sigmoidal'.*'sigmoid'"):
        lenet(activation="sigmoidal")
    with pytest.raises(ValueError, match=r"unknown pool_type 'min'.*\['max', 'avg'\]"):
        ConvBlock(8, pool=2, pool_type="min")
    with pytest.raises(ValueError, match=r"padding.*\['VALID', 'SAME'\]"):
        ConvBlock(8, padding="FULL")
    with pytest.raises(ValueError, match="unknown initializer"):
        CNN(blocks=(), kernel_init="he_gaussian")


@pytest.mark.parametrize("kwargs, match", [
    (dict(features=0), "features"), (dict(features=4, kernel=0), "kernel"),
    (dict(features=4, pool=0), "pool"), (dict(features=4, dropout=1.0), "dropout"),
    (dict(features=4, padding=-1), "padding"),
])
def test_bad_block_fields(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConvBlock(**kwargs)


def test_input_too_small_names_the_block():
    # three 5x5 VALID conv + pool-2 layers: 32 -> 14 -> 5 -> 1 -> pool 2 gives 0
    model = lenet(conv_channels=(6, 16, 32))
    with pytest.raises(ValueError, match=r"block 2: input 5x5.*too small"):
        abstract_init(model, CIFAR)
    with pytest.raises(ValueError, match="1 to 3 conv layers"):
        lenet(conv_channels=(6, 16, 32, 64))


def test_input_channels_checked():
    with pytest.raises(ValueError, match="C=3 channels"):
        abstract_init(lenet(), (1, 32, 32, 1))
    abstract_init(lenet(input_channels=None), (1, 32, 32, 1))  # no check


# --- one train step through jaxml.train ---------------------------------------------------------------

def test_mnist_cnn_train_steps_update_batch_stats_and_reduce_loss():
    model = mnist_cnn()
    x = rand((8, 28, 28, 1), seed=1)
    y = jnp.arange(8) % 10
    state = jax.jit(functools.partial(create_state, model, optax.adam(3e-3)))(jax.random.PRNGKey(0), x)
    step = jax.jit(make_train_step("cross_entropy"))
    batch = {"x": x, "y": y}
    new, metrics = step(state, batch, jax.random.PRNGKey(1))
    first = float(metrics["loss_sum"] / metrics["count"])
    assert np.isfinite(first) and float(metrics["count"]) == 8
    old_stats, new_stats = state.batch_stats["bn_1"], new.batch_stats["bn_1"]
    assert not np.allclose(old_stats["mean"], new_stats["mean"])
    assert not np.allclose(old_stats["var"], new_stats["var"])
    assert not np.allclose(state.params["conv_0"]["kernel"], new.params["conv_0"]["kernel"])
    for i in range(15):
        new, metrics = step(new, batch, jax.random.PRNGKey(2 + i))
    assert float(metrics["loss_sum"] / metrics["count"]) < 0.5 * first
