"""Smoke test of the out-of-distribution (shift/rotation) study's tiny preset on fake IDX files."""
from __future__ import annotations

import json

import numpy as np
import pytest

from experiments import ood_shift as study
from jaxml.report import read_metrics
from jaxml.study.config import ConfigError
from jaxml.trained import evaluate_checkpoint


def test_tiny_preset_end_to_end(run_tiny, study_command):
    summary, workdir = run_tiny(study)
    cfg = study.get_config("tiny")
    assert list(summary) == [*cfg.models, "comparison"]
    test_sets = summary["comparison"]["test_sets"]
    assert test_sets == ["original", "shifted up 4 px", "rotated 90°", "rotated 180°", "rotated 270°"]
    for name, expected in (("mlp", 101_770), ("cnn2", 80_650), ("cnn3", 68_106)):
        r = summary[name]
        assert r["n_params"] == expected and r["seeds"] == list(cfg.seeds)
        for label in test_sets:
            acc = np.asarray(r["accuracy"][label])
            assert acc.shape == (len(cfg.seeds),) and np.all((0 <= acc) & (acc <= 1))
            # Accuracies are fractions of the n_test test images.
            np.testing.assert_allclose(acc * cfg.n_test, np.round(acc * cfg.n_test), atol=1e-6)
        assert all(1 <= b <= s <= cfg.max_epochs for b, s in zip(r["best_epoch"], r["stopped_epoch"]))
        records = read_metrics(workdir / name / "metrics.jsonl")
        assert len(records) == sum(r["stopped_epoch"])
        assert {rec["seed"] for rec in records} == set(cfg.seeds)
        # The best validation accuracy is the one logged at each seed's best epoch.
        best = {rec["seed"]: rec["val_accuracy"] for rec in records
                for s, b in zip(r["seeds"], r["best_epoch"]) if rec["seed"] == s and rec["epoch"] == b}
        np.testing.assert_allclose(r["best_val_accuracy"], [best[s] for s in cfg.seeds])
    # The fake classes are lit blocks: a CNN trained on them beats chance (0.1) on the original images.
    assert np.mean(summary["cnn2"]["accuracy"]["original"]) > 0.3
    for name in ("results.md", "summary.json", "comparison/ood_accuracy.png", "comparison/ood_examples.png",
                 "config.json"):
        assert (workdir / name).stat().st_size > 0, name
    text = (workdir / "results.md").read_text()
    assert "CNN-3" in text and "shifted up 4 px" in text and "± " in text
    # python -m jaxml.trained.evaluate_checkpoint with --shift / --rotate: the study's numbers (each
    # seed's best-validation weights) for the shifted and rotated test sets.
    for name, run in (("cnn3", 1), ("mlp", 0)):
        for flag, label in (("--shift=4", "shifted up 4 px"), ("--rotate=90", "rotated 90°"),
                            ("--rotate=270", "rotated 270°"), ("--rotate=0", "original")):
            code, out, err = study_command(evaluate_checkpoint, f"--workdir={workdir}", f"--part={name}",
                                           f"--run={run}", flag, "--json")
            assert code == 0, err
            r = json.loads(out.splitlines()[-1])
            assert r["weights"] == "best" and r["examples"] == cfg.n_test
            assert r["accuracy"] == pytest.approx(summary[name]["accuracy"][label][run], abs=1e-6), (name, flag)
    code, _, err = study_command(evaluate_checkpoint, f"--workdir={workdir}", "--shift=4", "--rotate=90")
    assert code == 1 and err.splitlines()[-1] == "evaluate_checkpoint: error: give --shift or --rotate, not both"


def test_test_sets_match_numpy():
    x = np.random.default_rng(0).random((3, 28, 28, 1)).astype(np.float32)
    sets = study.ood_test_sets(x, 4)
    shifted = np.zeros_like(x)
    shifted[:, :24] = x[:, 4:]  # content moves up; the bottom 4 rows are zero
    np.testing.assert_array_equal(sets["shifted up 4 px"], shifted)
    for k, label in ((1, "rotated 90°"), (2, "rotated 180°"), (3, "rotated 270°")):
        np.testing.assert_array_equal(sets[label], np.stack([np.rot90(img, k) for img in x]))
    np.testing.assert_array_equal(sets["original"], x)


def test_invalid_config_values_are_named(run_tiny):
    with pytest.raises(ConfigError, match="models"):
        run_tiny(study, "--config.models=(mlp,resnet)")
    with pytest.raises(ConfigError, match="dataset"):
        run_tiny(study, "--config.dataset=imdb")
    with pytest.raises(ConfigError, match="shift"):
        run_tiny(study, "--config.shift=30")
