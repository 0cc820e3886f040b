"""Results tables as GitHub-flavoured Markdown, and the ``results.md`` file of a run.

Cells are padded so the raw text reads as a table in a terminal or a batch log too.
Columns whose values are all numbers (or ``MeanStd``, or missing) are right-aligned.
"""
from __future__ import annotations

import numbers
import os
import tempfile
from typing import Any, Sequence

import numpy as np

from jaxml.report.primary import is_primary
from jaxml.report.stats import MeanStd

__all__ = ["format_cell", "markdown_table", "write_results"]

MISSING = "—"


def _is_numeric(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    return isinstance(value, (numbers.Number, MeanStd))


def _unwrap(value: Any) -> Any:
    """0-d numpy / JAX arrays to their numpy scalar."""
    if not isinstance(value, (str, bytes, MeanStd)) and hasattr(value, "__array__"):
        arr = np.asarray(value)
        if arr.ndim == 0:
            value = arr[()]
    if isinstance(value, np.generic) and value.dtype.kind == "V":
        value = float(value)  # ml_dtypes scalars such as JAX's bfloat16
    return value


def format_cell(value: Any, floatfmt: str = ".4f") -> str:
    """One table cell: floats with ``floatfmt``, ``MeanStd`` via its ``format(floatfmt)``,
    None as ``—``, ints and everything else with ``str``; pipes escaped, newlines as ``<br>``."""
    value = _unwrap(value)
    if value is None:
        text = MISSING
    elif isinstance(value, MeanStd):
        text = value.format(floatfmt)
    elif isinstance(value, (bool, np.bool_)):
        text = str(bool(value))
    elif isinstance(value, numbers.Integral):
        text = str(int(value))
    elif isinstance(value, numbers.Real):
        text = format(float(value), floatfmt)
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\r\n", "<br>").replace("\n", "<br>")


def markdown_table(
    rows: Sequence[dict], columns: Sequence[str] | None = None, *, floatfmt: str = ".4f"
) -> str:
    """A GitHub-flavoured Markdown table (no trailing newline).

    Args:
      rows: one dict per row. A key missing from a row shows as ``—``, like None.
      columns: the columns, in order; defaults to the keys of the first row.
      floatfmt: format spec for floats and ``MeanStd`` cells.

    >>> print(markdown_table([{"model": "mlp", "acc": 0.85}]))
    | model |    acc |
    | ----- | -----: |
    | mlp   | 0.8500 |

    Raises:
      ValueError: no rows and no columns.
    """
    rows = list(rows)
    if columns is None:
        if not rows:
            raise ValueError("markdown_table: no rows and no columns given")
        columns = list(rows[0].keys())
    columns = [str(c) for c in columns]
    if not columns:
        raise ValueError("markdown_table: no columns")
    header = [format_cell(c) for c in columns]
    body = [[format_cell(row.get(c), floatfmt) for c in columns] for row in rows]
    right = []
    for c in columns:
        values = [_unwrap(row.get(c)) for row in rows]
        present = [v for v in values if v is not None]
        right.append(bool(present) and all(_is_numeric(v) for v in present))
    widths = [max([3, len(header[j])] + [len(r[j]) for r in body]) for j in range(len(columns))]

    def line(cells: list[str]) -> str:
        padded = [
            cell.rjust(w) if r else cell.ljust(w) for cell, w, r in zip(cells, widths, right)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "| " + " | ".join(("-" * (w - 1) + ":") if r else "-" * w for w, r in zip(widths, right)) + " |"
    return "\n".join([line(header), rule] + [line(r) for r in body])


def write_results(path: str | os.PathLike, title: str, sections: Sequence[tuple[str, str]]):
    """Write a Markdown results file: ``# title`` then ``## heading`` + text for each section.

    Section texts are Markdown (paragraphs, :func:`markdown_table` output, lists). Creates missing
    parent folders and replaces the file atomically. Returns ``path``.
    """
    if not is_primary():  # one writer per multi-process job
        return path
    parts = [f"# {title}\n"]
    for heading, text in sections:
        parts.append(f"## {heading}\n")
        body = text.strip("\n")
        if body:
            parts.append(body + "\n")
    content = "\n".join(parts)
    fspath = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(fspath))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".md")
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)
        os.replace(tmp, fspath)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path
