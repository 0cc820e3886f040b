"""ResNet: torchvision parameter counts, stage shapes, structure, init, batch norm semantics,
input validation, and a train step through jaxml.train."""
import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxml.models import count_params
from jaxml.models.resnet import ResNet, resnet18, resnet34, resnet50, resnet101, resnet152
from jaxml.train import create_state, make_train_step

IMAGENET = (1, 224, 224, 3)


def abstract_init(model, shape):
    """Variables as ShapeDtypeStructs: no compile, no allocation."""
    return jax.eval_shape(lambda k: model.init(k, jnp.zeros(shape)), jax.random.PRNGKey(0))


def abstract_intermediates(model, shape, **kwargs):
    model_variables = abstract_init(model, shape)
    return jax.eval_shape(
        lambda v, x: model.apply(v, x, capture_intermediates=True, mutable=["intermediates"], **kwargs),
        model_variables, jnp.zeros(shape))


# --- parameter counts (torchvision's) ------------------------------------------------------------

@pytest.mark.parametrize("make, expected", [
    (resnet18, 11_689_512), (resnet34, 21_797_672), (resnet50, 25_557_032),
    (resnet101, 44_549_160), (resnet152, 60_192_808),
])
def test_imagenet_parameter_counts_match_torchvision(make, expected):
    variables = abstract_init(make(num_classes=1000, stem="imagenet"), IMAGENET)
    assert count_params(variables["params"]) == expected
    # running mean and variance: two numbers per BN channel, never counted as parameters
    bn_channels = sum(leaf.size for path, leaf in jax.tree_util.tree_leaves_with_path(variables["params"])
                      if path[-1].key == "scale")
    assert count_params(variables["batch_stats"]) == 2 * bn_channels


def test_cifar_resnet18_parameter_count():
    # ImageNet figure - 7x7 stem + 3x3 stem - 1000-way head + 10-way head
    by_hand = 11_689_512 - 7 * 7 * 3 * 64 + 3 * 3 * 3 * 64 - (512 * 1000 + 1000) + (512 * 10 + 10)
    assert by_hand == 11_173_962
    assert count_params(abstract_init(resnet18(), (1, 32, 32, 3))["params"]) == by_hand


# --- shapes ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, last_blocks, expansion", [(resnet18, (2, 2, 2, 2), 1),
                                                         (resnet50, (3, 4, 6, 3), 4)])
def test_imagenet_stage_shapes(make, last_blocks, expansion):
    out, state = abstract_intermediates(make(num_classes=1000, stem="imagenet"), IMAGENET)
    chex.assert_shape(out, (1, 1000))
    inter = state["intermediates"]
    chex.assert_shape(inter["stem_conv"]["__call__"][0], (1, 112, 112, 64))
    for stage, (size, width) in enumerate(zip((56, 28, 14, 7), (64, 128, 256, 512)), start=1):
        block = inter[f"stage{stage}_block{last_blocks[stage - 1]}"]["__call__"][0]
        chex.assert_shape(block, (1, size, size, width * expansion))


def test_cifar_stem_keeps_resolution():
    out, state = abstract_intermediates(resnet18(), (2, 32, 32, 3))
    chex.assert_shape(out, (2, 10))
    inter = state["intermediates"]
    chex.assert_shape(inter["stem_conv"]["__call__"][0], (2, 32, 32, 64))
    chex.assert_shape([inter[f"stage{s}_block2"]["__call__"][0] for s in (1, 2, 3, 4)],
                      [(2, 32, 32, 64), (2, 16, 16, 128), (2, 8, 8, 256), (2, 4, 4, 512)])


def test_bfloat16_computation_float32_params_and_logits():
    model = resnet18(dtype=jnp.bfloat16)
    out, state = abstract_intermediates(model, (2, 16, 16, 3))
    assert out.dtype == jnp.float32
    assert state["intermediates"]["stem_conv"]["__call__"][0].dtype == jnp.bfloat16
    params = abstract_init(model, (2, 16, 16, 3))["params"]
    assert {leaf.dtype for leaf in jax.tree_util.tree_leaves(params)} == {jnp.dtype(jnp.float32)}


