"""assert_gradients and assert_learns pass on correct code and fail on deliberately broken code."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models.mlp import MLP
from jaxml.testing import assert_gradients, assert_learns

W = np.random.default_rng(0).normal(size=(3, 2))


def smooth(w, x):
    return jnp.tanh(x @ w)


@jax.custom_vjp
def wrong_square(x):
    return x ** 2


wrong_square.defvjp(lambda x: (x ** 2, x), lambda x, g: (3.0 * x * g,))  # d(x^2)/dx is 2x, not 3x


def test_gradients_pass_in_float64():
    assert_gradients(smooth, W, np.ones((2, 3), np.float32), order=1)


def test_gradients_fail_with_the_worst_entry_named():
    x = np.array([0.5, -2.0, 1.0])
    with pytest.raises(AssertionError, match=r"argument 0\[1\]: jax .*central difference") as e:
        assert_gradients(lambda x: jnp.sum(wrong_square(x)), x, order=1)
    assert "float64" in str(e.value)


DATA = {"x": np.random.default_rng(1).normal(size=(12, 4)).astype(np.float32),
        "y": np.arange(12, dtype=np.int32) % 3}


def test_learns_on_a_tiny_problem():
    out = assert_learns(MLP(hidden_sizes=(8,), output_size=3), DATA, steps=25, learning_rate=0.05)
    assert out.losses.shape == (25,) and out.losses[-1] < out.losses[0]


def test_learns_fails_when_the_step_does_not_update():
    from jaxml.train import make_train_step

    step = make_train_step("cross_entropy")

    def frozen(state, batch, rng):  # computes the loss but forgets to keep the update
        return state, step(state, batch, rng)[1]

    with pytest.raises(AssertionError, match="did not fall"):
        assert_learns(MLP(hidden_sizes=(8,), output_size=3), DATA, train_step=frozen, steps=25, learning_rate=0.05)
