"""Train one model for several seeds (x one swept hyperparameter), vmapped or one run at a time.

``fit_seeds(model, tx, train_data, seeds=..., vmap=True, ...)`` returns one :class:`SeedRun` per
(swept value, seed) — value-major, as ``make_runs`` orders runs — whichever way they ran:

- ``vmap=True``: all runs are one program (``make_runs`` + ``fit(num_runs=R)``), compiled once.
  The right choice on accelerators and for dense models.
- ``vmap=False``: each run is its own ``make_runs([seed])`` + ``fit(num_runs=1)`` (and its own
  compilation: ``fit`` builds its epoch function per call). On a CPU, vmapping convolutions over
  runs turns them into grouped convolutions, which XLA's CPU backend may run slower than the same
  runs one after another (measured on our 2-core CPU with ``epoch_loop="host"``, examples/s for
  1 run vs 2 vmapped runs together: CNN-2 399 vs 319, MNIST CNN 383 vs 306, but CNN-3 150 vs 216),
  so it is worth measuring per model.

Both give the same numbers (same keys, same initial weights, same per-run updates; tested).
Work directories: ``workdir`` itself when vmapped; ``workdir/run<r>`` per run otherwise.
"""
from __future__ import annotations

import dataclasses
import pathlib
from typing import Sequence

import jax
import numpy as np

from jaxml.train.fit import fit
from jaxml.train.runs import make_runs, unstack

__all__ = ["SeedRun", "SeedRuns", "fit_seeds"]


@dataclasses.dataclass
class SeedRun:
    """One trained run: its seed, run info (seed and swept value), final and best states
    (no runs axis), per-epoch history records, and bookkeeping from ``fit``."""

    info: dict
    state: object
    best_state: object
    history: list
    best_epoch: int
    stopped_epoch: int
    updates: int

    @property
    def seed(self) -> int:
        return int(self.info["seed"])

    def curve(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(epochs, values) of a logged metric, e.g. ``"val_accuracy"``."""
        rows = [h for h in self.history if key in h]
        if not rows:
            raise KeyError(f"metric {key!r} was not logged; logged: {sorted(self.history[0]) if self.history else []}")
        return np.array([h["epoch"] for h in rows]), np.array([h[key] for h in rows], dtype=float)


@dataclasses.dataclass
class SeedRuns:
    runs: list               # SeedRun per (value, seed), value-major
    train_seconds: float     # summed over the fit calls (compilation excluded)
    compile_seconds: float   # summed over the fit calls
    vmapped: bool

    def curves(self, key: str) -> np.ndarray:
        """(R, E) values of ``key``; runs that stopped early are padded with NaN."""
        values = [r.curve(key)[1] for r in self.runs]
        width = max(len(v) for v in values)
        out = np.full((len(values), width), np.nan)
        for i, v in enumerate(values):
            out[i, :len(v)] = v
        return out

    def group(self, name: str | None = None) -> dict:
        """{swept value: [SeedRun, ...]} (``{None: runs}`` without a sweep)."""
        if name is None:
            return {None: list(self.runs)}
        out: dict = {}
        for r in self.runs:
            out.setdefault(r.info[name], []).append(r)
        return out


def fit_seeds(model, tx, train_data, *, seeds: Sequence[int], sample_x=None, sweep: dict | None = None,
              vmap: bool = True, workdir=None, desc: str = "", **fit_kwargs) -> SeedRuns:
    """Train ``model`` with optimizer ``tx`` for every seed (x swept value); see the module doc.

    ``sample_x``: an input batch for initialisation (default ``train_data["x"][:1]``).
    ``sweep``: ``{hyperparameter: values}`` as in ``make_runs``. ``fit_kwargs`` go to ``fit``
    (epochs, batch_size, loss, eval_sets, early_stopping, ...; not ``num_runs``/``run_info``/``key``).
    """
    for reserved in ("num_runs", "run_info", "key"):
        if reserved in fit_kwargs:
            raise ValueError(f"fit_seeds sets {reserved!r} itself; do not pass it")
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("fit_seeds needs at least one seed")
    sample_x = train_data["x"][:1] if sample_x is None else sample_x
    sweep = dict(sweep or {})
    if len(sweep) > 1:
        raise ValueError(f"sweep one hyperparameter at a time, got {sorted(sweep)}")
    workdir = pathlib.Path(workdir) if workdir is not None else None
    if vmap:
        groups = [(seeds, sweep)]
    else:
        name, values = next(iter(sweep.items())) if sweep else (None, (None,))
        groups = [((s,), {name: (v,)} if name else {}) for v in values for s in seeds]
    runs, train_s, compile_s = [], 0.0, 0.0
    for g, (group_seeds, group_sweep) in enumerate(groups):
        batch = make_runs(model, tx, sample_x, seeds=group_seeds, sweep=group_sweep or None)
        where = workdir if (workdir is None or vmap) else workdir / f"run{g}"
        label = desc if vmap else f"{desc} {' '.join(f'{k}={v}' for k, v in batch.info[0].items())}".strip()
        res = fit(batch.state, train_data, key=batch.train_keys, num_runs=batch.num_runs, run_info=batch.info,
                  workdir=where, desc=label, **fit_kwargs)
        train_s += res.train_seconds
        compile_s += res.compile_seconds
        for r, info in enumerate(batch.info):
            history = [{**h, "run": len(runs)} for h in res.run_history(r)]
            runs.append(SeedRun(info=dict(info), state=unstack(res.state, r), best_state=unstack(res.best_state, r),
                                history=history, best_epoch=int(res.best_epoch[r]),
                                stopped_epoch=int(res.stopped_epoch[r]), updates=int(res.updates[r])))
    jax.block_until_ready([r.best_state for r in runs])
    return SeedRuns(runs=runs, train_seconds=train_s, compile_seconds=compile_s, vmapped=vmap)
