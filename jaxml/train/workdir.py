"""``fit``'s work directory: checkpoints, the metrics log, TensorBoard files, and resuming from them.

:func:`open_workdir` creates the folder, restores the newest checkpoint if there is one (the
training state, the best state when early stopping keeps one, the history and the per-run
bookkeeping), cuts ``log_name`` back to the restored epoch, records the resume in ``events.jsonl``
and opens the writers. Process 0 alone logs and prints; every process saves its part of the
checkpoints.
"""
from __future__ import annotations

import dataclasses
import pathlib
import sys

import jax
import numpy as np

from jaxml.report.metrics_log import MetricsLog, truncate_after
from jaxml.report.tensorboard import TensorBoardLog
from jaxml.report.tensorboard import enabled as tensorboard_enabled
from jaxml.train.bookkeeping import RunBook
from jaxml.train.checkpoint import Checkpointer

__all__ = ["Resumed", "Workdir", "open_workdir"]


@dataclasses.dataclass
class Resumed:
    """What the newest checkpoint held: its epoch, the state, the best state (or None), history, book."""

    epoch: int
    state: object
    best_state: object
    history: list
    book: RunBook


@dataclasses.dataclass
class Workdir:
    """The open writers (``log``/``board`` are None outside process 0 or when not asked for) and the
    restored checkpoint, if any."""

    ckpt: Checkpointer
    log: MetricsLog | None
    board: TensorBoardLog | None
    resumed: Resumed | None


def open_workdir(path, state, best_state, *, keep_checkpoints: int, log_name: str, tensorboard: bool | None,
                 num_runs: int, steps_per_epoch: int, desc: str = "") -> Workdir:
    """Open ``path`` for a ``fit`` of ``num_runs`` runs; ``state``/``best_state`` give the structure
    to restore into (``best_state`` None: no best state is kept)."""
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    primary = jax.process_index() == 0
    prefix = f"{desc}: " if desc else ""
    ckpt = Checkpointer(path / "checkpoints", max_to_keep=keep_checkpoints)

    def warn(text):
        if primary:
            print(f"{prefix}{text}", file=sys.stderr, flush=True)

    resumed = None
    restored = ckpt.restore_newest(state, best_state, warn=warn)
    if restored is not None and restored[0] is not None:
        last, state, restored_best, meta = restored
        book = RunBook.from_meta(meta, num_runs, last, steps_per_epoch)
        resumed = Resumed(last, state, restored_best, list(meta.get("history", [])), book)
        if primary:
            if (path / log_name).exists():
                truncate_after(path / log_name, "epoch", last)
            step = int(np.max(book.updates))
            print(f"{prefix}resumed from epoch {last} (step {step}) of the checkpoint {ckpt.path(last)}", flush=True)
            with MetricsLog(path / "events.jsonl") as events:
                events.log(event="resumed", epoch=last, step=step, checkpoint=str(ckpt.path(last)), log=log_name)
    log = board = None
    if primary:  # one writer per job
        log = MetricsLog(path / log_name)
        if tensorboard if tensorboard is not None else tensorboard_enabled():
            board = TensorBoardLog(path / "tensorboard" / pathlib.Path(log_name).stem, num_runs=num_runs)
    return Workdir(ckpt, log, board, resumed)
