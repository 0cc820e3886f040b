"""IMDB sentiment with Embedding + Dense / SimpleRNN / LSTM classifiers (the Keras coursework).

Coursework question: on IMDB reviews (10,000-word vocabulary), how do a bag-of-embeddings
Dense model, a SimpleRNN, a GRU and LSTMs compare (RNN vs GRU vs LSTM: parts b, f, c), and what
do longer reviews, stacking, dropout, recurrent dropout, a decaying learning rate and early
stopping add?

Common setting: RMSprop (lr 1e-3, rho 0.9, eps 1e-7), binary cross-entropy on one logit,
batch 128, 20% of the training reviews held out for validation (a seeded random subset,
``data_seed``; Keras' ``validation_split`` takes the last 20%, which in the ``aclImdb`` file order
would be all negative), 10 epochs unless said. Reviews padded/truncated at the front ('pre', as
Keras) to ``maxlen`` words.

  (a) Embedding 16 -> Flatten -> Dense 32 ReLU -> Dense 1, maxlen 20
  (b) Embedding 16 -> SimpleRNN 32 -> Dense 1, maxlen 20
  (c) Embedding 16 -> LSTM 32 -> Dense 1, maxlen 20 (as (a), (b))
  (d) Embedding 16 -> LSTM 32 -> LSTM 32 -> Dense 1, dropout 0.2 and recurrent dropout 0.2,
      maxlen 100, 20 epochs
  (e) as (d) with maxlen 200, batch 256, learning rate constant for 5 epochs then x exp(-0.1)
      per epoch, early stopping on validation loss with patience 5 (at most 20 epochs)
  (f) Embedding 16 -> GRU 32 -> Dense 1, maxlen 20 (as (b), (c); Keras's GRU, ``reset_after``:
      two bias rows, 4,800 recurrent-layer parameters)

Every part reports parameters, best validation accuracy, test accuracy of the final weights
(Keras' default: no restoring of the best epoch; (e) also gives the test accuracy of its
best-validation-loss weights) and wall time. Seeds (``seeds``) are vmapped within a part.
Parts run through ``run_parts`` (folder ``part_<x>/`` each: metrics.jsonl, checkpoints), then
``comparison`` (the table of every part and the curves per epoch).

Data (``--config.dataset=``): ``imdb`` (default; ``<data dir>/imdb/imdb.npz`` or ``aclImdb/``; when
neither is there, Keras' ``imdb.npz`` is downloaded and SHA-256 verified on first use unless
``JAXML_OFFLINE=1``, or up front with ``python -m jaxml.data download imdb``) or
``austen_vs_shakespeare``, the offline stand-in of :mod:`jaxml.data.austen_vs_shakespeare`
(200-word passages of Austen (0) vs Shakespeare (1), same tokenisation, top-10,000-word ids and
padding), used on machines without IMDB.

    python -m experiments.imdb_sentiment --config.dataset=austen_vs_shakespeare
    python -m experiments.imdb_sentiment --config.parts=a,b --config.seeds=0,1,2
    python -m experiments.imdb_sentiment --config=tiny      # seconds; used by the smoke test
"""
from __future__ import annotations

import functools
import math
import pathlib

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml import data as jdata
from jaxml.data.austen_vs_shakespeare import load_austen_vs_shakespeare
from jaxml.data.imdb import pad_sequences
from jaxml.models import count_params
from jaxml.models.rnn import SequenceClassifier
from jaxml.report import MeanStd, line_plot, markdown_table, mean_band, mean_std
from jaxml.study.config import ConfigError, check_config
from jaxml.study.experiment import run_experiment, run_parts
from jaxml.study.fit_summary import fit_summary
from jaxml.train import EarlyStopping, evaluate, fit, make_optimizer, make_runs, num_batches, unstack

