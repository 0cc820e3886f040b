"""Predict the fourth word from the three before it (the trigram / next-word coursework), on Jane
Austen's novels or the King James Bible instead of the coursework's own 4-gram data set (not available here).

Coursework question: with a shared word embedding and one logistic hidden layer, how well can a
network predict the next word of a 250-word vocabulary, and how do the embedding size D and the
hidden size P matter?

Data: the ``corpus`` (``austen`` by default, ``kjv`` selectable) as one word stream
(``jaxml.data.load(corpus, "all")``); vocabulary = its 250 most frequent words
(``build_vocab``); examples = every window of 4 consecutive words all in the vocabulary
(``trigram_windows``), split 80/10/10 into train/validation/test by a seeded permutation
(``data_seed``).

Model (:class:`jaxml.models.trigram.TrigramMLP`): one embedding matrix (250 x D) applied to each
of the three context words, the embeddings concatenated (3D inputs to the hidden layer) or
summed (D inputs; ``combines`` lists which: both by default, the sum-vs-concatenate question), a
sigmoid hidden layer of P units, softmax over 250 words; weights N(0, 0.01²), biases 0.
Training: SGD batch 200, learning rate 0.15, momentum 0.85 (``v <- 0.85 v + g; w <- w - 0.15 v``),
at most 50 epochs, early stopping on validation cross-entropy (patience ``patience``, best
weights kept). (D, P) in {(32, 256), (16, 128), (8, 64)}, each (size, combine) its own program
with the seeds vmapped (concat and sum have different hidden-layer shapes, so they cannot share
one). Reported: accuracy and cross-entropy curves, a table (mean ± std over seeds), the
sum-vs-concatenate table, and for 5 random test trigrams the 10 most probable fourth words.

Parts (``run_parts``): one per size and combine, ``D<D>_P<P>`` (concatenated) or
``D<D>_P<P>_sum`` (its folder holds metrics.jsonl and the checkpoints), then ``comparison``
(tables, accuracy.png, loss.png) and ``examples`` (top-k words of the first size's first
combine's first seed).

    python -m experiments.trigram_next_word [--config.corpus=kjv] [--config.seeds=0,1,2]
    python -m experiments.trigram_next_word --config.sizes="((16,128),)" --config.combines=sum
    python -m experiments.trigram_next_word --config=tiny     # seconds; used by the smoke test
"""
from __future__ import annotations

import functools
import pathlib

import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml import data as jdata
from jaxml.models import count_params
from jaxml.models.trigram import COMBINE, TrigramMLP, top_k_words
from jaxml.report import line_plot, markdown_table, mean_band, mean_std
from jaxml.study.config import ConfigError, check_config
from jaxml.study.experiment import run_experiment, run_parts
from jaxml.study.fit_summary import fit_summary
from jaxml.train import EarlyStopping, evaluate, fit, make_optimizer, make_runs, unstack

NAME = "trigram_next_word"
PRESETS = ("full", "tiny")
CORPORA = ("austen", "kjv")
METRICS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.corpus = "austen"
    c.vocab_size = 250
    c.fractions = (0.8, 0.1, 0.1)
    c.data_seed = 0
    c.seeds = (0, 1, 2)
    c.sizes = ((32, 256), (16, 128), (8, 64))   # (D, P)
    c.combines = ("concat", "sum")   # how the three embeddings enter the hidden layer; one program each
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
        c.seeds = (0, 1, 2)
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


def check(c) -> None:
    check_config(c, choices={"preset": PRESETS, "corpus": CORPORA}, subsets={"combines": COMBINE},
                 nonempty=("seeds", "combines"),
                 counts=("vocab_size", "batch_size", "max_epochs", "patience", "n_examples", "top_k",
                         "eval_batch_size", "checkpoint_every"),
                 positive=("learning_rate", "init_std"), fractions=("momentum",), nonnegative=("max_words",))
    if len(c.fractions) != 3 or not all(0 < f < 1 for f in c.fractions) or abs(sum(c.fractions) - 1.0) > 1e-6:
        raise ConfigError(f"config key 'fractions' must be three positive numbers summing to 1, got {c.fractions}")
    if not c.sizes or any(len(s) != 2 or min(s) < 1 for s in c.sizes):
        raise ConfigError(f"config key 'sizes' must list (D, P) pairs of positive integers, got {c.sizes}")


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


