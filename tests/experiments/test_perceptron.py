"""Smoke test of the perceptron study's tiny preset (scikit-learn's bundled digits; no files needed)."""
import json

import numpy as np
import pytest

from experiments import perceptron as study
from jaxml.study.config import ConfigError


def test_tiny_preset_end_to_end(run_tiny):
    summary, workdir = run_tiny(study)
    cfg = study.get_config("tiny")
    assert list(summary) == ["accuracy", "equivalence"]  # the parts
    learners = summary["accuracy"]["learners"]
    for learner in study.LEARNERS:
        acc = np.asarray(learners[learner]["test_accuracy"])
        assert acc.shape == (len(cfg.seeds), cfg.passes) and 0 <= acc.min() and acc.max() <= 1
        assert np.asarray(learners[learner]["mistakes"]).shape == (len(cfg.seeds), cfg.passes)
    assert len(summary["accuracy"]["sklearn_perceptron_test_accuracy"]) == len(cfg.report_passes)
    # The linear kernel perceptron is the primal one, prediction for prediction.
    eq = summary["equivalence"]
    assert eq["test predictions equal (all seeds, all passes)"] == 1.0 and eq["mistake counts equal"]
    assert eq["max |Σ α x − w|"] == 0.0
    # Seeds are vmapped restarts with different example orders.
    mistakes = np.asarray(learners["primal"]["mistakes"])
    assert not np.array_equal(mistakes[0], mistakes[1])
    # Even 150 digits after 3 passes: far above chance (0.1).
    assert np.asarray(learners["kernel_rbf"]["test_accuracy"])[:, -1].min() > 0.6
    for name in ("results.md", "summary.json", "config.json", "accuracy_vs_passes.png", "mistakes_vs_passes.png"):
        assert (workdir / name).stat().st_size > 0, name
    assert "## Linear kernel perceptron = primal perceptron" in (workdir / "results.md").read_text()
    assert json.loads((workdir / "config.json").read_text())["passes"] == cfg.passes


def test_invalid_config_values_are_named(run_tiny):
    with pytest.raises(ConfigError, match="gamma"):
        run_tiny(study, "--config.gamma=-1")
    with pytest.raises(ConfigError, match="report_passes"):
        run_tiny(study, "--config.report_passes=(1,99)")
