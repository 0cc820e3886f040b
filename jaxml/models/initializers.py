"""Weight initializers by name, so configs can say ``init="he_normal"``.

Names (aliases in brackets):

- ``zeros``
- ``normal``                 N(0, std^2); ``std`` required (the MLP study uses 0.1)
- ``uniform``                U(-scale, scale); ``std`` is read as the half-width
- ``xavier_uniform`` [glorot_uniform, xavier, glorot]   U(±sqrt(6/(fan_in+fan_out)))
- ``xavier_normal``  [glorot_normal]                    truncated normal, var 2/(fan_in+fan_out)
- ``he_normal``      [kaiming_normal, he, kaiming]      truncated normal, var 2/fan_in
- ``he_uniform``     [kaiming_uniform]                  U(±sqrt(6/fan_in))
- ``lecun_normal``   (flax's default for Dense/Conv)

All of them are ``jax.nn.initializers`` functions ``init(key, shape, dtype)``; a bias
initialised with a fan-based scheme has no fan, so ``bias_initializer`` maps those to zeros.
"""
from __future__ import annotations

import difflib
from typing import Callable

import jax

Initializer = Callable[..., jax.Array]

_ALIASES = {
    "xavier": "xavier_uniform",
    "glorot": "xavier_uniform",
    "glorot_uniform": "xavier_uniform",
    "glorot_normal": "xavier_normal",
    "he": "he_normal",
    "kaiming": "he_normal",
    "kaiming_normal": "he_normal",
    "kaiming_uniform": "he_uniform",
}
_FAN_BASED = ("xavier_uniform", "xavier_normal", "he_normal", "he_uniform", "lecun_normal")
NAMES = ("zeros", "normal", "uniform") + _FAN_BASED + tuple(_ALIASES)


def canonical_name(name: str) -> str:
    """Resolve an alias; raise ValueError listing the known names for an unknown one."""
    key = str(name).lower()
    key = _ALIASES.get(key, key)
    if key not in ("zeros", "normal", "uniform") + _FAN_BASED:
        close = difflib.get_close_matches(str(name), NAMES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown initializer {name!r}; expected one of {sorted(NAMES)}.{hint}")
    return key


def initializer(name: str, std: float | None = None) -> Initializer:
    """Kernel initializer called ``name`` (see the module docstring); ``std`` for normal/uniform."""
    key = canonical_name(name)
    init = jax.nn.initializers
    if key == "zeros":
        return init.zeros
    if key in ("normal", "uniform"):
        if std is None or not float(std) > 0:
            raise ValueError(f"initializer {name!r} needs a positive std, got {std!r}")
        if key == "normal":
            return init.normal(stddev=float(std))
        half = float(std)
        return lambda k, shape, dtype=jax.numpy.float32: jax.random.uniform(
            k, shape, dtype, -half, half)
    return {
        "xavier_uniform": init.glorot_uniform,
        "xavier_normal": init.glorot_normal,
        "he_normal": init.he_normal,
        "he_uniform": init.he_uniform,
        "lecun_normal": init.lecun_normal,
    }[key]()


def bias_initializer(name: str, std: float | None = None) -> Initializer:
    """Bias initializer: zeros for the fan-based schemes, else the same as ``initializer``."""
    key = canonical_name(name)
    if key in _FAN_BASED:
        return jax.nn.initializers.zeros
    return initializer(key, std)
