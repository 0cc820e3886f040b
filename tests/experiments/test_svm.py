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
    # Kernel width sweep: every (C, σ) point, SVC beside it; at σ = 10^4 the kernel is ~constant and
    # C = 1 leaves a constant decision: the majority class (on the test set: its majority-class accuracy).
    width = {(r["C"], r["σ"]): r for r in res["width"]}
    assert set(width) == {(C, s) for C in cfg.width_Cs for s in cfg.sigmas}
    for row in width.values():
        assert row["all converged"] and row["agreement with SVC"] >= 0.99
    wide = width[(1.0, 10000.0)]
    assert wide["gamma"] == pytest.approx(0.5e-8)
    assert wide["test acc"] == pytest.approx(res["majority_test_accuracy"])
    assert width[(1.0, 2.0)]["test acc"] > res["majority_test_accuracy"] + 0.1
    for name in ("results.md", "summary.json", "breast_cancer_rbf_test_accuracy.png",
                 "breast_cancer_rbf_test_hinge.png", "breast_cancer_linear.png", "breast_cancer_width.png"):
        assert (workdir / name).stat().st_size > 0, name


def test_invalid_config_values_are_named(run_tiny):
    with pytest.raises(ConfigError, match="gammas"):
        run_tiny(study, "--config.gammas=(0.0,)")
    with pytest.raises(ConfigError, match="datasets"):
        run_tiny(study, "--config.datasets=(iris,)")
    with pytest.raises(ConfigError, match="width_Cs"):
        run_tiny(study, "--config.width_Cs=(-1.0,)")
