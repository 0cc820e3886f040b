"""Batch sources: where the driver's batches come from.

The driver (``jaxml.train.fit``) asks a source for the batches of one epoch. Two kinds:

**Device sources** keep their arrays on the device and draw batches *inside* the compiled epoch
(the fast path: an epoch is one ``lax.scan``). They provide

- ``arrays`` — a pytree of arrays, put on the device once and passed to the compiled epoch as an
  argument (never closed over, so they are not baked into the program as constants);
- ``steps`` (batches per epoch), ``batch_size``, ``num_examples`` (examples per epoch, for
  throughput);
- ``plan(key)`` — traceable: the epoch's random choices (for :class:`ArraySource` a permutation
  cut into batches); ``key=None`` asks for the fixed order used for evaluation;
- ``batch(arrays, plan, i)`` — traceable: batch ``i`` as a dict of arrays with a ``"mask"`` (B,)
  float32 marking real examples (1) against padding (0).

:class:`ArraySource` (arrays that fit in memory) is one; ``jaxml.recipes.lm.BlockSource`` (random
windows of a token stream, for iteration-based training) is another.

**Host sources** (:class:`StreamSource`) keep the data on the host — anything with random access
(``len(ds)`` and ``ds[i]``: a ``grain`` data source, ``tfds.data_source(...)``, a
``numpy.memmap``-backed dict) — so it can be larger than device memory. They use the SAME plan as
:class:`ArraySource` (the permutation is drawn from the epoch key by the same function), gather each
batch on the host in a background thread, and put it on the device (sharded over the mesh when data
parallel) while the previous step runs. Same data, same key: same batches, same numbers as the
in-memory path. The order is a pure function of (key, epoch), so the position in the stream is
checkpointed by the epoch number alone.
"""
from __future__ import annotations

import concurrent.futures
import math
from typing import Any, Callable, Iterator, Mapping

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["ArraySource", "StreamSource", "num_batches", "batch_plan", "is_device_source", "leading_size", "as_source",
           "check_classifier_data", "device_arrays"]


