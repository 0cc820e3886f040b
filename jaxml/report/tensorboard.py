"""TensorBoard event files beside ``metrics.jsonl`` (optional; needs ``tensorboardX``, no TensorFlow).

``TensorBoardLog(folder)`` writes each numeric field of a record as a scalar at step ``epoch``,
tagged ``<field>`` for a single run and ``<field>/run<r>`` when the record has a ``run`` field and
there are several runs. ``enabled()`` says whether the study runner's ``--tensorboard`` flag asked
for it (the ``JAXML_TENSORBOARD=1`` environment variable, which is also the switch outside studies).
Read with ``tensorboard --logdir <workdir>``.
"""
from __future__ import annotations

import math
import os
from typing import Any, Mapping

__all__ = ["TensorBoardLog", "enabled"]

_SKIP = ("epoch", "run", "updates", "active")


def enabled() -> bool:
    return os.environ.get("JAXML_TENSORBOARD", "0") == "1"


class TensorBoardLog:
    """A ``tensorboardX.SummaryWriter`` fed with driver records."""

    def __init__(self, folder: str | os.PathLike, num_runs: int = 1):
        try:
            from tensorboardX import SummaryWriter
        except ImportError as e:
            raise ImportError("TensorBoard logging needs tensorboardX: pip install 'jaxml[tensorboard]' "
                              f"(or tensorboardX) ({e})") from e
        self._writer = SummaryWriter(logdir=os.fspath(folder))
        self._runs = num_runs

    def log(self, record: Mapping[str, Any]) -> None:
        step = int(record.get("epoch", 0))
        suffix = f"/run{record['run']}" if self._runs > 1 and "run" in record else ""
        for name, value in record.items():
            if name in _SKIP or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if math.isfinite(value):
                self._writer.add_scalar(f"{name}{suffix}", float(value), step)

    def close(self) -> None:
        self._writer.flush()
        self._writer.close()
