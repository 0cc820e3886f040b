"""Predict the fourth word from the three before it (the trigram / next-word coursework).

Coursework question: with a shared word embedding and one logistic hidden layer, how well can a
network predict the next word of a 250-word vocabulary, and how do the embedding size D and the
hidden size P matter?

Data: the ``corpus`` (``austen`` by default, ``kjv`` selectable) as one word stream
(``jaxml.data.load(corpus, "all")``); vocabulary = its 250 most frequent words
(``build_vocab``); examples = every window of 4 consecutive words all in the vocabulary
(``trigram_windows``), split 80/10/10 into train/validation/test by a seeded permutation
(``data_seed``).

Model (:class:`jaxml.models.trigram.TrigramMLP`): one embedding matrix (250 x D) applied to each
of the three context words, the embeddings concatenated (``combine=sum`` sums them), a sigmoid
hidden layer of P units, softmax over 250 words; weights N(0, 0.01²), biases 0.
Training: SGD batch 200, learning rate 0.15, momentum 0.85 (``v <- 0.85 v + g; w <- w - 0.15 v``),
at most 50 epochs, early stopping on validation cross-entropy (patience ``patience``, best
weights kept). (D, P) in {(32, 256), (16, 128), (8, 64)}, each its own program with the
seeds vmapped. Reported: accuracy and cross-entropy curves, a table, and for 5 random test
trigrams the 10 most probable fourth words.

    python -m experiments.trigram_next_word [--config.corpus=kjv] [--config.seeds=0,1,2]
    python -m experiments.trigram_next_word --config=tiny     # seconds; used by the smoke test
"""
from __future__ import annotations

import json
import pathlib
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml import data as jdata
from jaxml.models import count_params
from jaxml.models.trigram import COMBINE, TrigramMLP, top_k_words
from jaxml.report import line_plot, markdown_table, mean_std, mean_std_array, write_results
from jaxml.study.config import ConfigError, check_choice, check_range
from jaxml.study.experiment import machine_summary, run_experiment
from jaxml.train import EarlyStopping, evaluate, fit, make_optimizer, make_runs

NAME = "trigram_next_word"
PRESETS = ("full", "tiny")
CORPORA = ("austen", "kjv")


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.corpus = "austen"
    c.vocab_size = 250
    c.fractions = (0.8, 0.1, 0.1)
    c.data_seed = 0
    c.seeds = (0, 1, 2)
    c.sizes = ((32, 256), (16, 128), (8, 64))   # (D, P)
    c.combine = "concat"
    c.batch_size = 200
    c.learning_rate = 0.15
    c.momentum = 0.85
    c.max_epochs = 50
    c.init_std = 0.01
    c.patience = 5
    c.n_examples = 5
    c.top_k = 10
    c.max_words = 0          # > 0: use only the first max_words words of the corpus (quick runs)
    c.eval_batch_size = 5000
    c.checkpoint_every = 1       # epochs between checkpoints (the last epoch is always saved)
    c.progress = True
    if preset == "tiny":
        c.vocab_size = 20
        c.seeds = (0, 1)
        c.sizes = ((8, 16),)
        c.batch_size = 20
        c.max_epochs = 3
        c.patience = 1
        c.n_examples = 2
        c.top_k = 3
        c.eval_batch_size = 100
        c.checkpoint_every = 100
        c.progress = False
    return c


def validate(c) -> None:
    check_choice(c, "preset", PRESETS)
    check_choice(c, "corpus", CORPORA)
    check_choice(c, "combine", COMBINE)
    if len(c.fractions) != 3 or abs(sum(c.fractions) - 1.0) > 1e-6 or min(c.fractions) <= 0:
        raise ConfigError(f"config key 'fractions' must be three positive numbers summing to 1, got {c.fractions}")
    if not c.seeds:
        raise ConfigError("config key 'seeds' must list at least one seed")
    if not c.sizes or any(len(s) != 2 or min(s) < 1 for s in c.sizes):
        raise ConfigError(f"config key 'sizes' must list (D, P) pairs of positive integers, got {c.sizes}")
    for key in ("vocab_size", "batch_size", "max_epochs", "patience", "n_examples", "top_k", "eval_batch_size",
                "checkpoint_every"):
        check_range(c, key, 1)
    check_range(c, "learning_rate", 0, low_inclusive=False)
    check_range(c, "momentum", 0, 1, high_inclusive=False)
    check_range(c, "init_std", 0, low_inclusive=False)
    check_range(c, "max_words", 0)


