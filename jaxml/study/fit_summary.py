"""What a study records of a training: the per-run numbers of a ``FitResult``, ready for summary.json.

``fit_summary(result, metrics)`` -> ``{"seeds": [...], "curves": {metric: (R, E) nested list},
"final": {metric: [R values]}, "best_epoch": [...], "stopped_epoch": [...], "diverged": [...],
"train_seconds": s, "compile_seconds": s}``; ``runs=`` picks some runs (e.g. one grid point's
seeds). Curves hold NaN after a run stopped (early stopping, divergence); ``final`` is each
run's last logged value.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["fit_summary", "diverged"]


def diverged(result) -> np.ndarray:
    """(R,) bool: whether each run's training metrics became non-finite (``on_nonfinite="stop_run"``)."""
    return np.array([any(h.get("diverged", False) for h in result.run_history(r)) for r in range(result.num_runs)])


def fit_summary(result, metrics: Sequence[str], runs: Sequence[int] | None = None) -> dict:
    """The runs ``runs`` (default: all) of ``result``: seeds, curves and final values of ``metrics``,
    best/stopped epochs, divergence, and the program's seconds (all its runs together)."""
    idx = np.arange(result.num_runs) if runs is None else np.asarray(list(runs), int)
    return {"seeds": [int(result.run_info[r]["seed"]) for r in idx],
            "curves": {m: result.curve(m)[idx].tolist() for m in metrics},
            "final": {m: result.final(m)[idx].tolist() for m in metrics},
            "best_epoch": result.best_epoch[idx].tolist(), "stopped_epoch": result.stopped_epoch[idx].tolist(),
            "diverged": diverged(result)[idx].tolist(),
            "train_seconds": float(result.train_seconds), "compile_seconds": float(result.compile_seconds)}
