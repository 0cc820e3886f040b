"""Runs over a grid of settings as one program (stacked states on a leading runs axis).

``jaxml.train.runs.make_runs`` sweeps one optimizer hyperparameter; this module covers
the two other cases the studies need, and returns a :class:`GridRuns` that ``fit`` takes
exactly like ``Runs`` (``fit(g.state, ..., key=g.train_keys, num_runs=g.num_runs,
run_info=g.info)``):

- :func:`make_grid_runs` — the product of several traced settings: any injected optimizer
  hyperparameter (``learning_rate``, ``momentum``, ...) and ``weight_scale``, a factor that
  multiplies every ``kernel`` of the freshly initialised parameters (with
  ``kernel_init="normal", init_std=1`` that gives kernels drawn from N(0, weight_scale²)).
  One vmapped init, one compiled training program for the whole grid.
- :func:`runs_from_params` — runs whose parameters were built separately (e.g. by models that
  differ only in their initializer, which changes nothing but ``init``; :func:`init_params`
  makes one setting's parameters for all seeds), given one ``apply_fn`` and optimizer.

Run order: the grid axes in the order given (first axis slowest), seeds fastest. Keys
follow ``make_runs``: ``PRNGKey(seed)`` split into (init, train), so equal seeds share their
initial draw across the grid (common random numbers).
"""
from __future__ import annotations

import dataclasses
import itertools
from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.train.optimizers import set_hyperparams
from jaxml.train.state import TrainState, create_state

__all__ = ["GridRuns", "make_grid_runs", "init_params", "runs_from_params", "scale_kernels", "WEIGHT_SCALE"]

WEIGHT_SCALE = "weight_scale"


@dataclasses.dataclass
class GridRuns:
    state: object            # TrainState with a leading axis of length num_runs
    train_keys: jax.Array    # (num_runs, 2) uint32
    info: list               # per run: {"seed": s, <axis>: value, ...}
    seeds: tuple
    axes: dict               # {axis name: tuple of values}, in grid order

    @property
    def num_runs(self) -> int:
        return len(self.info)

    @property
    def shape(self) -> tuple:
        """(len(axis_1), ..., len(axis_k), num_seeds)."""
        return tuple(len(v) for v in self.axes.values()) + (len(self.seeds),)

    def reshape(self, values) -> np.ndarray:
        """A per-run array (R, ...) as (len(axis_1), ..., len(axis_k), num_seeds, ...)."""
        values = np.asarray(values)
        if int(np.prod(self.shape)) != self.num_runs:
            raise ValueError(f"GridRuns.reshape: these {self.num_runs} runs are not a grid x seeds "
                             f"product (axes {self.axes}); use group()")
        if values.shape[:1] != (self.num_runs,):
            raise ValueError(f"GridRuns.reshape: expected a leading axis of {self.num_runs} runs, "
                             f"got shape {values.shape}")
        return values.reshape(self.shape + values.shape[1:])

    def group(self, values, axis: str) -> dict:
        """``{value of axis: (runs with that value, ...)}`` in the order of first appearance."""
        values = np.asarray(values)
        out: dict = {}
        for r, rec in enumerate(self.info):
            out.setdefault(rec[axis], []).append(values[r])
        return {k: np.stack(v) for k, v in out.items()}


def scale_kernels(params, scale):
    """``params`` with every leaf named ``kernel`` multiplied by ``scale`` (may be traced)."""
    def scale_leaf(path, leaf):
        name = getattr(path[-1], "key", None)
        return leaf * jnp.asarray(scale, leaf.dtype) if name == "kernel" else leaf
    return jax.tree_util.tree_map_with_path(scale_leaf, params)


def _seed_keys(seeds: Sequence[int]):
    keys = jax.vmap(lambda s: jnp.stack(jax.random.split(jax.random.PRNGKey(s))))(
        jnp.asarray(np.array(seeds, np.uint32)))
    return keys[:, 0], keys[:, 1]


