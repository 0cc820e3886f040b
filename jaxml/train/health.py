"""Is a run still healthy? The driver's checks after each epoch, as pure host-side functions.

A run is stopped (``fit(on_nonfinite="stop_run")``) or the fit raises (``"raise"``, the default)
when, for that run:

- a training metric of some step is NaN or inf (:class:`~jaxml.train.errors.NonFiniteLossError`);
- a step's mean training loss exceeds ``divergence_factor`` times the run's first step's loss
  (:class:`~jaxml.train.errors.DivergenceError`; only for steps that log ``loss``; ``None`` = off);
- an evaluation metric is NaN or inf (a NaN in an evaluation set, or a model that gives NaN on it):
  :class:`~jaxml.train.errors.NonFiniteLossError` naming the set and the metric.

Each function returns ``(bad_R, reasons)``: a boolean mask over runs and ``{run: (text, step or None)}``.
"""
from __future__ import annotations

import numpy as np

from jaxml.train.errors import NonFiniteLossError

__all__ = ["nonfinite_steps", "diverged_steps", "nonfinite_evals", "first_losses", "step_losses", "Verdict"]


class Verdict:
    """Runs found unhealthy after an epoch: ``bad`` (R,) bool and, per bad run, its earliest finding
    ``reasons[r] = (text, step or None, error class)`` (None: found by the evaluation after the steps)."""

    def __init__(self, R: int):
        self.bad = np.zeros(R, bool)
        self.reasons: dict[int, tuple] = {}

    def add(self, bad_R, reasons: dict, error=NonFiniteLossError) -> None:
        for r, (text, step) in reasons.items():
            order = lambda st: np.inf if st is None else st  # noqa: E731
            if r not in self.reasons or order(step) < order(self.reasons[r][1]):
                self.reasons[r] = (text, step, error)
        self.bad |= np.asarray(bad_R, bool)

    def first(self) -> int:
        return int(np.flatnonzero(self.bad)[0])


def nonfinite_steps(per_step: dict, active_R) -> tuple[np.ndarray, dict]:
    """Active runs with a NaN/inf in any training metric sum of any step (``per_step``: name -> (R, S))."""
    finite_RxS = np.all([np.isfinite(v) for v in per_step.values()], axis=0)
    bad_R = np.asarray(active_R) & ~finite_RxS.all(axis=1)
    reasons = {}
    for r in np.flatnonzero(bad_R):
        step = int(np.flatnonzero(~finite_RxS[r])[0]) + 1
        names = sorted(k for k, v in per_step.items() if not np.isfinite(v[r, step - 1]))
        reasons[int(r)] = (f"non-finite training metric ({', '.join(names)})", step)
    return bad_R, reasons


def step_losses(per_step: dict):
    """(R, S) mean training loss per step, NaN where a step had no real example; None without ``loss``."""
    if "loss_sum" not in per_step:
        return None
    count = per_step["count"]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, per_step["loss_sum"] / np.where(count > 0, count, 1.0), np.nan)


def first_losses(per_step: dict, first_R) -> np.ndarray:
    """The runs' first step losses: ``first_R`` where already known (not NaN), else this epoch's first."""
    losses = step_losses(per_step)
    if losses is None:
        return first_R
    first_R = np.array(first_R, np.float64)
    unknown = np.isnan(first_R)
    first_R[unknown] = losses[unknown, 0]
    return first_R


def diverged_steps(per_step: dict, first_R, factor: float | None, active_R) -> tuple[np.ndarray, dict]:
    """Active runs whose step loss exceeds ``factor`` x their first step's loss (a positive first loss)."""
    losses = step_losses(per_step)
    R = np.shape(active_R)[0]
    if factor is None or losses is None:
        return np.zeros(R, bool), {}
    first_R = np.asarray(first_R, np.float64)
    limit_R = np.where(first_R > 0, factor * first_R, np.inf)[:, None]
    with np.errstate(invalid="ignore"):
        over_RxS = np.isfinite(losses) & (losses > limit_R)
    bad_R = np.asarray(active_R) & over_RxS.any(axis=1)
    reasons = {}
    for r in np.flatnonzero(bad_R):
        step = int(np.flatnonzero(over_RxS[r])[0]) + 1
        reasons[int(r)] = (f"training loss {losses[r, step - 1]:.6g} exceeds divergence_factor={factor:g} x the "
                           f"first step's loss {first_R[r]:.6g} (divergence)", step)
    return bad_R, reasons


def nonfinite_evals(summary: dict, active_R) -> tuple[np.ndarray, dict]:
    """Active runs with a NaN/inf evaluation metric (``summary``: ``<set>_<metric>`` -> (R,))."""
    R = np.shape(active_R)[0]
    bad_R = np.zeros(R, bool)
    reasons = {}
    for name, values in summary.items():
        values = np.asarray(values, np.float64).reshape(R)
        for r in np.flatnonzero(np.asarray(active_R) & ~np.isfinite(values)):
            if not bad_R[r]:
                reasons[int(r)] = (f"non-finite evaluation metric {name} = {values[r]} (evaluation set "
                                   f"{name.rsplit('_', 1)[0]!r})", None)
            bad_R[r] = True
    return bad_R, reasons

