"""Smoke test of the IMDB study's tiny preset on a small aclImdb folder (upstream format) and on
the Austen-vs-Shakespeare stand-in built from small corpora."""
from __future__ import annotations

import numpy as np
import pytest

from experiments import imdb_sentiment as study
from jaxml.study.config import ConfigError

POS = ["great", "loved", "wonderful", "best", "fun"]
NEG = ["awful", "boring", "worst", "bad", "dull"]
FILLER = ["the", "movie", "was", "and", "a", "plot", "acting", "it"]


def write_acl(root, n_per_class=24, seed=0):
    """aclImdb/{train,test}/{pos,neg}/<id>_<stars>.txt with class-specific sentiment words."""
    rng = np.random.default_rng(seed)
    for split in ("train", "test"):
        for label, words in (("pos", POS), ("neg", NEG)):
            folder = root / "imdb" / "aclImdb" / split / label
            folder.mkdir(parents=True)
            for i in range(n_per_class):
                tokens = list(rng.choice(FILLER, 10)) + list(rng.choice(words, 3))
                rng.shuffle(tokens)
                stars = 8 if label == "pos" else 2
                (folder / f"{i}_{stars}.txt").write_text(" ".join(tokens).capitalize() + ".<br /><br />The end.")
    return root


def write_corpora(root):
    (root / "text").mkdir(parents=True)
    (root / "shakespeare").mkdir(parents=True)
    (root / "text" / "austen.txt").write_text(" ".join(["Miss Bennet said that she was very happy."] * 40))
    (root / "shakespeare" / "complete_works.txt").write_text(" ".join(["Thou art a villain, my lord, I swear."] * 40))
    return root


def test_tiny_preset_on_aclimdb(tmp_path, run_tiny):
    """Part (e) runs every code path of a part (stacked LSTMs with both dropouts, the decaying
    schedule, early stopping, test accuracy of final and best weights) and part (f) trains the GRU
    (the RNN vs GRU vs LSTM comparison); (a)-(d) are the same code with other layers (tested in
    tests/models/test_rnn.py; their Keras parameter counts below)."""
    summary, workdir = run_tiny(study, "--config.parts=('e','f')", "--config.patience_e=2",
                                data_dir=write_acl(tmp_path / "data"))
    assert {k for k in summary if k.startswith("part_")} == {"part_e", "part_f"} and "comparison" in summary
    e = summary["part_e"]
    # Keras's parameter count (the vocabulary is num_words=10,000 however few words the files have).
    assert e["parameters"] == study.EXPECTED_PARAMS["e"] == 174_625
    cfg = study.get_config("tiny")
    epochs = e["stopped_epoch"][0]
    assert 1 <= e["best_epoch"][0] <= epochs <= cfg.epochs_e and "test_accuracy_best_weights" in e
    assert summary["sizes"] == {"train": 38, "validation": 10, "test": 48}
    assert 0.0 <= e["test_accuracy"][0] <= 1.0
    loss = np.asarray(e["curves"]["train_loss"][0])     # one column per epoch of the part, NaN once stopped
    assert len(loss) == cfg.epochs_e and np.isfinite(loss[:epochs]).all() and np.isnan(loss[epochs:]).all()
    for name in ("results.md", "summary.json", "comparison/val_accuracy.png", "comparison/val_loss.png",
                 "part_e/metrics.jsonl"):
        assert (workdir / name).stat().st_size > 0, name
    assert "| (e)" in (workdir / "results.md").read_text()
    # The GRU part: Keras's GRU(32) parameter count, all its epochs run, finite losses and accuracies.
    f = summary["part_f"]
    assert f["parameters"] == study.EXPECTED_PARAMS["f"] == 164_833
    assert f["stopped_epoch"] == [cfg.epochs] and np.isfinite(f["curves"]["train_loss"]).all()
    assert np.isfinite(f["test_loss"]).all() and 0.0 <= f["test_accuracy"][0] <= 1.0
    rows = {r["part"]: r for r in summary["comparison"]["rows"]}
    assert rows["(f)"]["model"] == "Embedding -> GRU 32 -> Dense 1" and np.isfinite(rows["(f)"]["test accuracy"])


def test_all_parts_build_keras_sized_models():
    cfg = study.get_config()
    specs = study.part_specs(cfg)
    assert {p: study.keras_param_count(cfg, s, 10_000) for p, s in specs.items()} == study.EXPECTED_PARAMS
    assert [specs[p]["maxlen"] for p in study.PARTS] == [20, 20, 20, 100, 200, 20]
    assert specs["f"]["model"]["body"] == "gru" and specs["f"]["epochs"] == specs["b"]["epochs"] == cfg.epochs
    assert specs["e"]["batch_size"] == 256 and specs["e"]["early_stopping"].patience == 5


def test_stand_in_dataset_and_bad_config(tmp_path, monkeypatch, run_tiny):
    data_dir = write_corpora(tmp_path / "data")
    monkeypatch.setenv("JAXML_DATA_DIR", str(data_dir))
    cfg = study.get_config("tiny")
    cfg.dataset = "austen_vs_shakespeare"
    splits, vocab_size = study.load_splits(cfg)
    # 320 words per corpus, 30-word passages: 10 per class, 5 train + 5 test each; 20% validation.
    assert {k: len(v[1]) for k, v in splits.items()} == {"train": 8, "validation": 2, "test": 10}
    labels = np.concatenate([splits["train"][1], splits["validation"][1]])
    assert vocab_size == 10_000 and sorted(labels) == [0] * 5 + [1] * 5
    with pytest.raises(ConfigError, match="dataset"):
        run_tiny(study, "--config.dataset=yelp", data_dir=data_dir)
    with pytest.raises(ConfigError, match="parts"):
        run_tiny(study, "--config.parts=('a','g')", data_dir=data_dir)
    with pytest.raises(ConfigError, match="recurrent_dropout"):
        run_tiny(study, "--config.recurrent_dropout=1.0", data_dir=data_dir)


def test_runs_on_imdb_by_default_and_offline_says_how_to_download(tmp_path, run_tiny, monkeypatch):
    """Every preset reads IMDB (the stand-in is --config.dataset=austen_vs_shakespeare); offline on a
    fresh machine the study stops with the not-found message naming the download command."""
    from jaxml import data as jdata

    assert {study.get_config(p).dataset for p in study.PRESETS} == {"imdb"}
    monkeypatch.setenv("JAXML_OFFLINE", "1")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "no-tfds"))
    with pytest.raises(jdata.DatasetNotFoundError, match="python -m jaxml.data download imdb"):
        run_tiny(study, data_dir=tmp_path / "empty")