def make_grid_runs(model, tx, sample_x, seeds: Sequence[int], grid: Mapping[str, Sequence[float]]) -> GridRuns:
    """Stacked train states for the product ``grid`` x ``seeds`` (see the module docstring).

    ``tx`` must come from ``make_optimizer`` so that the swept hyperparameters are injected;
    an unknown name raises ValueError from ``set_hyperparams`` naming the ones it has.
    """
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("make_grid_runs needs at least one seed")
    axes = {str(k): tuple(float(v) for v in vals) for k, vals in grid.items()}
    for name, vals in axes.items():
        if not vals:
            raise ValueError(f"make_grid_runs: grid axis {name!r} has no values")
    points = list(itertools.product(*axes.values())) or [()]
    names = list(axes)
    info = [{**dict(zip(names, p)), "seed": s} for p in points for s in seeds]
    run_seeds = [rec["seed"] for rec in info]
    init_keys, train_keys = _seed_keys(run_seeds)
    values = {n: jnp.asarray(np.array([rec[n] for rec in info], np.float32)) for n in names}

    def init_one(key, vals):
        state = create_state(model, tx, key, sample_x)
        if WEIGHT_SCALE in vals:
            params = scale_kernels(state.params, vals[WEIGHT_SCALE])
            state = state.replace(params=params, opt_state=state.tx.init(params))
        hyper = {n: v for n, v in vals.items() if n != WEIGHT_SCALE}
        if hyper:
            state = state.replace(opt_state=set_hyperparams(state.opt_state, **hyper))
        return state

    state = jax.jit(jax.vmap(init_one))(init_keys, values)
    return GridRuns(state=state, train_keys=train_keys, info=info, seeds=seeds, axes=axes)


def init_params(model, sample_x, seeds: Sequence[int]):
    """Parameters of ``model`` for each seed (init key of ``PRNGKey(seed)``, as ``make_runs``),
    stacked on a leading axis: one jitted, vmapped init.

    ``model`` may also be a list of models (e.g. one per initializer): the result is then a list
    of stacked trees, one per model, all made by ONE compiled call.
    """
    init_keys, _ = _seed_keys(tuple(int(s) for s in seeds))
    sample_x = jnp.asarray(sample_x)
    models = list(model) if isinstance(model, (list, tuple)) else [model]

    def init_all(keys):
        def one(m, k):
            params_key, dropout_key = jax.random.split(k)  # the same split as create_state
            return m.init({"params": params_key, "dropout": dropout_key}, sample_x, train=False)["params"]
        return [jax.vmap(lambda k, m=m: one(m, k))(keys) for m in models]

    out = jax.jit(init_all)(init_keys)
    return out if isinstance(model, (list, tuple)) else out[0]


def runs_from_params(model, tx, params, info: Sequence[dict], hyperparams: Mapping[str, Sequence[float]] | None = None
                     ) -> GridRuns:
    """Runs with the given parameters, one ``model.apply`` and one ``tx``.

    ``params``: one tree with a leading runs axis, or a list of such stacked trees (concatenated
    in order, e.g. one :func:`init_params` result per setting). Each ``info`` entry (one per
    run) needs a ``"seed"``; its train key is that seed's. ``hyperparams``: optional per-run
    values of injected optimizer hyperparameters ({"learning_rate": (R values)}).

    Uses: settings that only change how parameters are initialised (initializer name, zero vs
    random init: init them with their own modules, then train them together); and settings that
    share their initial weights (the same parameters trained by different optimizers, activations
    or losses: :func:`init_params` once, then one ``runs_from_params`` per setting — no random
    initialisation is compiled again).
    """
    if isinstance(params, (list, tuple)):
        params = jax.tree_util.tree_map(lambda *a: jnp.concatenate(a), *params)
    sizes = {a.shape[0] for a in jax.tree_util.tree_leaves(params)}
    if sizes != {len(info)} or not info:
        raise ValueError(f"runs_from_params: parameters for {sorted(sizes)} runs but {len(info)} info entries")
    if any("seed" not in rec for rec in info):
        raise ValueError("runs_from_params: every info entry needs a 'seed'")
    hyper = {str(k): jnp.asarray(np.asarray(v, np.float32)) for k, v in (hyperparams or {}).items()}
    for k, v in hyper.items():
        if v.shape != (len(info),):
            raise ValueError(f"runs_from_params: hyperparams[{k!r}] needs one value per run ({len(info)}), "
                             f"got shape {v.shape}")

    def create(p, h):
        state = TrainState.create(apply_fn=model.apply, params=p, tx=tx)
        return state.replace(opt_state=set_hyperparams(state.opt_state, **h)) if h else state

    state = jax.jit(jax.vmap(create))(params, hyper)
    _, train_keys = _seed_keys([int(rec["seed"]) for rec in info])
    seeds = tuple(dict.fromkeys(int(rec["seed"]) for rec in info))
    return GridRuns(state=state, train_keys=train_keys, info=[dict(rec) for rec in info], seeds=seeds, axes={})
