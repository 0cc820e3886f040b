"""Tables with named columns, numeric and categorical, with missing values: any CSV file with a
label column, and the Palmer penguins table shipped by the ``palmerpenguins`` package.

``read_csv_table(path, label)`` -> :class:`RawTable`: every column but the label (and ``drop``)
is a feature. A column is *numeric* when every non-missing cell parses as a float (stored float64,
NaN where missing), else *categorical* (stored as an object array of str, ``None`` where missing);
``categorical=`` forces columns to be categorical (e.g. integer codes). Missing cells are the
empty string and ``MISSING_TOKENS`` (``NA``, ``N/A``, ``NaN``, ``nan``, ``null``, ``None``, ``?``),
compared after stripping blanks. Rows whose label is missing are dropped (their count is
``RawTable.dropped_rows``). Classes are the label's distinct values, sorted (numerically when
they are all numbers), and ``labels`` index them (int32).

``load_penguins()``: ``penguins.csv`` (344 rows: species; island, sex categorical; bill length
and depth, flipper length, body mass, year numeric; 2 rows miss all four measurements and 11
rows miss ``sex``) read straight from the installed package's data folder, offline, without
importing the package (so without pandas). Install with ``pip install palmerpenguins`` or
``jaxml[tabular]``.

The table is raw: encode it with :class:`jaxml.data.tabular_prep.TabularEncoder`, fitted on the
training rows only.
"""
from __future__ import annotations

import csv
import dataclasses
import importlib.util
import math
import os
import pathlib
from typing import Iterable

import numpy as np

from .errors import DatasetNotFoundError

__all__ = ["RawTable", "read_csv_table", "csv_header", "load_penguins", "penguins_path", "MISSING_TOKENS",
           "NUMERIC", "CATEGORICAL"]

MISSING_TOKENS = ("", "NA", "N/A", "NaN", "nan", "null", "None", "?")
NUMERIC, CATEGORICAL = "numeric", "categorical"


@dataclasses.dataclass(frozen=True)
class RawTable:
    """Feature columns (in file order) and integer labels of one table.

    columns: {name: float64 (N,) with NaN for missing, or object (N,) of str / None};
    kinds: {name: "numeric" | "categorical"}; labels: int32 (N,) indexing ``class_names``.
    """

    columns: dict
    kinds: dict
    labels: np.ndarray
    class_names: tuple
    label: str
    source: str = ""
    dropped_rows: int = 0

    def __post_init__(self):
        n = self.labels.shape[0]
        for name, col in self.columns.items():
            if col.shape != (n,):
                raise ValueError(f"RawTable: column {name!r} has shape {col.shape}, expected ({n},)")
            if self.kinds.get(name) not in (NUMERIC, CATEGORICAL):
                raise ValueError(f"RawTable: column {name!r} needs a kind, 'numeric' or 'categorical'")

    @property
    def num_rows(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def take(self, idx) -> "RawTable":
        """The rows ``idx`` (an index array), in that order."""
        idx = np.asarray(idx, dtype=np.int64)
        return dataclasses.replace(self, columns={k: v[idx] for k, v in self.columns.items()},
                                   labels=self.labels[idx])

    def missing_counts(self) -> dict:
        """{column: number of missing cells}."""
        return {k: int(np.isnan(v).sum()) if self.kinds[k] == NUMERIC else int(sum(x is None for x in v))
                for k, v in self.columns.items()}


def _is_missing(cell: str) -> bool:
    return cell.strip() in MISSING_TOKENS


def _as_float(cell: str):
    try:
        v = float(cell)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _sort_classes(values: Iterable[str]) -> list:
    values = sorted(set(values))
    nums = [_as_float(v) for v in values]
    if all(n is not None for n in nums):
        return [v for _, v in sorted(zip(nums, values))]
    return values


def csv_header(path, delimiter: str = ",") -> tuple:
    """The column names of the CSV at ``path`` (its first row), without reading the rest."""
    path = pathlib.Path(os.fspath(path))
    if not path.is_file():
        raise FileNotFoundError(f"csv_header: no file at {str(path)!r}")
    with open(path, newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f, delimiter=delimiter), None)
    if not header:
        raise ValueError(f"csv_header: {str(path)!r} is empty (expected a header row)")
    return tuple(h.strip() for h in header)


