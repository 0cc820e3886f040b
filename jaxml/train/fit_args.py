"""What ``fit`` was given: the runs its key and state describe, and its numeric settings, checked
before anything is built or compiled (``ConfigError`` / ``ValueError`` naming the argument)."""
from __future__ import annotations

from typing import NamedTuple, Sequence

import jax
import numpy as np

from jaxml.train.errors import ConfigError
from jaxml.train.results import as_key
from jaxml.train.runs import Runs

__all__ = ["RunsGiven", "check_count", "check_settings", "resolve_runs"]


class RunsGiven(NamedTuple):
    state: object   # the train state; with R > 1 runs, every leaf has a leading (R,) axis
    key: object     # one key, or (R,) keys
    batched: bool   # whether the key (and the state) carry a runs axis
    num_runs: int   # R
    run_info: list  # R dicts


def check_count(name: str, value, minimum: int = 1) -> None:
    """ConfigError unless ``value`` is an integer >= ``minimum`` (not a bool, not 2.5)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")


def resolve_runs(state, key, run_info: Sequence[dict] | None, num_runs: int | None) -> RunsGiven:
    """The runs ``fit`` trains: from a ``Runs`` (its state, keys and info unless given), or a state
    and one key (one run) or (R,) keys (R stacked runs); checks that the key, ``num_runs``,
    ``run_info`` and the state's leading axes agree."""
    if isinstance(state, Runs):
        runs = state
        state, key = runs.state, runs.keys if key is None else key
        run_info = runs.info if run_info is None else run_info
    if key is None:
        raise ValueError("fit needs a key (or a Runs, which carries its keys)")
    key = as_key(key)
    batched = key.ndim == 1
    r = key.shape[0] if batched else 1
    if key.ndim > 1:
        raise ValueError(f"the key must be one key or a (R,) array of keys, got shape {key.shape}")
    if num_runs is not None and (not batched or num_runs != r):
        raise ValueError(f"num_runs={num_runs} but the key {'has shape ' + str(key.shape) if batched else 'is one key'}"
                         "; with R runs pass R keys")
    run_info = [dict(i) for i in run_info] if run_info is not None else [{} for _ in range(r)]
    if len(run_info) != r:
        raise ValueError(f"run_info has {len(run_info)} entries for {r} runs")
    if batched:
        lead = {np.shape(a)[0] if np.ndim(a) else None for a in jax.tree_util.tree_leaves(state)}
        if lead != {r}:
            raise ValueError(f"{r} keys but the state's leaves have leading sizes {sorted(map(str, lead))}; "
                             "stack one state per run (make_runs) or pass one key")
    return RunsGiven(state, key, batched, r, run_info)


def check_settings(*, epochs, checkpoint_every, keep_checkpoints, eval_batch_size, batch_size, on_nonfinite,
                   divergence_factor) -> None:
    """ConfigError for a count that is not a positive integer, an unknown ``on_nonfinite`` or a
    ``divergence_factor`` that is not a finite number > 1 (or None)."""
    check_count("epochs", epochs)
    check_count("checkpoint_every", checkpoint_every)
    check_count("keep_checkpoints", keep_checkpoints)
    check_count("eval_batch_size", eval_batch_size)
    if batch_size is not None:
        check_count("batch_size", batch_size)
    if on_nonfinite not in ("raise", "stop_run"):
        raise ConfigError(f"on_nonfinite must be 'raise' or 'stop_run', got {on_nonfinite!r}")
    if divergence_factor is not None and not (isinstance(divergence_factor, (int, float))
                                              and divergence_factor > 1 and np.isfinite(divergence_factor)):
        raise ConfigError(f"divergence_factor must be a finite number > 1 or None, got {divergence_factor!r}")
