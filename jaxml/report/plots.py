"""PNG plots for experiment reports: learning curves, grouped bars, image grids, scatter plots.

Each plot has a ``make_*_figure(...)`` function that builds and returns a
``matplotlib.figure.Figure`` (so tests and notebooks can inspect or extend it) and a ``*_plot``
function that builds the figure, writes it as a PNG at 120 dpi and returns the path.

Figures are created with ``matplotlib.figure.Figure`` directly, never through ``pyplot``: there is
no global figure registry to leak memory, no interactive backend to select, no global state to
race on in threads, and nothing needs closing. Saving a PNG uses the Agg renderer. Inputs may be
lists, numpy arrays or JAX arrays.
"""
from __future__ import annotations

import math
import os
import tempfile
from typing import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from jaxml.report.primary import is_primary

__all__ = [
    "DPI",
    "FIGSIZE",
    "save_figure",
    "make_line_figure",
    "line_plot",
    "make_bar_figure",
    "bar_plot",
    "make_image_grid_figure",
    "image_grid",
    "make_scatter_figure",
    "scatter_plot",
]

DPI = 120
#: Default size in inches: 768 x 576 pixels at 120 dpi.
FIGSIZE = (6.4, 4.8)
#: Side of one image-grid cell in inches (180 pixels at 120 dpi).
CELL_INCHES = 1.5
_GRID_TITLE_INCHES = 0.4
#: Integer labels with at most this many distinct values get a legend; more get a colorbar.
MAX_LEGEND_LABELS = 20


def _cycle_colors() -> list[str]:
    return list(matplotlib.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"]))


def _vector(values, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{what}: expected a 1-d array, got shape {arr.shape}")
    return arr


def save_figure(fig: Figure, path: str | os.PathLike):
    """Write ``fig`` as a PNG at ``DPI`` (atomically: temporary file + rename). Returns ``path``.
    Only process 0 of a multi-process job writes (``jaxml.report.primary``)."""
    if not is_primary():
        return path
    fspath = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(fspath))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".png")
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format="png", dpi=DPI)
        os.replace(tmp, fspath)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


# --------------------------------------------------------------------------------------------
# Line plots


def make_line_figure(
    curves: Mapping[str, tuple],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    markers: Mapping[str, float] | None = None,
    logx: bool = False,
    logy: bool = False,
    bands: Mapping[str, tuple] | None = None,
    figsize: tuple[float, float] = FIGSIZE,
) -> Figure:
    """Several curves on one axes.

    Args:
      curves: ``{label: (x, y)}``, one line each.
      markers: ``{label: x}``, a labelled vertical dashed line at each x
        (e.g. ``{"early stop (patience 5)": 12}``).
      logx, logy: logarithmic axes.
      bands: ``{label: (x, lo, hi)}`` shaded regions, e.g. mean ± std over seeds. A band whose
        label is also a curve's label takes that curve's colour and no legend entry of its own.
      figsize: inches.

    Raises:
      ValueError: no curves and no bands, or x and y of a curve (band) differ in length.
    """
    markers = dict(markers or {})
    bands = dict(bands or {})
    if not curves and not bands:
        raise ValueError("line plot: no curves and no bands given")
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    colors = _cycle_colors()
    color_of: dict[str, str] = {}
    for i, (name, xy) in enumerate(curves.items()):
        if len(xy) != 2:
            raise ValueError(f"line plot: curve {name!r} must be (x, y), got {len(xy)} items")
        x = _vector(xy[0], f"curve {name!r} x")
        y = _vector(xy[1], f"curve {name!r} y")
        if x.shape != y.shape:
            raise ValueError(f"line plot: curve {name!r} has {x.size} x values but {y.size} y values")
        (line,) = ax.plot(x, y, label=str(name), color=colors[i % len(colors)])
        if x.size == 1:
            line.set_marker("o")  # a single point is invisible as a line
        color_of[name] = line.get_color()
    next_color = len(curves)
    for name, band in bands.items():
        if len(band) != 3:
            raise ValueError(f"line plot: band {name!r} must be (x, lo, hi), got {len(band)} items")
        x = _vector(band[0], f"band {name!r} x")
        lo = _vector(band[1], f"band {name!r} lo")
        hi = _vector(band[2], f"band {name!r} hi")
        if not (x.shape == lo.shape == hi.shape):
            raise ValueError(
                f"line plot: band {name!r} has x, lo, hi of lengths {x.size}, {lo.size}, {hi.size}"
            )
        if name in color_of:
            color, label = color_of[name], None
        else:
            color, label = colors[next_color % len(colors)], str(name)
            next_color += 1
        ax.fill_between(x, lo, hi, color=color, alpha=0.2, linewidth=0, label=label)
    for name, x in markers.items():
        ax.axvline(
            float(x), linestyle="--", linewidth=1.2, color=colors[next_color % len(colors)],
            label=str(name),
        )
        next_color += 1
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize="small")
    return fig


