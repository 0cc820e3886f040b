"""IMDB sentiment with Embedding + Dense / SimpleRNN / LSTM classifiers (the Keras coursework).

Coursework question: on IMDB reviews (10,000-word vocabulary), how do a bag-of-embeddings
Dense model, a SimpleRNN and LSTMs compare, and what do longer reviews, stacking, dropout,
recurrent dropout, a decaying learning rate and early stopping add?

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

Every part reports parameters, best validation accuracy, test accuracy of the final weights
(Keras' default: no restoring of the best epoch; (e) also gives the test accuracy of its
best-validation-loss weights) and wall time. Seeds (``seeds``) are vmapped within a part.

Data (``--config.dataset=``): ``imdb`` (default; ``<data dir>/imdb/imdb.npz`` or ``aclImdb/``) or
``austen_vs_shakespeare``, the offline stand-in of :mod:`jaxml.data.austen_vs_shakespeare`
(200-word passages of Austen (0) vs Shakespeare (1), same tokenisation, top-10,000-word ids and
padding), used on machines without IMDB.

    python -m experiments.imdb_sentiment --config.dataset=austen_vs_shakespeare
    python -m experiments.imdb_sentiment --config.parts=a,b --config.seeds=0,1,2
    python -m experiments.imdb_sentiment --config=tiny      # seconds; used by the smoke test
"""
from __future__ import annotations

import json
import math
import pathlib
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml import data as jdata
from jaxml.data.austen_vs_shakespeare import load_austen_vs_shakespeare
from jaxml.data.imdb import pad_sequences
from jaxml.models import count_params
from jaxml.models.rnn import SequenceClassifier
from jaxml.report import MeanStd, line_plot, markdown_table, mean_std, write_results
from jaxml.study.config import ConfigError, check_choice, check_range
from jaxml.study.experiment import machine_summary, run_experiment
from jaxml.train import EarlyStopping, evaluate, fit, make_optimizer, make_runs, num_batches

NAME = "imdb_sentiment"
PRESETS = ("full", "tiny")
PARTS = ("a", "b", "c", "d", "e")
DATASETS = ("imdb", "austen_vs_shakespeare")
# Keras's parameter counts of each part at the default sizes (maxlen 20 for the Flatten model).
EXPECTED_PARAMS = {"a": 160_000 + 10_272 + 33, "b": 160_000 + 1_568 + 33, "c": 160_000 + 6_272 + 33,
                   "d": 160_000 + 6_272 + 8_320 + 33, "e": 160_000 + 6_272 + 8_320 + 33}


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
    c.maxlen = 20                # parts a, b, c
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
        c.progress = False
    return c


def validate(c) -> None:
    check_choice(c, "preset", PRESETS)
    check_choice(c, "dataset", DATASETS)
    for part in c.parts:
        if part not in PARTS:
            raise ConfigError(f"config key 'parts' has unknown part {part!r}; expected a subset of {list(PARTS)}")
    if not c.seeds:
        raise ConfigError("config key 'seeds' must list at least one seed")
    for key in ("num_words", "embed_dim", "units", "batch_size", "epochs", "maxlen", "maxlen_d", "epochs_d",
                "maxlen_e", "batch_size_e", "epochs_e", "patience_e", "passage_words", "eval_batch_size", "unroll",
                "checkpoint_every"):
        check_range(c, key, 1)
    check_range(c, "num_words", 4)
    check_range(c, "learning_rate", 0, low_inclusive=False)
    check_range(c, "val_fraction", 0, 1, low_inclusive=False, high_inclusive=False)
    check_range(c, "dropout", 0, 1, high_inclusive=False)
    check_range(c, "recurrent_dropout", 0, 1, high_inclusive=False)
    check_range(c, "decay_rate", 0, low_inclusive=False)
    check_range(c, "decay_after_epochs", 0)
    check_range(c, "max_train", 0)


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
    }


def keras_param_count(c, spec: dict, vocab_size: int) -> int:
    """What Keras reports for the part's layers (Embedding, Dense/SimpleRNN/LSTM, Dense(1))."""
    e, m = c.embed_dim, spec["model"]
    total, width = vocab_size * e, e
    if m["body"] == "flatten":
        total += spec["maxlen"] * e * m["units"][0] + m["units"][0]
        width = m["units"][0]
    else:
        gates = {"simple": 1, "gru": 3, "lstm": 4}[m["body"]]
        for u in m["units"]:
            total += gates * (width * u + u * u + u)
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


