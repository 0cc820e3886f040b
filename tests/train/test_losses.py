"""Per-example losses against numpy formulas, correctness flags, shape errors, gradients."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxml.models.mlp import MLP
from jaxml.train import get_loss
from jaxml.train.losses import SMAPE_EPS, binary_cross_entropy, cross_entropy, mse, rmse, smape


def np_log_softmax(z):
    z = np.asarray(z, np.float64)
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def np_bce(logits, t):
    x = np.asarray(logits, np.float64)
    # -t log σ(x) - (1 - t) log(1 - σ(x)), rearranged to avoid overflow.
    return np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))


def test_cross_entropy_matches_numpy_log_softmax():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(7, 4)).astype(np.float32) * 3
    labels = rng.integers(0, 4, 7).astype(np.int32)
    loss, correct = cross_entropy(jnp.asarray(logits), jnp.asarray(labels))
    expected = -np_log_softmax(logits)[np.arange(7), labels]
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    np.testing.assert_array_equal(correct, (logits.argmax(-1) == labels).astype(np.float32))
    assert loss.shape == (7,) and loss.dtype == jnp.float32 and correct.dtype == jnp.float32


def test_cross_entropy_hand_value_and_large_logits():
    # Uniform logits over 4 classes: loss = log 4 whatever the label.
    loss, _ = cross_entropy(jnp.zeros((2, 4)), jnp.array([0, 3]))
    np.testing.assert_allclose(loss, [np.log(4.0)] * 2, rtol=1e-6)
    logits = jnp.array([[1000.0, 0.0, -1000.0], [1000.0, 0.0, -1000.0]])
    loss, correct = cross_entropy(logits, jnp.array([0, 2]))
    assert np.all(np.isfinite(loss))
    np.testing.assert_allclose(loss, [0.0, 2000.0], atol=1e-3)
    np.testing.assert_array_equal(correct, [1.0, 0.0])


def test_cross_entropy_shape_errors():
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        cross_entropy(jnp.zeros((4,)), jnp.zeros((4,), jnp.int32))
    with pytest.raises(ValueError, match=r"labels of shape \(4,\)"):
        cross_entropy(jnp.zeros((4, 3)), jnp.zeros((4, 1), jnp.int32))


@pytest.mark.parametrize("shape", [(6,), (6, 1)])
def test_binary_cross_entropy_matches_numpy_including_large_logits(shape):
    logits = np.array([-3.0, -0.2, 0.5, 2.0, 80.0, -80.0, 0.0, 0.0], np.float32)
    targets = np.array([0, 1, 1, 0, 0, 1, 0, 1], np.float32)
    shape = (8,) + shape[1:]
    loss, correct = binary_cross_entropy(jnp.asarray(logits.reshape(shape)), jnp.asarray(targets.reshape(shape)))
    assert loss.shape == (8,) and correct.shape == (8,)
    assert np.all(np.isfinite(loss))
    np.testing.assert_allclose(loss, np_bce(logits, targets), rtol=1e-5)
    np.testing.assert_allclose(loss[4:6], [80.0, 80.0], rtol=1e-6)  # wrong and confident: loss = |logit|
    np.testing.assert_allclose(loss[6:], [np.log(2.0)] * 2, rtol=1e-6)
    # correct = (logit > 0) == target: a zero logit predicts class 0.
    np.testing.assert_array_equal(correct, [1, 0, 1, 0, 0, 0, 1, 0])


def test_binary_cross_entropy_huge_logits_stay_finite_and_gradients_too():
    logits = jnp.array([1e4, -1e4, 1e4, -1e4])
    targets = jnp.array([1.0, 0.0, 0.0, 1.0])
    loss, correct = binary_cross_entropy(logits, targets)
    np.testing.assert_allclose(loss, [0.0, 0.0, 1e4, 1e4], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(correct, [1, 1, 0, 0])
    grad = jax.grad(lambda z: binary_cross_entropy(z, targets)[0].sum())(logits)
    np.testing.assert_allclose(grad, [0.0, 0.0, 1.0, -1.0], atol=1e-6)  # σ(z) - t


def test_binary_cross_entropy_shape_error():
    with pytest.raises(ValueError, match="binary_cross_entropy"):
        binary_cross_entropy(jnp.zeros((4, 2)), jnp.zeros((4, 2)))


@pytest.mark.parametrize("shape", [(5,), (5, 1)])
def test_mse_on_plus_minus_one_targets(shape):
    out = np.array([0.5, -2.0, 1.0, 0.1, -0.3], np.float32)
    t = np.array([1, 1, 1, -1, -1], np.float32)
    loss, correct = mse(jnp.asarray(out.reshape(shape)), jnp.asarray(t.reshape(shape)))
    np.testing.assert_allclose(loss, [0.25, 9.0, 0.0, 1.21, 0.49], rtol=1e-6)
    np.testing.assert_array_equal(correct, [1, 0, 1, 0, 1])


def test_mse_on_int_labels_uses_one_hot():
    out = np.array([[0.9, 0.2, 0.1], [0.3, 0.1, 0.5], [0.0, 0.0, 2.0]], np.float32)
    labels = np.array([0, 1, 2], np.int32)
    loss, correct = mse(jnp.asarray(out), jnp.asarray(labels))
    expected = ((out - np.eye(3)[labels]) ** 2).mean(axis=1)
    np.testing.assert_allclose(loss, expected, rtol=1e-6)
    np.testing.assert_array_equal(correct, [1, 0, 1])


def test_mse_means_over_non_batch_axes():
    rng = np.random.default_rng(0)
    out = rng.normal(size=(3, 2, 4)).astype(np.float32)
    t = rng.normal(size=(3, 2, 4)).astype(np.float32)
    loss, _ = mse(jnp.asarray(out), jnp.asarray(t))
    np.testing.assert_allclose(loss, ((out - t) ** 2).reshape(3, -1).mean(1), rtol=1e-5)
    with pytest.raises(ValueError, match="same shape"):
        mse(jnp.zeros((3, 2)), jnp.zeros((3, 4)))


def test_rmse_hand_values_and_int_labels():
    # Example 0: errors (0.1-1, 0.2, 0.7) -> mean square (0.81 + 0.04 + 0.49) / 3 = 0.44667.
    out = np.array([[0.1, 0.2, 0.7], [0.0, 1.0, 0.0], [3.0, 0.0, 4.0]], np.float32)
    labels = np.array([0, 1, 1], np.int32)
    loss, correct = rmse(jnp.asarray(out), jnp.asarray(labels))
    np.testing.assert_allclose(loss, [np.sqrt(1.34 / 3), 0.0, np.sqrt((9 + 1 + 16) / 3)], rtol=1e-6)
    np.testing.assert_array_equal(correct, [0, 1, 0])
    # Per example: the square root of mse's value (numpy, float64), on any shape.
    rng = np.random.default_rng(1)
    o, t = rng.normal(size=(4, 2, 3)), rng.normal(size=(4, 2, 3))
    np.testing.assert_allclose(rmse(jnp.asarray(o, jnp.float32), jnp.asarray(t, jnp.float32))[0],
                               np.sqrt(((o - t) ** 2).reshape(4, -1).mean(1)), rtol=1e-5)


def test_rmse_gradient_is_finite_at_zero_error_and_matches_the_formula_elsewhere():
    t = jnp.array([[0.0, 1.0], [0.0, 1.0]])
    o = jnp.array([[0.0, 1.0], [0.6, 0.2]])        # example 0 exact: loss 0, gradient 0 (not NaN)
    g = jax.grad(lambda z: rmse(z, t)[0].sum())(o)
    # d sqrt(mean e^2) / d o_j = e_j / (C * rmse) with e = o - t, C = 2: rmse = sqrt(0.5) for example 1.
    np.testing.assert_allclose(g, [[0.0, 0.0], [0.6 / (2 * np.sqrt(0.5)), -0.8 / (2 * np.sqrt(0.5))]], rtol=1e-6)
    with jax.enable_x64(True):
        o64 = np.random.default_rng(2).normal(size=(3, 4))
        check_grads(lambda z: rmse(z, jnp.asarray(np.eye(4)[:3]))[0].sum(), (o64,), order=1, modes=["rev"])


def test_smape_hand_values_eps_and_int_labels():
    # Example 0 with one-hot target (1, 0, 0): 2|0.5-1|/(0.5+1) = 2/3; 2*0.5/0.5 = 2 (a zero target
    # term is 2 whatever the output's size); 0 vs 0 -> 0/eps = 0. Mean over the 3 outputs.
    # Example 2, target (0, 1, 0): 2*1/1 = 2, 2*1/3, and an output of 1e-9 below eps = 1e-8 against
    # a zero target: 2e-9 / (1e-9 + 1e-8) = 2/11.
    out = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [-1.0, 2.0, 1e-9]], np.float32)
    labels = np.array([0, 0, 1], np.int32)
    loss, correct = smape(jnp.asarray(out), jnp.asarray(labels))
    np.testing.assert_allclose(loss, [(2 / 3 + 2 + 0) / 3, 0.0, (2 + 2 / 3 + 2 / 11) / 3], rtol=1e-5)
    np.testing.assert_array_equal(correct, [1, 1, 1])  # argmax (0.5 vs 0.5: the first) vs label
    assert SMAPE_EPS == 1e-8
    # Against the numpy formula on float targets; opposite signs give the maximum, 2.
    rng = np.random.default_rng(3)
    o, t = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    expected = (2 * np.abs(o - t) / (np.abs(o) + np.abs(t) + SMAPE_EPS)).mean(1)
    np.testing.assert_allclose(smape(jnp.asarray(o, jnp.float32), jnp.asarray(t, jnp.float32))[0], expected,
                               rtol=1e-5)
    np.testing.assert_allclose(smape(jnp.array([[1.0, -3.0]]), jnp.array([[-1.0, 3.0]]))[0], [2.0], rtol=1e-6)
    g = jax.grad(lambda z: smape(z, jnp.zeros((1, 2)))[0].sum())(jnp.zeros((1, 2)))
    # Finite at output = target = 0: the one-sided slope d/do 2|o|/(|o| + eps) = 2/eps, over C = 2 outputs.
    np.testing.assert_allclose(g, [[1 / SMAPE_EPS, 1 / SMAPE_EPS]], rtol=1e-5)


def test_regression_losses_shape_errors():
    for fn in (rmse, smape):
        with pytest.raises(ValueError, match=f"{fn.__name__} expects outputs and targets of the same shape"):
            fn(jnp.zeros((3, 2)), jnp.zeros((3, 4)))


def test_get_loss():
    assert get_loss("cross_entropy") is cross_entropy
    assert get_loss("mse") is mse
    assert get_loss("rmse") is rmse and get_loss("smape") is smape
    with pytest.raises(ValueError, match=r"unknown loss 'cross_entropie'.*Did you mean 'cross_entropy'"):
        get_loss("cross_entropie")


def test_check_grads_of_mean_cross_entropy_of_an_mlp():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 5))
    y = jnp.asarray(rng.integers(0, 3, 6))
    model = MLP(hidden_sizes=(7,), output_size=3, activation="tanh")
    params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 5)))["params"]
    with jax.enable_x64(True):
        params64 = jax.tree_util.tree_map(lambda p: np.asarray(p, np.float64), params)

        def mean_ce(p):
            logits = model.apply({"params": p}, x)
            assert logits.dtype == jnp.float64
            return cross_entropy(logits, y)[0].mean()

        check_grads(jax.jit(mean_ce), (params64,), order=1, modes=["rev"], atol=1e-6, rtol=1e-6)
        # The check is not vacuous: the gradient is far from zero.
        g = jax.jit(jax.grad(mean_ce))(params64)
        assert float(jnp.abs(g["hidden_0"]["kernel"]).max()) > 1e-3
