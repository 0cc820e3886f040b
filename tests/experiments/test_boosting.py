"""Smoke test of the boosting study's tiny preset (scikit-learn's bundled breast_cancer)."""
import numpy as np
import pytest

from experiments import boosting as study
from jaxml.study.config import ConfigError

# The tiny preset compares XGBoost; the 'dev' and 'classic' extras install it.
NO_XGBOOST = "xgboost is not installed: pip install -e '.[classic]' (the 'dev' extra has it)"


def test_tiny_preset_end_to_end(run_tiny):
    pytest.importorskip("xgboost", reason=NO_XGBOOST)
    summary, workdir = run_tiny(study)
    cfg = study.get_config("tiny")
    methods = summary["breast_cancer"]["methods"]
    assert set(methods) == {"jaxml AdaBoost SAMME, stumps (error)", "sklearn AdaBoostClassifier, stumps",
                            "sklearn GradientBoosting, depth 1", "XGBoost, depth 1"}
    for r in methods.values():
        grid = np.asarray(r["test_grid"])
        assert grid.shape == (len(cfg.n_estimators), len(cfg.learning_rates))
        assert 0.6 < grid.min() and grid.max() <= 1.0
    ours = np.asarray(methods["jaxml AdaBoost SAMME, stumps (error)"]["test_grid"])
    ref = np.asarray(methods["sklearn AdaBoostClassifier, stumps"]["test_grid"])
    assert np.abs(ours - ref).max() <= 0.05  # tiny data: a looser band than the unit test's 2 points
    # XGBoost's staged test accuracy: one fit per learning rate, a curve over every round.
    xgb = methods["XGBoost, depth 1"]
    assert np.asarray(xgb["test_curve"]).shape == (len(cfg.learning_rates), max(cfg.n_estimators))
    assert xgb["seconds"] > 0
    overview = {r["method"]: r for r in summary["breast_cancer"]["overview"]}
    assert overview["XGBoost, depth 1"]["best test acc"] == np.asarray(xgb["test_grid"]).max()
    for name in ("results.md", "summary.json", "breast_cancer_jaxml_adaboost_error.png",
                 "breast_cancer_sklearn_adaboost.png", "breast_cancer_xgboost_depth1.png",
                 "breast_cancer_error_vs_rounds.png"):
        assert (workdir / name).stat().st_size > 0, name
    assert "XGBoost, depth 1" in (workdir / "results.md").read_text()


def test_xgboost_row_matches_a_direct_fit(run_tiny):
    """The study's XGBoost grid equals XGBClassifier fitted here with the same settings."""
    XGBClassifier = pytest.importorskip("xgboost", reason=NO_XGBOOST).XGBClassifier

    from jaxml.classic.datasets import tabular_split
    summary, _ = run_tiny(study, "--config.sklearn_adaboost=False", "--config.gb_max_depths=(1,)")
    cfg = study.get_config("tiny")
    data = tabular_split("breast_cancer", n_train=cfg.n_train, seed=cfg.data_seed)
    (xtr, ytr), (xte, yte) = data["train"], data["test"]
    grid = np.asarray(summary["breast_cancer"]["methods"]["XGBoost, depth 1"]["test_grid"])
    for j, lr in enumerate(cfg.learning_rates):
        for i, n in enumerate(cfg.n_estimators):
            m = XGBClassifier(n_estimators=n, learning_rate=lr, max_depth=1, tree_method="hist", n_jobs=1,
                              random_state=cfg.random_state).fit(xtr, ytr)
            assert grid[i, j] == pytest.approx(np.mean(m.predict(xte) == yte))


def test_invalid_config_values_are_named(run_tiny):
    with pytest.raises(ConfigError, match="criteria"):
        run_tiny(study, "--config.criteria=(entropy,)")
    with pytest.raises(ConfigError, match="learning_rates"):
        run_tiny(study, "--config.learning_rates=(0.0,)")
    with pytest.raises(ConfigError, match="xgb_max_depths"):
        run_tiny(study, "--config.xgb_max_depths=(0,)")