def line_plot(
    path: str | os.PathLike,
    curves: Mapping[str, tuple],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    markers: Mapping[str, float] | None = None,
    logx: bool = False,
    logy: bool = False,
    bands: Mapping[str, tuple] | None = None,
):
    """Write :func:`make_line_figure` as a PNG at ``path``; returns ``path``."""
    fig = make_line_figure(
        curves, title=title, xlabel=xlabel, ylabel=ylabel, markers=markers,
        logx=logx, logy=logy, bands=bands,
    )
    return save_figure(fig, path)


# --------------------------------------------------------------------------------------------
# Grouped bars


def make_bar_figure(
    groups: Sequence[str],
    series: Mapping[str, tuple],
    *,
    title: str,
    ylabel: str,
    figsize: tuple[float, float] = FIGSIZE,
) -> Figure:
    """Grouped bars: one group per entry of ``groups``, one bar per series within each group.

    Args:
      groups: group names along the x axis.
      series: ``{label: (means, stds or None)}`` with one mean (and std) per group; stds are
        drawn as error bars.

    Raises:
      ValueError: no series, or a series whose length differs from ``len(groups)``.
    """
    groups = [str(g) for g in groups]
    if not series:
        raise ValueError("bar plot: no series given")
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    colors = _cycle_colors()
    x = np.arange(len(groups), dtype=float)
    n = len(series)
    width = 0.8 / n
    for i, (name, ms) in enumerate(series.items()):
        if len(ms) != 2:
            raise ValueError(f"bar plot: series {name!r} must be (means, stds or None)")
        means = _vector(np.asarray(ms[0], dtype=float), f"series {name!r} means")
        if means.size != len(groups):
            raise ValueError(
                f"bar plot: series {name!r} has {means.size} means for {len(groups)} groups"
            )
        stds = None
        if ms[1] is not None:
            stds = _vector(np.asarray(ms[1], dtype=float), f"series {name!r} stds")
            if stds.size != len(groups):
                raise ValueError(
                    f"bar plot: series {name!r} has {stds.size} stds for {len(groups)} groups"
                )
        ax.bar(
            x + (i - (n - 1) / 2) * width, means, width, yerr=stds, capsize=3 if stds is not None else 0,
            label=str(name), color=colors[i % len(colors)],
        )
    ax.set_xticks(x)
    long_names = len(groups) > 6 or any(len(g) > 12 for g in groups)
    ax.set_xticklabels(groups, rotation=30 if long_names else 0, ha="right" if long_names else "center")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(loc="best", fontsize="small")
    return fig


def bar_plot(
    path: str | os.PathLike,
    groups: Sequence[str],
    series: Mapping[str, tuple],
    *,
    title: str,
    ylabel: str,
):
    """Write :func:`make_bar_figure` as a PNG at ``path``; returns ``path``."""
    return save_figure(make_bar_figure(groups, series, title=title, ylabel=ylabel), path)


# --------------------------------------------------------------------------------------------
# Image grids


def _check_images(images) -> tuple[np.ndarray, bool]:
    """Images as an (N,H,W) or (N,H,W,3|4) array in [0,1] float or uint8; returns (array, is_gray)."""
    arr = np.asarray(images)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3:
        gray = True
    elif arr.ndim == 4 and arr.shape[-1] in (3, 4):
        gray = False
    else:
        raise ValueError(
            f"image grid: expected images of shape (N,H,W) or (N,H,W,C) with C in 1, 3, 4; got {arr.shape}"
        )
    if arr.dtype == np.uint8:
        return arr, gray
    if arr.dtype == np.bool_:
        return arr.astype(np.float32), gray
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"image grid: expected float images in [0, 1] or uint8, got dtype {arr.dtype}")
    arr = arr.astype(np.float32)
    if arr.size:
        if not np.all(np.isfinite(arr)):
            raise ValueError("image grid: images contain NaN or inf")
        lo, hi = float(arr.min()), float(arr.max())
        tol = 1e-3
        if lo < -tol or hi > 1 + tol:
            raise ValueError(
                f"image grid: float images must lie in [0, 1], got values in [{lo:.4g}, {hi:.4g}]; "
                "undo the normalisation (or rescale) before plotting"
            )
        arr = np.clip(arr, 0.0, 1.0)
    return arr, gray


