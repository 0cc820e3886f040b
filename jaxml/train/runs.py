"""Many runs as one program: seeds x one swept hyperparameter, stacked on a leading axis.

``make_runs(model, tx, sample_x, seeds, sweep=None)`` initialises one train state per
(seed, value) pair with ``jax.vmap`` — the swept optimizer hyperparameter (e.g. momentum or
learning_rate, see ``optimizers.set_hyperparams``) is written into each run's optimizer
state as a traced value, so the whole sweep compiles once. Runs are ordered value-major:
run r has value ``values[r // len(seeds)]`` and seed ``seeds[r % len(seeds)]``. Each run's
key is ``PRNGKey(seed)`` split into (init, train) keys, so runs with the same seed start
from the same weights whatever the swept value (common random numbers).
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.train.optimizers import set_hyperparams
from jaxml.train.state import create_state


@dataclasses.dataclass
class Runs:
    state: object            # TrainState with a leading axis of length num_runs
    train_keys: jax.Array    # (num_runs, 2) uint32
    info: list               # per run: {"seed": s, <swept name>: value}
    seeds: tuple
    sweep_name: str | None
    sweep_values: tuple

    @property
    def num_runs(self) -> int:
        return len(self.info)

    def group(self, values: np.ndarray) -> dict:
        """Split a per-run array (R, ...) into {swept value: (num_seeds, ...)} (or {None: all})."""
        values = np.asarray(values)
        s = len(self.seeds)
        if self.sweep_name is None:
            return {None: values}
        return {v: values[i * s:(i + 1) * s] for i, v in enumerate(self.sweep_values)}


def seed_keys(seed: int):
    """(init_key, train_key) for one seed."""
    init_key, train_key = jax.random.split(jax.random.PRNGKey(seed))
    return init_key, train_key


def make_runs(model, tx, sample_x, seeds: Sequence[int], sweep: dict | None = None) -> Runs:
    """Stacked train states for ``seeds`` x ``sweep`` ({hyperparameter name: values}, one name)."""
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("make_runs needs at least one seed")
    sweep = dict(sweep or {})
    if len(sweep) > 1:
        raise ValueError(f"sweep one hyperparameter at a time, got {sorted(sweep)}")
    name, values = (next(iter(sweep.items())) if sweep else (None, (None,)))
    values = tuple(float(v) for v in values) if name else (None,)
    run_seeds = np.array([s for _ in values for s in seeds], np.uint32)
    run_values = np.array([v if v is not None else 0.0 for v in values for _ in seeds], np.float32)
    keys = jax.vmap(lambda s: jnp.stack(jax.random.split(jax.random.PRNGKey(s))))(jnp.asarray(run_seeds))
    init_keys, train_keys = keys[:, 0], keys[:, 1]

    def init_one(k, value):
        state = create_state(model, tx, k, sample_x)
        if name is not None:
            state = state.replace(opt_state=set_hyperparams(state.opt_state, **{name: value}))
        return state

    state = jax.jit(jax.vmap(init_one))(init_keys, jnp.asarray(run_values))
    info = [{"seed": s, **({name: v} if name else {})} for v in values for s in seeds]
    return Runs(state=state, train_keys=train_keys, info=info, seeds=seeds, sweep_name=name,
                sweep_values=values if name else ())


def unstack(tree, r: int):
    """Run ``r`` of a stacked pytree."""
    return jax.tree_util.tree_map(lambda a: a[r], tree)
