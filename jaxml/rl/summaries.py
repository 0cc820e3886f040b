"""Turning RL run outputs into report rows and plot inputs (numpy in, plain Python out)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from jaxml.report import MeanStd, mean_std, mean_std_array


def greedy_rows(returns_SxE, seeds: Sequence[int], solved_at: float | None = None) -> list[dict]:
    """One row per seed: mean ± std, min and max over its E evaluation episodes."""
    r = np.asarray(returns_SxE, np.float64)
    rows = []
    for seed, ret in zip(seeds, r):
        row = {"seed": int(seed), "episodes": int(ret.size),
               "greedy return": MeanStd(float(ret.mean()), float(ret.std()), ret.size),
               "min": float(ret.min()), "max": float(ret.max())}
        if solved_at is not None:
            row[f"solved (mean >= {solved_at:g})"] = "yes" if ret.mean() >= solved_at else "no"
        rows.append(row)
    return rows


def greedy_overall(returns_SxE) -> dict:
    """``over_seeds``: mean ± sample std of the per-seed means; ``over_episodes``: of all episodes pooled."""
    r = np.asarray(returns_SxE, np.float64)
    return {"over_seeds": mean_std(r.mean(axis=1)), "over_episodes": mean_std(r.reshape(-1)),
            "per_seed_mean": r.mean(axis=1).tolist()}


def band(label: str, x, runs_RxW, curves: dict, bands: dict) -> None:
    """Add ``label``: the mean over runs as a curve and mean ± std as a band (NaNs ignored)."""
    runs = np.asarray(runs_RxW, np.float64)
    if runs.shape[0] == 1:
        m, s = runs[0], np.zeros_like(runs[0])
    else:
        m, s = mean_std_array(runs)
        if np.isnan(m).any():  # windows before a run's first finished episode
            m, s = np.nanmean(runs, axis=0), np.nanstd(runs, axis=0, ddof=1)
    curves[label] = (np.asarray(x), m)
    bands[label] = (np.asarray(x), m - s, m + s)