NAME = "imdb_sentiment"
PRESETS = ("full", "tiny")
PARTS = ("a", "b", "c", "d", "e", "f")
DATASETS = ("imdb", "austen_vs_shakespeare")
METRICS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
# Keras's parameter counts of each part at the default sizes (maxlen 20 for the Flatten model).
EXPECTED_PARAMS = {"a": 160_000 + 10_272 + 33, "b": 160_000 + 1_568 + 33, "c": 160_000 + 6_272 + 33,
                   "d": 160_000 + 6_272 + 8_320 + 33, "e": 160_000 + 6_272 + 8_320 + 33,
                   "f": 160_000 + 4_800 + 33}


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.dataset = "imdb"
    c.parts = PARTS
    c.seeds = (0,)
    c.data_seed = 0
    c.num_words = 10_000
    c.embed_dim = 16
    c.units = 32
    c.learning_rate = 1e-3
    c.batch_size = 128
    c.val_fraction = 0.2
    c.epochs = 10
    c.maxlen = 20                # parts a, b, c, f
    c.maxlen_d = 100
    c.epochs_d = 20
    c.dropout = 0.2
    c.recurrent_dropout = 0.2
    c.maxlen_e = 200
    c.batch_size_e = 256
    c.epochs_e = 20
    c.decay_after_epochs = 5
    c.decay_rate = math.exp(-0.1)
    c.patience_e = 5
    c.passage_words = 200        # austen_vs_shakespeare only
    c.max_train = 0              # > 0: use only the first max_train training reviews (quick runs)
    c.unroll = 1                 # recurrent scan unroll (speed only)
    c.eval_batch_size = 1000
    c.checkpoint_every = 1       # epochs between checkpoints (the last epoch is always saved)
    c.progress = True
    if preset == "tiny":
        c.epochs, c.epochs_d, c.epochs_e = 2, 2, 3
        c.maxlen_d, c.maxlen_e = 10, 12
        c.batch_size, c.batch_size_e = 16, 16
        c.patience_e = 1
        c.passage_words = 30
        c.eval_batch_size = 64
        c.checkpoint_every = 100
    return c


def check(c) -> None:
    check_config(c, choices={"preset": PRESETS, "dataset": DATASETS}, subsets={"parts": PARTS},
                 nonempty=("parts", "seeds"),
                 counts=("num_words", "embed_dim", "units", "batch_size", "epochs", "maxlen", "maxlen_d", "epochs_d",
                         "maxlen_e", "batch_size_e", "epochs_e", "patience_e", "passage_words", "eval_batch_size",
                         "unroll", "checkpoint_every"),
                 positive=("learning_rate", "val_fraction", "decay_rate"), fractions=("dropout", "recurrent_dropout"),
                 nonnegative=("decay_after_epochs", "max_train"), ranges={"num_words": (4, None)})
    if c.val_fraction >= 1:
        raise ConfigError(f"config key 'val_fraction' = {c.val_fraction!r} must be below 1")


def part_specs(c) -> dict:
    """Per part: model fields, maxlen, epochs, batch size, schedule and early stopping."""
    base = dict(epochs=c.epochs, batch_size=c.batch_size, schedule={}, early_stopping=None)
    stacked = dict(body="lstm", units=(c.units, c.units), dropout=c.dropout, recurrent_dropout=c.recurrent_dropout)
    return {
        "a": dict(base, title="Embedding -> Flatten -> Dense 32 ReLU -> Dense 1", maxlen=c.maxlen,
                  model=dict(body="flatten", units=(c.units,))),
        "b": dict(base, title="Embedding -> SimpleRNN 32 -> Dense 1", maxlen=c.maxlen,
                  model=dict(body="simple", units=(c.units,))),
        "c": dict(base, title="Embedding -> LSTM 32 -> Dense 1", maxlen=c.maxlen,
                  model=dict(body="lstm", units=(c.units,))),
        "d": dict(base, title="2 x LSTM 32, dropout 0.2, recurrent dropout 0.2", maxlen=c.maxlen_d,
                  epochs=c.epochs_d, model=stacked),
        "e": dict(title="as (d); batch 256, lr decay after 5 epochs, early stopping", maxlen=c.maxlen_e,
                  epochs=c.epochs_e, batch_size=c.batch_size_e, model=stacked,
                  schedule={"schedule": "constant_then_exponential", "decay_after_epochs": c.decay_after_epochs,
                            "decay_rate": c.decay_rate},
                  early_stopping=EarlyStopping(monitor="val_loss", mode="min", patience=c.patience_e)),
        "f": dict(base, title="Embedding -> GRU 32 -> Dense 1", maxlen=c.maxlen,
                  model=dict(body="gru", units=(c.units,))),
    }


