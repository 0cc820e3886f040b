"""Output buffers for loops that write every element: allocated without the memset that zeros would cost.

A ``lax.scan`` or ``fori_loop`` that stacks per-step results needs its output arrays before the first step.
JAX starts them as zeros (``lax.empty`` lowers to a broadcast of zero on the CPU), and XLA:CPU fills them with
a memset on the critical path. For the LSTM at T = 100 (bench/README.md, "The LSTM, ninth session") that was
five (T, B, H) arrays of 1.6 MB and two (T/2, B, 4H) arrays of 3.3 MB per batch, 0.3-0.6 ms of a ~11 ms
training step.

:func:`unfilled_buffers` hands the loop buffers whose contents are unspecified. On the CPU it calls jaxlib's
``dce_sink`` FFI target with the buffers as declared results: the target is a handler that does nothing (JAX
uses it to keep values alive), so XLA allocates the results and nothing writes them. Elsewhere, or when that
target does not accept the call (a jaxlib that checks its results: probed once per process), the buffers are
zeros, as before.

Callers must write every element before reading it; :mod:`jaxml.models.lstm_scan` writes row t at step t.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

import jax
import jax.numpy as jnp

__all__ = ["unfilled_buffers", "unfilled_buffers_available"]

_TARGET = "dce_sink"


def _ffi_buffers(structs: Sequence[jax.ShapeDtypeStruct], after_1: jax.Array) -> list[jax.Array]:
    call = jax.ffi.ffi_call(_TARGET, list(structs), has_side_effect=False, vmap_method="broadcast_all")
    return list(call(after_1))


@functools.cache
def unfilled_buffers_available() -> bool:
    """Whether this process's jaxlib accepts the allocation on the CPU (compiled and run once, then cached)."""
    try:
        probe = jax.jit(lambda a: _ffi_buffers([jax.ShapeDtypeStruct((2, 3), jnp.float32)], a)[0] * 0.0 + a[0])
        jax.block_until_ready(probe(jax.device_put(jnp.ones((1,), jnp.float32), jax.local_devices(backend="cpu")[0])))
    except Exception as err:  # noqa: BLE001 - any failure means: use zeros
        logging.getLogger(__name__).warning("unfilled_buffers: jaxlib's %r target is not usable here (%s); loop "
                                            "buffers start as zeros", _TARGET, err)
        return False
    return True


def unfilled_buffers(structs: Sequence[jax.ShapeDtypeStruct], after: jax.Array) -> list[jax.Array]:
    """Arrays of the given shapes and dtypes with unspecified contents (zeros off the CPU).

    ``after``: any array computed just before the loop (one element of it is read). The allocation depends on
    it, so XLA neither hoists the buffers out of an enclosing loop (which would make it copy them on every
    iteration) nor merges two allocations of equal shapes. One call allocates all its buffers.
    """
    structs = [jax.ShapeDtypeStruct(tuple(s.shape), s.dtype) for s in structs]
    after_1 = jax.lax.stop_gradient(jnp.ravel(after)[:1])  # an ordering input, not a differentiable one

    def zeros():
        return [jnp.zeros(s.shape, s.dtype) for s in structs]

    if not unfilled_buffers_available():
        return zeros()
    return list(jax.lax.platform_dependent(after_1, cpu=lambda a: _ffi_buffers(structs, a),
                                           default=lambda a: zeros()))
