"""Smoke test of the Shakespeare GPT study's tiny preset on a small text file."""
from __future__ import annotations

import json

import pytest

from experiments import shakespeare_gpt as study
from jaxml.report import read_metrics
from jaxml.study.config import ConfigError
from jaxml.trained import sample_text

TEXT = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
        "First Citizen:\nYou are all resolved rather to die than to famish?\n\n") * 20


@pytest.fixture()
def data_dir(tmp_path):
    (tmp_path / "shakespeare").mkdir()
    (tmp_path / "shakespeare" / "complete_works.txt").write_text(TEXT)
    return tmp_path


def test_tiny_preset_end_to_end(data_dir, tmp_path, monkeypatch, study_command):
    monkeypatch.setenv("JAXML_DATA_DIR", str(data_dir))
    workdir = tmp_path / "run"
    summary = study.run_experiment(study.NAME, study.get_config, study.PRESETS, study.main,
                                   ["--config=tiny", f"--workdir={workdir}"])
    cfg = study.get_config("tiny")
    main = summary["main"]
    assert [h["iteration"] for h in main["history"]] == list(range(0, cfg.iterations + 1, cfg.eval_interval))
    assert main["history"][-1]["train_loss"] < main["history"][0]["train_loss"]
    assert "running_train_loss" not in main["history"][0] and "running_train_loss" in main["history"][-1]
    # The best-validation parameters: the best of the evaluations after training began.
    assert main["best_val_loss"] == min(h["val_loss"] for h in main["history"][1:])
    assert main["tokens_per_second"] > 0 and main["resumed_from_iteration"] is None
    vocab = set(TEXT)
    for key in ("sample_before", "sample_after"):
        assert len(main[key]) == cfg.sample_chars and set(main[key]) <= vocab
    assert main["generate_compiles"] == 1  # before and after training: one compiled sampler
    assert set(summary) == {"main", "block_size", "num_heads"}
    assert [r["block_size"] for r in summary["block_size"]["runs"]] == list(cfg.sweep_block_sizes)
    assert [r["num_heads"] for r in summary["num_heads"]["runs"]] == list(cfg.sweep_heads)
    assert json.loads((workdir / "summary.json").read_text())["main"]["history"] == main["history"]
    for name in ("results.md", "summary.json", "main/loss.png", "block_size/sweep_block_size.png",
                 "num_heads/sweep_num_heads.png", "main/metrics.jsonl"):
        assert (workdir / name).stat().st_size > 0, name
    assert (workdir / "main" / "checkpoints").is_dir()
    assert len(read_metrics(workdir / "main" / "metrics.jsonl")) == len(main["history"])
    assert "Sample after training" in (workdir / "results.md").read_text()
    # python -m jaxml.trained.sample_text on this work directory: the model and vocabulary from model.json.
    args = (f"--workdir={workdir}", "--prompt=First", "--temperature=0.8", "--top_k=5", "--num_tokens=30")
    code, out, err = study_command(sample_text, *args, "--seed=3")
    assert code == 0, err
    assert out.startswith("First") and len(out) == len("First") + 30 + 1 and set(out[:-1]) <= vocab
    assert study_command(sample_text, *args, "--seed=3")[1] == out            # same seed, same text
    # top_k=1 is greedy: the same text whatever the seed, the one the model's argmax gives.
    greedy = {study_command(sample_text, *args[:3], "--top_k=1", f"--seed={s}")[1] for s in (0, 1)}
    assert len(greedy) == 1
    code, _, err = study_command(sample_text, f"--workdir={workdir}", "--prompt=Zebra")
    unknown = sorted(set("Zebra") - vocab)
    assert code == 1 and err.splitlines()[-1] == (f"sample_text: error: --prompt='Zebra': characters {unknown} are "
                                                  f"not in the model's vocabulary of {len(vocab)}")


def test_invalid_config_is_named(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("JAXML_DATA_DIR", str(data_dir))
    run = lambda *a: study.run_experiment(study.NAME, study.get_config, study.PRESETS, study.main,  # noqa: E731
                                          ["--config=tiny", f"--workdir={tmp_path}", *a])
    with pytest.raises(ConfigError, match="multiple of 'eval_interval'"):
        run("--config.iterations=15")
    with pytest.raises(ConfigError, match="not divisible by num_heads"):
        run("--config.num_heads=3")
    with pytest.raises(ConfigError, match="sweeps"):
        run("--config.sweeps=('depth',)")
    with pytest.raises(ConfigError, match="preset"):
        run("--config=huge")
