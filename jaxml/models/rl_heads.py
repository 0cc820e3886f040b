"""Networks for reinforcement learning: a Q-network, a logistic policy, an MLP softmax policy.

All three map a batch of observations ``obs_NxD`` (float, rank >= 2; flattened to (N, D))
to one number per action, shape ``(N, A)``, and follow the jaxml module convention
``module.apply(variables, x, train=False)``:

- ``q_network(num_actions, hidden_sizes)``: action values Q(s, ·), an :class:`~jaxml.models.mlp.MLP`
  (ReLU by default). ``COURSEWORK_Q_HIDDEN = (16, 32, 16)`` is the coursework's small variant.
- :class:`LogisticPolicy`: the coursework's two-action policy, one linear unit ``z = w·s + b``
  and ``π(a=1|s) = sigmoid(z)``. It returns the logits ``(0, z)`` so that
  ``softmax((0, z)) = (1 - sigmoid(z), sigmoid(z))`` and every policy is read the same way.
- ``softmax_policy(num_actions, hidden_sizes)``: an MLP whose outputs are the logits of a
  categorical policy ``π(·|s) = softmax(logits)``.

Each takes ``dtype`` (computation, e.g. ``jnp.bfloat16``) and ``param_dtype`` (parameters, float32
by default); the outputs (Q-values, logits) are float32 whatever ``dtype`` (the MLPs cast after
their output layer, :class:`LogisticPolicy` after its linear unit), since a loss follows.
"""
from __future__ import annotations

from typing import Any, Sequence

import chex
import flax.linen as nn
import jax.numpy as jnp

from jaxml.models.mlp import MLP

#: The coursework's Q-network: three hidden ReLU layers of 16, 32 and 16 units.
COURSEWORK_Q_HIDDEN = (16, 32, 16)
#: The default Q-network (SB3's DQN default; purejaxrl's DQN uses (120, 84)).
DEFAULT_Q_HIDDEN = (64, 64)


def _check_actions(num_actions: int) -> None:
    if int(num_actions) < 1:
        raise ValueError(f"num_actions must be >= 1, got {num_actions}")


def q_network(num_actions: int, hidden_sizes: Sequence[int] = DEFAULT_Q_HIDDEN,
              activation: str = "relu", dtype: Any = jnp.float32, param_dtype: Any = jnp.float32) -> MLP:
    """An MLP ``obs_NxD -> q_NxA`` (Q-values, no output activation), lecun-normal weights."""
    _check_actions(num_actions)
    return MLP(hidden_sizes=tuple(int(h) for h in hidden_sizes), output_size=int(num_actions),
               activation=activation, dtype=dtype, param_dtype=param_dtype)


def softmax_policy(num_actions: int, hidden_sizes: Sequence[int] = (64, 64), activation: str = "tanh",
                   dtype: Any = jnp.float32, param_dtype: Any = jnp.float32) -> MLP:
    """An MLP ``obs_NxD -> logits_NxA`` of a categorical policy."""
    _check_actions(num_actions)
    return MLP(hidden_sizes=tuple(int(h) for h in hidden_sizes), output_size=int(num_actions),
               activation=activation, dtype=dtype, param_dtype=param_dtype)


class LogisticPolicy(nn.Module):
    """Two-action logistic policy ``π(1|s) = sigmoid(w·s + b)``; returns logits ``(N, 2) = (0, z)``.

    ``w`` (D,) and ``b`` start at zero unless ``init_std > 0`` (then N(0, init_std)), so the
    initial policy is uniform.
    """

    init_std: float = 0.0
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False):
        if x.ndim < 2:
            raise ValueError(f"LogisticPolicy expects observations of shape (N, ...), got shape {x.shape}")
        n = x.shape[0]
        x_NxD = jnp.reshape(x, (n, -1)).astype(self.dtype)
        init = nn.initializers.zeros if self.init_std == 0 else nn.initializers.normal(self.init_std)
        z_Nx1 = nn.Dense(1, kernel_init=init, bias_init=nn.initializers.zeros, dtype=self.dtype,
                         param_dtype=self.param_dtype, name="linear")(x_NxD).astype(jnp.float32)
        logits_Nx2 = jnp.concatenate([jnp.zeros_like(z_Nx1), z_Nx1], axis=1)
        chex.assert_shape(logits_Nx2, (n, 2))
        return logits_Nx2


def make_policy(kind: str, num_actions: int, hidden_sizes: Sequence[int] = (64, 64),
                activation: str = "tanh", dtype: Any = jnp.float32, param_dtype: Any = jnp.float32) -> nn.Module:
    """``"logistic"`` (two actions only) or ``"mlp"`` (softmax over ``num_actions``)."""
    if kind == "logistic":
        if int(num_actions) != 2:
            raise ValueError(f"the logistic policy has exactly 2 actions; this environment has {num_actions} "
                             "(use policy 'mlp')")
        return LogisticPolicy(dtype=dtype, param_dtype=param_dtype)
    if kind == "mlp":
        return softmax_policy(num_actions, hidden_sizes, activation, dtype, param_dtype)
    raise ValueError(f"unknown policy {kind!r}; expected 'logistic' or 'mlp'")
