"""Tabular study: tiny preset end to end on the penguins table, a user's own CSV, config errors."""
from __future__ import annotations

import numpy as np
import pytest

from experiments import tabular_layers as study
from jaxml.study.config import ConfigError


def test_tiny_preset_end_to_end(run_tiny):
    pytest.importorskip("palmerpenguins")
    summary, workdir = run_tiny(study)
    layers = summary["layers"]
    # The majority baseline predicts Adelie (the largest class): balanced accuracy exactly 1/3.
    assert layers["majority"]["test"]["balanced"] == pytest.approx(1 / 3)
    one = layers["1 layer (softmax regression)"]
    assert np.asarray(one["weights_mean"]).shape == (15, 3)          # 15 encoded inputs x 3 classes
    assert set(one["first_layer_norm"]) == {"island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                                            "body_mass_g", "sex", "year"}
    imb = summary["imbalance"]
    assert imb["minority"] == "Chinstrap" and imb["train_counts"][1] == 6
    w = np.asarray(imb["class_weights"])
    n = np.asarray(imb["train_counts"])
    np.testing.assert_allclose(w, n.sum() / (3 * n), rtol=1e-6)
    assert len([k for k in imb if " / " in k]) == 4
    for name in ("results.md", "summary.json", "layers/val_accuracy.png", "layers/softmax_weights.png",
                 "layers/first_layer_norms.png", "layers/metrics_1layer.jsonl"):
        assert (workdir / name).stat().st_size > 0, name


def test_own_csv_and_errors(run_tiny, tmp_path):
    rng = np.random.default_rng(0)
    lines = ["a,b,colour,label"]
    for i in range(60):
        a = rng.normal()
        lines.append(f"{'' if i % 7 == 0 else round(a, 3)},{rng.normal():.3f},{rng.choice(['x', 'y'])},"
                     f"{'pos' if a > 0 else 'neg'}")
    path = tmp_path / "mine.csv"
    path.write_text("\n".join(lines) + "\n")
    c = study.get_config("tiny")
    c.dataset, c.csv_path, c.label = "csv", str(path), "label"
    ds = study.load_data(c)
    assert ds["class_names"] == ("neg", "pos")
    assert ds["encoder"].feature_names == ("a", "a_missing", "b", "colour=x", "colour=y")
    assert sum(len(p) for p in ds["parts"].values()) == 60
    with pytest.raises(ConfigError, match="csv_path"):
        run_tiny(study, "--config.dataset=csv")
    with pytest.raises(ConfigError, match="fractions"):
        run_tiny(study, "--config.fractions=(0.7,0.4)")
    with pytest.raises(ConfigError, match="label.*'nope'"):
        run_tiny(study, "--config.dataset=csv", f"--config.csv_path={path}", "--config.label=nope")
    with pytest.raises(ConfigError, match="csv_path"):
        run_tiny(study, "--config.dataset=csv", f"--config.csv_path={tmp_path / 'absent.csv'}", "--config.label=y")
    with pytest.raises(ConfigError, match="minority"):
        run_tiny(study, "--config.dataset=csv", f"--config.csv_path={path}", "--config.label=label",
                 "--config.minority=Neg")
