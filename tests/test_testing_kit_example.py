"""A new model tested with jaxml.testing alone (the "Testing your model" example in BUILD.md)."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxml.data import load
from jaxml.testing import assert_gradients, assert_learns, assert_model_contract


class GatedMLP(nn.Module):  # a model that is not in the library
    num_classes: int = 10
    dtype: jnp.dtype | None = None  # the computation dtype (None: the inputs')

    @nn.compact
    def __call__(self, x, train: bool = False):
        x = x.reshape(x.shape[0], -1)
        h = nn.Dense(16, dtype=self.dtype)(x) * nn.sigmoid(nn.Dense(16, dtype=self.dtype)(x))
        h = nn.Dropout(0.2, deterministic=not train)(h)
        return nn.Dense(self.num_classes, dtype=self.dtype)(h)


def test_gated_mlp(fake_data):
    mnist = load("mnist", "train")  # the fixture's fake MNIST, read from upstream-format IDX files
    batch = {"x": (mnist.x[:32] / 255).astype(np.float32), "y": mnist.y[:32].astype(np.int32)}
    model = GatedMLP()
    contract = assert_model_contract(model, batch["x"], output_shape=(32, 10), dropout=True)
    loss = lambda params, x: jnp.mean(jax.nn.logsumexp(model.apply(params, x), axis=-1))  # noqa: E731
    assert_gradients(loss, contract.variables, batch["x"][:2])
    assert_learns(model, batch, steps=30)
