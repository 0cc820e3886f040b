"""The default steps and a model's forward pass, with and without jit (``chex.variants``): each variant
is checked against a NumPy computation of the same numbers, so the compiled and the eager paths agree
with an independent reference (and hence with each other)."""
import functools

import chex
import jax
import numpy as np
import optax

from jaxml.models.mlp import MLP
from jaxml.train import create_state, make_eval_step, make_train_step

X = np.random.default_rng(0).normal(size=(6, 5)).astype(np.float32)
Y = np.array([0, 1, 2, 0, 1, 2], np.int32)
MODEL = MLP(hidden_sizes=(4,), output_size=3, activation="tanh")
LR = 0.1


def _numpy_forward(p, x):
    h = np.tanh(x @ p["hidden_0"]["kernel"] + p["hidden_0"]["bias"])
    return h @ p["output"]["kernel"] + p["output"]["bias"]


def _numpy_cross_entropy(logits, y):
    z = logits - logits.max(-1, keepdims=True)
    return -(z - np.log(np.exp(z).sum(-1, keepdims=True)))[np.arange(len(y)), y]


class StepsWithAndWithoutJit(chex.TestCase):

    def setUp(self):
        super().setUp()
        self.state = _state()
        self.p = jax.tree.map(np.asarray, self.state.params)

    @chex.variants(with_jit=True, without_jit=True)
    def test_forward_equals_numpy(self):
        apply = self.variant(lambda params, x: MODEL.apply({"params": params}, x))
        np.testing.assert_allclose(apply(self.state.params, X), _numpy_forward(self.p, X), rtol=1e-5, atol=1e-6)

    @chex.variants(with_jit=True, without_jit=True)
    def test_eval_step_sums_equal_numpy(self):
        metrics = self.variant(make_eval_step("cross_entropy"))(self.state, {"x": X, "y": Y})
        logits = _numpy_forward(self.p, X)
        np.testing.assert_allclose(metrics["loss_sum"], _numpy_cross_entropy(logits, Y).sum(), rtol=1e-5)
        self.assertEqual(float(metrics["accuracy_sum"]), float((logits.argmax(-1) == Y).sum()))
        self.assertEqual(float(metrics["count"]), len(Y))

    @chex.variants(with_jit=True, without_jit=True)
    def test_train_step_takes_one_sgd_step(self):
        new, _ = self.variant(make_train_step("cross_entropy"))(self.state, {"x": X, "y": Y}, jax.random.key(0))
        # One plain SGD step: params - lr * grad of the mean loss (the gradient by jax.grad, not by hand).
        grad = jax.grad(lambda q: _mean_loss(q, X, Y))(self.state.params)
        expected = jax.tree.map(lambda w, g: np.asarray(w) - LR * np.asarray(g), self.state.params, grad)
        chex.assert_trees_all_close(new.params, expected, rtol=1e-5, atol=1e-6)
        self.assertEqual(int(new.step), 1)


@functools.lru_cache(maxsize=None)
def _state():
    return jax.jit(lambda k: create_state(MODEL, optax.sgd(LR), k, X[:1]))(jax.random.key(1))


def _mean_loss(params, x, y):
    logits = MODEL.apply({"params": params}, x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
