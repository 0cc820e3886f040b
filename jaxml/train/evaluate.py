"""Measuring a train state outside the driver: ``evaluate`` (one compiled pass, reused) and ``epochs_for``."""
from __future__ import annotations

import copy
import math
from typing import Callable

import jax

from jaxml.train.checks import check_classifier_arrays
from jaxml.train.epoch import eval_pass, means
from jaxml.train.errors import ConfigError
from jaxml.train.runs import unstack
from jaxml.train.sources import ArraySource, as_source, check_classifier_data, device_arrays, num_batches
from jaxml.train.steps import make_eval_step

__all__ = ["evaluate", "epochs_for"]

_EVAL_CACHE: dict = {}


def evaluate(state, data, *, loss="cross_entropy", eval_step: Callable | None = None, batch_size: int = 1000,
             num_runs: int | None = None, allow_uint8: bool = False) -> dict:
    """Means of ``eval_step``'s metrics (default: loss and accuracy for ``loss``) of ``state`` on
    ``data`` (dict of arrays or a device source), one compiled pass; per run when ``num_runs`` is set
    (the state then carries a leading runs axis). The compiled pass is reused by later calls with
    the same step, batch layout and shapes (e.g. several test sets of one size). Data for the default
    step is checked first like ``fit``'s (labels, uint8, example shape: ``InputError``)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    source = as_source(data, None, False, "data", eval_batch_size=batch_size)
    if eval_step is None:
        check_classifier_data("data", source)
        one_state = jax.eval_shape(lambda s: unstack(s, 0), state) if num_runs is not None else state
        check_classifier_arrays("data", source.arrays, one_state, loss, allow_uint8=allow_uint8)
        eval_step = make_eval_step(loss)
    key = (eval_step, type(source), source.steps, source.batch_size, num_runs is not None)
    fn = _EVAL_CACHE.get(key) if isinstance(source, ArraySource) else None
    if fn is None:
        layout = copy.copy(source)
        layout.arrays = None  # the compiled pass needs the batch layout only: keep no data alive
        fn = eval_pass(eval_step, layout)
        fn = jax.jit(jax.vmap(fn, in_axes=(0, None)) if num_runs is not None else fn)
        if isinstance(source, ArraySource):
            if len(_EVAL_CACHE) > 64:
                _EVAL_CACHE.clear()
            _EVAL_CACHE[key] = fn
    sums = jax.device_get(fn(state, device_arrays(source, None)))
    return means(sums)


def epochs_for(n_examples: int, batch_size: int, updates: int) -> int:
    """Epochs needed for at least ``updates`` optimizer steps."""
    return math.ceil(updates / num_batches(n_examples, batch_size))
