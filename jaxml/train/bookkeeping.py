"""The driver's host-side record of each run between epochs, and its round trip through a checkpoint.

One entry per run (arrays of length R): the best monitored value so far and its epoch, epochs without
improvement, whether the run still trains, the last epoch it trained, its gradient updates, its first
step's loss (the divergence check's reference); plus the cumulative compile / train / epoch seconds
over resumed invocations. ``to_meta`` / ``from_meta`` write and read the JSON-ready form saved with
every checkpoint, so a resumed run makes the same early-stopping decisions as an uninterrupted one.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from jaxml.train.results import EarlyStopping


def _json_floats(values) -> list:
    return [None if not np.isfinite(v) else float(v) for v in values]


def _floats(values, missing: float) -> np.ndarray:
    return np.array([missing if v is None else v for v in values], float)


@dataclasses.dataclass
class RunBook:
    best_value: np.ndarray      # (R,) sign * monitored value at the best epoch; -inf before any
    best_epoch: np.ndarray      # (R,) int
    wait: np.ndarray            # (R,) int: epochs since the best
    active: np.ndarray          # (R,) bool: still training
    stopped_epoch: np.ndarray   # (R,) int: the last epoch the run trained
    updates: np.ndarray         # (R,) int: gradient updates so far
    first_loss: np.ndarray      # (R,) float: the first step's loss (nan before it)
    compile_seconds: float = 0.0
    train_seconds: float = 0.0  # training and evaluation, compilation excluded
    epoch_seconds: float = 0.0  # training only

    @classmethod
    def new(cls, num_runs: int) -> "RunBook":
        zeros = np.zeros(num_runs, int)
        return cls(np.full(num_runs, -np.inf), zeros.copy(), zeros.copy(), np.ones(num_runs, bool), zeros.copy(),
                   zeros.copy(), np.full(num_runs, np.nan))

    @classmethod
    def from_meta(cls, meta: dict, num_runs: int, last_epoch: int, steps_per_epoch: int) -> "RunBook":
        """The record saved with the checkpoint of ``last_epoch``; a checkpoint written without one (by
        other code) resumes every run as active with ``last_epoch`` epochs of updates."""
        book = cls.new(num_runs)
        if "best_value" in meta:
            book.best_value = _floats(meta["best_value"], -np.inf)
            book.best_epoch, book.wait = np.array(meta["best_epoch"]), np.array(meta["wait"])
            book.active, book.stopped_epoch = np.array(meta["active"], bool), np.array(meta["stopped_epoch"])
            book.updates = np.array(meta["updates"])
            book.first_loss = _floats(meta.get("first_loss", [None] * num_runs), np.nan)
        else:
            book.stopped_epoch[:] = last_epoch
            book.updates[:] = last_epoch * steps_per_epoch
        seconds = meta.get("seconds", {})
        book.compile_seconds, book.train_seconds, book.epoch_seconds = (
            float(seconds.get(k, 0.0)) for k in ("compile", "train", "epoch"))
        return book

    def to_meta(self) -> dict:
        return {"best_value": _json_floats(self.best_value), "best_epoch": self.best_epoch.tolist(),
                "wait": self.wait.tolist(), "active": self.active.tolist(),
                "stopped_epoch": self.stopped_epoch.tolist(), "updates": self.updates.tolist(),
                "first_loss": _json_floats(self.first_loss),
                "seconds": {"compile": self.compile_seconds, "train": self.train_seconds,
                            "epoch": self.epoch_seconds}}

    def judge(self, r: int, epoch: int, record: dict, early_stopping: EarlyStopping | None) -> bool:
        """Run ``r``'s early-stopping decision after ``epoch`` (its ``record`` gains ``early_stopped``);
        True when this epoch is the run's new best (always, without early stopping)."""
        improved = True
        if early_stopping is not None:
            value = (1.0 if early_stopping.mode == "max" else -1.0) * record[early_stopping.monitor]
            if value > self.best_value[r] + early_stopping.min_delta:
                self.best_value[r], self.wait[r] = value, 0
            else:
                improved = False
                self.wait[r] += 1
                if early_stopping.patience is not None and self.wait[r] >= early_stopping.patience:
                    self.active[r] = False
                    record["early_stopped"] = True
        if improved:
            self.best_epoch[r] = epoch
        return improved