# --- structure and initialisation ---------------------------------------------------------------

def test_convs_have_no_bias_and_projections_where_shape_changes():
    p18 = abstract_init(resnet18(num_classes=1000, stem="imagenet"), IMAGENET)["params"]
    p50 = abstract_init(resnet50(num_classes=1000, stem="imagenet"), IMAGENET)["params"]
    for params in (p18, p50):
        for path, _ in jax.tree_util.tree_leaves_with_path(params):
            if "conv" in path[-2].key:
                assert path[-1].key == "kernel", path
        assert set(params["head"]) == {"kernel", "bias"}
    # basic: 64 -> 64 needs no projection; stride 2 into stage 2 does
    assert "proj_conv" not in p18["stage1_block1"]
    chex.assert_shape(p18["stage2_block1"]["proj_conv"]["kernel"], (1, 1, 64, 128))
    assert "proj_conv" not in p18["stage2_block2"]
    # bottleneck: the first block widens 64 -> 256 (stride 1) and needs a projection
    chex.assert_shape(p50["stage1_block1"]["proj_conv"]["kernel"], (1, 1, 64, 256))
    assert "proj_conv" not in p50["stage1_block2"]
    chex.assert_shape([p50["stage4_block1"][k]["kernel"] for k in ("conv1", "conv2", "conv3", "proj_conv")],
                      [(1, 1, 1024, 512), (3, 3, 512, 512), (1, 1, 512, 2048), (1, 1, 1024, 2048)])


# --- batch norm: train vs eval ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_resnet():
    # projections in both stages; zero_init_residual starts each block's last BN scale at 0
    model = ResNet(stage_sizes=(1, 1), width=16, block="bottleneck", zero_init_residual=True)
    x = np.random.default_rng(0).normal(size=(4, 8, 8, 3)).astype(np.float32)
    variables = jax.jit(model.init)(jax.random.PRNGKey(0), x)
    train = jax.jit(lambda v, x: model.apply(v, x, train=True, mutable=["batch_stats", "intermediates"],
                                             capture_intermediates=True))
    evaluate = jax.jit(lambda v, x: model.apply(v, x, train=False, mutable=["batch_stats"]))
    return model, variables, x, train, evaluate


def test_he_normal_fan_out_init(small_resnet):
    params = small_resnet[1]["params"]
    w = np.asarray(params["stage1_block1"]["conv2"]["kernel"], np.float64)  # (3, 3, 16, 16)
    std = np.sqrt(2.0 / (3 * 3 * 16))  # fan_out = k * k * C_out
    assert abs(w.std() / std - 1) < 0.05 and abs(w.mean()) < 0.05 * std
    # untruncated normal: jax's truncated normal never exceeds ~2.3 std
    assert np.abs(w).max() > 3 * std
    stem = np.asarray(params["stem_conv"]["kernel"], np.float64)  # fan_out 9*16 = 144, fan_in 27
    assert abs(stem.std() / np.sqrt(2.0 / 144) - 1) < 0.15
    proj = np.asarray(params["stage2_block1"]["proj_conv"]["kernel"], np.float64)  # (1, 1, 64, 128)
    assert abs(proj.std() / np.sqrt(2.0 / 128) - 1) < 0.05
    np.testing.assert_array_equal(params["stage1_block1"]["bn1"]["scale"], 1.0)
    np.testing.assert_array_equal(params["stage1_block1"]["bn1"]["bias"], 0.0)
    np.testing.assert_array_equal(params["stage1_block1"]["bn3"]["scale"], 0.0)  # zero_init_residual
    np.testing.assert_array_equal(params["stage1_block1"]["proj_bn"]["scale"], 1.0)


