"""Turning a :class:`~jaxml.data.tabular_csv.RawTable` into model inputs, with every statistic
taken from the training rows only; stratified seeded splits; class weights.

:class:`TabularEncoder` ``.fit(train_table)`` then ``.transform(any_table)`` -> float32 (N, D):

- numeric column: missing cells imputed with the *training median*; then standardised with the
  training mean and std of the imputed column (std 0 -> 1). A column with missing cells in the
  training rows also gets a 0/1 *missing-indicator* column ``<name>_missing`` right after it.
  (The same as scikit-learn's ``SimpleImputer(strategy="median", add_indicator=True)`` followed by
  ``StandardScaler`` on the value column; tested against it.)
- categorical column: one-hot over the categories seen in the training rows (sorted), columns
  ``<name>=<category>``; if the training rows have missing cells, a ``<name>=missing`` category
  (placed last). At transform time an unseen category, or a missing cell in a column that had none
  in training, is all zeros. (As ``SimpleImputer(strategy="constant")`` + ``OneHotEncoder(
  handle_unknown="ignore")``.)

``feature_names`` names the D encoded columns; ``source_columns`` gives each one's table column
(for per-feature summaries of first-layer weights, :meth:`TabularEncoder.group_by_source`).

:func:`stratified_split` splits row indices per class with ``numpy.random.default_rng(seed)``;
:func:`class_weights` gives ``N / (K * count_k)`` (scikit-learn's "balanced").
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from .tabular_csv import NUMERIC, RawTable

__all__ = ["TabularEncoder", "stratified_split", "class_weights", "encode_splits"]

MISSING_CATEGORY = "missing"


@dataclasses.dataclass(frozen=True)
class _Numeric:
    median: float
    mean: float
    std: float
    indicator: bool


@dataclasses.dataclass(frozen=True)
class _Categorical:
    categories: tuple
    missing: bool


class TabularEncoder:
    """See the module docstring. Build with :meth:`fit`."""

    def __init__(self, columns: dict, kinds: dict):
        self._columns, self._kinds = columns, kinds
        names, sources = [], []
        for name, spec in columns.items():
            if isinstance(spec, _Numeric):
                names += [name] + ([f"{name}_missing"] if spec.indicator else [])
                sources += [name] * (2 if spec.indicator else 1)
            else:
                cats = list(spec.categories) + ([MISSING_CATEGORY] if spec.missing else [])
                names += [f"{name}={c}" for c in cats]
                sources += [name] * len(cats)
        self.feature_names, self.source_columns = tuple(names), tuple(sources)

    @classmethod
    def fit(cls, train: RawTable) -> "TabularEncoder":
        if train.num_rows < 1:
            raise ValueError("TabularEncoder.fit: the training table has no rows")
        columns = {}
        for name, col in train.columns.items():
            if train.kinds[name] == NUMERIC:
                present = col[~np.isnan(col)]
                if present.size == 0:
                    raise ValueError(f"TabularEncoder.fit: numeric column {name!r} is missing in every training "
                                     "row; drop it (read_csv_table(..., drop=[...]))")
                median = float(np.median(present))
                filled = np.where(np.isnan(col), median, col)
                std = float(filled.std())
                columns[name] = _Numeric(median, float(filled.mean()), std if std > 0 else 1.0,
                                         bool(np.isnan(col).any()))
            else:
                seen = sorted({v for v in col if v is not None})
                columns[name] = _Categorical(tuple(seen), any(v is None for v in col))
        return cls(columns, dict(train.kinds))

    @property
    def num_features(self) -> int:
        return len(self.feature_names)

    def transform(self, table: RawTable) -> np.ndarray:
        """float32 (N, num_features)."""
        missing = [n for n in self._columns if n not in table.columns]
        if missing:
            raise ValueError(f"TabularEncoder.transform: the table lacks column(s) {missing} seen in fit")
        parts = []
        for name, spec in self._columns.items():
            col = table.columns[name]
            if table.kinds[name] != self._kinds[name]:
                raise ValueError(f"TabularEncoder.transform: column {name!r} is {table.kinds[name]} here but was "
                                 f"{self._kinds[name]} in fit")
            if isinstance(spec, _Numeric):
                nan = np.isnan(col)
                parts.append(((np.where(nan, spec.median, col) - spec.mean) / spec.std)[:, None])
                if spec.indicator:
                    parts.append(nan.astype(np.float64)[:, None])
            else:
                cats = list(spec.categories) + ([None] if spec.missing else [])
                parts.append(np.stack([np.array([v == c for v in col]) if c is not None
                                       else np.array([v is None for v in col]) for c in cats], axis=1))
        return np.concatenate(parts, axis=1).astype(np.float32)

    def group_by_source(self, values_DxK) -> dict:
        """{table column: rows of ``values`` (D, ...) belonging to it}, in table order."""
        values = np.asarray(values_DxK)
        if values.shape[0] != self.num_features:
            raise ValueError(f"group_by_source: expected {self.num_features} rows (one per encoded feature), "
                             f"got shape {values.shape}")
        src = np.array(self.source_columns)
        return {name: values[src == name] for name in self._columns}


def stratified_split(y, fractions: Sequence[float], seed: int = 0) -> list:
    """Row indices of len(fractions) + 1 disjoint parts covering ``range(len(y))``: per class,
    ``round(f * n_class)`` rows go to each part f of ``fractions`` (in order), the rest to the
    last part. Rows are drawn by one ``numpy.random.default_rng(seed)`` permutation per class
    (classes in sorted order); each part is returned sorted.

    E.g. ``train, val, test = stratified_split(y, (0.6, 0.2))`` -> 60 / 20 / 20 % of every class."""
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"stratified_split: y must be a non-empty 1-d array of labels, got shape {y.shape}")
    fr = [float(f) for f in fractions]
    if not fr or any(not 0.0 < f < 1.0 for f in fr) or sum(fr) >= 1.0:
        raise ValueError(f"stratified_split: fractions must be in (0, 1) and sum to less than 1 (the rest is the "
                         f"last part), got {tuple(fractions)!r}")
    rng = np.random.default_rng(seed)
    parts = [[] for _ in range(len(fr) + 1)]
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        start = 0
        for p, f in enumerate(fr):
            n = int(round(f * idx.size))
            parts[p].append(idx[start:start + n])
            start += n
        parts[-1].append(idx[start:])
    return [np.sort(np.concatenate(p)) for p in parts]


def class_weights(y, num_classes: int) -> np.ndarray:
    """float32 (num_classes,): ``N / (num_classes * count_k)``; every class must occur in ``y``."""
    y = np.asarray(y)
    counts = np.bincount(y, minlength=num_classes)
    if counts.size != num_classes:
        raise ValueError(f"class_weights: labels up to {int(y.max())} but num_classes={num_classes}")
    if (counts == 0).any():
        raise ValueError(f"class_weights: class(es) {np.flatnonzero(counts == 0).tolist()} have no examples in y")
    return (y.size / (num_classes * counts)).astype(np.float32)


def encode_splits(table: RawTable, parts: dict) -> tuple[dict, TabularEncoder]:
    """``{name: {"x": float32 (n, D), "y": int32 (n,)}}`` for ``parts = {name: row indices}``, with
    the encoder fitted on ``parts["train"]`` only; returns (arrays, encoder)."""
    if "train" not in parts:
        raise ValueError(f"encode_splits: parts must include 'train', got {sorted(parts)}")
    enc = TabularEncoder.fit(table.take(parts["train"]))
    out = {}
    for name, idx in parts.items():
        t = table.take(idx)
        out[name] = {"x": enc.transform(t), "y": t.labels.astype(np.int32)}
    return out, enc