def load_data(c) -> tuple[tuple[str, ...], dict, int]:
    """(vocabulary, {"train", "validation", "test"} -> {"x": int32 (N, 3), "y": int32 (N,)}, words)."""
    words = jdata.load(c.corpus, "all").words
    if c.max_words:
        words = words[:c.max_words]
    vocab = jdata.build_vocab(words, c.vocab_size)
    x, y = jdata.trigram_windows(words, vocab)
    n = len(y)
    perm = np.random.default_rng(c.data_seed).permutation(n)
    n_train, n_val = int(c.fractions[0] * n), int(c.fractions[1] * n)
    parts = {"train": perm[:n_train], "validation": perm[n_train:n_train + n_val], "test": perm[n_train + n_val:]}
    if min(len(p) for p in parts.values()) < 1:
        raise ConfigError(f"{n} windows are too few for a {c.fractions} split")
    return vocab, {k: {"x": x[np.sort(p)], "y": y[np.sort(p)]} for k, p in parts.items()}, len(words)


def _stat(values, fmt=".4f"):
    values = np.asarray(values)
    if values.size == 1:
        return str(int(values[0])) if np.issubdtype(values.dtype, np.integer) else f"{values[0]:{fmt}}"
    return mean_std(values.astype(float)).format(fmt)


def train_size(c, dp: tuple[int, int], data: dict, vocab_size: int, workdir: pathlib.Path) -> dict:
    d, p = dp
    model = TrigramMLP(vocab_size=vocab_size, embed_dim=d, hidden=p, combine=c.combine, init_std=c.init_std)
    tx = make_optimizer({"name": "momentum", "learning_rate": c.learning_rate, "momentum": c.momentum})
    runs = make_runs(model, tx, data["train"]["x"][:1], seeds=c.seeds)
    n_params = count_params(jax.tree_util.tree_map(lambda a: a[0], runs.state.params))
    res = fit(runs.state, data["train"], key=runs.train_keys, epochs=c.max_epochs, batch_size=c.batch_size,
              loss="cross_entropy", eval_sets={"val": data["validation"]},
              early_stopping=EarlyStopping(monitor="val_loss", mode="min", patience=c.patience),
              num_runs=runs.num_runs, run_info=runs.info, workdir=workdir, checkpoint_every=c.checkpoint_every,
              eval_batch_size=c.eval_batch_size,
              progress=c.progress, desc=f"D={d} P={p}")
    test = evaluate(res.best_state, data["test"], loss="cross_entropy", batch_size=c.eval_batch_size,
                    num_runs=runs.num_runs)
    curves = {k: [res.curve(k, r)[1].tolist() for r in range(runs.num_runs)]
              for k in ("train_loss", "train_accuracy", "val_loss", "val_accuracy")}
    best_val = [min(v) for v in curves["val_loss"]]
    best_acc = [curves["val_accuracy"][r][int(res.best_epoch[r]) - 1] for r in range(runs.num_runs)]
    return {"D": d, "P": p, "parameters": n_params, "best_epoch": res.best_epoch.tolist(),
            "stopped_epoch": res.stopped_epoch.tolist(), "val_loss": best_val, "val_accuracy": best_acc,
            "test_loss": np.asarray(test["loss"]).tolist(), "test_accuracy": np.asarray(test["accuracy"]).tolist(),
            "train_seconds": res.train_seconds, "compile_seconds": res.compile_seconds, "curves": curves,
            "best_state": res.best_state, "model": model}


def _mean_curve(runs):
    n = min(len(v) for v in runs)  # runs stop at different epochs; plot the common part
    return mean_std_array(np.array([v[:n] for v in runs]))


