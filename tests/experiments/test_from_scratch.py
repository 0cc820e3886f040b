"""Smoke test of the from-scratch study: its printed quantities are the ones numpy computes."""
from __future__ import annotations

import json

import numpy as np
import pytest

from experiments import from_scratch as study
from jaxml.study.config import ConfigError


def test_tiny_preset_numbers_agree_with_numpy(run_tiny):
    summary, workdir = run_tiny(study)
    emb, att, rnn = summary["embeddings"], summary["attention"], summary["rnn"]
    assert emb["tokens"] == study.SENTENCE.split() and len(emb["vocab"]) == 8
    x = np.asarray(emb["X"])
    q, k, v = (np.asarray(att[n]) for n in ("Q", "K", "V"))
    assert x.shape == (9, 3)
    np.testing.assert_array_equal(x[0], x[6])  # both "the" share one embedding
    s = q @ k.T / np.sqrt(3)
    a = np.exp(s - s.max(1, keepdims=True))
    a /= a.sum(1, keepdims=True)
    np.testing.assert_allclose(att["A"], a, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(att["Z"], a @ v, rtol=1e-4, atol=1e-5)
    # The RNN's final hidden state is the one at "dog", and ŷ_t is the softmax of o_t.
    h, o, y = (np.asarray(rnn[n]) for n in ("h", "o", "y_hat"))
    assert h.shape == (9, 3) and o.shape == (9, 8)
    np.testing.assert_allclose(rnn["last_hidden"], h[-1])
    np.testing.assert_allclose(y, np.exp(o) / np.exp(o).sum(1, keepdims=True), rtol=1e-5)
    text = (workdir / "results.md").read_text()
    assert "Attention matrix" in text and 'Hidden state at "dog"' in text and "8:dog" in text
    assert json.loads((workdir / "summary.json").read_text())["embeddings"]["vocab"][0] == "the"


def test_invalid_config_is_named(run_tiny):
    with pytest.raises(ConfigError, match="sentence"):
        run_tiny(study, "--config.sentence=word")
    with pytest.raises(ConfigError, match="embed_dim"):
        run_tiny(study, "--config.embed_dim=0")
    with pytest.raises(ConfigError, match="parts"):
        run_tiny(study, "--config.parts=(rnn,cnn)")
