"""Progress display: one plain line per epoch, readable in a terminal and in a batch job's log.

``EpochProgress`` never uses carriage returns or cursor movement, so a log file holds exactly
one line per epoch. ``progress_bar`` wraps tqdm for interactive loops (e.g. an RL host loop)
and switches itself off when its output is not a terminal.
"""
from __future__ import annotations

import math
import numbers
import sys
from typing import Any, Iterable, Mapping, TextIO

import numpy as np

from jaxml.report.stats import MeanStd

__all__ = ["format_metrics", "format_value", "EpochProgress", "progress_bar"]


def _is_rate(key: str) -> bool:
    """Throughput keys (``ex/s``, ``steps/s``, ``examples_per_sec``) are shown as ``12,345``."""
    return key.endswith("/s") or key.endswith("per_sec") or key.endswith("per_second")


def format_value(key: str, value: Any, precision: int = 4) -> str:
    """One metric value as :func:`format_metrics` shows it."""
    if not isinstance(value, (str, bytes, MeanStd)) and hasattr(value, "__array__"):
        arr = np.asarray(value)  # JAX / numpy 0-d arrays
        value = arr[()] if arr.ndim == 0 else arr
    if isinstance(value, np.generic) and value.dtype.kind == "V":
        value = float(value)  # ml_dtypes scalars such as JAX's bfloat16
    if value is None:
        return "—"
    if isinstance(value, MeanStd):
        return value.format(f".{precision}f")
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        v = float(value)
        if not math.isfinite(v):
            return str(v)  # nan, inf, -inf
        if _is_rate(key):
            return f"{v:,.0f}"
        if v != 0.0 and abs(v) < 10.0 ** -(precision - 1):
            return f"{v:.{max(precision - 1, 0)}e}"  # learning rates etc.: 3.000e-05, not 0.0000
        return f"{v:.{precision}f}"
    return str(value)


def format_metrics(metrics: Mapping[str, Any], precision: int = 4) -> str:
    """``"loss 0.4321  acc 0.8512  ex/s 12,345"``: ``key value`` pairs separated by two spaces.

    Floats get ``precision`` decimals (scientific notation below ``10**-(precision-1)``),
    ints and throughput keys (ending in ``/s`` or ``per_sec``) get thousands separators,
    ``MeanStd`` shows as ``mean ± std (n=k)``, None as ``—``. Accepts numpy and JAX scalars.
    """
    return "  ".join(f"{k} {format_value(str(k), v, precision)}" for k, v in metrics.items())


def format_seconds(seconds: float) -> str:
    """``2.1s``; ``3m05s`` from a minute; ``1h02m`` from an hour."""
    s = float(seconds)
    if s < 60:
        return f"{s:.1f}s"
    if s < 3600:
        m, r = divmod(int(round(s)), 60)
        return f"{m}m{r:02d}s"
    h, r = divmod(int(round(s)), 3600)
    return f"{h}h{r // 60:02d}m"


class EpochProgress:
    """Prints ``[epoch 3/20] train_loss 0.4321  val_acc 0.8420  ex/s 52,300  2.1s`` per epoch.

    Args:
      total_epochs: number of epochs in the run (shown as the denominator).
      desc: optional prefix, e.g. the experiment or seed: ``"mlp [epoch 3/20] ..."``.
      file: stream to write to; None (the default) means ``sys.stdout`` at the time of writing,
        so output redirected later (pytest's capsys, contextlib.redirect_stdout) is honoured.
      enabled: False prints nothing (e.g. on non-zero processes of a multi-host run).
      precision: decimals for float metrics.
    """

    def __init__(
        self,
        total_epochs: int,
        *,
        desc: str = "",
        file: TextIO | None = None,
        enabled: bool = True,
        precision: int = 4,
    ):
        if isinstance(total_epochs, bool) or not isinstance(total_epochs, numbers.Integral) or total_epochs < 1:
            raise ValueError(f"EpochProgress: total_epochs must be a positive int, got {total_epochs!r}")
        self.total_epochs = int(total_epochs)
        self.desc = desc
        self._file = file
        self.enabled = enabled
        self.precision = precision
        self.closed = False

    @property
    def file(self) -> TextIO:
        return self._file if self._file is not None else sys.stdout

    def format_line(self, epoch: int, metrics: Mapping[str, Any], seconds: float | None = None) -> str:
        head = f"[epoch {int(epoch)}/{self.total_epochs}]"
        if self.desc:
            head = f"{self.desc} {head}"
        parts = []
        if metrics:
            parts.append(format_metrics(metrics, self.precision))
        if seconds is not None:
            parts.append(format_seconds(seconds))
        return head + (" " + "  ".join(parts) if parts else "")

    def write(self, message: str) -> None:
        """Print a free-form line (e.g. ``early stop at epoch 12``) in the same stream."""
        if self.enabled:
            print(message, file=self.file, flush=True)

    def update(self, epoch: int, metrics: Mapping[str, Any], seconds: float | None = None) -> str:
        """Print the line for ``epoch`` (the number shown, usually 1-based) and return it."""
        line = self.format_line(epoch, metrics, seconds)
        self.write(line)
        return line

    def close(self) -> None:
        """Flush the stream. Prints nothing; safe to call twice."""
        if not self.closed and self.enabled:
            self.file.flush()
        self.closed = True

    def __enter__(self) -> "EpochProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress_bar(iterable: Iterable | None = None, **kwargs):
    """A ``tqdm`` bar that disables itself when its stream (stderr by default) is not a TTY.

    Keyword arguments go to ``tqdm.tqdm``; pass ``disable=False`` to force the bar on.
    """
    from tqdm import tqdm

    kwargs.setdefault("disable", None)  # tqdm: None means "off when not a TTY"
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, **kwargs)
