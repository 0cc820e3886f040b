"""Append-only metric logs in JSON Lines: one JSON object per line, one line per event.

Writing
  ``MetricsLog(path).log(epoch=3, train_loss=loss, ...)`` converts numpy / JAX scalars and 0-d
  arrays to Python numbers and small arrays to (nested) lists, writes the line and flushes, so a
  crash loses at most the line being written. Opening an existing file appends to it (a resumed
  run continues its log); a partial last line left by a crash is removed first.

Non-finite numbers
  Lines are written with ``json.dumps(..., allow_nan=True)``: NaN and ±inf appear as the bare
  tokens ``NaN``, ``Infinity`` and ``-Infinity``. That is not strict JSON (RFC 8259) but it is the
  usual convention for JSONL metric logs, it is what Python's ``json``, pandas and most log
  viewers read back, and a diverged loss stays visible as a number instead of disappearing.
  :func:`read_metrics` returns them as ``float('nan')`` / ``float('inf')``.

Reading
  :func:`read_metrics` tolerates a truncated last line (a crash mid-write: the final line has no
  newline and does not parse) and raises ``ValueError`` naming the file and line number for any
  other line that is not a JSON object.

Rewriting
  :func:`write_metrics` writes a list of records (a finished run's history) as a fresh file.

Resuming
  :func:`truncate_after` drops the records logged after the checkpoint a run resumes from, so the
  resumed run does not log those epochs twice. Call it before opening the ``MetricsLog``.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from typing import Any, Mapping

import numpy as np

__all__ = ["MetricsLog", "read_metrics", "write_metrics", "truncate_after", "to_jsonable"]

#: Arrays with at most this many elements are logged as (nested) lists; larger ones are refused.
MAX_ARRAY_SIZE = 1024


def _scalar(x: np.generic, where: str) -> Any:
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        if x.dtype.itemsize < 8:
            # Shortest decimal that round-trips at the value's own precision:
            # float32 0.1 is logged as 0.1, not 0.10000000149011612.
            return float(str(x))
        return float(x)
    if isinstance(x, np.complexfloating):
        raise TypeError(f"{where}: complex values cannot be logged ({x!r})")
    if isinstance(x, (np.str_, np.bytes_)):
        return str(x)
    try:  # e.g. ml_dtypes.bfloat16 scalars (JAX's bfloat16): shortest decimal, then exact value
        try:
            return float(str(x))
        except ValueError:
            return float(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{where}: cannot log numpy value of dtype {x.dtype}") from e


def to_jsonable(value: Any, where: str = "value") -> Any:
    """Convert ``value`` to JSON-serialisable Python objects.

    Python scalars, strings and None pass through; numpy scalars and 0-d numpy/JAX arrays become
    ``bool``/``int``/``float``; arrays with up to ``MAX_ARRAY_SIZE`` elements become nested lists;
    lists, tuples and dicts are converted element-wise; dataclasses (e.g. ``MeanStd``) become
    dicts; other objects with ``__float__`` become floats. ``where`` names the field in errors.

    Raises:
      TypeError: for anything else, or an array larger than ``MAX_ARRAY_SIZE`` elements.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return _scalar(value, where)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value), where)
    if isinstance(value, np.ndarray) or hasattr(value, "__array__"):
        arr = np.asarray(value)  # a JAX array is copied to the host here
        if arr.ndim == 0:
            return _scalar(arr[()], where)
        if arr.size > MAX_ARRAY_SIZE:
            raise TypeError(
                f"{where}: array of shape {arr.shape} has {arr.size} elements; metric logs take "
                f"scalars and small arrays (at most {MAX_ARRAY_SIZE} elements) - save large "
                "arrays with numpy or a checkpoint instead"
            )
        return [to_jsonable(v, f"{where}[{i}]") for i, v in enumerate(arr)]
    if hasattr(value, "__float__"):
        return float(value)
    raise TypeError(f"{where}: cannot log a value of type {type(value).__name__}")


def _repair_tail(path: str) -> None:
    """Make ``path`` end with a newline before appending to it.

    A final line without a newline is either a record cut off by a crash (dropped, as
    :func:`read_metrics` would) or a complete record whose newline is missing (kept, newline added).
    """
    with open(path, "rb+") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() == 0:
            return
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return
        f.seek(0)
        data = f.read()
        cut = data.rfind(b"\n") + 1  # 0 when the file is one partial line
        fragment = data[cut:]
        try:
            complete = isinstance(json.loads(fragment.decode("utf-8")), dict)
        except (UnicodeDecodeError, ValueError):
            complete = False
        if complete:
            f.seek(0, os.SEEK_END)
            f.write(b"\n")
        else:
            f.truncate(cut)


