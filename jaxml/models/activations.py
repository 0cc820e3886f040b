"""Activation functions by name: relu, tanh, sigmoid, leaky_relu (slope 0.01 or given), gelu, elu, identity."""
from __future__ import annotations

import difflib
import functools
from typing import Callable

import jax

_ACTIVATIONS: dict[str, Callable] = {
    "relu": jax.nn.relu,
    "tanh": jax.numpy.tanh,
    "sigmoid": jax.nn.sigmoid,
    "leaky_relu": jax.nn.leaky_relu,
    "gelu": jax.nn.gelu,
    "elu": jax.nn.elu,
    "identity": lambda x: x,
}
NAMES = tuple(_ACTIVATIONS)


def activation(name: str, negative_slope: float | None = None) -> Callable:
    """The activation called ``name``; ``negative_slope`` only for leaky_relu (default 0.01)."""
    key = str(name).lower()
    if key not in _ACTIVATIONS:
        close = difflib.get_close_matches(key, NAMES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown activation {name!r}; expected one of {list(NAMES)}.{hint}")
    if key == "leaky_relu" and negative_slope is not None:
        return functools.partial(jax.nn.leaky_relu, negative_slope=float(negative_slope))
    return _ACTIVATIONS[key]
