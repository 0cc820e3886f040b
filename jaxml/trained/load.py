"""A finished work directory's trained model, read back: ``load_trained(workdir, part, run, weights)``.

Which model (the rule the commands document):

- **part**: a folder of the work directory holding a ``model.json`` (``jaxml.study.model_spec``),
  named by its path relative to the work directory (``.`` for the work directory itself, ``training``,
  ``cnn2``, ``z2``, ``batch_size/bs50``, ``block_size/16``). Default: the first in (depth, name)
  order; the parts found are listed in :class:`Trained.parts`.
- **run**: the runs of a part are either the leading axis of a vmapped checkpoint
  (``<part>/checkpoints``, seeds x grid points in the study's run order) or one folder per run
  (``<part>/run<r>/checkpoints``, ``fit(..., vmap_runs=False)``). Default 0, the first.
- **weights**: ``"best"`` (the best state ``fit`` kept for early stopping; the final state when the
  run kept none, which is what every study reports in that case) or ``"final"``.

The newest complete checkpoint step is read with orbax, without a template (nothing about the
optimizer is needed) and without touching the work directory.
"""
from __future__ import annotations

import dataclasses
import pathlib

import jax
import numpy as np
from absl import logging

from jaxml.study.model_spec import SPEC_FILE, SpecError, read_model_spec
from jaxml.trained.families import build, param_shapes

WEIGHTS = ("best", "final")


@dataclasses.dataclass
class Trained:
    spec: dict
    model: object           # the flax module (the generator for a GAN)
    variables: dict         # {"params": ..., ["batch_stats": ...]} of the chosen run
    part: str
    parts: list
    run: int
    num_runs: int
    step: int               # the checkpoint step (epoch) read
    weights: str            # "best" or "final": what was actually read
    meta: dict              # the checkpoint's bookkeeping (history, best_epoch, ...)

    def describe(self) -> str:
        return (f"{self.spec['study']} part {self.part!r} (of {', '.join(self.parts)}), run {self.run} of "
                f"{self.num_runs}, {self.weights} weights, checkpoint step {self.step}")


def find_parts(workdir) -> list[str]:
    root = pathlib.Path(workdir)
    found = [p.parent.relative_to(root).as_posix() for p in root.rglob(SPEC_FILE)]
    return sorted(found, key=lambda p: (0 if p == "." else p.count("/") + 1, p))


def _restore_raw(directory: pathlib.Path):
    """``(step, tree, meta)`` of the newest step of ``directory`` that reads back (older ones are
    tried in turn); SpecError when none does."""
    import orbax.checkpoint as ocp

    # Orbax writes a step into a temporary folder and renames it to the bare number when complete.
    steps = sorted((int(p.name) for p in directory.iterdir() if p.name.isdigit()), reverse=True)
    if not steps:
        raise SpecError(f"no complete checkpoint step in {directory}")
    options = ocp.CheckpointManagerOptions(read_only=True, create=False, save_interval_steps=0)
    failures = []
    verbosity = logging.get_verbosity()
    logging.set_verbosity(logging.ERROR)      # orbax warns that a read-only directory is read-only
    try:
        manager = ocp.CheckpointManager(directory, options=options, item_names=("state", "meta"))
    finally:
        logging.set_verbosity(verbosity)
    with manager:
        for step in steps:
            try:
                out = manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(),
                                                                     meta=ocp.args.JsonRestore()))
                return step, out["state"], dict(out["meta"])
            except Exception as e:  # orbax/tensorstore: any unreadable step, try the previous one
                failures.append(f"step {step}: {type(e).__name__}: {str(e).splitlines()[0][:160]}")
    raise SpecError(f"no checkpoint in {directory} could be read: " + "; ".join(failures))


def _check_shapes(spec, variables, where):
    expected = param_shapes(spec)
    want = jax.tree_util.tree_map(lambda a: tuple(a.shape), {k: expected.get(k) for k in variables})
    got = jax.tree_util.tree_map(lambda a: tuple(np.shape(a)), variables)
    if want != got:
        raise SpecError(f"the weights in {where} do not fit the model of its model.json "
                        f"({spec['family']} {spec['kwargs']})")


def load_trained(workdir, part: str | None = None, run: int = 0, weights: str = "best") -> Trained:
    root = pathlib.Path(workdir)
    if not root.is_dir():
        raise SpecError(f"work directory {root} does not exist")
    if weights not in WEIGHTS:
        raise SpecError(f"--weights={weights!r}: expected one of {list(WEIGHTS)}")
    parts = find_parts(root)
    if not parts:
        raise SpecError(f"no {SPEC_FILE} under {root}: not a work directory of a study that saves its model "
                        "(or written before model.json existed)")
    part = parts[0] if part in (None, "") else part.strip("/") or "."
    if part not in parts:
        raise SpecError(f"--part={part!r}: no such part in {root}; parts: {', '.join(parts)}")
    folder = root / part
    spec = read_model_spec(folder)
    if run < 0:
        raise SpecError(f"--run={run}: expected a run index >= 0")
    stacked = (folder / "checkpoints").is_dir()
    directory = folder / "checkpoints" if stacked else folder / f"run{run}" / "checkpoints"
    if not directory.is_dir():
        runs = sorted(p.name for p in folder.glob("run*/checkpoints"))
        raise SpecError(f"no checkpoints for run {run} in {folder}"
                        + (f" (runs: {len(runs)})" if runs else " (the study saved no checkpoint here)"))
    step, tree, meta = _restore_raw(directory)
    chosen = "best" if weights == "best" and "best" in tree else "final"
    state = tree["best" if chosen == "best" else "state"]
    if spec["task"] == "gan":
        state = state["g"]
    num_runs = 1
    if stacked and np.ndim(state["step"]) == 1:       # a vmapped checkpoint: runs on the leading axis
        num_runs = int(np.shape(state["step"])[0])
        if run >= num_runs:
            raise SpecError(f"--run={run}: part {part!r} has {num_runs} runs (0..{num_runs - 1})")
        state = jax.tree_util.tree_map(lambda a: np.asarray(a)[run], state)
    elif not stacked:
        num_runs = len(list(folder.glob("run*/checkpoints")))
    elif run > 0:
        raise SpecError(f"--run={run}: part {part!r} has 1 run")
    variables = {"params": state["params"]}
    if state.get("batch_stats") is not None:
        variables["batch_stats"] = state["batch_stats"]
    _check_shapes(spec, variables, directory)
    return Trained(spec=spec, model=build(spec), variables=variables, part=part, parts=parts, run=run,
                   num_runs=num_runs, step=step, weights=chosen, meta=meta)
