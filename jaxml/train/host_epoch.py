"""A training epoch dispatched step by step from Python: the fast choice for convolutions on XLA:CPU.

The default epoch (``epoch.make_epoch_fn``) is ONE compiled call: a ``lax.scan`` over the steps.
On XLA's CPU backend, convolution GRADIENTS inside a loop (the scan's while loop) run an order of
magnitude slower than the same train step compiled on its own. Measured on our 2-core CPU
(batch 64 of 28x28x1 images, other jobs sharing the machine): CNN-3 trained at 44 examples/s in
the scanned epoch and 332 examples/s as a Python loop over the jitted step; a width-16 ResNet-18
at 7 vs 136 examples/s. Unrolling the scan by 2 did not help, a fully unrolled scan did, so the
loop itself is the cause. Forward-only evaluation is not affected (the scanned pass ran as fast
as a loop), and dense-only models lose nothing in the scan, which stays the default elsewhere.

Update (measured later, on the idle machine, after the CNN modules switched to the strided-slice
pooling and patch/chunked convolutions of ``jaxml.models.pooling`` / ``conv_impl``): for the
small CNNs the scanned epoch is now the FASTER one — 20 steps of batch 128 took 0.32 s scanned vs
0.78 s in the host loop for the MNIST CNN, 0.49 vs 0.94 s for CNN-3, 0.26 vs 0.39 s for CNN-2
(bench/vision.py: 56 vs 24 steps/s for the MNIST CNN). ResNet-18 (CIFAR stem) is still
pathological in the scan (an epoch of 2 steps ran for minutes), so ``"auto"`` keeps choosing the
host loop on CPU; pass ``epoch_loop="scan"`` (studies: ``--config.epoch_loop=scan``) for small
CNNs. Not yet measured: the scanned epoch with vmapped seeds for these CNNs.

- :func:`make_host_epoch_fn` ``(train_step, batch_size)`` -> ``epoch(state, data, key) ->
  (state, step_metrics)`` with exactly the scanned epoch's arithmetic: the same permutation and
  padding mask (``epoch.batch_plan``), step ``i`` with rng ``fold_in(step_key, i)``, the per-step
  metric sums stacked on a leading steps axis. Each step is one call of a compiled step (the
  step index is traced, so it compiles once, on the first call). The caller's state is not
  donated (it is copied once per epoch; the copies are donated step to step).
  ``batched=True``: the state and key carry a leading runs axis (as made by ``make_runs``); the
  step is ``jax.vmap``-ed over it and the metrics are (R, steps, ...), as ``fit`` expects.
- :func:`resolve_epoch_loop` ``("auto" | "scan" | "host")`` -> "scan" or "host"; "auto" is
  "host" on the CPU backend and "scan" on accelerators.
- :func:`make_epoch_runner` ``(train_step, batch_size, mode)`` -> an epoch callable of either kind
  (the scanned one jitted, without donation).

``fit(..., epoch_loop=...)`` accepts the same modes (default "scan").
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxml.train.epoch import _num_examples, batch_plan, make_epoch_fn

__all__ = ["EPOCH_LOOPS", "resolve_epoch_loop", "make_host_epoch_fn", "make_epoch_runner"]

EPOCH_LOOPS = ("auto", "scan", "host")


def resolve_epoch_loop(mode: str) -> str:
    """"scan" or "host" for ``mode``; "auto" means "host" on the CPU backend, else "scan"."""
    if mode not in EPOCH_LOOPS:
        raise ValueError(f"epoch_loop must be one of {list(EPOCH_LOOPS)}, got {mode!r}")
    if mode == "auto":
        return "host" if jax.default_backend() == "cpu" else "scan"
    return mode


def make_host_epoch_fn(train_step, batch_size: int, *, batched: bool = False, shuffle: bool = True):
    """``epoch(state, data, key) -> (state, step_metrics)`` as a Python loop of one compiled step
    per batch (see the module docstring)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")

    def plan(key, n: int):
        perm_key, step_key = jax.random.split(key)
        idx_SxB, mask_SxB = batch_plan(perm_key, n, batch_size, shuffle=shuffle)
        return idx_SxB, mask_SxB, step_key

    def step(state, data, idx_SxB, mask_SxB, step_key, i):
        batch = jax.tree_util.tree_map(lambda a: jnp.take(a, idx_SxB[i], axis=0), data)
        batch["mask"] = mask_SxB[i]
        return train_step(state, batch, jax.random.fold_in(step_key, i))

    if batched:
        plan = jax.vmap(plan, in_axes=(0, None))
        step = jax.vmap(step, in_axes=(0, None, 0, 0, 0, None))
    plan_jit = jax.jit(plan, static_argnums=1)
    step_jit = jax.jit(step, donate_argnums=0)
    copy = jax.jit(lambda tree: jax.tree_util.tree_map(jnp.copy, tree))

    def epoch(state, data, key):
        idx_SxB, mask_SxB, step_key = plan_jit(key, _num_examples(data))
        state = copy(state)
        metrics = []
        for i in range(idx_SxB.shape[-2]):
            state, m = step_jit(state, data, idx_SxB, mask_SxB, step_key, jnp.int32(i))
            metrics.append(m)
        axis = 1 if batched else 0
        return state, jax.tree_util.tree_map(lambda *ms: jnp.stack(ms, axis=axis), *metrics)

    return epoch


def make_epoch_runner(train_step, batch_size: int, mode: str = "auto", *, shuffle: bool = True):
    """An epoch callable ``(state, data, key) -> (state, step_metrics)``: the jitted ``lax.scan``
    epoch for "scan", the host loop for "host" ("auto": see :func:`resolve_epoch_loop`)."""
    if resolve_epoch_loop(mode) == "scan":
        return jax.jit(make_epoch_fn(train_step, batch_size, shuffle=shuffle))
    return make_host_epoch_fn(train_step, batch_size, shuffle=shuffle)