def make_image_grid_figure(
    images,
    *,
    nrows: int,
    ncols: int | None = None,
    titles: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """A grid of images, ``CELL_INCHES`` square per cell, axes hidden.

    Args:
      images: ``(N, H, W)`` (grayscale, drawn with the ``gray`` colormap) or ``(N, H, W, C)``
        with C = 1, 3 or 4; floats in [0, 1] or uint8 in [0, 255]. Gray levels are absolute
        (0 is black, 1 or 255 white), not rescaled per image.
      nrows: rows of the grid; ``ncols`` defaults to ``ceil(N / nrows)``. Unused cells are blank.
      titles: one short title per image.
      title: a title over the whole grid.

    Raises:
      ValueError: bad shape or dtype, float values outside [0, 1], more images than cells,
        or a number of titles different from N.
    """
    arr, gray = _check_images(images)
    n = arr.shape[0]
    if nrows < 1:
        raise ValueError(f"image grid: nrows must be >= 1, got {nrows}")
    if ncols is None:
        ncols = max(1, math.ceil(n / nrows))
    if ncols < 1:
        raise ValueError(f"image grid: ncols must be >= 1, got {ncols}")
    if n > nrows * ncols:
        raise ValueError(f"image grid: {n} images do not fit in {nrows} x {ncols} cells")
    if titles is not None and len(titles) != n:
        raise ValueError(f"image grid: {len(titles)} titles for {n} images")
    top = _GRID_TITLE_INCHES if title else 0.0
    width, height = ncols * CELL_INCHES, nrows * CELL_INCHES + top
    fig = Figure(figsize=(width, height))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    vmax = 255 if arr.dtype == np.uint8 else 1.0
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= n:
            continue
        if gray:
            ax.imshow(arr[k], cmap="gray", vmin=0, vmax=vmax, interpolation="nearest")
        else:
            ax.imshow(arr[k], interpolation="nearest")
        if titles is not None:
            ax.set_title(str(titles[k]), fontsize=8)
    fig.subplots_adjust(
        left=0.02, right=0.98, bottom=0.02, top=1 - (top + (0.05 if titles is None else 0.25)) / height,
        wspace=0.08, hspace=0.08 if titles is None else 0.3,
    )
    if title:
        fig.suptitle(title, y=1 - 0.05 / height, va="top")
    return fig


def image_grid(
    path: str | os.PathLike,
    images,
    *,
    nrows: int,
    ncols: int | None = None,
    titles: Sequence[str] | None = None,
    title: str | None = None,
):
    """Write :func:`make_image_grid_figure` as a PNG at ``path``; returns ``path``."""
    fig = make_image_grid_figure(images, nrows=nrows, ncols=ncols, titles=titles, title=title)
    return save_figure(fig, path)


# --------------------------------------------------------------------------------------------
# Scatter plots


def make_scatter_figure(
    x,
    y,
    c=None,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    label_names: Sequence[str] | Mapping[int, str] | None = None,
    figsize: tuple[float, float] = FIGSIZE,
) -> Figure:
    """Points ``(x[i], y[i])``, optionally coloured by ``c``.

    Colouring: integer (or bool) ``c``, or any ``c`` together with ``label_names``, is a class
    label: one colour per class and a legend entry named ``label_names[label]`` (or the label
    itself), as long as there are at most ``MAX_LEGEND_LABELS`` classes. Float ``c`` (or more
    classes) is a continuous value shown with the viridis colormap and a colorbar.

    Raises:
      ValueError: x, y, c of different lengths, or a label with no entry in ``label_names``.
    """
    x = _vector(x, "scatter x")
    y = _vector(y, "scatter y")
    if x.shape != y.shape:
        raise ValueError(f"scatter plot: {x.size} x values but {y.size} y values")
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    size = 16 if x.size <= 2000 else 4
    if c is None:
        ax.scatter(x, y, s=size, alpha=0.8, linewidths=0)
    else:
        c = _vector(c, "scatter c")
        if c.shape != x.shape:
            raise ValueError(f"scatter plot: {x.size} points but {c.size} colour values")
        discrete = label_names is not None or c.dtype == np.bool_ or np.issubdtype(c.dtype, np.integer)
        labels = np.unique(c) if discrete else None
        if discrete and labels.size <= MAX_LEGEND_LABELS:
            cmap = matplotlib.colormaps["tab10" if labels.size <= 10 else "tab20"]
            for i, lab in enumerate(labels):
                if label_names is not None:
                    try:
                        name = label_names[int(lab)]
                    except (IndexError, KeyError, TypeError, ValueError) as e:
                        raise ValueError(f"scatter plot: label {lab.item()!r} has no entry in label_names") from e
                else:
                    name = str(lab.item())
                mask = c == lab
                ax.scatter(x[mask], y[mask], s=size, alpha=0.8, linewidths=0, color=cmap(i), label=str(name))
            ax.legend(loc="best", fontsize="small", markerscale=max(1.0, 16 / size) ** 0.5)
        else:
            sc = ax.scatter(x, y, c=np.asarray(c, dtype=float), s=size, alpha=0.8, linewidths=0, cmap="viridis")
            fig.colorbar(sc, ax=ax)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.set_axisbelow(True)
    return fig


def scatter_plot(
    path: str | os.PathLike,
    x,
    y,
    c=None,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    label_names: Sequence[str] | Mapping[int, str] | None = None,
):
    """Write :func:`make_scatter_figure` as a PNG at ``path``; returns ``path``."""
    fig = make_scatter_figure(x, y, c, title=title, xlabel=xlabel, ylabel=ylabel, label_names=label_names)
    return save_figure(fig, path)
