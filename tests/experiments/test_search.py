"""Random vs grid search study: grid placement, tiny preset end to end, config errors."""
from __future__ import annotations

import numpy as np
import pytest

from experiments import search as study
from jaxml.study.config import ConfigError
from jaxml.train import sample_space


def test_grid_cells_cover_the_box_like_the_random_draws():
    np.testing.assert_allclose(study.cell_centres(1e-4, 1.0, 2, log=True), (1e-3, 1e-1), rtol=1e-12)
    np.testing.assert_allclose(study.cell_centres(0.0, 1.0, 4, log=False), (0.125, 0.375, 0.625, 0.875))


def test_tiny_preset_end_to_end(run_tiny):
    summary, workdir = run_tiny(study)
    c = study.get_config("tiny")
    res = summary["search"]
    budgets = [k * k for k in c.grid_sizes]
    assert res["budgets"] == budgets
    assert res["num_runs"] == c.repeats * (sum(budgets) + max(budgets))
    curve = np.asarray(res["random_curve"])
    assert curve.shape == (c.repeats, max(budgets))
    assert (np.diff(curve, axis=1) >= 0).all()                      # best so far never decreases
    for b in budgets:       # the search of budget b is the first b trials of the longest search
        np.testing.assert_array_equal(res["random"][str(b)]["best_val"], curve[:, b - 1])
        assert len(res["grid"][str(b)]["best_val"]) == c.repeats
    # Repetition r's random trials are sample_space(seed=search_seed + r): check the recorded values.
    space = {"learning_rate": ("log_uniform", *c.lr_range), "momentum": ("uniform", *c.momentum_range)}
    for r in range(c.repeats):
        draws = sample_space(space, max(budgets), seed=c.search_seed + r)
        for name in space:
            np.testing.assert_allclose(res["random_trials"][name][r], draws[name], rtol=1e-12)
    for name in ("results.md", "summary.json", "search/best_val_vs_trials.png", "search/random_trials.png",
                 "search/metrics.jsonl"):
        assert (workdir / name).stat().st_size > 0, name
    assert "Random vs grid search" in (workdir / "results.md").read_text()


def test_bad_config_is_named(run_tiny):
    with pytest.raises(ConfigError, match="lr_range"):
        run_tiny(study, "--config.lr_range=(1.0,0.1)")
    with pytest.raises(ConfigError, match="dataset"):
        run_tiny(study, "--config.dataset=titanic")
    with pytest.raises(ConfigError, match="n_val"):
        run_tiny(study, "--config.n_val=2000")
