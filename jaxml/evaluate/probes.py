"""Probes: quantities of a model's internal state measured during training.

- :func:`layer_outputs`       the outputs of chosen submodules (by name prefix) on a batch,
                              captured with flax's ``capture_intermediates`` (no change to the
                              model). For :class:`jaxml.models.mlp.MLP` the Dense layers
                              ``hidden_0, hidden_1, ...`` output the *pre-activations*.
- :func:`dead_unit_fraction`  fraction of units whose pre-activation is <= 0 on every example
                              of a batch: a ReLU unit like that outputs 0 and gets no gradient
                              through its input weights on that data ("dead").
- :func:`dead_relu_fraction`  the dead fraction over all hidden units of a model, from a
                              ``TrainState``; pure and jit/vmap-able, so it can be handed to
                              ``fit(..., probes={"dead_fraction": ...})``.

Shapes: a batch ``x`` is (N, ...); a pre-activation matrix is (N, H) (or (N, ..., H), units on
the last axis, every other axis counts as examples/positions).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["layer_outputs", "dead_unit_fraction", "dead_relu_fraction"]


def layer_outputs(state, params, x, prefix: str = "hidden_") -> dict:
    """``{name: output}`` of the top-level submodules whose name starts with ``prefix``.

    ``state`` supplies ``apply_fn`` and ``batch_stats``; the model runs in eval mode.
    Raises ValueError when no submodule matches (the message lists the names it saw).
    """
    variables = {"params": params}
    if getattr(state, "batch_stats", None) is not None:
        variables["batch_stats"] = state.batch_stats
    _, captured = state.apply_fn(
        variables, x, train=False, mutable=["intermediates"],
        capture_intermediates=lambda mdl, method: method == "__call__" and mdl.name is not None
        and mdl.name.startswith(prefix))
    inter = captured.get("intermediates", {})
    outs = {name: v["__call__"][0] for name, v in inter.items() if name.startswith(prefix)}
    if not outs:
        raise ValueError(f"layer_outputs: no submodule named {prefix!r}...; the model's parameters are "
                         f"{sorted(params)}")
    return dict(sorted(outs.items(), key=lambda kv: (len(kv[0]), kv[0])))


def dead_unit_fraction(pre_activations) -> jax.Array:
    """Fraction (float32 scalar in [0, 1]) of units (last axis) with pre-activation <= 0 everywhere."""
    pre = jnp.asarray(pre_activations)
    if pre.ndim < 2:
        raise ValueError(f"dead_unit_fraction: expected pre-activations of shape (N, ..., H), got {pre.shape}")
    dead_H = jnp.all(pre.reshape(-1, pre.shape[-1]) <= 0, axis=0)
    return jnp.mean(dead_H.astype(jnp.float32))


def dead_relu_fraction(state, x, prefix: str = "hidden_") -> jax.Array:
    """Dead fraction over all units of the layers named ``prefix*`` (MLP: every hidden layer)
    of ``state.params`` on the batch ``x`` (N, ...). Units of all layers count equally."""
    outs = layer_outputs(state, state.params, x, prefix)
    dead = [jnp.all(o.reshape(-1, o.shape[-1]) <= 0, axis=0) for o in outs.values()]
    return jnp.mean(jnp.concatenate(dead).astype(jnp.float32))
