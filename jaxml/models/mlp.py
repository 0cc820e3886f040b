"""Multi-layer perceptron: flatten -> [Dense -> activation -> dropout] * L -> Dense.

Input ``x`` of shape (N, ...) (flattened to (N, D)); output logits (N, output_size).
Dropout is inverted dropout with rate ``dropout_rate`` (keep probability 1 - rate),
active only when ``train=True`` and fed a ``dropout`` rng.

``dtype``: the computation dtype (e.g. ``jnp.bfloat16``: inputs, activations and matmuls in it;
None, the default: inferred from the inputs and parameters as flax does, so float64 parameters
under ``jax.enable_x64`` compute in float64 for gradient checks); ``param_dtype``: the parameters'
dtype (float32 by default, also with a bfloat16 ``dtype``). A half-precision output is cast to
float32 (after ``output_activation``), since a loss follows it.
"""
from __future__ import annotations

from typing import Any, Sequence

import chex
import flax.linen as nn
import jax.numpy as jnp

from jaxml.models.activations import activation as get_activation
from jaxml.models.initializers import bias_initializer, initializer


class MLP(nn.Module):
    hidden_sizes: Sequence[int]
    output_size: int
    activation: str = "relu"
    output_activation: str = "identity"
    dropout_rate: float = 0.0
    kernel_init: str = "lecun_normal"
    bias_init: str = "zeros"
    init_std: float | None = None
    dtype: Any = None
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False):
        if x.ndim < 2:
            raise ValueError(f"MLP expects input of shape (N, ...) with rank >= 2, got shape {x.shape}")
        if not 0.0 <= self.dropout_rate < 1.0:
            raise ValueError(f"dropout_rate must be in [0, 1), got {self.dropout_rate}")
        n = x.shape[0]
        x_NxD = jnp.reshape(x, (n, -1))
        if self.dtype is not None:
            x_NxD = x_NxD.astype(self.dtype)
        act = get_activation(self.activation)
        k_init = initializer(self.kernel_init, self.init_std)
        b_init = bias_initializer(self.bias_init, self.init_std)
        h = x_NxD
        for i, width in enumerate(self.hidden_sizes):
            h = nn.Dense(width, kernel_init=k_init, bias_init=b_init, dtype=self.dtype,
                         param_dtype=self.param_dtype, name=f"hidden_{i}")(h)
            h = act(h)
            if self.dropout_rate > 0:
                h = nn.Dropout(self.dropout_rate, deterministic=not train)(h)
            chex.assert_shape(h, (n, width))
        out = nn.Dense(self.output_size, kernel_init=k_init, bias_init=b_init, dtype=self.dtype,
                       param_dtype=self.param_dtype, name="output")(h)
        chex.assert_shape(out, (n, self.output_size))
        out = get_activation(self.output_activation)(out)
        return out.astype(jnp.promote_types(out.dtype, jnp.float32))   # bf16 -> float32; float64 stays


