"""Attention and a simple RNN by hand on one sentence: every intermediate quantity printed.

Coursework question: what do self-attention (Q, K, V, the attention matrix, Z; several heads
concatenated and multiplied by W_O) and a simple RNN (hidden state and output per token)
actually compute, on a sentence small enough to read every number?

Input: the nine tokens of "the quick brown fox jumps over the lazy dog" (8 distinct words,
ids by first occurrence), seeded ``embed_dim``-dimensional embeddings (default 3) and weights,
all drawn N(0, init_scale²) (default 0.5) from ``seed`` (``jax.random``).

1. One attention head: Q = X W_Q, K = X W_K, V = X W_V (d_k = d_v = embed_dim),
   A = softmax(Q Kᵀ / sqrt(d_k)) over the keys, Z = A V (``jaxml.models.attention``).
2. Multi-head self-attention: ``num_heads`` heads of size d_k, concatenated, times W_O.
3. The simple RNN ``a_t = b + W h_{t-1} + U x_t, h_t = tanh(a_t), o_t = c + V h_t,
   ŷ_t = softmax(o_t)`` with h_0 = 0 over the nine embeddings (``jaxml.models.rnn.simple_rnn``),
   outputs over the 8-word vocabulary; its last hidden state (at "dog") summarises the sentence.

    python -m experiments.from_scratch [--config.seed=1] [--config.causal=true]

Parts (``--config.parts``): ``embeddings`` (the tokens and X), ``attention`` (1 and 2), ``rnn`` (3).
Outputs: results.md (all matrices as tables), summary.json (the same numbers, one entry per part).
"""
from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.models.attention import multi_head_self_attention, qkv, scaled_dot_product_attention
from jaxml.models.rnn import init_simple_rnn, simple_rnn
from jaxml.report import markdown_table
from jaxml.study.config import ConfigError, check_config
from jaxml.study.experiment import run_experiment, run_parts

NAME = "from_scratch"
PRESETS = ("full", "tiny")
PARTS = ("embeddings", "attention", "rnn")
SENTENCE = "the quick brown fox jumps over the lazy dog"


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.parts = PARTS
    c.sentence = SENTENCE
    c.seed = 0
    c.embed_dim = 3
    c.num_heads = 2
    c.rnn_hidden = 3
    c.causal = False
    c.init_scale = 0.5
    c.decimals = 3
    # The study is already small; "tiny" is the same computation (kept for the uniform interface).
    return c


def check(c) -> None:
    check_config(c, choices={"preset": PRESETS}, subsets={"parts": PARTS},
                 counts=("embed_dim", "num_heads", "rnn_hidden", "decimals"), positive=("init_scale",))
    if len(c.sentence.split()) < 2:
        raise ConfigError(f"config key 'sentence' needs at least two words, got {c.sentence!r}")


def tokenize(sentence: str) -> tuple[list[str], list[str], np.ndarray]:
    """(tokens, vocabulary by first occurrence, ids int32 (T,))."""
    tokens = sentence.lower().split()
    vocab = list(dict.fromkeys(tokens))
    return tokens, vocab, np.array([vocab.index(t) for t in tokens], np.int32)


def _table(matrix, row_labels, col_labels, decimals: int, corner: str = "") -> str:
    m = np.asarray(matrix)
    rows = [{corner or " ": r, **{str(c): round(float(v), decimals) for c, v in zip(col_labels, m[i])}}
            for i, r in enumerate(row_labels)]
    return markdown_table(rows, floatfmt=f".{decimals}f")


def compute(c) -> dict:
    """Every quantity of the study as numpy arrays (pure function of the config)."""
    tokens, vocab, ids = tokenize(c.sentence)
    d, h, hidden, scale, causal = c.embed_dim, c.num_heads, c.rnn_hidden, c.init_scale, c.causal

    @jax.jit  # one compiled program rather than many small eager ops
    def arrays(key):
        keys = jax.random.split(key, 9)
        normal = lambda k, shape: scale * jax.random.normal(k, shape, jnp.float32)  # noqa: E731
        emb_VxD = normal(keys[0], (len(vocab), d))
        x_TxD = emb_VxD[ids]
        Wq, Wk, Wv = (normal(k, (d, d)) for k in keys[1:4])
        q, k, v = qkv(x_TxD, Wq, Wk, Wv)
        z, a = scaled_dot_product_attention(q, k, v, causal=causal)
        Wq_h, Wk_h, Wv_h = (normal(kk, (d, h, d)) for kk in keys[4:7])
        Wo = normal(keys[7], (h, d, d))
        mh, mh_a = multi_head_self_attention(x_TxD, Wq_h, Wk_h, Wv_h, Wo, causal=causal)
        rnn_params = init_simple_rnn(keys[8], d, hidden, len(vocab), scale=scale)
        return {"embeddings": emb_VxD, "X": x_TxD, "Wq": Wq, "Wk": Wk, "Wv": Wv, "Q": q, "K": k, "V": v, "A": a,
                "Z": z, "multi_head": mh, "multi_head_A": mh_a, "Wo": Wo, "rnn_params": rnn_params,
                "rnn": simple_rnn(rnn_params, x_TxD)}

    out = jax.tree_util.tree_map(np.asarray, arrays(jax.random.key(c.seed)))
    return {"tokens": tokens, "vocab": vocab, "ids": ids, **out}


