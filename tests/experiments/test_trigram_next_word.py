"""Smoke test of the trigram next-word study's tiny preset on a small word corpus."""
from __future__ import annotations

import numpy as np
import pytest

from experiments import trigram_next_word as study
from jaxml.report import read_metrics
from jaxml.study.config import ConfigError


@pytest.fixture()
def data_dir(tmp_path):
    rng = np.random.default_rng(0)
    # A Markov chain over 12 words: the next word is a fixed function of the current one with
    # probability 0.8, so the fourth word is predictable from the third.
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()  # letters only
    seq, cur = [], 0
    for _ in range(3000):
        seq.append(words[cur])
        cur = (cur * 5 + 1) % 12 if rng.random() < 0.8 else int(rng.integers(12))
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "austen.txt").write_text(" ".join(seq))
    return tmp_path


def test_tiny_preset_end_to_end(data_dir, run_tiny):
    summary, workdir = run_tiny(study, data_dir=data_dir)
    cfg = study.get_config("tiny")
    n = 3000 - 3  # every window is in the 12-word vocabulary (vocab_size 20 keeps all 12)
    n_train, n_val = int(0.8 * n), int(0.1 * n)
    assert summary["sizes"] == {"train": n_train, "validation": n_val, "test": n - n_train - n_val}
    assert len(summary["examples"]["vocab"]) == 12
    assert cfg.combines == ("concat", "sum") and len(cfg.seeds) == 3
    assert [k for k in summary if k.startswith("D")] == [
        study.part_name(d, p, cb) for d, p in cfg.sizes for cb in cfg.combines]
    for (d, p), cb in ((s, cb) for s in cfg.sizes for cb in cfg.combines):
        r = summary[study.part_name(d, p, cb)]
        # V*D + (3D or D)*P + P + P*V + V with V = 12 words.
        assert r["combine"] == cb
        assert r["parameters"] == 12 * d + (3 if cb == "concat" else 1) * d * p + p + p * 12 + 12
        assert len(r["test_accuracy"]) == len(cfg.seeds) and r["seeds"] == list(cfg.seeds)
        assert np.all(np.isfinite(r["test_loss"])) and all(0 <= a <= 1 for a in r["test_accuracy"])
        assert all(1 <= e <= cfg.max_epochs for e in r["stopped_epoch"])
        # The reported validation loss is the best epoch's (early stopping keeps the best weights).
        best = [r["curves"]["val_loss"][i][e - 1] for i, e in enumerate(r["best_epoch"])]
        assert r["val_loss"] == best
    # The sum-vs-concat table: one row per size, mean ± std over the 3 seeds, paired difference.
    [row] = summary["comparison"]["sum_vs_concat"]
    cat, sm = summary[study.part_name(*cfg.sizes[0], "concat")], summary[study.part_name(*cfg.sizes[0], "sum")]
    assert row["test accuracy concat"] == study._stat(cat["test_accuracy"]) and "±" in row["test accuracy concat"]
    assert row["test accuracy sum"] == study._stat(sm["test_accuracy"])
    diff = np.asarray(sm["test_accuracy"]) - np.asarray(cat["test_accuracy"])
    assert row["accuracy sum - concat"] == f"{diff.mean():.4f} ± {diff.std(ddof=1):.4f} (n=3)"
    assert "Sum vs concatenation" in (workdir / "results.md").read_text()
    ex = summary["examples"]["examples"]
    assert len(ex) == cfg.n_examples and all(len(e["top"]) == cfg.top_k for e in ex)
    probs = [p for _, p in ex[0]["top"]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    for name in ("results.md", "summary.json", "comparison/accuracy.png", "comparison/loss.png"):
        assert (workdir / name).stat().st_size > 0, name
    records = read_metrics(workdir / f"D{cfg.sizes[0][0]}_P{cfg.sizes[0][1]}" / "metrics.jsonl")
    assert {r["seed"] for r in records} == set(cfg.seeds) and "val_loss" in records[0]


def test_invalid_config_is_named(data_dir, run_tiny):
    with pytest.raises(ConfigError, match="corpus"):
        run_tiny(study, "--config.corpus=bible", data_dir=data_dir)
    with pytest.raises(ConfigError, match="fractions"):
        run_tiny(study, "--config.fractions=(0.5,0.5,0.5)", data_dir=data_dir)
    with pytest.raises(ConfigError, match="combines"):
        run_tiny(study, "--config.combines=('concat','mean')", data_dir=data_dir)
