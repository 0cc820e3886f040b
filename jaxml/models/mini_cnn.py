"""The 3-input "mini CNN": one 2-tap convolution, ReLU, and a linear read-out.

For an input ``x = (x_1, x_2, x_3)``, shared weights ``w = (w_1, w_2)`` and read-out
weights ``v = (v_1, v_2)`` (no biases):

    a_1 = x_1 w_1 + x_2 w_2        a_2 = x_2 w_1 + x_3 w_2        (a VALID 1-D convolution)
    o_i = max(0, a_i)
    ŷ   = o_1 v_1 + o_2 v_2

It is written with flax's ``nn.Conv`` (kernel (2, 1, 1), cross-correlation as above) and
``nn.Dense`` (kernel (2, 1)), so the convolution is the library's, not a hand-written one.
Input ``x`` float (N, 3); output ``ŷ`` float (N,). ``mini_cnn_params(w, v)`` builds the
parameter tree from the two weight vectors and ``mini_cnn_weights(params)`` reads them back.
``dtype`` (computation) and ``param_dtype`` (parameters, float32 by default) as flax's layers;
``ŷ`` is cast to float32 after the read-out, since a loss follows.
"""
from __future__ import annotations

from typing import Any

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

__all__ = ["MiniCNN", "mini_cnn_params", "mini_cnn_weights"]


class MiniCNN(nn.Module):
    """x (N, 3) -> ŷ (N,), see the module docstring. ``train`` is accepted and ignored."""

    dtype: Any = None  # None: inferred from inputs and parameters (float64 under enable_x64)
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False):
        if x.ndim != 2 or x.shape[1] != 3:
            raise ValueError(f"MiniCNN expects inputs of shape (N, 3), got shape {tuple(x.shape)}")
        n = x.shape[0]
        a_Nx2x1 = nn.Conv(1, kernel_size=(2,), padding="VALID", use_bias=False, dtype=self.dtype,
                          param_dtype=self.param_dtype, name="conv")(x[..., None])
        o_Nx2 = jax.nn.relu(a_Nx2x1[..., 0])
        chex.assert_shape(o_Nx2, (n, 2))
        y_N = nn.Dense(1, use_bias=False, dtype=self.dtype, param_dtype=self.param_dtype, name="out")(o_Nx2)[:, 0]
        chex.assert_shape(y_N, (n,))
        return y_N.astype(jnp.promote_types(y_N.dtype, jnp.float32))   # bf16 -> float32; float64 stays


def mini_cnn_params(w, v) -> dict:
    """Parameters of :class:`MiniCNN` with conv weights ``w`` (2,) and read-out weights ``v`` (2,)."""
    w, v = jnp.asarray(w), jnp.asarray(v)
    if w.shape != (2,) or v.shape != (2,):
        raise ValueError(f"mini_cnn_params: w and v must have shape (2,), got {w.shape} and {v.shape}")
    return {"conv": {"kernel": w.reshape(2, 1, 1)}, "out": {"kernel": v.reshape(2, 1)}}


def mini_cnn_weights(params) -> tuple[jax.Array, jax.Array]:
    """``(w, v)``, each of shape (2,), from a :class:`MiniCNN` parameter tree (or its gradient)."""
    return params["conv"]["kernel"].reshape(2), params["out"]["kernel"].reshape(2)
