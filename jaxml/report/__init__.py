"""jaxml.report: metric logs (JSONL), plots (PNG), results tables (Markdown), progress lines.

This package knows nothing of the rest of jaxml; it takes plain numbers and numpy (or JAX)
arrays. The plotting functions are loaded on first use, so importing ``jaxml.report`` (as
``jaxml.train`` does) does not import matplotlib.

    from jaxml.report import MetricsLog, EpochProgress, line_plot, markdown_table, mean_std
"""
from __future__ import annotations

import importlib

from jaxml.report.metrics_log import MetricsLog, read_metrics, truncate_after
from jaxml.report.progress import EpochProgress, format_metrics, progress_bar
from jaxml.report.stats import MeanStd, mean_band, mean_std, mean_std_array
from jaxml.report.tables import markdown_table, write_results

_PLOTS = (
    "line_plot",
    "bar_plot",
    "image_grid",
    "scatter_plot",
    "make_line_figure",
    "make_bar_figure",
    "make_image_grid_figure",
    "make_scatter_figure",
    "save_figure",
)

__all__ = [
    "MetricsLog",
    "read_metrics",
    "truncate_after",
    "EpochProgress",
    "format_metrics",
    "progress_bar",
    "MeanStd",
    "mean_std",
    "mean_std_array",
    "mean_band",
    "markdown_table",
    "write_results",
    *_PLOTS,
]


def __getattr__(name: str):
    if name in _PLOTS:
        return getattr(importlib.import_module("jaxml.report.plots"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
