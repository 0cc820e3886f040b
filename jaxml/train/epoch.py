"""One epoch (or one evaluation pass) of any step over any batch source.

An epoch key is split into ``(plan_key, step_key)``: the source draws its plan (a permutation)
from ``plan_key``, and step ``i`` gets the rng ``fold_in(step_key, i)``. Three ways to run it, all
with exactly this arithmetic (same numbers):

- :func:`scan_epoch` — ONE compiled call: a ``lax.scan`` over the steps of a device source
  (``jaxml.train.sources``). The default and the fast path for dense models and small CNNs.
- :func:`host_epoch` — a Python loop of one compiled step per batch of a device source. XLA:CPU
  compiles some programs badly inside a loop (ResNet convolution gradients); bench/README.md has
  the measurements. ``epoch_loop="auto"`` picks it on the CPU backend.
- :func:`stream_epoch` — a Python loop over the prefetched device batches of a host
  :class:`~jaxml.train.sources.StreamSource` (data larger than device memory).

Metrics are sums plus a count (``{"loss_sum": ..., "accuracy_sum": ..., "count": ...}``), stacked
over steps on a leading axis (per-step curves for free); :func:`means` turns sums into means.
With ``batched=True`` the state and key carry a leading runs axis and the step is ``jax.vmap``-ed.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.train.sources import ArraySource, num_batches

__all__ = ["EPOCH_LOOPS", "copy_tree", "resolve_epoch_loop", "scan_epoch", "host_epoch", "stream_epoch",
           "make_epoch_fn", "make_eval_fn", "eval_pass", "means", "batch_mask", "num_batches"]


@jax.jit
def copy_tree(tree):
    """A copy of every leaf of ``tree``: one compiled program per tree structure and shapes, shared by
    every caller (``jnp.copy`` leaf by leaf compiles one program per leaf shape)."""
    return jax.tree_util.tree_map(jnp.copy, tree)

EPOCH_LOOPS = ("auto", "scan", "host")


def resolve_epoch_loop(mode: str) -> str:
    """"scan" or "host" for ``mode``; "auto" means "host" on the CPU backend, else "scan"."""
    if mode not in EPOCH_LOOPS:
        raise ValueError(f"epoch_loop must be one of {list(EPOCH_LOOPS)}, got {mode!r}")
    if mode == "auto":
        return "host" if jax.default_backend() == "cpu" else "scan"
    return mode


def batch_mask(batch, n: int):
    """The batch's ``"mask"`` (B,) as float32, or ones when it has none (every row real)."""
    mask = batch.get("mask") if hasattr(batch, "get") else None
    return jnp.ones((n,), jnp.float32) if mask is None else mask.astype(jnp.float32)


def means(sums, prefix: str = "") -> dict:
    """Host side: ``{"<name>_sum": s, "count": c}`` -> ``{"<prefix><name>": s / c}`` (numpy, float64;
    leading run axes are kept — sum step axes first). Keys without ``_sum`` are dropped."""
    count = np.maximum(np.asarray(sums["count"], np.float64), 1.0)
    return {f"{prefix}{k[:-4]}": np.asarray(v, np.float64) / count for k, v in sums.items() if k.endswith("_sum")}


def _constrain(batch, sharding):
    return batch if sharding is None else jax.lax.with_sharding_constraint(batch, sharding)


def scan_epoch(train_step, source, *, batch_sharding=None):
    """``epoch(state, arrays, key) -> (state, step_metrics)``: one ``lax.scan`` over the source's
    steps (trace it under ``jit``; ``vmap`` it over runs with ``in_axes=(0, None, 0)``)."""

    def epoch(state, arrays, key):
        plan_key, step_key = jax.random.split(key)
        plan = source.plan(plan_key)

        def body(state, i):
            batch = _constrain(source.batch(arrays, plan, i), batch_sharding)
            return train_step(state, batch, jax.random.fold_in(step_key, i))

        return jax.lax.scan(body, state, jnp.arange(source.steps))

    return epoch


def _stack_steps(metrics: list, batched: bool):
    return jax.tree_util.tree_map(lambda *ms: jnp.stack(ms, axis=1 if batched else 0), *metrics)