class MetricsLog:
    """Append-only JSONL writer. One :meth:`log` call writes and flushes one line.

    >>> with MetricsLog(workdir / "metrics.jsonl") as log:      # doctest: +SKIP
    ...     log.log(epoch=1, train_loss=loss, val_acc=acc)

    Creates missing parent directories. Opening an existing file appends to it.
    """

    def __init__(self, path: str | os.PathLike):
        self._path = os.fspath(path)
        parent = os.path.dirname(self._path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        if os.path.exists(self._path):
            _repair_tail(self._path)
        self._file = open(self._path, "a", encoding="utf-8")

    @property
    def path(self) -> str:
        return self._path

    @property
    def closed(self) -> bool:
        return self._file.closed

    def log(self, record: Mapping[str, Any] | None = None, /, **fields: Any) -> dict:
        """Write one record: the fields of ``record`` (for keys like ``"ex/s"``) then ``fields``.

        Returns the converted record as written.

        Raises:
          TypeError: a value cannot be logged (see :func:`to_jsonable`).
          ValueError: the log is closed.
        """
        if self._file.closed:
            raise ValueError(f"MetricsLog({self._path!r}) is closed")
        merged = dict(record or {})
        merged.update(fields)
        converted = {str(k): to_jsonable(v, str(k)) for k, v in merged.items()}
        line = json.dumps(converted, allow_nan=True)
        self._file.write(line + "\n")
        self._file.flush()
        return converted

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "MetricsLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MetricsLog({self._path!r})"


def read_metrics(path: str | os.PathLike) -> list[dict]:
    """All records of a JSONL metrics file, in order. Blank lines are skipped.

    A final line with no newline that does not parse (a crash mid-write) is skipped silently.

    Raises:
      FileNotFoundError: ``path`` does not exist.
      ValueError: a line (other than such a truncated final line) is not a JSON object;
        the message names the file and the 1-based line number.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    # After the split, the last element is b"" when the file ends with a newline; otherwise it
    # is a final line that was never terminated.
    records = []
    last = len(lines) - 1
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw.decode("utf-8"))
            if not isinstance(rec, dict):
                raise ValueError(f"expected a JSON object, got {type(rec).__name__}")
        except (UnicodeDecodeError, ValueError) as e:
            if i == last:  # unterminated final line: cut off by a crash
                break
            snippet = raw[:80].decode("utf-8", errors="replace")
            raise ValueError(f"{path}: line {i + 1}: corrupt metrics record ({e}): {snippet!r}") from e
        records.append(rec)
    return records


def write_metrics(path: str | os.PathLike, records) -> int:
    """Write ``records`` (dicts, e.g. a ``FitResult.history``) to ``path`` as a fresh JSONL log,
    replacing any earlier file there; values are converted as by :meth:`MetricsLog.log`.
    Returns the number of records written."""
    if os.path.exists(path):
        os.remove(path)
    n = 0
    with MetricsLog(path) as log:
        for rec in records:
            log.log(rec)
            n += 1
    return n


def _le(a: Any, b: Any) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return False
    return a <= b


def truncate_after(path: str | os.PathLike, key: str, value: Any) -> int:
    """Rewrite ``path`` keeping only records with ``record[key] <= value``.

    Used on resume: a run restarted from the checkpoint of epoch ``value`` calls
    ``truncate_after(log_path, "epoch", value)`` so the epochs after it are not logged twice.
    Records without ``key`` or with ``key: null`` (run headers, notes) are kept. A truncated final line is dropped.
    The file is replaced atomically (temporary file in the same folder + ``os.replace``), so a
    crash leaves either the old or the new file. A missing file is left missing.

    Returns:
      The number of records removed.

    Raises:
      ValueError: a corrupt line (see :func:`read_metrics`), or a ``key`` value that cannot be
        compared with ``value``.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        return 0
    records = read_metrics(path)
    kept = []
    for i, rec in enumerate(records):
        if rec.get(key) is None:
            kept.append(rec)
            continue
        try:
            keep = _le(rec[key], value)
        except TypeError as e:
            raise ValueError(
                f"{path}: record {i + 1} has {key}={rec[key]!r}, which cannot be compared with {value!r}"
            ) from e
        if keep:
            kept.append(rec)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".jsonl")
    try:
        os.chmod(tmp, os.stat(path).st_mode & 0o7777)  # mkstemp creates 0600
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for rec in kept:
                f.write(json.dumps(rec, allow_nan=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return len(records) - len(kept)
