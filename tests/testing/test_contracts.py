"""assert_model_contract and assert_step_contract pass on jaxml's MLP and default steps, and fail on
deliberately broken models and steps (a kit that cannot fail is a defect). Tiny shapes: compile time."""
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models.mlp import MLP
from jaxml.testing import assert_model_contract, assert_step_contract
from jaxml.train import create_state, make_eval_step, make_optimizer, make_train_step

X = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
BATCH = {"x": X, "y": np.array([0, 1, 1, 0], np.int32)}


def test_model_contract_holds_for_an_mlp_with_dropout():
    out = assert_model_contract(MLP(hidden_sizes=(4,), output_size=2, dropout_rate=0.5), X, output_shape=(4, 2),
                                dropout=True, bf16_output_dtype=jnp.float32)
    assert out.output.shape == (4, 2) and out.bf16_output.dtype == jnp.float32


class AlwaysDropout(nn.Module):  # dropout also in eval mode
    @nn.compact
    def __call__(self, x, train: bool = False):
        return nn.Dropout(0.5, deterministic=False)(nn.Dense(2)(x))


class DriftingStats(nn.Module):  # a train-mode update turns an int32 counter into float32: retraces
    @nn.compact
    def __call__(self, x, train: bool = False):
        count = self.variable("batch_stats", "count", lambda: jnp.zeros((), jnp.int32))
        if train:
            count.value = count.value + 0.5
        return nn.Dense(2)(x)


class Bf16Wrong(nn.Module):  # a different computation in bfloat16
    dtype: Any = None

    @nn.compact
    def __call__(self, x, train: bool = False):
        y = nn.Dense(2, dtype=self.dtype)(x)
        return y + 1.0 if self.dtype == jnp.bfloat16 else y


class HalfOutput(nn.Module):  # returns float16 where float32 is declared
    @nn.compact
    def __call__(self, x, train: bool = False):
        return nn.Dense(2)(x).astype(jnp.float16)


class NonFinite(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool = False):
        return nn.Dense(2)(x) / 0.0


BROKEN_MODELS = {
    "shape": (MLP(hidden_sizes=(), output_size=2), {"output_shape": (4, 3)}, "shape"),
    "dtype": (HalfOutput(), {"bf16": False}, "type|dtype"),
    "non_finite": (NonFinite(), {}, "finite"),
    "dropout_in_eval": (AlwaysDropout(), {}, "dropout must be off in eval mode"),
    "no_dropout_declared": (MLP(hidden_sizes=(), output_size=2), {"dropout": True}, "does not depend"),
    "retrace": (DriftingStats(), {}, "retraces"),
    "bf16": (Bf16Wrong(), {}, "bfloat16 forward differs"),
}


@pytest.mark.parametrize("case", list(BROKEN_MODELS))
def test_model_contract_fails_on_a_broken_model(case):
    model, kwargs, message = BROKEN_MODELS[case]
    with pytest.raises(AssertionError, match=message):
        assert_model_contract(model, X, **kwargs)


@pytest.fixture(scope="module")
def state():
    model = MLP(hidden_sizes=(4,), output_size=2)
    tx = make_optimizer({"name": "sgd", "learning_rate": 0.1})
    return jax.jit(lambda k: create_state(model, tx, k, X[:1]))(jax.random.key(0))


def test_step_contract_holds_for_the_default_steps(state):
    out = assert_step_contract(make_train_step("cross_entropy"), state, {**BATCH, "mask": np.array([1, 1, 1, 0.])})
    assert set(out.metrics) == {"loss_sum", "accuracy_sum", "count"} and float(out.metrics["count"]) == 3
    assert_step_contract(make_eval_step("cross_entropy"), state, BATCH)


def _eval_no_count(state, batch):
    return {"loss_sum": jnp.sum(batch["x"])}


def _eval_counts_padding(state, batch):
    return {"loss_sum": jnp.sum(batch["x"][:, 0] * batch["mask"]), "count": jnp.float32(batch["x"].shape[0])}


def _eval_mean_not_sum(state, batch):
    return {"loss": jnp.mean(batch["x"]), "count": jnp.sum(batch["mask"])}


def _train_ignores_mask(state, batch, rng):
    grads = jax.grad(lambda p: jnp.mean(state.apply_fn({"params": p}, batch["x"]) ** 2))(state.params)
    return state.apply_gradients(grads=grads), {"loss_sum": jnp.float32(0.0), "count": jnp.sum(batch["mask"])}


def _train_changes_dtype(state, batch, rng):
    params = jax.tree.map(lambda p: p.astype(jnp.bfloat16), state.params)
    return state.replace(params=params), {"count": jnp.sum(batch["mask"])}


BROKEN_STEPS = {
    "no_count": (_eval_no_count, "'count'"),
    "count_includes_padding": (_eval_counts_padding, "real examples"),
    "not_a_sum": (_eval_mean_not_sum, "_sum"),
    "ignores_mask": (_train_ignores_mask, "padding rows changed the new state"),
    "changes_dtype": (_train_changes_dtype, "dtypes"),
}


@pytest.mark.parametrize("case", list(BROKEN_STEPS))
def test_step_contract_fails_on_a_broken_step(case, state):
    step, message = BROKEN_STEPS[case]
    with pytest.raises(AssertionError, match=message):
        assert_step_contract(step, state, BATCH)