def run_part(c, part: str, spec: dict, splits: dict, vocab_size: int, workdir: pathlib.Path) -> tuple[dict, dict]:
    arrays = {name: {"x": pad_sequences(seqs, spec["maxlen"]), "y": y} for name, (seqs, y) in splits.items()}
    model = SequenceClassifier(vocab_size=vocab_size, embed_dim=c.embed_dim, unroll=c.unroll, **spec["model"])
    steps = num_batches(len(arrays["train"]["y"]), spec["batch_size"])
    tx = make_optimizer({"name": "rmsprop", "learning_rate": c.learning_rate, "eps": 1e-7, **spec["schedule"]},
                        steps)
    runs = make_runs(model, tx, arrays["train"]["x"][:1], seeds=c.seeds)
    n_params = count_params(jax.tree_util.tree_map(lambda a: a[0], runs.state.params))
    if n_params != keras_param_count(c, spec, vocab_size):
        raise AssertionError(f"part ({part}) should have Keras's {keras_param_count(c, spec, vocab_size)} "
                             f"parameters, got {n_params}")
    t0 = time.perf_counter()
    res = fit(runs.state, arrays["train"], key=runs.train_keys, epochs=spec["epochs"], batch_size=spec["batch_size"],
              loss="binary_cross_entropy", eval_sets={"val": arrays["validation"]},
              early_stopping=spec["early_stopping"], num_runs=runs.num_runs, run_info=runs.info,
              workdir=workdir, checkpoint_every=c.checkpoint_every, eval_batch_size=c.eval_batch_size,
              progress=c.progress, desc=f"part ({part})")
    seconds = time.perf_counter() - t0
    r = runs.num_runs
    # Final weights (and for early stopping the best weights) in one compiled pass: stack them as runs.
    states = res.state if spec["early_stopping"] is None else jax.tree_util.tree_map(
        lambda a, b: jnp.concatenate([a, b]), res.state, res.best_state)
    both = evaluate(states, arrays["test"], loss="binary_cross_entropy", batch_size=c.eval_batch_size,
                    num_runs=r if spec["early_stopping"] is None else 2 * r)
    test = {k: np.asarray(v)[:r] for k, v in both.items()}
    curves = {k: [res.curve(k, r)[1].tolist() for r in range(runs.num_runs)]
              for k in ("train_accuracy", "val_accuracy", "train_loss", "val_loss")}
    val_acc = [res.curve("val_accuracy", r)[1] for r in range(runs.num_runs)]
    best_val = [float(v.max()) for v in val_acc]
    best_epoch = [int(np.argmax(v)) + 1 for v in val_acc]
    row = {"part": f"({part})", "model": spec["title"], "maxlen": spec["maxlen"], "parameters": n_params,
           "epochs": _stat(res.stopped_epoch), "best val accuracy": _stat(best_val),
           "best val epoch": _stat(best_epoch), "test accuracy": _stat(test["accuracy"]),
           "train time (s)": f"{res.train_seconds:.1f}", "compile (s)": f"{res.compile_seconds:.1f}"}
    result = {"parameters": n_params, "best_val_accuracy": best_val, "best_val_epoch": best_epoch,
              "test_accuracy": np.asarray(test["accuracy"]).tolist(), "test_loss": np.asarray(test["loss"]).tolist(),
              "epochs": res.stopped_epoch.tolist(), "train_seconds": res.train_seconds,
              "compile_seconds": res.compile_seconds, "wall_seconds": seconds,
              "curves": curves}
    if spec["early_stopping"] is not None:
        best = {k: np.asarray(v)[r:] for k, v in both.items()}
        result["test_accuracy_best_weights"] = np.asarray(best["accuracy"]).tolist()
        result["best_loss_epoch"] = res.best_epoch.tolist()
        row["test accuracy"] = (f"{_fmt(_stat(test['accuracy']))} (best-val-loss weights, epoch "
                                f"{_fmt(_stat(res.best_epoch))}: {_fmt(_stat(best['accuracy']))})")
    return row, result


def _fmt(v) -> str:
    if isinstance(v, MeanStd):
        return v.format(".4f")
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else f"{v:.4f}"
    return str(v)


def plot_curves(results: dict, workdir: pathlib.Path) -> list[str]:
    paths = []
    for key, label in (("val_accuracy", "validation accuracy"), ("train_accuracy", "training accuracy"),
                       ("val_loss", "validation loss")):
        curves = {}
        for part, r in results.items():
            runs = [np.asarray(v, float) for v in r["curves"][key]]
            n = min(len(v) for v in runs)
            mean = np.mean([v[:n] for v in runs], axis=0)
            curves[f"({part})"] = (np.arange(1, n + 1), mean)
        name = f"{key}.png"
        line_plot(workdir / name, curves, title=f"{label} per epoch (mean over seeds)", xlabel="epoch", ylabel=label)
        paths.append(name)
    return paths


def main(c, workdir: pathlib.Path) -> dict:
    validate(c)
    t0 = time.perf_counter()
    splits, vocab_size = load_splits(c)
    specs = part_specs(c)
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
             f"`{c.preset}`. Machine: {machine_summary()}.")
    rows, summary = [], {"dataset": c.dataset, "sizes": sizes, "vocab_size": vocab_size, "parts": {}}
    for part in PARTS:
        if part not in c.parts:
            continue
        print(f"\n=== part ({part}): {specs[part]['title']} (maxlen {specs[part]['maxlen']}) ===", flush=True)
        row, result = run_part(c, part, specs[part], splits, vocab_size, workdir / f"part_{part}")
        rows.append(row)
        summary["parts"][part] = result
        print(markdown_table([row]), flush=True)
    plots = plot_curves(summary["parts"], workdir) if summary["parts"] else []
    total = time.perf_counter() - t0
    table = markdown_table(rows)
    text = (table + "\n\nTrain time: the epochs and validation passes of all seeds together (compilation excluded, "
            "shown separately). Test accuracy: final weights.\n\n" + " ".join(f"![{p}]({p})" for p in plots))
    write_results(workdir / "results.md", f"IMDB sentiment classifiers ({c.dataset})",
                  [("Setup", setup), ("Results", text), ("Run", f"Total wall time {total:.1f} s.")])
    summary["total_seconds"] = total
    summary["rows"] = [{k: str(v) if not isinstance(v, (int, float, str)) else v for k, v in r.items()} for r in rows]
    (workdir / "summary.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
    print(f"\n{table}\n\nResults written to {workdir / 'results.md'} (total {total:.1f} s)")
    return summary


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
