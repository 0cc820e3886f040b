"""MNIST MLPs: a small net with dropout, a wide single hidden layer, a deep net with dropout.

Coursework question: with the same optimiser and budget (Adam, learning rate 1e-3, 10 epochs,
cross-entropy), how do (a) 784-100-10 with dropout 0.5 after the hidden layer, (b) one wide
hidden layer of 1024 units and (c) a deep 784-500-350-150-10 net with dropout 0.25 after each
hidden layer compare in test loss and accuracy, and how does their loss fall per epoch?

Data: MNIST, 55,000 train / 5,000 validation / 10,000 test (the full upstream test set;
``train_val_test(..., seed=data_seed)``), pixels scaled to [0, 1] and flattened to 784.
Models: ReLU MLPs with the library's default initialisation (LeCun normal, zero biases);
inverted dropout in training only. Parameters: (a) 79,510, (b) 814,090, (c) 622,010.

Training: Adam (b1 0.9, b2 0.999), learning rate 1e-3, batch ``batch_size`` (128), exactly
``epochs`` (10) epochs, no early stopping; the test numbers are those of the final weights.
Seeds are vmapped (one compiled program per model). Loss per epoch: the running mean of the
training loss over the epoch's batches (dropout on), and validation and test loss after each
epoch (dropout off).

    python -m experiments.mnist_depth_width                  # full: 3 seeds
    python -m experiments.mnist_depth_width --config=tiny    # seconds; the smoke test
    python -m experiments.mnist_depth_width --config.models=wide --config.dataset=fashion_mnist

Outputs: config.json, machine.json, results.md, summary.json, <model>/metrics.jsonl,
loss_per_epoch.png, test_accuracy_per_epoch.png.
"""
from __future__ import annotations

import json
import pathlib
import time

import jax
import ml_collections
import numpy as np

from jaxml import data as jdata
from jaxml.data.registry import REGISTRY
from jaxml.models import count_params
from jaxml.models.mlp import MLP
from jaxml.report import line_plot, markdown_table, mean_std, mean_std_array, write_results
from jaxml.study.config import ConfigError, check_choice, check_range
from jaxml.study.experiment import machine_summary, run_experiment
from jaxml.train import make_optimizer
from jaxml.train.host_epoch import EPOCH_LOOPS
from jaxml.train.seeds import fit_seeds

NAME = "mnist_depth_width"
PRESETS = ("full", "tiny")
# name -> (hidden sizes, dropout rate after each hidden layer, label)
ARCHITECTURES = {
    "small_dropout": ((100,), 0.5, "(a) 784-100-10, dropout 0.5"),
    "wide": ((1024,), 0.0, "(b) 784-1024-10"),
    "deep_dropout": ((500, 350, 150), 0.25, "(c) 784-500-350-150-10, dropout 0.25"),
}
IMAGE_DATASETS = tuple(n for n, s in REGISTRY.items() if s.returns == "ImageDataset")


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.dataset = "mnist"
    c.n_train, c.n_val, c.n_test = 55_000, 5_000, 10_000
    c.data_seed = 0
    c.seeds = (0, 1, 2)
    c.models = tuple(ARCHITECTURES)
    c.learning_rate = 1e-3
    c.batch_size = 128
    c.epochs = 10
    c.eval_batch_size = 5_000
    c.vmap_seeds = True
    c.epoch_loop = "scan"  # dense layers only: the one-call scanned epoch is fastest everywhere
    c.progress = True
    if preset == "tiny":
        c.models = ("deep_dropout",)  # one model (each compiles once); the others differ only in sizes
        c.seeds = (0, 1)
        c.n_train, c.n_val, c.n_test = 200, 50, 50  # equal val/test sizes share one compiled evaluation
        c.batch_size = 50
        c.epochs = 2
        c.eval_batch_size = 50
        c.progress = False
    return c


def validate(c) -> None:
    check_choice(c, "preset", PRESETS)
    check_choice(c, "dataset", IMAGE_DATASETS)
    if not c.models:
        raise ConfigError("config key 'models' must list at least one model")
    for m in c.models:
        if m not in ARCHITECTURES:
            raise ConfigError(f"config key 'models' has unknown model {m!r}; expected a subset of "
                              f"{list(ARCHITECTURES)}")
    if not c.seeds:
        raise ConfigError("config key 'seeds' must list at least one seed")
    check_range(c, "learning_rate", 0, low_inclusive=False)
    for key in ("n_train", "n_val", "n_test", "epochs", "eval_batch_size"):
        check_range(c, key, 1)
    check_range(c, "batch_size", 1, c.n_train)
    check_choice(c, "epoch_loop", EPOCH_LOOPS)


def load_data(c) -> dict:
    """{"train","validation","test"} -> {"x": float32 (N, D) in [0, 1], "y": int32 (N,)}."""
    splits = jdata.train_val_test(c.dataset, c.n_train, c.n_val, c.n_test, seed=c.data_seed)
    return jdata.unit_arrays(splits, flatten=True)


