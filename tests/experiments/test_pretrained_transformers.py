"""Smoke test of the pretrained-transformers study: the tiny preset on a small text (train a BERT and
a GPT-2, export them, run the homework prompts), then the same script on its own exported folders
(--config.model_dir), which must give the same pipeline outputs."""
from __future__ import annotations

import pytest

from experiments import pretrained_transformers as study
from jaxml.study.config import ConfigError

TEXT = ("It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in "
        "want of a wife.\nOnce upon a time, I got a letter in my class. She was happy and good.\n") * 40


@pytest.fixture()
def data_dir(tmp_path):
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "austen.txt").write_text(TEXT)
    return tmp_path


def test_tiny_preset_then_its_exported_folders(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("JAXML_DATA_DIR", str(data_dir))
    workdir = tmp_path / "run"
    summary = study.run_experiment(study.NAME, study.get_config, study.PRESETS, study.main,
                                   ["--config=tiny", f"--workdir={workdir}"])
    bert, gpt2 = summary["bert"], summary["gpt2"]
    for r in (bert, gpt2):
        assert r["history"][-1]["val_loss"] < r["history"][0]["val_loss"]
    fills = bert["fill_mask"]
    assert len(fills) == 5 and [f["score"] for f in fills] == sorted((f["score"] for f in fills), reverse=True)
    assert all(f["sequence"].startswith("i got a") for f in fills)
    gen = gpt2["generate_text"]
    assert gen["greedy"].startswith("Once upon a time,") and len(gen["sampled"]) == 2
    for name in ("results.md", "summary.json", "bert/hf_model/model.safetensors", "gpt2/hf_model/tokenizer.json"):
        assert (workdir / name).stat().st_size > 0, name
    for part, key in (("bert", "fill_mask"), ("gpt2", "generate_text")):
        again = study.run_experiment(study.NAME, study.get_config, study.PRESETS, study.main,
                                     ["--config=tiny", f"--config.model_dir={workdir / part / 'hf_model'}",
                                      f"--workdir={tmp_path / ('again_' + part)}"])["pipeline"]
        if key == "fill_mask":
            assert [f["token"] for f in again[key]] == [f["token"] for f in fills]
            assert all(abs(a["score"] - b["score"]) < 1e-6 for a, b in zip(again[key], fills))
        else:
            assert again[key]["greedy"] == gen["greedy"]
    with pytest.raises(ConfigError, match="model_dir"):
        study.validate(_with(study.get_config("tiny"), model_dir=str(tmp_path)))


def _with(c, **kw):
    c = c.copy_and_resolve_references()
    for k, v in kw.items():
        c[k] = v
    return c