# ---------------------------------------------------------------------------------------------
# Parts: one per (D, P, combine) (its seeds one program), the comparison, the example predictions.

def part_name(d: int, p: int, combine: str) -> str:
    """``D<D>_P<P>`` for concatenated embeddings (the coursework's model), ``D<D>_P<P>_sum`` for summed."""
    return f"D{d}_P{p}" + ("" if combine == "concat" else f"_{combine}")


def size_row(r: dict) -> dict:
    return {"D": r["D"], "P": r["P"], "embeddings": r["combine"], "parameters": r["parameters"],
            "best epoch": _stat(r["best_epoch"], ".1f"), "epochs run": _stat(r["stopped_epoch"], ".1f"),
            "val cross-entropy": _stat(r["val_loss"]), "val accuracy": _stat(r["val_accuracy"]),
            "test cross-entropy": _stat(r["test_loss"]), "test accuracy": _stat(r["test_accuracy"]),
            "train time (s)": f"{r['train_seconds']:.1f}"}


def size_part(c, data: dict, vocab_size: int, trained: dict, dpc, part_dir: pathlib.Path) -> tuple[str, dict]:
    d, p, combine = dpc
    model = TrigramMLP(vocab_size=vocab_size, embed_dim=d, hidden=p, combine=combine, init_std=c.init_std)
    tx = make_optimizer({"name": "momentum", "learning_rate": c.learning_rate, "momentum": c.momentum})
    runs = make_runs(model, tx, data["train"]["x"][:1], seeds=c.seeds)
    res = fit(runs, data["train"], epochs=c.max_epochs, batch_size=c.batch_size, loss="cross_entropy",
              eval_sets={"val": data["validation"]},
              early_stopping=EarlyStopping(monitor="val_loss", mode="min", patience=c.patience),
              workdir=part_dir, checkpoint_every=c.checkpoint_every, eval_batch_size=c.eval_batch_size,
              progress=c.progress, desc=f"D={d} P={p} {combine}")
    test = evaluate(res.best_state, data["test"], loss="cross_entropy", batch_size=c.eval_batch_size,
                    num_runs=runs.num_runs)
    best = res.best_epoch - 1
    result = {"D": d, "P": p, "combine": combine, "parameters": count_params(unstack(runs.state.params, 0)),
              "val_loss": np.nanmin(res.curve("val_loss"), axis=1).tolist(),
              "val_accuracy": res.curve("val_accuracy")[np.arange(runs.num_runs), best].tolist(),
              "test_loss": np.asarray(test["loss"]).tolist(), "test_accuracy": np.asarray(test["accuracy"]).tolist(),
              **fit_summary(res, METRICS)}
    trained[(d, p, combine)] = {**result, "model": model, "params": unstack(res.best_state.params, 0)}
    return markdown_table([size_row(result)]), result


def comparison_part(c, trained: dict, part_dir: pathlib.Path) -> tuple[str, dict]:
    plots = []
    for key, label in (("accuracy", "accuracy"), ("loss", "cross-entropy (nats)")):
        curves, bands = {}, {}
        for r in trained.values():
            for split in ("train", "val"):
                name = (f"D={r['D']} P={r['P']} {r['combine']} "
                        f"{'training (running)' if split == 'train' else 'validation'}")
                curves[name], bands[name] = mean_band(r["curves"][f"{split}_{key}"])   # NaN after a run stopped
        line_plot(part_dir / f"{key}.png", curves, bands=bands, xlabel="epoch", ylabel=label,
                  title=f"Next-word {label} ({c.corpus}, mean ± std over seeds)")
        plots.append(f"comparison/{key}.png")
    text = markdown_table([size_row(r) for r in trained.values()])
    pairs = sum_vs_concat(trained)
    if pairs:
        text += ("\n\nSum vs concatenation of the three embeddings (test metrics of the best-validation weights, "
                 f"mean ± std over seeds {list(c.seeds)}; each a separate program, seeds vmapped):\n\n"
                 + markdown_table(pairs))
    text += "\n\n" + " ".join(f"![{p}]({p})" for p in plots)
    return text, {"test_accuracy_mean": {part_name(*k): float(np.mean(r["test_accuracy"])) for k, r in trained.items()},
                  "sum_vs_concat": pairs}


