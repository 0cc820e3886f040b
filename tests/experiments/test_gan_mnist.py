"""Smoke test of the GAN study's tiny preset (DCGAN: batch norm and convolutions), end to end on
fake IDX files, including restoring a finished run from the work directory's checkpoint."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from experiments import gan_mnist as study
from jaxml.report import read_metrics
from jaxml.study.config import ConfigError
from jaxml.trained import sample_images


def test_tiny_dcgan_end_to_end_and_resume(run_tiny, fake_data_dir, study_command, tmp_path):
    args = ["--config.model=dcgan", f"--config.classifier_cache={fake_data_dir / 'classifier_cache'}"]
    summary, workdir = run_tiny(study, *args)
    cfg = study.get_config("tiny")
    assert summary["resumed_from"] is None
    history = summary["history"]
    assert [h["epoch"] for h in history] == list(range(1, cfg.epochs + 1))
    for h in history:
        assert np.isfinite([h["d_loss"], h["g_loss"], h["frechet"]]).all()
        assert h["loss"] == pytest.approx(h["d_loss"] + h["g_loss"])
        assert 0 <= h["d_real"] <= 1 and 0 <= h["d_fake"] <= 1
        assert abs(sum(h["histogram"]) - 1) < 1e-9
    assert summary["n_params"]["generator"] > 0 and summary["model"] == "dcgan"
    assert summary["final_frechet"] == pytest.approx(history[-1]["frechet"], rel=1e-6)
    records = read_metrics(workdir / "metrics.jsonl")         # the quality measure is in the driver's log
    assert [(r["epoch"], r["frechet"]) for r in records] == [(h["epoch"], h["frechet"]) for h in history]
    # Rerun with the same work directory: the finished run is restored from its checkpoint
    # (nothing retrained, nothing measured again); same history, same generator.
    again, _ = run_tiny(study, *args)
    assert again["resumed_from"] == cfg.epochs
    assert again["history"] == history
    assert again["compile_seconds"] == summary["compile_seconds"]   # cumulative: nothing compiled again
    assert again["final_frechet"] == pytest.approx(summary["final_frechet"], rel=1e-6)
    for name in ("results.md", "summary.json", "losses.png", "frechet.png", "interpolation.png",
                 "class_histogram.png", "samples_epoch001.png", "samples_epoch002.png"):
        assert (workdir / name).stat().st_size > 0, name
    records = read_metrics(workdir / "metrics.jsonl")
    assert [r["epoch"] for r in records] == [1, 2]           # the log was not duplicated by the rerun
    assert [r["train_d_loss"] for r in records] == [h["d_loss"] for h in history]
    text = (workdir / "results.md").read_text()
    assert "## Sample quality" in text and f"resumed after epoch {cfg.epochs}" in text
    # python -m jaxml.trained.sample_images with the study's sample seed: the DCGAN generator of the last
    # checkpoint (batch norm in eval mode) draws the study's last sample grid (100 samples, 10 rows).
    grids = {seed: tmp_path / f"seed{seed}.png" for seed in (cfg.sample_seed, 0)}
    for seed, out in grids.items():
        code, _, err = study_command(sample_images, f"--workdir={workdir}", f"--out={out}", "--num=100",
                                     f"--seed={seed}")
        assert code == 0, err
    mine, other, theirs = (np.asarray(Image.open(p), float) for p in (*grids.values(),
                                                                      workdir / f"samples_epoch{cfg.epochs:03d}.png"))
    assert mine.shape == theirs.shape == ((10 * 28 + 9) * 2,) * 2 and np.abs(mine - theirs).max() <= 1
    assert np.abs(other - theirs).max() > 1


def test_invalid_config_values_are_named(tmp_path):
    run = lambda *args: study.run_experiment(  # noqa: E731
        study.NAME, study.get_config, study.PRESETS, study.main, ["--config=tiny", f"--workdir={tmp_path}", *args])
    with pytest.raises(ConfigError, match="model"):
        run("--config.model=wgan")
    with pytest.raises(ConfigError, match="b1"):
        run("--config.b1=1.0")