def keras_param_count(c, spec: dict, vocab_size: int) -> int:
    """What Keras reports for the part's layers (Embedding, Dense/SimpleRNN/GRU/LSTM, Dense(1)); Keras's
    GRU (``reset_after=True``, the default) has an input and a recurrent bias: 3 (D·H + H·H + 2H)."""
    e, m = c.embed_dim, spec["model"]
    total, width = vocab_size * e, e
    if m["body"] == "flatten":
        total += spec["maxlen"] * e * m["units"][0] + m["units"][0]
        width = m["units"][0]
    else:
        gates = {"simple": 1, "gru": 3, "lstm": 4}[m["body"]]
        for u in m["units"]:
            total += gates * (width * u + u * u + u * (2 if m["body"] == "gru" else 1))
            width = u
    return total + width + 1


def load_splits(c) -> tuple[dict, int]:
    """({"train", "validation", "test"} -> (list of int32 id arrays, int32 labels)), vocab size."""
    if c.dataset == "imdb":
        train = jdata.load("imdb", "train", num_words=c.num_words)
        test = jdata.load("imdb", "test", num_words=c.num_words)
    else:
        train = load_austen_vs_shakespeare("train", num_words=c.num_words, passage_words=c.passage_words)
        test = load_austen_vs_shakespeare("test", num_words=c.num_words, passage_words=c.passage_words)
    n = len(train) if not c.max_train else min(len(train), c.max_train)
    perm = np.random.default_rng(c.data_seed).permutation(n)
    n_val = int(round(c.val_fraction * n))
    if n_val < 1 or n - n_val < 1:
        raise ConfigError(f"val_fraction={c.val_fraction} of {n} training reviews leaves an empty split")
    pick = lambda ds, idx: ([ds.x[i] for i in idx], ds.y[idx])  # noqa: E731
    return {"train": pick(train, np.sort(perm[n_val:])), "validation": pick(train, np.sort(perm[:n_val])),
            "test": pick(test, np.arange(len(test)))}, train.vocab_size


def _stat(values):
    """One run: the value itself (an int stays an int); several: mean ± std."""
    values = np.asarray(values)
    if values.size == 1:
        v = values.reshape(())
        return int(v) if np.issubdtype(values.dtype, np.integer) else float(v)
    return mean_std(values.astype(float))


def part_row(part: str, spec: dict, r: dict) -> dict:
    row = {"part": f"({part})", "model": spec["title"], "maxlen": spec["maxlen"], "parameters": r["parameters"],
           "epochs": _stat(r["stopped_epoch"]), "best val accuracy": _stat(r["best_val_accuracy"]),
           "best val epoch": _stat(r["best_val_epoch"]), "test accuracy": _stat(r["test_accuracy"]),
           "train time (s)": f"{r['train_seconds']:.1f}", "compile (s)": f"{r['compile_seconds']:.1f}"}
    if "test_accuracy_best_weights" in r:
        row["test accuracy"] = (f"{_fmt(_stat(r['test_accuracy']))} (best-val-loss weights, epoch "
                                f"{_fmt(_stat(r['best_epoch']))}: {_fmt(_stat(r['test_accuracy_best_weights']))})")
    return row


def run_part(c, part: str, splits: dict, vocab_size: int, trained: dict, workdir: pathlib.Path) -> tuple[str, dict]:
    spec = part_specs(c)[part]
    arrays = {name: {"x": pad_sequences(seqs, spec["maxlen"]), "y": y} for name, (seqs, y) in splits.items()}
    model = SequenceClassifier(vocab_size=vocab_size, embed_dim=c.embed_dim, unroll=c.unroll, **spec["model"])
    steps = num_batches(len(arrays["train"]["y"]), spec["batch_size"])
    tx = make_optimizer({"name": "rmsprop", "learning_rate": c.learning_rate, "eps": 1e-7, **spec["schedule"]},
                        steps)
    runs = make_runs(model, tx, arrays["train"]["x"][:1], seeds=c.seeds)
    n_params = count_params(unstack(runs.state.params, 0))
    if n_params != keras_param_count(c, spec, vocab_size):
        raise AssertionError(f"part ({part}) should have Keras's {keras_param_count(c, spec, vocab_size)} "
                             f"parameters, got {n_params}")
    stop = spec["early_stopping"]
    res = fit(runs, arrays["train"], epochs=spec["epochs"], batch_size=spec["batch_size"],
              loss="binary_cross_entropy", eval_sets={"val": arrays["validation"]}, early_stopping=stop,
              workdir=workdir, checkpoint_every=c.checkpoint_every, eval_batch_size=c.eval_batch_size,
              progress=c.progress, desc=f"part ({part})")
    r = runs.num_runs
    # Final weights (and for early stopping the best weights) in one compiled pass: stack them as runs.
    states = res.state if stop is None else jax.tree_util.tree_map(
        lambda a, b: jnp.concatenate([a, b]), res.state, res.best_state)
    both = evaluate(states, arrays["test"], loss="binary_cross_entropy", batch_size=c.eval_batch_size,
                    num_runs=r if stop is None else 2 * r)
    val_acc = res.curve("val_accuracy")          # (runs, epochs), NaN after a run stopped
    result = {"parameters": n_params, "best_val_accuracy": np.nanmax(val_acc, axis=1).tolist(),
              "best_val_epoch": (np.nanargmax(val_acc, axis=1) + 1).tolist(),
              "test_accuracy": np.asarray(both["accuracy"])[:r].tolist(),
              "test_loss": np.asarray(both["loss"])[:r].tolist(), **fit_summary(res, METRICS)}
    if stop is not None:
        result["test_accuracy_best_weights"] = np.asarray(both["accuracy"])[r:].tolist()
    trained[part] = result
    return markdown_table([part_row(part, spec, result)]), result