def num_batches(num_examples: int, batch_size: int) -> int:
    """Batches needed to visit ``num_examples`` once (the last one partial, masked)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return math.ceil(num_examples / batch_size)


def leading_size(arrays, what: str = "data") -> int:
    """The common leading (example) axis of every array in ``arrays``; ValueError if they differ."""
    sizes = {int(np.shape(leaf)[0]) if np.ndim(leaf) else -1 for leaf in jax.tree_util.tree_leaves(arrays)}
    if len(sizes) != 1 or -1 in sizes:
        raise ValueError(f"{what}: all arrays need the same leading (example) axis, got sizes {sorted(sizes)}")
    n = sizes.pop()
    if n == 0:
        raise ValueError(f"{what} has no examples")
    return n


def batch_plan(key, num_examples: int, batch_size: int, shuffle: bool = True):
    """``(idx (S, B) int32, mask (S, B) float32)``: a permutation of ``num_examples`` drawn from ``key``
    (the stored order when ``shuffle`` is False or ``key`` is None), padded with index 0 and cut
    into S batches; ``mask`` is 0 on the padding."""
    steps = num_batches(num_examples, batch_size)
    total = steps * batch_size
    if shuffle and key is not None:
        order = jax.random.permutation(key, num_examples)
    else:
        order = jnp.arange(num_examples)
    idx = jnp.concatenate([order, jnp.zeros((total - num_examples,), order.dtype)])
    mask = (jnp.arange(total) < num_examples).astype(jnp.float32)
    return idx.reshape(steps, batch_size), mask.reshape(steps, batch_size)


class ArraySource:
    """Arrays with a common leading axis N (``{"x": (N, ...), "y": (N,)}``), batches of ``batch_size``
    drawn on the device: every example once per epoch, a fresh permutation per epoch (``shuffle``),
    the last partial batch padded and masked (never dropped, never recompiled)."""

    def __init__(self, arrays: Mapping[str, Any], batch_size: int, *, shuffle: bool = True, name: str = "data"):
        if not isinstance(arrays, Mapping):
            raise ValueError(f"{name} must be a mapping of arrays (e.g. {{'x': ..., 'y': ...}}), "
                             f"got {type(arrays).__name__}")
        if "mask" in arrays:
            raise ValueError(f"{name} has a field named 'mask'; that name is reserved for the padding mask")
        self.arrays = dict(arrays)
        self.num_examples = leading_size(self.arrays, name)
        self.steps = num_batches(self.num_examples, batch_size)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)

    def plan(self, key):
        return batch_plan(key, self.num_examples, self.batch_size, self.shuffle)

    def batch(self, arrays, plan, i):
        idx_SxB, mask_SxB = plan
        out = {k: jnp.take(a, idx_SxB[i], axis=0) for k, a in arrays.items()}
        out["mask"] = mask_SxB[i]
        return out

    def example(self):
        """Shapes/dtypes of one batch (``jax.ShapeDtypeStruct`` leaves), without running anything."""
        return jax.eval_shape(lambda a: self.batch(a, self.plan(None), 0), self.arrays)


def is_device_source(source) -> bool:
    return all(hasattr(source, a) for a in ("arrays", "plan", "batch", "steps"))


def _gather(data, idx: np.ndarray) -> dict:
    """Rows ``idx`` of a random-access dataset, stacked into a dict of numpy arrays."""
    if isinstance(data, Mapping):
        return {k: np.asarray(v[idx]) for k, v in data.items()}
    records = None
    getitems = getattr(data, "__getitems__", None)
    if getitems is not None:
        try:
            records = list(getitems([int(i) for i in idx]))
        except (TypeError, NotImplementedError):  # a source whose batched read is broken or absent
            records = None
    if records is None:
        records = [data[int(i)] for i in idx]
    if not records or not isinstance(records[0], Mapping):
        raise ValueError(f"a random-access source must return a dict per example, got {type(records[0]).__name__}")
    return {k: np.stack([np.asarray(r[k]) for r in records]) for k in records[0]}


class StreamSource:
    """Batches gathered on the host from a random-access dataset and prefetched to the device.

    ``data``: anything with ``len(data)`` and ``data[i] -> {field: array}`` (a ``grain``
    ``RandomAccessDataSource``, ``tfds.data_source(...)``, ...; ``__getitems__`` is used when
    present), or a dict of array-likes indexable by an index array (``numpy.memmap``).
    ``transform``: ``fn(batch: dict of numpy arrays) -> dict`` applied on the host to each gathered
    batch (decode, scale, rename fields) — it must not change the number of rows.
    ``prefetch``: how many batches are gathered ahead, in a background thread.

    The plan is :func:`batch_plan` on the same key as :class:`ArraySource`, so the two give the
    same batches in the same order. With R vmapped runs each run draws its own order, and each
    batch holds the R runs' rows, stacked on a leading runs axis. In a multi-process data-parallel
    job (one run) each process reads only the rows of each batch that its devices hold and the
    global batch is assembled with ``jax.make_array_from_process_local_data``.
    """

    def __init__(self, data, batch_size: int, *, shuffle: bool = True,
                 transform: Callable[[dict], dict] | None = None, prefetch: int = 2, name: str = "stream"):
        try:
            n = len(data) if not isinstance(data, Mapping) else leading_size(data, name)
        except TypeError:
            raise ValueError(f"{name}: a stream source needs random access (len() and [i]), "
                             f"got {type(data).__name__}") from None
        if n == 0:
            raise ValueError(f"{name} has no examples")
        if prefetch < 1:
            raise ValueError(f"{name}: prefetch must be >= 1, got {prefetch}")
        self.data, self.transform, self.prefetch, self.name = data, transform, int(prefetch), name
        self.num_examples = int(n)
        self.steps = num_batches(self.num_examples, batch_size)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self._plan = jax.jit(lambda key: batch_plan(key, self.num_examples, self.batch_size, self.shuffle))
        self._plan_runs = jax.jit(jax.vmap(lambda key: batch_plan(key, self.num_examples, self.batch_size,
                                                                  self.shuffle)))

    def _host_batch(self, idx_B: np.ndarray, mask_B: np.ndarray) -> dict:
        batch = _gather(self.data, idx_B)
        if self.transform is not None:
            batch = dict(self.transform(batch))
        if "mask" in batch:
            raise ValueError(f"{self.name}: the field name 'mask' is reserved for the padding mask")
        rows = {k: np.shape(v)[0] for k, v in batch.items()}
        if set(rows.values()) != {idx_B.shape[0]}:
            raise ValueError(f"{self.name}: every field of a batch needs {idx_B.shape[0]} rows, got {rows}")
        batch["mask"] = mask_B.astype(np.float32)
        return batch

    def example(self) -> dict:
        """One (unmasked) host batch of the first ``batch_size`` examples (for shapes, initialisation)."""
        idx = np.arange(min(self.batch_size, self.num_examples))
        return self._host_batch(idx, np.ones(idx.shape, np.float32))

    def plan(self, key):
        """(idx, mask) numpy arrays (S, B), or (R, S, B) for a key array of R runs; None = stored order."""
        if key is None:
            return tuple(np.asarray(a) for a in batch_plan(None, self.num_examples, self.batch_size, False))
        runs = jnp.ndim(key) == 1 if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) else key.ndim == 2
        return tuple(np.asarray(a) for a in jax.device_get((self._plan_runs if runs else self._plan)(key)))

    def batches(self, plan, sharding=None, start: int = 0) -> Iterator[dict]:
        """Device batches ``start..steps-1`` of ``plan`` (from :meth:`plan`), gathered ``prefetch``
        ahead in a background thread; put with ``sharding`` (e.g. the batch axis over a mesh)."""
        idx, mask = plan
        runs = idx.ndim == 3

        local = _process_rows(sharding, idx.shape[-1]) if not runs else None

        def make(i):
            if runs:
                parts = [self._host_batch(idx[r, i], mask[r, i]) for r in range(idx.shape[0])]
                host = {k: np.stack([p[k] for p in parts]) for k in parts[0]}
            elif local is not None:  # a multi-process job: read only the rows this process's devices hold
                part = self._host_batch(idx[i][local], mask[i][local])
                return {k: jax.make_array_from_process_local_data(sharding, v, (idx.shape[-1],) + v.shape[1:])
                        for k, v in part.items()}
            else:
                host = self._host_batch(idx[i], mask[i])
            return jax.device_put(host, sharding) if sharding is not None else jax.device_put(host)

        steps = idx.shape[-2]
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pending = [pool.submit(make, i) for i in range(start, min(start + self.prefetch, steps))]
            nxt = start + len(pending)
            for _ in range(start, steps):
                batch = pending.pop(0).result()
                if nxt < steps:
                    pending.append(pool.submit(make, nxt))
                    nxt += 1
                yield batch


def _process_rows(sharding, batch_size: int):
    """The batch rows (a slice) held by this process's devices when ``sharding`` spans several
    processes (a contiguous block, as a 1-D data mesh over ``jax.devices()`` lays them out); None
    for a single process or no sharding."""
    if sharding is None or jax.process_count() == 1:
        return None
    starts, stops = [], []
    for index in sharding.addressable_devices_indices_map((batch_size,)).values():
        rows = index[0]
        starts.append(rows.start or 0)
        stops.append(batch_size if rows.stop is None else rows.stop)
    spans = sorted(set(zip(starts, stops)))
    if any(a[1] != b[0] for a, b in zip(spans, spans[1:])):
        return None  # not one block: read whole batches (correct, only not sharded by process)
    return slice(spans[0][0], spans[-1][1])


def as_source(data, batch_size, shuffle, name, *, eval_batch_size=None):
    """``data`` as a batch source: a source passes through; a dict of arrays becomes an
    :class:`ArraySource` of ``batch_size`` (or, for evaluation, of ``min(eval_batch_size, N)`` in order)."""
    if is_device_source(data) or isinstance(data, StreamSource):
        if batch_size is not None and getattr(data, "batch_size", batch_size) != batch_size:
            raise ValueError(f"{name}: batch_size={batch_size} differs from the source's {data.batch_size}; "
                             "leave batch_size out when passing a source")
        return data
    if not isinstance(data, Mapping):
        raise ValueError(f"{name} must be a dict of arrays or a batch source, got {type(data).__name__}")
    if eval_batch_size is not None:
        n = leading_size(data, name)
        return ArraySource(data, max(1, min(eval_batch_size, n)), shuffle=False, name=name)
    if batch_size is None:
        raise ValueError(f"{name} is a dict of arrays: pass batch_size")
    n = leading_size(data, name)
    if isinstance(batch_size, (int, np.integer)) and not isinstance(batch_size, bool) and batch_size > n > 0:
        raise ValueError(f"batch_size={batch_size} exceeds the {n} training examples")
    return ArraySource(data, batch_size, shuffle=shuffle, name=name)


def check_classifier_data(name, source, reference=None):
    """The default steps read ``batch["x"]`` and ``batch["y"]``: check a batch of ``source`` has them."""
    fields = set(source.example())
    if "x" not in fields or "y" not in fields:
        raise ValueError(f"{name} must be a mapping with arrays 'x' and 'y' for the default (loss=...) steps, "
                         f"got fields {sorted(fields - {'mask'})}; pass train_step/eval_step for other data")
    arrays, ref = getattr(source, "arrays", None), getattr(reference, "arrays", None)
    if arrays is not None and ref is not None and "x" in arrays and "x" in ref \
            and np.shape(arrays["x"])[1:] != np.shape(ref["x"])[1:]:
        raise ValueError(f"{name}['x'] has example shape {np.shape(arrays['x'])[1:]}, "
                         f"expected {np.shape(ref['x'])[1:]} like the training data")


def device_arrays(source, sharding):
    """A device source's arrays on the device (replicated over ``sharding`` when given)."""
    # device_put, not jnp.asarray: the same arrays without compiling a program per shape
    arrays = {k: v if isinstance(v, jax.Array) else jax.device_put(np.asarray(v))
              for k, v in dict(source.arrays).items()}
    return jax.device_put(arrays, sharding) if sharding is not None else arrays
