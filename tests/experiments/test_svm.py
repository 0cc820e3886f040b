"""Smoke test of the SVM study's tiny preset (scikit-learn's bundled breast_cancer)."""
import pytest

from experiments import svm as study
from jaxml.study.config import ConfigError


def test_tiny_preset_end_to_end(run_tiny):
    summary, workdir = run_tiny(study)
    cfg = study.get_config("tiny")
    res = summary["breast_cancer"]
    assert len(res["rbf"]) == len(cfg.Cs) * len(cfg.gammas) and len(res["linear"]) == len(cfg.Cs)
    for row in res["rbf"] + res["linear"]:
        assert row["all converged"]
        assert row["agreement with SVC"] >= 0.99
        assert row["dual rel. diff"] <= 1e-3
        assert row["test hinge"] >= 0 and 0.5 < row["test acc"] <= 1
    for row in res["precomputed"]:
        assert row["prediction agreement"] == 1.0 and row["max |Δ decision|"] < 1e-3
    for name in ("results.md", "summary.json", "breast_cancer_rbf_test_accuracy.png",
                 "breast_cancer_rbf_test_hinge.png", "breast_cancer_linear.png"):
        assert (workdir / name).stat().st_size > 0, name


def test_invalid_config_values_are_named(run_tiny):
    with pytest.raises(ConfigError, match="gammas"):
        run_tiny(study, "--config.gammas=(0.0,)")
    with pytest.raises(ConfigError, match="datasets"):
        run_tiny(study, "--config.datasets=(iris,)")
