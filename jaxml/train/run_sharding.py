"""Spread independent runs (a leading run axis, e.g. vmapped seeds) over several devices.

``jax.jit(jax.vmap(train))(keys_R)`` runs all R runs as one program on ONE device. On a CPU that
is one XLA:CPU device, and a program of small kernels (an RL agent's 64-unit matmuls) keeps
about one core busy however many runs it carries. Splitting the run axis over several devices
runs the parts in parallel: XLA partitions the vmapped program along the run axis (no
communication: the runs are independent) and each device executes its share on its own thread.
Measured on our 2-core VM (bench/README.md, RL section): 8 vmapped CartPole DQN seeds took 7.5x
one seed on one CPU device and 3.7x when split over 2 CPU devices; every run's result was
bit-identical to the same seed run alone.

- :func:`request_cpu_devices` ``(n=None)``: ask JAX for ``n`` host CPU devices (default: the
  cores this process may use). Must run before JAX executes anything (it sets
  ``jax_num_cpu_devices``); afterwards it raises ``RuntimeError`` unless the count already
  matches. Returns the device count. Scripts call it right after their imports.
- :func:`runs_sharding` ``(num_runs, devices=None)``: a ``NamedSharding`` that splits axis 0 over
  the devices, or None when there is one device or ``num_runs`` is not divisible by their count.
- :func:`shard_runs` ``(tree, devices=None)``: ``jax.device_put`` of every leaf with that
  sharding (leaves must share the leading run axis); the tree unchanged when it does not apply.
  Pass the result to the jitted vmapped function: its outputs come back sharded the same way.
"""
from __future__ import annotations

import os

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

__all__ = ["request_cpu_devices", "runs_sharding", "shard_runs"]


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _backends_initialized() -> bool:
    from jax._src import xla_bridge  # no public query exists in jax 0.10

    return xla_bridge.backends_are_initialized()


def request_cpu_devices(n: int | None = None) -> int:
    """Ask for ``n`` CPU devices (default: usable cores) before JAX starts; returns the count."""
    n = _usable_cores() if n is None else n
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"request_cpu_devices: n must be a positive int, got {n!r}")
    if _backends_initialized():
        have = len(jax.devices("cpu"))
        if have != n:
            raise RuntimeError(f"request_cpu_devices({n}): JAX already started with {have} CPU device(s); "
                               f"call it before any JAX operation (right after the imports)")
        return have
    jax.config.update("jax_num_cpu_devices", n)
    return len(jax.devices("cpu"))


def runs_sharding(num_runs: int, devices=None) -> NamedSharding | None:
    """Axis-0 sharding of ``num_runs`` runs over ``devices`` (default all), or None if it does
    not apply (one device, or ``num_runs`` not divisible by the device count)."""
    devices = list(jax.devices() if devices is None else devices)
    if len(devices) < 2 or num_runs % len(devices):
        return None
    return NamedSharding(Mesh(np.asarray(devices), ("runs",)), P("runs"))


def shard_runs(tree, devices=None):
    """``tree`` with every leaf split along its leading run axis over the devices (see above)."""
    leaves = jax.tree_util.tree_leaves(tree)
    if not leaves:
        return tree
    sizes = {int(np.shape(leaf)[0]) if np.ndim(leaf) else None for leaf in leaves}
    if len(sizes) != 1 or None in sizes:
        raise ValueError(f"shard_runs: every leaf needs the same leading run axis, got leading sizes "
                         f"{sorted(map(str, sizes))}")
    sharding = runs_sharding(sizes.pop(), devices)
    return tree if sharding is None else jax.device_put(tree, sharding)