def read_csv_table(path, label: str, *, categorical: Iterable[str] = (), drop: Iterable[str] = (),
                   delimiter: str = ",") -> RawTable:
    """Read the CSV at ``path`` (header row first) with ``label`` as the class column; see the module
    docstring. Raises FileNotFoundError (missing file), ValueError (unknown label / column names,
    an empty table, fewer than 2 classes, a row with the wrong number of cells)."""
    path = pathlib.Path(os.fspath(path))
    if not path.is_file():
        raise FileNotFoundError(f"read_csv_table: no file at {str(path)!r}")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter)
        header = next(reader, None)
        if not header:
            raise ValueError(f"read_csv_table: {str(path)!r} is empty (expected a header row)")
        header = [h.strip() for h in header]
        rows = []
        for line, row in enumerate(reader, start=2):
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise ValueError(f"read_csv_table: {str(path)!r} line {line} has {len(row)} cells, the header "
                                 f"has {len(header)}")
            rows.append(row)
    if len(set(header)) != len(header):
        raise ValueError(f"read_csv_table: {str(path)!r} has repeated column names: {header}")
    for what, names in (("label", [label]), ("categorical", list(categorical)), ("drop", list(drop))):
        unknown = [n for n in names if n not in header]
        if unknown:
            raise ValueError(f"read_csv_table: {what} column(s) {unknown} not in {str(path)!r}; columns: {header}")
    if label in set(drop) or label in set(categorical):
        raise ValueError(f"read_csv_table: the label {label!r} cannot also be in drop= or categorical=")
    li = header.index(label)
    keep = [r for r in rows if not _is_missing(r[li])]
    if not keep:
        raise ValueError(f"read_csv_table: {str(path)!r} has no rows with a {label!r} value")
    classes = _sort_classes(r[li].strip() for r in keep)
    if len(classes) < 2:
        raise ValueError(f"read_csv_table: label {label!r} has {len(classes)} distinct value(s) {classes}; "
                         "a classification table needs at least 2")
    index = {c: i for i, c in enumerate(classes)}
    labels = np.array([index[r[li].strip()] for r in keep], dtype=np.int32)
    columns, kinds, forced, dropped = {}, {}, set(categorical), set(drop)
    for j, name in enumerate(header):
        if j == li or name in dropped:
            continue
        cells = [r[j].strip() for r in keep]
        nums = [None if _is_missing(c) else _as_float(c) for c in cells]
        numeric = name not in forced and all(n is not None for n, c in zip(nums, cells) if not _is_missing(c))
        if numeric:
            columns[name] = np.array([np.nan if n is None else n for n in nums], dtype=np.float64)
            kinds[name] = NUMERIC
        else:
            columns[name] = np.array([None if _is_missing(c) else c for c in cells], dtype=object)
            kinds[name] = CATEGORICAL
    if not columns:
        raise ValueError(f"read_csv_table: {str(path)!r} has no feature columns besides {label!r}")
    return RawTable(columns=columns, kinds=kinds, labels=labels, class_names=tuple(classes), label=label,
                    source=str(path), dropped_rows=len(rows) - len(keep))


def penguins_path() -> pathlib.Path:
    """The ``penguins.csv`` shipped by the installed ``palmerpenguins`` package (not imported)."""
    spec = importlib.util.find_spec("palmerpenguins")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetNotFoundError(
            "Dataset 'penguins' not found: it ships with the 'palmerpenguins' package, which is not installed. "
            "Install it with `pip install palmerpenguins==0.1.6` (or jaxml[tabular]).")
    path = pathlib.Path(list(spec.submodule_search_locations)[0]) / "data" / "penguins.csv"
    if not path.is_file():
        raise DatasetNotFoundError(f"Dataset 'penguins' not found: expected {str(path)!r} inside the installed "
                                   "palmerpenguins package (version 0.1.6 ships it)")
    return path


def load_penguins(label: str = "species", *, drop: Iterable[str] = ()) -> RawTable:
    """The Palmer penguins table (see the module docstring); ``label`` may be any column
    (``"species"``: Adelie 152, Chinstrap 68, Gentoo 124 rows)."""
    return read_csv_table(penguins_path(), label, drop=drop)