# ---------------------------------------------------------------------------------------------
# Parts: each formats its share of the one computation.

def embeddings_part(c, r) -> tuple[str, dict]:
    pos = [f"{i}:{t}" for i, t in enumerate(r["tokens"])]
    dims = [f"d{j}" for j in range(c.embed_dim)]
    text = "One row per token:\n\n" + _table(r["X"], pos, dims, c.decimals, "token")
    return text, {"tokens": r["tokens"], "vocab": r["vocab"], "X": r["X"].tolist()}


def attention_part(c, r) -> tuple[str, dict]:
    tokens, n = r["tokens"], c.decimals
    pos = [f"{i}:{t}" for i, t in enumerate(tokens)]
    dims = [f"d{j}" for j in range(c.embed_dim)]
    blocks = [f"**{name} = X W_{name.lower()}**\n\n" + _table(r[name], pos, dims, n, "token") for name in "QKV"]
    blocks.append("**Attention matrix A = softmax(Q Kᵀ / √d_k)** (rows: queries, columns: keys; rows sum to 1)"
                  "\n\n" + _table(r["A"], pos, pos, n, "query \\ key"))
    blocks.append("**Z = A V (one head)**\n\n" + _table(r["Z"], pos, dims, n, "token"))
    strongest = [f"{tokens[i]} → {tokens[int(np.argmax(r['A'][i]))]}" for i in range(len(tokens))]
    blocks.append("**Where each token attends most:** " + ", ".join(strongest))
    blocks.append(f"**Multi-head self-attention** ({c.num_heads} heads of size {c.embed_dim}, concatenated, "
                  f"times W_O ({c.num_heads * c.embed_dim}x{c.embed_dim}))\n\n"
                  + _table(r["multi_head"], pos, dims, n, "token"))
    return "\n\n".join(blocks), {k: r[k].tolist() for k in ("Q", "K", "V", "A", "Z", "multi_head")}


def rnn_part(c, r) -> tuple[str, dict]:
    tokens, vocab, n, rnn = r["tokens"], r["vocab"], c.decimals, r["rnn"]
    pos = [f"{i}:{t}" for i, t in enumerate(tokens)]
    hdims = [f"h{j}" for j in range(c.rnn_hidden)]
    rows = []
    for t, tok in enumerate(tokens):
        probs = rnn["y_hat"][t]
        rows.append({"t": t + 1, "token": tok,
                     **{d: round(float(v), n) for d, v in zip(hdims, rnn["h"][t])},
                     "most likely next word ŷ_t": f"{vocab[int(np.argmax(probs))]} ({probs.max():.{n}f})"})
    last = ", ".join(f"{v:.{n}f}" for v in rnn["h"][-1])
    text = ("**Hidden state h_t and output per token** (h_0 = 0)\n\n" + markdown_table(rows, floatfmt=f".{n}f")
            + "\n\n**Outputs o_t = c + V h_t** (logits over the vocabulary)\n\n"
            + _table(rnn["o"], pos, vocab, n, "token")
            + f"\n\n**The sentence's summary:** Hidden state at \"{tokens[-1]}\" (the end): "
              f"h_{len(tokens)} = ({last}).")
    return text, {"h": rnn["h"].tolist(), "o": rnn["o"].tolist(), "y_hat": rnn["y_hat"].tolist(),
                  "last_hidden": rnn["h"][-1].tolist()}


def main(c, workdir: pathlib.Path) -> dict:
    check(c)
    r = compute(c)
    setup = (f"Sentence: \"{c.sentence}\" ({len(r['tokens'])} tokens, {len(r['vocab'])} distinct words: "
             f"{', '.join(r['vocab'])}). Embeddings and weights N(0, {c.init_scale}²) from seed {c.seed}, "
             f"dimension {c.embed_dim}; {'causal' if c.causal else 'bidirectional (no mask)'} attention.")
    parts = {"embeddings": ("Embeddings X", lambda d: embeddings_part(c, r)),
             "attention": ("Self-attention: one head, then several", lambda d: attention_part(c, r)),
             "rnn": ("Simple RNN", lambda d: rnn_part(c, r))}
    return run_parts("Attention and a simple RNN, from scratch", parts, c.parts, workdir, [("Setup", setup)])


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
