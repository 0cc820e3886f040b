"""Steps and compiled epochs: masking of the last batch, gradients on real examples only,
evaluation against a direct computation, batch statistics, determinism."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxml.train import (
    TrainState,
    apply_model,
    create_state,
    make_epoch_fn,
    make_eval_fn,
    make_eval_step,
    make_train_step,
    num_batches,
)
from jaxml.train.epoch import means as summarize
from jaxml.train.sources import batch_plan

N, BATCH = 10, 4


def np_cross_entropy(logits, y):
    z = np.asarray(logits, np.float64)
    m = z.max(-1, keepdims=True)
    logp = z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))
    return -logp[np.arange(len(y)), y]


def test_num_batches():
    assert num_batches(10, 4) == 3
    assert num_batches(8, 4) == 2
    assert num_batches(1, 4) == 1
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        num_batches(10, 0)


def test_batch_plan_is_a_padded_permutation():
    idx, mask = batch_plan(jax.random.PRNGKey(0), N, BATCH)
    idx, mask = np.asarray(idx), np.asarray(mask)
    assert idx.shape == mask.shape == (3, BATCH)
    np.testing.assert_array_equal(mask.ravel(), [1] * N + [0] * 2)
    assert sorted(idx.ravel()[:N]) == list(range(N))
    assert list(idx.ravel()[:N]) != list(range(N))  # shuffled
    idx2, _ = batch_plan(jax.random.PRNGKey(0), N, BATCH, shuffle=False)
    np.testing.assert_array_equal(np.asarray(idx2).ravel()[:N], np.arange(N))


@pytest.fixture(scope="module")
def tiny_state(model):
    """An MLP state whose optimizer never moves the parameters (learning rate 0)."""
    return create_state(model, optax.sgd(0.0), jax.random.PRNGKey(0), jnp.zeros((1, 8)))


@pytest.fixture(scope="module")
def data10(tiny):
    return tiny.make_blobs(N, seed=5)


def bit_loss(outputs, targets):
    """Per-example 'loss' = the target itself (a distinct power of two per example)."""
    return targets + 0.0 * outputs.sum(axis=-1), jnp.ones_like(targets)


def test_masked_last_batch_counts_every_example_exactly_once(tiny_state, data10):
    epoch = jax.jit(make_epoch_fn(make_train_step(bit_loss), BATCH))
    data = {"x": jnp.asarray(data10["x"]), "y": jnp.asarray(2.0 ** np.arange(N), jnp.float32)}
    _, metrics = epoch(tiny_state, data, jax.random.PRNGKey(3))
    np.testing.assert_array_equal(metrics["count"], [4, 4, 2])
    assert float(metrics["count"].sum()) == N
    # Each step's loss_sum is the bit set of the examples it used: disjoint and covering all.
    bits = np.asarray(metrics["loss_sum"]).astype(np.int64)
    assert [bin(b).count("1") for b in bits] == [4, 4, 2]
    assert np.bitwise_or.reduce(bits) == 2 ** N - 1
    assert bits.sum() == 2 ** N - 1
    np.testing.assert_array_equal(metrics["accuracy_sum"], [4, 4, 2])


def test_epoch_loss_with_fixed_params_equals_eval_and_numpy(tiny_state, data10, model):
    epoch = jax.jit(make_epoch_fn(make_train_step("cross_entropy"), BATCH))
    data = {k: jnp.asarray(v) for k, v in data10.items()}
    new_state, metrics = epoch(tiny_state, data, jax.random.PRNGKey(1))
    jax.tree_util.tree_map(np.testing.assert_array_equal, new_state.params, tiny_state.params)
    assert int(new_state.step) == 3

    logits = model.apply({"params": tiny_state.params}, data10["x"])
    per_example = np_cross_entropy(logits, data10["y"])
    np.testing.assert_allclose(float(metrics["loss_sum"].sum()), per_example.sum(), rtol=1e-5)

    sums = jax.jit(make_eval_fn(make_eval_step("cross_entropy"), batch_size=3))(tiny_state, data)
    assert float(sums["count"]) == N
    np.testing.assert_allclose(float(sums["loss_sum"]), per_example.sum(), rtol=1e-5)
    np.testing.assert_allclose(float(sums["accuracy_sum"]), (np.argmax(logits, -1) == data10["y"]).sum())
    means = summarize(jax.device_get(sums), "val_")
    np.testing.assert_allclose(means["val_loss"], per_example.mean(), rtol=1e-5)
    assert set(means) == {"val_loss", "val_accuracy"}


def test_eval_fn_batch_size_larger_than_data(tiny_state, data10, model):
    sums = jax.jit(make_eval_fn(make_eval_step("cross_entropy"), batch_size=1000))(
        tiny_state, {k: jnp.asarray(v) for k, v in data10.items()})
    logits = model.apply({"params": tiny_state.params}, data10["x"])
    np.testing.assert_allclose(float(sums["loss_sum"]), np_cross_entropy(logits, data10["y"]).sum(), rtol=1e-5)
    assert float(sums["count"]) == N


def test_train_step_gradient_uses_only_real_examples(model, data10):
    state = create_state(model, optax.sgd(1.0), jax.random.PRNGKey(0), jnp.zeros((1, 8)))
    x, y = data10["x"][:4].copy(), data10["y"][:4].copy()
    x[2:] = 1e3  # padding rows: garbage that would dominate the gradient if it leaked in
    batch = {"x": jnp.asarray(x), "y": jnp.asarray(y), "mask": jnp.array([1.0, 1.0, 0.0, 0.0])}
    new_state, metrics = jax.jit(make_train_step("cross_entropy"))(state, batch, jax.random.PRNGKey(0))

    def mean_loss(params):  # an independent mean over the two real examples
        logits = model.apply({"params": params}, x[:2])
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(2), y[:2]])

    grads = jax.jit(jax.grad(mean_loss))(state.params)
    expected = jax.tree_util.tree_map(lambda p, g: p - g, state.params, grads)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                           new_state.params, expected)
    assert float(metrics["count"]) == 2.0
    np.testing.assert_allclose(float(metrics["loss_sum"]), 2 * float(mean_loss(state.params)), rtol=1e-5)
    assert int(new_state.step) == 1


def test_epoch_is_deterministic_given_the_key(model, data10):
    state = create_state(model, optax.sgd(0.1), jax.random.PRNGKey(0), jnp.zeros((1, 8)))
    epoch = jax.jit(make_epoch_fn(make_train_step("cross_entropy"), BATCH))
    data = {k: jnp.asarray(v) for k, v in data10.items()}
    a, ma = epoch(state, data, jax.random.PRNGKey(1))
    b, mb = epoch(state, data, jax.random.PRNGKey(1))
    c, mc = epoch(state, data, jax.random.PRNGKey(2))
    jax.tree_util.tree_map(np.testing.assert_array_equal, a.params, b.params)
    np.testing.assert_array_equal(ma["loss_sum"], mb["loss_sum"])
    assert not np.allclose(a.params["output"]["kernel"], c.params["output"]["kernel"])


def test_mismatched_leading_axes_raise(tiny_state):
    epoch = make_epoch_fn(make_train_step("cross_entropy"), BATCH)
    with pytest.raises(ValueError, match=r"leading \(example\) axis.*\[9, 10\]"):
        epoch(tiny_state, {"x": jnp.zeros((10, 8)), "y": jnp.zeros((9,), jnp.int32)}, jax.random.PRNGKey(0))


class BNNet(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool = False):
        x = nn.Dense(4)(x)
        x = nn.BatchNorm(use_running_average=not train, momentum=0.5)(x)
        return nn.Dense(3)(x)


def test_batch_stats_updated_in_train_mode_only():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(16, 5)) * 3 + 2, jnp.float32)
    y = jnp.asarray(rng.integers(0, 3, 16))
    state = create_state(BNNet(), optax.sgd(0.0), jax.random.PRNGKey(0), x[:1])
    assert isinstance(state, TrainState) and state.batch_stats is not None
    mean0 = np.asarray(state.batch_stats["BatchNorm_0"]["mean"])
    np.testing.assert_array_equal(mean0, 0.0)

    new_state, _ = jax.jit(make_train_step("cross_entropy"))(state, {"x": x, "y": y}, jax.random.PRNGKey(0))
    h = np.asarray(x) @ np.asarray(state.params["Dense_0"]["kernel"]) + np.asarray(state.params["Dense_0"]["bias"])
    # Running mean with momentum 0.5 after one batch: 0.5 * 0 + 0.5 * batch mean.
    np.testing.assert_allclose(new_state.batch_stats["BatchNorm_0"]["mean"], 0.5 * h.mean(0), rtol=1e-4, atol=1e-5)

    metrics = jax.jit(make_eval_step("cross_entropy"))(new_state, {"x": x, "y": y})
    assert float(metrics["count"]) == 16
    apply = jax.jit(apply_model, static_argnames="train")
    out, stats = apply(new_state, new_state.params, x, train=False)
    jax.tree_util.tree_map(np.testing.assert_array_equal, stats, new_state.batch_stats)
    out_train, stats_train = apply(new_state, new_state.params, x, train=True)
    assert not np.allclose(stats_train["BatchNorm_0"]["mean"], new_state.batch_stats["BatchNorm_0"]["mean"])
    assert not np.allclose(out, out_train)


def test_eval_fn_does_not_pad_small_splits_up_to_the_batch_size():
    """A 7-example split with batch_size 1000 is evaluated in one batch of 7 (not 1000), and a
    split of 7 with batch 3 in batches of 3 with the last two rows masked out."""
    import jax.numpy as jnp

    from jaxml.train.epoch import make_eval_fn

    seen = []

    def eval_step(state, batch):
        seen.append(batch["x"].shape)
        return {"sum": jnp.sum(batch["x"][:, 0] * batch["mask"]), "count": jnp.sum(batch["mask"])}

    data = {"x": jnp.arange(14.0).reshape(7, 2)}
    out = make_eval_fn(eval_step, batch_size=1000)(None, data)
    assert seen[-1] == (7, 2) and float(out["sum"]) == sum(range(0, 14, 2)) and float(out["count"]) == 7
    out = make_eval_fn(eval_step, batch_size=3)(None, data)
    assert seen[-1] == (3, 2) and float(out["sum"]) == sum(range(0, 14, 2)) and float(out["count"]) == 7
