"""Heatmap PNGs: a matrix as coloured cells, optionally annotated, with a colorbar.

Used for hyperparameter grids (test accuracy over n_estimators x learning rate, C x gamma) and
for similarity matrices. Like :mod:`jaxml.report.plots`, figures are built with
``matplotlib.figure.Figure`` directly (no pyplot) and saved with ``plots.save_figure``.
Import it from this module (``from jaxml.report.heatmap import heatmap``).
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from jaxml.report.plots import FIGSIZE, save_figure

__all__ = ["make_heatmap_figure", "heatmap", "MAX_ANNOTATED_CELLS"]

#: Matrices with more cells than this are never annotated (the text would be unreadable).
MAX_ANNOTATED_CELLS = 400


def _labels(labels, n: int, what: str) -> list[str] | None:
    if labels is None:
        return None
    labels = [str(v) for v in labels]
    if len(labels) != n:
        raise ValueError(f"heatmap: {len(labels)} {what} labels for {n} {what}s of the matrix")
    return labels


def make_heatmap_figure(
    matrix,
    row_labels: Sequence | None = None,
    col_labels: Sequence | None = None,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    fmt: str | None = ".3f",
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar_label: str | None = None,
    figsize: tuple[float, float] = FIGSIZE,
) -> Figure:
    """Cell (i, j) shows ``matrix[i, j]``; row i is labelled ``row_labels[i]`` (y axis, top to
    bottom) and column j ``col_labels[j]`` (x axis). Labels None: no tick labels.

    Args:
      fmt: format of the number written in each cell (e.g. ".3f"), or None for no text; cells
        are annotated only when the matrix has at most ``MAX_ANNOTATED_CELLS`` entries.
        NaN cells are left blank.
      vmin, vmax: colour range (default: the finite data range).

    Raises:
      ValueError: matrix not 2-d or empty, or a label count that differs from the matrix shape.
    """
    arr = np.asarray(matrix, dtype=np.float64)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"heatmap: expected a non-empty 2-d matrix, got shape {arr.shape}")
    rows = _labels(row_labels, arr.shape[0], "row")
    cols = _labels(col_labels, arr.shape[1], "column")
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(arr), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto",
                      interpolation="nearest")
    bar = fig.colorbar(image, ax=ax)
    if colorbar_label:
        bar.set_label(colorbar_label)
    if rows is not None:
        ax.set_yticks(np.arange(arr.shape[0]), rows)
    if cols is not None:
        ax.set_xticks(np.arange(arr.shape[1]), cols)
    if fmt is not None and arr.size <= MAX_ANNOTATED_CELLS:
        finite = arr[np.isfinite(arr)]
        lo = vmin if vmin is not None else (finite.min() if finite.size else 0.0)
        hi = vmax if vmax is not None else (finite.max() if finite.size else 1.0)
        middle = 0.5 * (lo + hi)
        for i in range(arr.shape[0]):
            for j in range(arr.shape[1]):
                if np.isfinite(arr[i, j]):
                    # Dark text on the bright (high) end of viridis-like maps, light text elsewhere.
                    ax.text(j, i, format(arr[i, j], fmt), ha="center", va="center", fontsize="small",
                            color="black" if arr[i, j] > middle else "white")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig


def heatmap(
    path: str | os.PathLike,
    matrix,
    row_labels: Sequence | None = None,
    col_labels: Sequence | None = None,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    fmt: str | None = ".3f",
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar_label: str | None = None,
):
    """Write :func:`make_heatmap_figure` as a PNG at ``path``; returns ``path``."""
    fig = make_heatmap_figure(matrix, row_labels, col_labels, title=title, xlabel=xlabel, ylabel=ylabel,
                              fmt=fmt, cmap=cmap, vmin=vmin, vmax=vmax, colorbar_label=colorbar_label)
    return save_figure(fig, path)
