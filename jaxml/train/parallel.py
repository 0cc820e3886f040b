"""Data parallelism over the local devices with ``jax.sharding``.

A 1-D ``Mesh`` over all devices with axis ``"data"``: every batch is split along its
first axis across devices, the parameters and optimizer state are replicated, and XLA
inserts the gradient all-reduce. The train step is the same function as on one device.
Multi-host: call ``jax.distributed.initialize()`` first (see BUILD.md); ``jax.devices()``
then lists every host's devices and the same mesh code applies.
"""
from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P


def data_mesh(devices=None) -> Mesh:
    devices = jax.devices() if devices is None else devices
    return Mesh(np.asarray(devices), ("data",))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def batch_sharded(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P("data"))


def check_batch_size(batch_size: int, mesh: Mesh) -> None:
    n = mesh.devices.size
    if batch_size % n:
        raise ValueError(f"batch_size={batch_size} must be divisible by the number of devices ({n}) "
                         "for data-parallel training")


def host_values(tree):
    """``tree`` as numpy arrays on this host: fully addressable arrays directly, and arrays that span
    other processes' devices (a multi-process job) from this process's copy when replicated, else
    gathered from every process (``multihost_utils.process_allgather``)."""
    from jax.experimental import multihost_utils

    def one(x):
        if not isinstance(x, jax.Array) or x.is_fully_addressable:
            return np.asarray(jax.device_get(x))
        if x.is_fully_replicated:
            return np.asarray(x.addressable_data(0))
        return np.asarray(multihost_utils.process_allgather(x, tiled=True))

    return jax.tree_util.tree_map(one, tree)


def initialize_distributed(coordinator_address: str | None = None, num_processes: int | None = None,
                           process_id: int | None = None) -> None:
    """Join a multi-process job: ``jax.distributed.initialize`` with the given coordinator (or, all
    None, from the cluster's environment: SLURM, TPU pods, ...). On CPU the collectives go over gloo.
    Call before anything touches a device."""
    if jax.config.jax_platforms in (None, "", "cpu") or str(jax.config.jax_platforms).startswith("cpu"):
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address, num_processes=num_processes, process_id=process_id)
