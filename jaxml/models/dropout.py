"""Dropout whose random mask costs an elementwise hash instead of a threefry draw per element.

``jax.random.bernoulli`` (what ``flax.linen.Dropout`` calls) runs the threefry-2x32 hash, 20 rounds,
for every element of the mask; on XLA:CPU that dominates dropout, and the hash below is far cheaper
(measured in bench/README.md, "The dropout masks").

- ``impl="hash"`` (the default): ``threefry`` is called once per mask, for two 32-bit seeds
  (s0, s1); element i of the mask gets ``u_i = fmix32(fmix32(i * 0x9E3779B9 + s0) ^ s1)``, where
  fmix32 is MurmurHash3's 32-bit finaliser (a bijection of uint32 with full avalanche). i runs over
  the mask's elements in row-major order, so within one mask the u_i are distinct, and each is kept
  when ``u_i >= round(rate * 2**32)``: the keep probability is ``1 - rate`` to within 2**-32. The
  same key gives the same mask on every backend; masks from different keys are independent to the
  statistical tests in tests/models/test_dropout.py (keep rate, agreement between keys, correlation
  of neighbours).
- ``impl="bernoulli"``: ``jax.random.bernoulli``, the mask flax's ``nn.Dropout`` draws from the
  same key (bit for bit; tested).

Masks of 2**32 elements or more are refused with ``impl="hash"`` (the element counter is 32-bit).
"""
from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

__all__ = ["DROPOUT_IMPLS", "Dropout", "dropout", "hash_bits", "keep_mask"]

DROPOUT_IMPLS = ("hash", "bernoulli")
_GOLDEN = np.uint32(0x9E3779B9)  # odd, so i -> i * _GOLDEN is a bijection of uint32


def _fmix32(h):
    """MurmurHash3's finaliser on uint32 arrays."""
    h = h ^ (h >> 16)
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> 13)
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> 16)


def hash_bits(key, shape: Sequence[int]):
    """uint32 array of ``shape``: element i is ``fmix32(fmix32(i * 0x9E3779B9 + s0) ^ s1)`` with
    (s0, s1) = 64 random bits drawn from ``key`` (see the module docstring)."""
    shape = tuple(int(d) for d in shape)
    n = math.prod(shape)
    if n >= 2**32:
        raise ValueError(f"hash_bits: a mask of shape {shape} has {n} elements; the hash counts elements in "
                         f"32 bits, so at most 2**32 - 1 (use impl='bernoulli' for larger masks)")
    seeds = jax.random.bits(key, (2,), jnp.uint32)
    index = lax.iota(jnp.uint32, n).reshape(shape)
    return _fmix32(_fmix32(index * _GOLDEN + seeds[0]) ^ seeds[1])


def keep_mask(key, rate: float, shape: Sequence[int], impl: str = "hash"):
    """Bool array of ``shape``, True (keep) with probability ``1 - rate``, independently per element."""
    if impl not in DROPOUT_IMPLS:
        raise ValueError(f"unknown dropout implementation {impl!r}; expected one of {list(DROPOUT_IMPLS)}")
    rate = float(rate)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1) for a mask, got {rate}")
    if impl == "bernoulli":
        return jax.random.bernoulli(key, 1.0 - rate, shape)
    threshold = np.uint32(min(round(rate * 2**32), 2**32 - 1))
    return hash_bits(key, shape) >= threshold


def dropout(key, x, rate: float, *, broadcast_dims: Sequence[int] = (), impl: str = "hash"):
    """Inverted dropout of ``x``: each element (or each slice along ``broadcast_dims``, which share
    one mask entry) is zeroed with probability ``rate``, the rest are divided by ``1 - rate``."""
    if rate == 0.0:
        return x
    if rate == 1.0:
        return jnp.zeros_like(x)
    shared = {a % x.ndim for a in broadcast_dims}
    mask_shape = [1 if d in shared else n for d, n in enumerate(x.shape)]
    keep = jnp.broadcast_to(keep_mask(key, rate, mask_shape, impl), x.shape)
    return lax.select(keep, x / jnp.asarray(1.0 - rate, x.dtype), jnp.zeros_like(x))


class Dropout(nn.Module):
    """``flax.linen.Dropout`` with the mask from :func:`keep_mask` (``impl``: "hash" or "bernoulli").

    Same attributes and call as flax's: ``rate`` (the drop probability), ``broadcast_dims``,
    ``deterministic`` (attribute or call argument), ``rng_collection`` ("dropout"); ``rng`` may be
    passed to the call instead.
    """

    rate: float
    broadcast_dims: Sequence[int] = ()
    deterministic: bool | None = None
    rng_collection: str = "dropout"
    impl: str = "hash"

    @nn.compact
    def __call__(self, inputs, deterministic: bool | None = None, rng=None):
        deterministic = nn.merge_param("deterministic", self.deterministic, deterministic)
        if self.rate == 0.0 or deterministic:
            return inputs
        if rng is None:
            rng = self.make_rng(self.rng_collection)
        return dropout(rng, inputs, self.rate, broadcast_dims=self.broadcast_dims, impl=self.impl)
