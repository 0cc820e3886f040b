"""Checkpoints with orbax's ``CheckpointManager``.

A checkpoint directory holds numbered steps (the epoch just finished). Each step has two
items: ``state`` — a pytree ``{"state": TrainState}`` (plus ``"best"``, the best state so far,
when the run keeps one) saved as a state dict — and ``meta`` — JSON with the host-side
bookkeeping (epoch, early-stopping counters, history, ``has_best``). Orbax writes each step
into a temporary folder and renames it when complete, so a crash during a save leaves the
previous steps untouched; ``latest_step`` only sees complete steps. ``restore_newest`` also
survives a complete step that was damaged later (a corrupt or partly deleted folder): it reports
the folder and falls back to the newest step that reads back.
"""
from __future__ import annotations

import pathlib
import time

import orbax.checkpoint as ocp
from flax import serialization


class CheckpointError(RuntimeError):
    """No checkpoint step of a directory could be restored; the message names each step folder."""


class Checkpointer:
    """Save/restore ``(state, best, meta)`` bundles under ``directory``."""

    def __init__(self, directory, max_to_keep: int = 2):
        self.directory = pathlib.Path(directory).absolute()
        options = ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep, enable_async_checkpointing=False, create=True)
        self._manager = ocp.CheckpointManager(self.directory, options=options, item_names=("state", "meta"))

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def path(self, step: int) -> pathlib.Path:
        return self.directory / str(step)

    def save(self, step: int, state, best, meta: dict) -> None:
        """Save ``state`` and, unless it is None, ``best`` (the best state so far) with ``meta``."""
        tree = {"state": state} if best is None else {"state": state, "best": best}
        self._manager.save(step, args=ocp.args.Composite(
            state=ocp.args.StandardSave(serialization.to_state_dict(tree)),
            meta=ocp.args.JsonSave({**meta, "has_best": best is not None})), force=True)
        self._manager.wait_until_finished()

    def restore(self, step: int, state_like, best_like=None):
        """Restore step ``step`` into the structure (and shardings) of the given states; returns
        ``(state, best, meta)``, ``best`` None when the step was saved without one (or
        ``best_like`` is None)."""
        meta = dict(self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"])
        has_best = meta.pop("has_best", True)  # checkpoints written before the flag always had one
        like = {"state": state_like}
        if has_best:
            like["best"] = state_like if best_like is None else best_like
        out = self._manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(serialization.to_state_dict(like))))
        restored = serialization.from_state_dict(like, out["state"])
        best = restored.get("best") if best_like is not None else None
        return restored["state"], best, meta

    def restore_newest(self, state_like, best_like=None, warn=print):
        """Restore the newest step that reads back whole: ``(step, state, best, meta)``, or None when
        there is no step. A step that fails to restore (a corrupt or partly deleted folder) is
        reported through ``warn`` by its folder and the next older one is tried; CheckpointError
        when none restores."""
        failures, unreadable = [], []
        for step in sorted(self._manager.all_steps(), reverse=True):
            try:
                restored = (step, *self.restore(step, state_like, best_like))
            except Exception as e:  # tensorstore, orbax, JSON: any unreadable step
                detail = str(e).split("\n")[0][:200]
                failures.append(f"{self.path(step)}: {type(e).__name__}: {detail}")
                unreadable.append(step)
                warn(f"checkpoint {self.path(step)} is unreadable ({type(e).__name__}: {detail}); "
                     "trying the previous step")
                continue
            if unreadable:  # kept for inspection, out of the way of the steps about to be saved again
                for bad in unreadable:
                    self.path(bad).rename(self.directory / f"unreadable-step-{bad}-{time.strftime('%Y%m%d-%H%M%S')}")
                self._manager.reload()
                warn(f"resuming from {self.path(step)}; the unreadable step folder(s) were renamed unreadable-step-*")
            return restored
        if failures:
            raise CheckpointError("no checkpoint in " + str(self.directory) + " could be restored: "
                                  + "; ".join(failures))
        return None

    def close(self) -> None:
        self._manager.close()