class host_epoch:  # noqa: N801  (used like a function that returns an epoch callable)
    """``epoch(state, arrays, key) -> (state, step_metrics)`` as a Python loop of one compiled step per
    batch of a device source. The caller's state is not donated (it is copied once per epoch; the
    copies are donated step to step). :meth:`compile` compiles the step ahead of time."""

    def __init__(self, train_step, source, *, batched: bool = False, batch_sharding=None):
        def plan(key):
            plan_key, step_key = jax.random.split(key)
            return source.plan(plan_key), step_key

        def step(state, arrays, plan, step_key, i):
            batch = _constrain(source.batch(arrays, plan, i), batch_sharding)
            return train_step(state, batch, jax.random.fold_in(step_key, i))

        if batched:
            plan = jax.vmap(plan)
            step = jax.vmap(step, in_axes=(0, None, 0, 0, None))
        self.steps, self.batched = source.steps, batched
        self._plan = jax.jit(plan)
        self._step = jax.jit(step, donate_argnums=0)

    def compile(self, state, arrays, key):
        plan, step_key = jax.eval_shape(self._plan, key)
        self._step = self._step.lower(state, arrays, plan, step_key, jnp.int32(0)).compile()
        return self

    def __call__(self, state, arrays, key):
        plan, step_key = self._plan(key)
        state = copy_tree(state)
        metrics = []
        for i in range(self.steps):
            state, m = self._step(state, arrays, plan, step_key, jnp.int32(i))
            metrics.append(m)
        return state, _stack_steps(metrics, self.batched)


class stream_epoch:  # noqa: N801
    """``epoch(state, key) -> (state, step_metrics)`` over a :class:`~jaxml.train.sources.StreamSource`:
    a Python loop of one compiled step per prefetched device batch."""

    def __init__(self, train_step, source, *, batched: bool = False, batch_sharding=None):
        def step(state, batch, step_key, i):
            return train_step(state, _constrain(batch, batch_sharding), jax.random.fold_in(step_key, i))

        if batched:
            step = jax.vmap(step, in_axes=(0, 0, 0, None))
        self.source, self.batched, self.sharding = source, batched, batch_sharding
        self._split = jax.jit(jax.vmap(jax.random.split) if batched else jax.random.split)
        self._step = jax.jit(step, donate_argnums=0)

    def __call__(self, state, key):
        keys = self._split(key)
        plan_key, step_key = (keys[:, 0], keys[:, 1]) if self.batched else (keys[0], keys[1])
        plan = self.source.plan(plan_key)
        state = copy_tree(state)
        metrics = []
        for i, batch in enumerate(self.source.batches(plan, self.sharding)):
            state, m = self._step(state, batch, step_key, jnp.int32(i))
            metrics.append(m)
        return state, _stack_steps(metrics, self.batched)


def eval_pass(eval_step, source):
    """``evaluate(state, arrays) -> metric sums`` over a device source in its fixed evaluation order
    (``source.plan(None)``), one ``lax.scan``; jit it, vmap it over runs with ``in_axes=(0, None)``."""

    def evaluate(state, arrays):
        plan = source.plan(None)
        first = jax.eval_shape(lambda s, a: eval_step(s, source.batch(a, plan, 0)), state, arrays)
        zeros = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), first)

        def body(total, i):
            m = eval_step(state, source.batch(arrays, plan, i))
            return jax.tree_util.tree_map(jnp.add, total, m), None

        total, _ = jax.lax.scan(body, zeros, jnp.arange(source.steps))
        return total

    return evaluate


def make_epoch_fn(train_step, batch_size: int, shuffle: bool = True):
    """``epoch(state, data, key) -> (state, step_metrics)`` over a dict of arrays ``data`` with
    batches of ``batch_size`` (an :class:`ArraySource` built from ``data``'s shapes when traced):
    the scanned epoch on its own, for code that drives epochs itself (benchmarks, tests)."""

    def epoch(state, data, key):
        source = ArraySource(data, batch_size, shuffle=shuffle)
        return scan_epoch(train_step, source)(state, source.arrays, key)

    return epoch


def make_eval_fn(eval_step, batch_size: int = 1000):
    """``evaluate(state, data) -> metric sums`` over a whole split ``data`` (dict of arrays), in order,
    one call. Batches hold ``min(batch_size, N)`` examples; a short last batch is masked out."""

    def evaluate(state, data):
        n = jax.tree_util.tree_leaves(data)[0].shape[0]
        source = ArraySource(data, max(1, min(batch_size, n)), shuffle=False)
        return eval_pass(eval_step, source)(state, source.arrays)

    return evaluate
