"""Many runs as one program: seeds x a grid of traced settings, stacked on a leading runs axis.

``make_runs(model, tx, example_x, seeds=..., grid={...})`` initialises one train state per
(grid point, seed) with ONE vmapped, jitted init. Grid axes are traced values, so the whole grid
compiles once:

- any optimizer hyperparameter injected by ``make_optimizer`` (``learning_rate``, ``momentum``,
  ...), written into each run's optimizer state (``optimizers.set_hyperparams``);
- ``weight_scale``: a factor multiplying every ``kernel`` of the fresh parameters.

Run order: the grid axes in the order given (first slowest), seeds fastest. Each run's keys come
from :func:`seed_keys` — ``jax.random.key(seed)`` split into (init, train) — so runs with the same
seed start from the same weights whatever their grid point (common random numbers).

Random search: ``make_random_runs(model, tx, example_x, seeds=..., space={"learning_rate":
("log_uniform", 1e-4, 1.0), "momentum": ("uniform", 0.0, 0.99)}, trials=T, search_seed=0)`` draws
T points from ``space`` (:func:`sample_space`, a function of ``search_seed`` only) and stacks one run
per (trial, seed), trial-major, as ONE vmapped init; the sampled values are traced like grid values,
so a search is one compiled program. ``info`` has ``"trial"`` (0..T-1), each sampled value and
``"seed"``; ``axes == {"trial": (0, ..., T-1)}`` so ``reshape`` gives (T, seeds, ...).
:func:`concat_runs` joins runs of the same model and optimizer (several searches and grids) into one
program.

:func:`runs_from_params` makes runs from parameters built elsewhere (initialisers that differ only in
``init``, or the same start trained by different optimizers); :func:`init_params` makes them.
``fit(runs, train_data, ...)`` trains every run of a :class:`Runs` at once.
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

__all__ = ["Runs", "make_runs", "make_random_runs", "sample_space", "concat_runs", "runs_from_params", "init_params",
           "seed_keys", "scale_kernels", "unstack", "WEIGHT_SCALE", "DISTRIBUTIONS"]

WEIGHT_SCALE = "weight_scale"
DISTRIBUTIONS = ("uniform", "log_uniform")


def seed_keys(seeds):
    """``(init_key, train_key)`` typed keys for one seed, or (R,) key arrays for a sequence of seeds:
    ``jax.random.key(seed)`` split in two (the bits of the classic ``PRNGKey(seed)`` split)."""
    if np.ndim(seeds) == 0:
        init_key, train_key = jax.random.split(jax.random.key(int(seeds)))
        return init_key, train_key
    seeds = jnp.asarray(np.asarray(seeds, np.uint32))
    keys = jax.vmap(lambda s: jax.random.split(jax.random.key(s)))(seeds)
    return keys[:, 0], keys[:, 1]


def scale_kernels(params, scale):
    """``params`` with every leaf named ``kernel`` multiplied by ``scale`` (may be traced)."""
    def scale_leaf(path, leaf):
        name = getattr(path[-1], "key", None)
        return leaf * jnp.asarray(scale, leaf.dtype) if name == "kernel" else leaf
    return jax.tree_util.tree_map_with_path(scale_leaf, params)


def unstack(tree, r: int):
    """Run ``r`` of a stacked pytree."""
    return jax.tree_util.tree_map(lambda a: a[r], tree)


@dataclasses.dataclass
class Runs:
    state: object            # TrainState with a leading axis of length num_runs
    keys: jax.Array          # (num_runs,) typed train keys
    info: list               # per run: {<axis>: value, ..., "seed": s}
    seeds: tuple
    axes: dict               # {axis name: tuple of values}, grid order

    @property
    def num_runs(self) -> int:
        return len(self.info)

    @property
    def train_keys(self) -> jax.Array:
        return self.keys

    @property
    def shape(self) -> tuple:
        """(len(axis_1), ..., len(axis_k), num_seeds)."""
        return tuple(len(v) for v in self.axes.values()) + (len(self.seeds),)

    def reshape(self, values) -> np.ndarray:
        """A per-run array (R, ...) as (len(axis_1), ..., len(axis_k), num_seeds, ...)."""
        values = np.asarray(values)
        if int(np.prod(self.shape)) != self.num_runs:
            raise ValueError(f"Runs.reshape: these {self.num_runs} runs are not a grid x seeds product "
                             f"(axes {self.axes}); use group()")
        if values.shape[:1] != (self.num_runs,):
            raise ValueError(f"Runs.reshape: expected a leading axis of {self.num_runs} runs, got shape {values.shape}")
        return values.reshape(self.shape + values.shape[1:])

    def group(self, values, axis: str | None = None) -> dict:
        """``{value of axis: (runs with that value, ...)}`` in order of first appearance. ``axis`` may
        be omitted when there is exactly one grid axis; with none, ``{None: values}``."""
        values = np.asarray(values)
        if axis is None:
            if not self.axes:
                return {None: values}
            if len(self.axes) > 1:
                raise ValueError(f"Runs.group: name the axis, one of {list(self.axes)}")
            axis = next(iter(self.axes))
        out: dict = {}
        for r, rec in enumerate(self.info):
            out.setdefault(rec[axis], []).append(values[r])
        return {k: np.stack(v) for k, v in out.items()}


def _grid_info(seeds, grid):
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("make_runs needs at least one seed")
    axes = {str(k): tuple(float(v) for v in vals) for k, vals in dict(grid or {}).items()}
    for name, vals in axes.items():
        if not vals:
            raise ValueError(f"make_runs: grid axis {name!r} has no values")
    points = list(itertools.product(*axes.values())) or [()]
    info = [{**dict(zip(axes, p)), "seed": s} for p in points for s in seeds]
    return seeds, axes, info


def make_runs(model, tx, example_x, seeds: Sequence[int] = (0,), grid: Mapping[str, Sequence[float]] | None = None,
              *, sweep: Mapping[str, Sequence[float]] | None = None) -> Runs:
    """Stacked train states for ``grid`` x ``seeds`` (see the module docstring). ``example_x``: an
    input batch (only its shape and dtype matter). ``sweep`` is an alias of ``grid``.

    ``tx`` must come from ``make_optimizer`` for optimizer hyperparameters to be swept; an unknown
    name raises ValueError from ``set_hyperparams`` naming the ones it has."""
    if sweep is not None:
        if grid is not None:
            raise ValueError("make_runs: pass grid or sweep, not both")
        grid = sweep
    seeds, axes, info = _grid_info(seeds, grid)
    return _init_runs(model, tx, example_x, seeds, axes, info, list(axes))


def _init_runs(model, tx, example_x, seeds, axes, info, names) -> Runs:
    """One train state per ``info`` entry (its seed's init key, its values of ``names``): one vmapped init."""
    init_keys, train_keys = seed_keys([rec["seed"] for rec in info])
    values = {n: jnp.asarray(np.array([rec[n] for rec in info], np.float32)) for n in names}
    example_x = jnp.asarray(example_x)

    def init_one(key, vals):
        state = create_state(model, tx, key, example_x)
        if WEIGHT_SCALE in vals:
            params = scale_kernels(state.params, vals[WEIGHT_SCALE])
            state = state.replace(params=params, opt_state=state.tx.init(params))
        hyper = {n: v for n, v in vals.items() if n != WEIGHT_SCALE}
        if hyper:
            state = state.replace(opt_state=set_hyperparams(state.opt_state, **hyper))
        return state

    state = jax.jit(jax.vmap(init_one))(init_keys, values)
    return Runs(state=state, keys=train_keys, info=info, seeds=seeds, axes=axes)


def _check_space(space) -> dict:
    if not isinstance(space, Mapping) or not space:
        raise ValueError(f"space must be a non-empty mapping {{name: (distribution, low, high)}}, got {space!r}")
    out = {}
    for name, spec in space.items():
        if not isinstance(spec, (tuple, list)) or len(spec) != 3 or spec[0] not in DISTRIBUTIONS:
            raise ValueError(f"space[{name!r}] must be (distribution, low, high) with distribution one of "
                             f"{list(DISTRIBUTIONS)}, got {spec!r}")
        dist, low, high = spec[0], float(spec[1]), float(spec[2])
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise ValueError(f"space[{name!r}]: need finite low < high, got low={spec[1]!r}, high={spec[2]!r}")
        if dist == "log_uniform" and low <= 0:
            raise ValueError(f"space[{name!r}]: log_uniform needs low > 0, got low={spec[1]!r}")
        out[str(name)] = (dist, low, high)
    return out


def sample_space(space: Mapping[str, tuple], trials: int, seed: int = 0) -> dict:
    """``{name: (trials,) float64}`` drawn independently per name from ``space``:
    ``("uniform", low, high)`` uniform on [low, high); ``("log_uniform", low, high)``
    ``exp(uniform(log low, log high))``. A function of ``seed`` (``numpy.random.default_rng``) and the
    names in the order given; the first ``n`` of ``trials`` draws are the draws for ``trials = n``."""
    space = _check_space(space)
    if not isinstance(trials, (int, np.integer)) or isinstance(trials, bool) or trials < 1:
        raise ValueError(f"trials must be an integer >= 1, got {trials!r}")
    rng = np.random.default_rng(seed)
    u = rng.random((int(trials), len(space)))       # row i = trial i: prefixes are stable
    out = {}
    for j, (name, (dist, low, high)) in enumerate(space.items()):
        if dist == "uniform":
            out[name] = low + (high - low) * u[:, j]
        else:
            out[name] = np.exp(np.log(low) + (np.log(high) - np.log(low)) * u[:, j])
    return out


def make_random_runs(model, tx, example_x, seeds: Sequence[int] = (0,), space: Mapping[str, tuple] | None = None,
                     trials: int = 1, *, search_seed: int = 0) -> Runs:
    """Stacked train states for ``trials`` random points of ``space`` x ``seeds`` (see the module
    docstring): the counterpart of ``make_runs(..., grid=...)``; the names are what a grid may sweep
    (injected optimizer hyperparameters and ``weight_scale``)."""
    points = sample_space(space, trials, search_seed)
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("make_random_runs needs at least one seed")
    info = [{"trial": t, **{n: float(v[t]) for n, v in points.items()}, "seed": s}
            for t in range(int(trials)) for s in seeds]
    return _init_runs(model, tx, example_x, seeds, {"trial": tuple(range(int(trials)))}, info, list(points))


def concat_runs(runs: Sequence[Runs], tags: Sequence[Mapping] | None = None) -> Runs:
    """The runs of several :class:`Runs` (same model, optimizer and parameter shapes) as one, in
    order, for ONE ``fit``. ``tags``: per input, entries added to each of its runs' ``info``
    (e.g. ``{"search": "random", "repeat": 0}``). The result has ``axes == {}`` (use ``group``)."""
    runs = list(runs)
    if not runs:
        raise ValueError("concat_runs needs at least one Runs")
    tags = [dict(t) for t in tags] if tags is not None else [{} for _ in runs]
    if len(tags) != len(runs):
        raise ValueError(f"concat_runs: {len(tags)} tags for {len(runs)} Runs")
    structs = {jax.tree_util.tree_structure(r.state) for r in runs}
    if len(structs) > 1:
        raise ValueError("concat_runs: the runs differ in model, optimizer or state structure; build them with "
                         "the same model and the same tx object")
    state = jax.tree_util.tree_map(lambda *a: jnp.concatenate(a), *[r.state for r in runs])
    keys = jnp.concatenate([r.keys for r in runs])
    info = [{**rec, **tag} for r, tag in zip(runs, tags) for rec in r.info]
    seeds = tuple(dict.fromkeys(s for r in runs for s in r.seeds))
    return Runs(state=state, keys=keys, info=info, seeds=seeds, axes={})


def init_params(model, example_x, seeds: Sequence[int]):
    """Parameters of ``model`` for each seed (the init key of :func:`seed_keys`, as ``make_runs``),
    stacked on a leading axis: one jitted, vmapped init. ``model`` may be a list of models: the
    result is then a list of stacked trees, all made by ONE compiled call."""
    init_keys, _ = seed_keys(tuple(int(s) for s in seeds))
    example_x = jnp.asarray(example_x)
    models = list(model) if isinstance(model, (list, tuple)) else [model]

    def init_all(keys):
        def one(m, k):
            params_key, dropout_key = jax.random.split(k)  # the same split as create_state
            return m.init({"params": params_key, "dropout": dropout_key}, example_x, train=False)["params"]
        return [jax.vmap(lambda k, m=m: one(m, k))(keys) for m in models]

    out = jax.jit(init_all)(init_keys)
    return out if isinstance(model, (list, tuple)) else out[0]


def runs_from_params(model, tx, params, info: Sequence[dict],
                     hyperparams: Mapping[str, Sequence[float]] | None = None) -> Runs:
    """Runs with the given parameters, one ``model.apply`` and one ``tx``.

    ``params``: one tree with a leading runs axis, or a list of such trees (concatenated in order).
    Each ``info`` entry needs a ``"seed"`` (its train key is that seed's). ``hyperparams``: per-run
    values of injected optimizer hyperparameters (``{"learning_rate": (R values)}``)."""
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
    _, train_keys = seed_keys([int(rec["seed"]) for rec in info])
    seeds = tuple(dict.fromkeys(int(rec["seed"]) for rec in info))
    return Runs(state=state, keys=train_keys, info=[dict(rec) for rec in info], seeds=seeds, axes={})
