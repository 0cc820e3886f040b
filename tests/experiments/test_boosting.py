"""Smoke test of the boosting study's tiny preset (scikit-learn's bundled breast_cancer)."""
import numpy as np
import pytest

from experiments import boosting as study
from jaxml.study.config import ConfigError


def test_tiny_preset_end_to_end(run_tiny):
    summary, workdir = run_tiny(study)
    cfg = study.get_config("tiny")
    methods = summary["breast_cancer"]["methods"]
    assert set(methods) == {"jaxml AdaBoost SAMME, stumps (error)", "sklearn AdaBoostClassifier, stumps",
                            "sklearn GradientBoosting, depth 1"}
    for r in methods.values():
        grid = np.asarray(r["test_grid"])
        assert grid.shape == (len(cfg.n_estimators), len(cfg.learning_rates))
        assert 0.6 < grid.min() and grid.max() <= 1.0
    ours = np.asarray(methods["jaxml AdaBoost SAMME, stumps (error)"]["test_grid"])
    ref = np.asarray(methods["sklearn AdaBoostClassifier, stumps"]["test_grid"])
    assert np.abs(ours - ref).max() <= 0.05  # tiny data: a looser band than the unit test's 2 points
    for name in ("results.md", "summary.json", "breast_cancer_jaxml_adaboost_error.png",
                 "breast_cancer_sklearn_adaboost.png", "breast_cancer_error_vs_rounds.png"):
        assert (workdir / name).stat().st_size > 0, name


def test_invalid_config_values_are_named(run_tiny):
    with pytest.raises(ConfigError, match="criteria"):
        run_tiny(study, "--config.criteria=(entropy,)")
    with pytest.raises(ConfigError, match="learning_rates"):
        run_tiny(study, "--config.learning_rates=(0.0,)")
