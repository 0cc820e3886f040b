"""Checkpoints with orbax's ``CheckpointManager``.

A checkpoint directory holds numbered steps (the epoch just finished). Each step has two
items: ``state`` — a pytree ``{"state": TrainState, "best": TrainState}`` saved as a state
dict — and ``meta`` — JSON with the host-side bookkeeping (epoch, early-stopping counters,
history). Orbax writes each step into a temporary folder and renames it when complete, so
a crash during a save leaves the previous steps untouched; ``latest_step`` only sees
complete steps.
"""
from __future__ import annotations

import pathlib

import orbax.checkpoint as ocp
from flax import serialization


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
        tree = serialization.to_state_dict({"state": state, "best": best})
        self._manager.save(step, args=ocp.args.Composite(
            state=ocp.args.StandardSave(tree), meta=ocp.args.JsonSave(meta)), force=True)
        self._manager.wait_until_finished()

    def restore(self, step: int, state_like, best_like):
        """Restore step ``step`` into the structure (and shardings) of the given states."""
        target = serialization.to_state_dict({"state": state_like, "best": best_like})
        out = self._manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(target), meta=ocp.args.JsonRestore()))
        restored = serialization.from_state_dict({"state": state_like, "best": best_like}, out["state"])
        return restored["state"], restored["best"], dict(out["meta"])

    def close(self) -> None:
        self._manager.close()