def _fmt(v) -> str:
    if isinstance(v, MeanStd):
        return v.format(".4f")
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else f"{v:.4f}"
    return str(v)


def comparison_part(c, trained: dict, part_dir: pathlib.Path) -> tuple[str, dict]:
    specs = part_specs(c)
    rows = [part_row(part, specs[part], r) for part, r in trained.items()]
    plots = []
    for key, label in (("val_accuracy", "validation accuracy"), ("train_accuracy", "training accuracy"),
                       ("val_loss", "validation loss")):
        curves = {f"({part})": mean_band(r["curves"][key])[0] for part, r in trained.items()}
        line_plot(part_dir / f"{key}.png", curves, title=f"{label} per epoch (mean over seeds)", xlabel="epoch",
                  ylabel=label)
        plots.append(f"comparison/{key}.png")
    text = (markdown_table(rows) + "\n\nTrain time: the epochs and validation passes of all seeds together "
            "(compilation excluded, shown separately). Test accuracy: final weights.\n\n"
            + " ".join(f"![{p}]({p})" for p in plots))
    return text, {"rows": [{k: v if isinstance(v, (int, float, str)) else str(v) for k, v in r.items()} for r in rows]}


def main(c, workdir: pathlib.Path) -> dict:
    check(c)
    splits, vocab_size = load_splits(c)
    sizes = {k: len(v[1]) for k, v in splits.items()}
    pos = {k: float(np.mean(v[1])) for k, v in splits.items()}
    lengths = [len(s) for s in splits["train"][0]]
    source = ("IMDB reviews" if c.dataset == "imdb" else
              f"the Austen-vs-Shakespeare stand-in ({c.passage_words}-word passages, label 1 = Shakespeare)")
    setup = (f"Data: {source}; {sizes['train']:,} train / {sizes['validation']:,} validation / {sizes['test']:,} "
             f"test sequences (positive fraction {pos['train']:.3f} / {pos['validation']:.3f} / {pos['test']:.3f}), "
             f"{vocab_size:,}-word vocabulary, median training length {int(np.median(lengths))} tokens (start token "
             f"included). RMSprop lr {c.learning_rate}, binary cross-entropy, validation = a seeded random "
             f"{c.val_fraction:.0%} of the training set (data seed {c.data_seed}); seeds {list(c.seeds)}; preset "
             f"`{c.preset}`.")
    specs, trained = part_specs(c), {}
    parts = {f"part_{p}": (f"({p}) {specs[p]['title']} (maxlen {specs[p]['maxlen']})",
                           functools.partial(run_part, c, p, splits, vocab_size, trained)) for p in PARTS}
    parts["comparison"] = ("All parts", functools.partial(comparison_part, c, trained))
    selected = [f"part_{p}" for p in c.parts] + ["comparison"]
    summary = run_parts(f"IMDB sentiment classifiers ({c.dataset})", parts, selected, workdir, [("Setup", setup)])
    return {"dataset": c.dataset, "sizes": sizes, "vocab_size": vocab_size, **summary}


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