def test_train_mode_updates_batch_stats_with_batch_statistics(small_resnet):
    _, variables, x, train, _ = small_resnet
    out, state = train(variables, x)
    new_stats = state["batch_stats"]
    changed = jax.tree_util.tree_map(lambda a, b: not np.allclose(a, b), variables["batch_stats"], new_stats)
    assert all(jax.tree_util.tree_leaves(changed))
    # stem BN: mean <- 0.9 * 0 + 0.1 * (batch mean of the stem conv's output)
    conv = np.asarray(state["intermediates"]["stem_conv"]["__call__"][0], np.float64)
    np.testing.assert_allclose(new_stats["stem_bn"]["mean"], 0.1 * conv.mean(axis=(0, 1, 2)), rtol=1e-4,
                               atol=1e-7)
    np.testing.assert_allclose(new_stats["stem_bn"]["var"], 0.9 + 0.1 * conv.var(axis=(0, 1, 2)), rtol=1e-4)
    # batch statistics: example 0's output depends on the rest of the batch
    alone, _ = train(variables, np.concatenate([x[:1], x[:1] * 0.1 + 1.0]))
    assert not np.allclose(alone[0], out[0], atol=1e-4)


def test_eval_mode_uses_running_averages(small_resnet):
    _, variables, x, train, evaluate = small_resnet
    _, state = train(variables, x)  # non-trivial running averages
    variables = {"params": variables["params"], "batch_stats": state["batch_stats"]}
    out, after = evaluate(variables, x)
    chex.assert_trees_all_equal(after["batch_stats"], variables["batch_stats"])
    alone, _ = evaluate(variables, np.concatenate([x[:1], x[:1] * 0.1 + 1.0]))
    np.testing.assert_allclose(alone[0], out[0], rtol=1e-5, atol=1e-5)
    assert not np.allclose(out, train(variables, x)[0], atol=1e-4)  # differs from batch-stat mode


# --- validation -----------------------------------------------------------------------------------

def test_bad_input_rank_and_dtype():
    with pytest.raises(ValueError, match=r"NHWC.*\(N, H, W, C\)"):
        abstract_init(resnet18(), (32, 32, 3))
    with pytest.raises(ValueError, match="floating-point"):
        jax.eval_shape(lambda k: resnet18().init(k, jnp.zeros((1, 8, 8, 3), jnp.uint8)),
                       jax.random.PRNGKey(0))


def test_unknown_names_and_bad_fields():
    with pytest.raises(ValueError, match=r"unknown ResNet stem 'mnist'.*\['cifar', 'imagenet'\]"):
        resnet18(stem="mnist")
    with pytest.raises(ValueError, match=r"unknown ResNet block 'wide'.*\['basic', 'bottleneck'\]"):
        ResNet(stage_sizes=(2, 2), block="wide")
    with pytest.raises(ValueError, match="stage_sizes"):
        ResNet(stage_sizes=())
    with pytest.raises(ValueError, match="stage_sizes"):
        ResNet(stage_sizes=(2, 0))
    with pytest.raises(ValueError, match="num_classes"):
        resnet50(num_classes=0)


# --- one train step through jaxml.train ---------------------------------------------------------------

def test_resnet18_train_step_updates_batch_stats():
    model = resnet18()
    x = np.random.default_rng(1).normal(size=(4, 8, 8, 3)).astype(np.float32)
    batch = {"x": x, "y": jnp.asarray([0, 1, 2, 3])}
    # an "rbg" key: its random-number code compiles in about half the time of threefry's
    state = jax.jit(functools.partial(create_state, model, optax.sgd(0.1, momentum=0.9)))(
        jax.random.key(0, impl="rbg"), x)
    new, metrics = jax.jit(make_train_step("cross_entropy"))(state, batch, jax.random.PRNGKey(1))
    loss = float(metrics["loss_sum"] / metrics["count"])
    assert np.isfinite(loss) and float(metrics["count"]) == 4
    changed = jax.tree_util.tree_map(lambda a, b: not np.allclose(a, b), state.batch_stats, new.batch_stats)
    assert all(jax.tree_util.tree_leaves(changed))
    assert not np.allclose(state.params["head"]["kernel"], new.params["head"]["kernel"])
    assert int(new.step) == 1
    chex.assert_tree_all_finite(new.params)