def main(c, workdir: pathlib.Path) -> dict:
    validate(c)
    t0 = time.perf_counter()
    vocab, data, n_words = load_data(c)
    sizes = {k: len(v["y"]) for k, v in data.items()}
    print(f"{c.corpus}: {n_words:,} words, vocabulary {len(vocab)}, windows {sizes}", flush=True)
    results, rows = [], []
    for dp in c.sizes:
        print(f"\n=== D = {dp[0]}, P = {dp[1]} ===", flush=True)
        r = train_size(c, tuple(dp), data, len(vocab), workdir / f"D{dp[0]}_P{dp[1]}")
        results.append(r)
        rows.append({"D": r["D"], "P": r["P"], "parameters": r["parameters"],
                     "best epoch": _stat(r["best_epoch"], ".1f"), "epochs run": _stat(r["stopped_epoch"], ".1f"),
                     "val cross-entropy": _stat(r["val_loss"]), "val accuracy": _stat(r["val_accuracy"]),
                     "test cross-entropy": _stat(r["test_loss"]), "test accuracy": _stat(r["test_accuracy"]),
                     "train time (s)": f"{r['train_seconds']:.1f}"})
        print(markdown_table(rows[-1:]), flush=True)
    plots = []
    for key, label in (("accuracy", "accuracy"), ("loss", "cross-entropy (nats)")):
        curves, bands = {}, {}
        for r in results:
            for split in ("train", "val"):
                m, s = _mean_curve(r["curves"][f"{split}_{key}"])
                name = f"D={r['D']} P={r['P']} {'training (running)' if split == 'train' else 'validation'}"
                ep = np.arange(1, len(m) + 1)
                curves[name], bands[name] = (ep, m), (ep, m - s, m + s)
        line_plot(workdir / f"{key}.png", curves, bands=bands, xlabel="epoch", ylabel=label,
                  title=f"Next-word {label} ({c.corpus}, mean ± std over seeds)")
        plots.append(f"{key}.png")
    # Top-k fourth words for random test trigrams, from the first (largest) model's first seed.
    best = results[0]
    params = jax.tree_util.tree_map(lambda a: a[0], best["best_state"].params)
    pick = np.random.default_rng(c.data_seed + 1).choice(sizes["test"], size=min(c.n_examples, sizes["test"]),
                                                          replace=False)
    ctx = jnp.asarray(data["test"]["x"][pick])
    logits = np.asarray(best["model"].apply({"params": params}, ctx))
    examples, ex_text = [], []
    for i, j in enumerate(pick):
        context = " ".join(vocab[t] for t in data["test"]["x"][j])
        truth = vocab[int(data["test"]["y"][j])]
        top = top_k_words(logits[i], vocab, c.top_k)
        examples.append({"context": context, "actual": truth, "top": top})
        rank = next((k + 1 for k, (w, _) in enumerate(top) if w == truth), None)
        where = f"rank {rank}" if rank else f"not in the top {c.top_k}"
        ex_text.append(f"**{context} ___** (actual: *{truth}*, {where}): "
                       + ", ".join(f"{w} {pr:.3f}" for w, pr in top))
    total = time.perf_counter() - t0
    setup = (f"Corpus `{c.corpus}`: {n_words:,} words; vocabulary = the {len(vocab)} most frequent; "
             f"{sum(sizes.values()):,} 4-word windows entirely in the vocabulary, split {sizes['train']:,} / "
             f"{sizes['validation']:,} / {sizes['test']:,} (train / validation / test, data seed {c.data_seed}). "
             f"Embeddings {c.combine}; SGD batch {c.batch_size}, lr {c.learning_rate}, momentum {c.momentum}, "
             f"at most {c.max_epochs} epochs, early stopping on validation cross-entropy (patience {c.patience}, "
             f"best weights). Seeds {list(c.seeds)} (vmapped). Machine: {machine_summary()}.")
    write_results(workdir / "results.md", f"Next word from three ({c.corpus})", [
        ("Setup", setup),
        ("Results", markdown_table(rows) + "\n\n" + " ".join(f"![{p}]({p})" for p in plots)),
        (f"Top {c.top_k} fourth words for {len(pick)} random test trigrams (D={best['D']}, P={best['P']}, "
         f"seed {c.seeds[0]})", "\n\n".join(f"- {t}" for t in ex_text)),
        ("Run", f"Total wall time {total:.1f} s.")])
    summary = {"corpus": c.corpus, "sizes": sizes, "vocab": list(vocab), "total_seconds": total,
               "results": [{k: v for k, v in r.items() if k not in ("best_state", "model")} for r in results],
               "examples": examples}
    (workdir / "summary.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
    print("\n" + markdown_table(rows) + "\n\n" + "\n".join(ex_text))
    print(f"\nResults written to {workdir / 'results.md'} (total {total:.1f} s)")
    return summary


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
