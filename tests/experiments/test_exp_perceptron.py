"""Smoke test of the perceptron study's tiny preset (scikit-learn's bundled digits; no files needed)."""
import json

import numpy as np
import pytest

from experiments import perceptron as study
from jaxml.study.config import ConfigError


def run(tmp_path, *args):
    return study.run_experiment(study.NAME, study.get_config, study.PRESETS, study.main,
                                ["--config=tiny", f"--workdir={tmp_path}", *args])


def test_tiny_preset_end_to_end(tmp_path):
    summary = run(tmp_path / "run")
    cfg = study.get_config("tiny")
    for learner in study.LEARNERS:
        acc = np.asarray(summary["learners"][learner]["test_accuracy"])
        assert acc.shape == (len(cfg.seeds), cfg.passes) and 0 <= acc.min() and acc.max() <= 1
        assert np.asarray(summary["learners"][learner]["mistakes"]).shape == (len(cfg.seeds), cfg.passes)
    # The linear kernel perceptron is the primal one, prediction for prediction.
    eq = summary["equivalence"]
    assert eq["test predictions equal (all seeds, all passes)"] == 1.0 and eq["mistake counts equal"]
    assert eq["max |Σ α x − w|"] == 0.0
    # Seeds are vmapped restarts with different example orders.
    mistakes = np.asarray(summary["learners"]["primal"]["mistakes"])
    assert not np.array_equal(mistakes[0], mistakes[1])
    # Even 150 digits after 3 passes: far above chance (0.1).
    assert np.asarray(summary["learners"]["kernel_rbf"]["test_accuracy"])[:, -1].min() > 0.6
    for name in ("results.md", "summary.json", "config.json", "accuracy_vs_passes.png", "mistakes_vs_passes.png"):
        assert (tmp_path / "run" / name).stat().st_size > 0, name
    assert "## Linear kernel perceptron = primal perceptron" in (tmp_path / "run" / "results.md").read_text()
    assert json.loads((tmp_path / "run" / "config.json").read_text())["passes"] == cfg.passes


def test_invalid_config_values_are_named(tmp_path):
    with pytest.raises(ConfigError, match="gamma"):
        run(tmp_path, "--config.gamma=-1")
    with pytest.raises(ConfigError, match="report_passes"):
        run(tmp_path, "--config.report_passes=(1,99)")
