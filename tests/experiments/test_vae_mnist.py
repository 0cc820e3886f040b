"""Smoke test of the VAE study's tiny preset, end to end, on fake IDX files, including restoring
a finished run from its per-latent-size checkpoints."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from experiments import vae_mnist as study
from jaxml.report import read_metrics
from jaxml.study.config import ConfigError
from jaxml.trained import evaluate_checkpoint, sample_images


def test_tiny_preset_end_to_end_and_resume(run_tiny, fake_data_dir, study_command, tmp_path):
    # The classifier cache beside the session's fake data: the GAN smoke test reuses it.
    cache = f"--config.classifier_cache={fake_data_dir / 'classifier_cache'}"
    summary, workdir = run_tiny(study, cache)
    cfg = study.get_config("tiny")
    run = summary["latent"]["2"]
    curves = {k: np.asarray(v) for k, v in run["curves"].items()}
    assert curves["test_loss"].shape == (len(cfg.seeds), cfg.epochs)
    assert np.isfinite(curves["test_loss"]).all() and (curves["test_kl"] >= 0).all()
    np.testing.assert_allclose(curves["test_loss"], curves["test_bce"] + curves["test_kl"], rtol=1e-5)
    assert curves["train_loss"][0, -1] < curves["train_loss"][0, 0]          # the ELBO improves
    q = run["quality"][0]
    assert q["frechet"] > 0 and abs(sum(q["histogram"]) - 1) < 1e-9 and q["n"] == cfg.quality_samples
    assert summary["classifier"]["epochs"] == cfg.classifier_epochs
    assert summary["classifier"]["split_half"]["frechet"] >= 0
    assert run["resumed_from"] is None and run["compile_seconds"] > 0
    for name in ("config.json", "machine.json", "results.md", "summary.json", "z2/metrics.jsonl", "loss_curves.png",
                 "reconstructions_z2.png", "samples_z2.png", "latent_grid_z2.png", "latent_scatter_z2.png"):
        assert (workdir / name).stat().st_size > 0, name
    assert (workdir / "z2" / "checkpoints" / str(cfg.epochs)).is_dir()
    text = (workdir / "results.md").read_text()
    for heading in ("## Test loss", "## Sample quality", "## Figures"):
        assert heading in text
    records = read_metrics(workdir / "z2" / "metrics.jsonl")     # the driver's log: one record per seed per epoch
    assert len(records) == cfg.epochs * len(cfg.seeds)
    assert {(r["latent_dim"], r["seed"]) for r in records} == {(2, s) for s in cfg.seeds}
    np.testing.assert_allclose([r["test_loss"] for r in records], curves["test_loss"].T.ravel())
    assert json.loads((workdir / "config.json").read_text())["preset"] == "tiny"
    # Rerun with the same work directory: restored from the checkpoints (nothing retrained, nothing
    # compiled), same curves, same samples (same quality), the log not duplicated.
    again, _ = run_tiny(study, cache)
    rerun = again["latent"]["2"]
    # Timings are cumulative over invocations: the restored run reports the first one's compile time.
    assert rerun["resumed_from"] == cfg.epochs and rerun["compile_seconds"] == run["compile_seconds"]
    assert rerun["curves"] == run["curves"] and rerun["quality"] == run["quality"]
    assert len(read_metrics(workdir / "z2" / "metrics.jsonl")) == cfg.epochs * len(cfg.seeds)
    # python -m jaxml.trained.sample_images with the study's sample seed: seed 0's decoded N(0, I) samples,
    # the very grid the study drew (samples_z2.png: 100 samples, 10 rows).
    out = tmp_path / "grid.png"
    code, _, err = study_command(sample_images, f"--workdir={workdir}", f"--out={out}", "--num=100",
                                 f"--seed={cfg.sample_seed}")
    assert code == 0, err
    mine, theirs = (np.asarray(Image.open(p), float) for p in (out, workdir / "samples_z2.png"))
    assert mine.shape == theirs.shape == ((10 * 28 + 9) * 2,) * 2 and np.abs(mine - theirs).max() <= 1
    code, _, err = study_command(sample_images, f"--workdir={workdir}", f"--out={out}", "--num=100", "--seed=1")
    assert not np.array_equal(np.asarray(Image.open(out), float), theirs)
    code, _, err = study_command(evaluate_checkpoint, f"--workdir={workdir}")
    assert code == 1 and err.splitlines()[-1] == ("evaluate_checkpoint: error: part 'z2' of " + str(workdir)
                                                  + " holds a vae (vae); this command needs a classifier")


def test_invalid_config_values_are_named(tmp_path):
    run = lambda *args: study.run_experiment(  # noqa: E731
        study.NAME, study.get_config, study.PRESETS, study.main, ["--config=tiny", f"--workdir={tmp_path}", *args])
    with pytest.raises(ConfigError, match="binarize"):
        run("--config.binarize=maybe")
    with pytest.raises(ConfigError, match="latent_dims"):
        run("--config.latent_dims=(2,0)")
    with pytest.raises(ConfigError, match="batch_size"):
        run("--config.batch_size=100000")