def sum_vs_concat(trained: dict) -> list[dict]:
    """Per (D, P) trained both ways: test accuracy and cross-entropy of each, and the differences."""
    rows = []
    for (d, p, combine), r in trained.items():
        other = trained.get((d, p, "sum"))
        if combine != "concat" or other is None:
            continue
        row = {"D": d, "P": p, "parameters concat / sum": f"{r['parameters']:,} / {other['parameters']:,}"}
        for key, label in (("test_accuracy", "test accuracy"), ("test_loss", "test cross-entropy")):
            row[f"{label} concat"] = _stat(r[key])
            row[f"{label} sum"] = _stat(other[key])
        diff = np.asarray(other["test_accuracy"]) - np.asarray(r["test_accuracy"])   # same seeds, paired
        row["accuracy sum - concat"] = _stat(diff)
        row["epochs run concat / sum"] = f"{_stat(r['stopped_epoch'], '.1f')} / {_stat(other['stopped_epoch'], '.1f')}"
        rows.append(row)
    return rows


def examples_part(c, vocab, data: dict, trained: dict, part_dir: pathlib.Path) -> tuple[str, dict]:
    """Top-k fourth words for random test trigrams, from the first size's first combine's first seed
    (best weights)."""
    first = trained[(*c.sizes[0], c.combines[0])]
    n_test = len(data["test"]["y"])
    pick = np.random.default_rng(c.data_seed + 1).choice(n_test, size=min(c.n_examples, n_test), replace=False)
    logits = np.asarray(first["model"].apply({"params": first["params"]}, jnp.asarray(data["test"]["x"][pick])))
    examples, lines = [], []
    for i, j in enumerate(pick):
        context = " ".join(vocab[t] for t in data["test"]["x"][j])
        truth = vocab[int(data["test"]["y"][j])]
        top = top_k_words(logits[i], vocab, c.top_k)
        examples.append({"context": context, "actual": truth, "top": top})
        rank = next((k + 1 for k, (w, _) in enumerate(top) if w == truth), None)
        where = f"rank {rank}" if rank else f"not in the top {c.top_k}"
        lines.append(f"- **{context} ___** (actual: *{truth}*, {where}): "
                     + ", ".join(f"{w} {pr:.3f}" for w, pr in top))
    text = (f"D={first['D']}, P={first['P']}, embeddings {first['combine']}, seed {c.seeds[0]}, best weights; "
            f"{len(pick)} random test trigrams."
            "\n\n" + "\n".join(lines))
    return text, {"vocab": list(vocab), "examples": examples}


def main(c, workdir: pathlib.Path) -> dict:
    check(c)
    vocab, data, n_words = load_data(c)
    sizes = {k: len(v["y"]) for k, v in data.items()}
    setup = (f"Corpus `{c.corpus}`: {n_words:,} words; vocabulary = the {len(vocab)} most frequent; "
             f"{sum(sizes.values()):,} 4-word windows entirely in the vocabulary, split {sizes['train']:,} / "
             f"{sizes['validation']:,} / {sizes['test']:,} (train / validation / test, data seed {c.data_seed}). "
             f"Embeddings {' vs '.join(c.combines)}; SGD batch {c.batch_size}, lr {c.learning_rate}, "
             f"momentum {c.momentum}, "
             f"at most {c.max_epochs} epochs, early stopping on validation cross-entropy (patience {c.patience}, "
             f"best weights). Seeds {list(c.seeds)} (vmapped).")
    trained: dict = {}
    parts = {part_name(d, p, cb): (f"D = {d}, P = {p}, embeddings {'concatenated' if cb == 'concat' else 'summed'}",
                                   functools.partial(size_part, c, data, len(vocab), trained, (d, p, cb)))
             for d, p in c.sizes for cb in c.combines}
    parts["comparison"] = ("Comparison", functools.partial(comparison_part, c, trained))
    parts["examples"] = (f"Top {c.top_k} fourth words", functools.partial(examples_part, c, vocab, data, trained))
    summary = run_parts(f"Next word from three ({c.corpus})", parts, parts, workdir, [("Setup", setup)])
    return {"corpus": c.corpus, "sizes": sizes, **summary}


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