def make_model(name: str, num_classes: int = 10) -> MLP:
    hidden, rate, _ = ARCHITECTURES[name]
    return MLP(hidden_sizes=hidden, output_size=num_classes, dropout_rate=rate)


def main(c, workdir: pathlib.Path) -> dict:
    validate(c)
    t0 = time.perf_counter()
    data = load_data(c)
    tx = make_optimizer({"name": "adam", "learning_rate": c.learning_rate})
    results, rows, loss_curves, loss_bands, acc_curves, acc_bands = {}, [], {}, {}, {}, {}
    for name in c.models:
        label = ARCHITECTURES[name][2]
        print(f"\n=== {label} ===", flush=True)
        model = make_model(name)
        n_params = count_params(jax.eval_shape(model.init, jax.random.PRNGKey(0), data["train"]["x"][:1])["params"])
        out = fit_seeds(model, tx, data["train"], seeds=c.seeds, vmap=c.vmap_seeds, workdir=workdir / name,
                        epochs=c.epochs, batch_size=c.batch_size,
                        eval_sets={"val": data["validation"], "test": data["test"]},
                        checkpoint_every=c.epochs, eval_batch_size=c.eval_batch_size, progress=c.progress,
                        desc=name, epoch_loop=c.epoch_loop)
        curves = {k: out.curves(k) for k in ("train_loss", "val_loss", "test_loss", "test_accuracy",
                                               "train_accuracy", "val_accuracy")}
        epochs = np.arange(1, curves["train_loss"].shape[1] + 1)
        for key, short in (("train_loss", "train"), ("test_loss", "test")):
            m, s = mean_std_array(curves[key])
            loss_curves[f"{name} {short}"] = (epochs, m)
            loss_bands[f"{name} {short}"] = (epochs, m - s, m + s)
        m, s = mean_std_array(curves["test_accuracy"])
        acc_curves[name], acc_bands[name] = (epochs, m), (epochs, m - s, m + s)
        results[name] = {"label": label, "n_params": n_params, "seeds": [r.seed for r in out.runs],
                         "curves": {k: v.tolist() for k, v in curves.items()},
                         "test_loss": curves["test_loss"][:, -1].tolist(),
                         "test_accuracy": curves["test_accuracy"][:, -1].tolist(),
                         "train_seconds": out.train_seconds, "compile_seconds": out.compile_seconds}
        rows.append({"model": label, "parameters": n_params,
                     "test loss": mean_std(curves["test_loss"][:, -1]),
                     "test accuracy": mean_std(curves["test_accuracy"][:, -1]),
                     "train loss (last epoch)": mean_std(curves["train_loss"][:, -1]),
                     "train s (all seeds)": f"{out.train_seconds:.1f}"})
    line_plot(workdir / "loss_per_epoch.png", loss_curves, bands=loss_bands, logy=True,
              title=f"{c.dataset}: training (dropout on) and test loss per epoch, mean ± std",
              xlabel="epoch", ylabel="cross-entropy")
    line_plot(workdir / "test_accuracy_per_epoch.png", acc_curves, bands=acc_bands,
              title=f"{c.dataset}: test accuracy per epoch, mean ± std", xlabel="epoch", ylabel="test accuracy")
    per_epoch = []
    for name, r in results.items():
        for key in ("train_loss", "test_loss"):
            m, _ = mean_std_array(np.asarray(r["curves"][key]))
            per_epoch.append({"model": name, "loss": key.replace("_", " "),
                              **{str(e + 1): float(v) for e, v in enumerate(m)}})
    total = time.perf_counter() - t0
    setup = (f"{c.dataset} {c.n_train}/{c.n_val}/{c.n_test} (train/validation/test, data seed {c.data_seed}), "
             f"pixels in [0, 1], flattened. Adam lr {c.learning_rate}, batch {c.batch_size}, {c.epochs} epochs, "
             f"cross-entropy, no early stopping; final weights tested. Seeds {list(c.seeds)} "
             f"({'vmapped' if c.vmap_seeds else 'one after another'}). Preset `{c.preset}`; machine: "
             f"{machine_summary()}.")
    table = markdown_table(rows)
    sections = [("Setup", setup),
                ("Test loss and accuracy (final weights, mean ± std over seeds)", table),
                ("Loss per epoch (mean over seeds; columns are epochs)",
                 markdown_table(per_epoch) + "\n\n![loss per epoch](loss_per_epoch.png) "
                 "![test accuracy per epoch](test_accuracy_per_epoch.png)"),
                ("Run", f"Total wall time {total:.1f} s.")]
    write_results(workdir / "results.md", "MNIST MLPs: dropout, width, depth", sections)
    summary = {"models": results, "total_seconds": total}
    (workdir / "summary.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
    print("\n" + table + f"\n\nResults written to {workdir / 'results.md'} (total {total:.1f} s)")
    return summary


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
