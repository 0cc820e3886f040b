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
Seeds are vmapped (``fit(make_runs(...))``: one compiled program per model; ``vmap_seeds=False``
trains them one after another with the same numbers). Loss per epoch: the running mean of the
training loss over the epoch's batches (dropout on), and validation and test loss after each
epoch (dropout off).

    python -m experiments.mnist_depth_width                  # full: 3 seeds
    python -m experiments.mnist_depth_width --config=tiny    # seconds; the smoke test
    python -m experiments.mnist_depth_width --config.models=wide --config.dataset=fashion_mnist

Outputs: config.json, machine.json, results.md, summary.json (one entry per part: each model, then
the comparison), <model>/metrics.jsonl, comparison/loss_per_epoch.png and
comparison/test_accuracy_per_epoch.png.
"""
from __future__ import annotations

import functools
import pathlib

import ml_collections
import numpy as np

from jaxml import data as jdata
from jaxml.models import param_count
from jaxml.models.mlp import MLP
from jaxml.report import line_plot, markdown_table, mean_band, mean_std
from jaxml.study.config import check_config
from jaxml.study.experiment import run_experiment, run_parts
from jaxml.study.fit_summary import fit_summary
from jaxml.train import EPOCH_LOOPS, fit, make_optimizer, make_runs

NAME = "mnist_depth_width"
PRESETS = ("full", "tiny")
# name -> (hidden sizes, dropout rate after each hidden layer, label)
ARCHITECTURES = {
    "small_dropout": ((100,), 0.5, "(a) 784-100-10, dropout 0.5"),
    "wide": ((1024,), 0.0, "(b) 784-1024-10"),
    "deep_dropout": ((500, 350, 150), 0.25, "(c) 784-500-350-150-10, dropout 0.25"),
}
METRICS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy")


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
    return c


def check(c) -> None:
    check_config(c, choices={"preset": PRESETS, "dataset": jdata.IMAGE_DATASETS, "epoch_loop": EPOCH_LOOPS},
                 subsets={"models": ARCHITECTURES}, nonempty=("models", "seeds"), positive=("learning_rate",),
                 counts=("n_train", "n_val", "n_test", "epochs", "eval_batch_size", "batch_size"),
                 ranges={"batch_size": (1, c.n_train)})


def load_data(c) -> dict:
    """{"train","validation","test"} -> {"x": float32 (N, D) in [0, 1], "y": int32 (N,)}."""
    splits = jdata.train_val_test(c.dataset, c.n_train, c.n_val, c.n_test, seed=c.data_seed)
    return jdata.unit_arrays(splits, flatten=True)


def make_model(name: str, num_classes: int = 10) -> MLP:
    hidden, rate, _ = ARCHITECTURES[name]
    return MLP(hidden_sizes=hidden, output_size=num_classes, dropout_rate=rate)


# ---------------------------------------------------------------------------------------------
# Parts: one per model (its seeds one program), then the comparison.

def model_row(name: str, r: dict) -> dict:
    final = r["final"]
    return {"model": r["label"], "parameters": r["n_params"], "test loss": mean_std(final["test_loss"]),
            "test accuracy": mean_std(final["test_accuracy"]),
            "train loss (last epoch)": mean_std(final["train_loss"]),
            "train s (all seeds)": f"{r['train_seconds']:.1f}"}


def model_part(c, data: dict, trained: dict, name: str, part_dir: pathlib.Path) -> tuple[str, dict]:
    model = make_model(name)
    tx = make_optimizer({"name": "adam", "learning_rate": c.learning_rate})
    runs = make_runs(model, tx, data["train"]["x"][:1], seeds=c.seeds)
    res = fit(runs, data["train"], epochs=c.epochs, batch_size=c.batch_size,
              eval_sets={"val": data["validation"], "test": data["test"]}, workdir=part_dir,
              checkpoint_every=c.epochs, eval_batch_size=c.eval_batch_size, progress=c.progress, desc=name,
              epoch_loop=c.epoch_loop, vmap_runs=c.vmap_seeds)
    trained[name] = {"label": ARCHITECTURES[name][2], "n_params": param_count(model, data["train"]["x"][:1]),
                     **fit_summary(res, METRICS)}
    return markdown_table([model_row(name, trained[name])]), trained[name]


def comparison_part(c, trained: dict, part_dir: pathlib.Path) -> tuple[str, dict]:
    loss_lines, loss_bands, acc_lines, acc_bands, per_epoch = {}, {}, {}, {}, []
    for name, r in trained.items():
        for key, short in (("train_loss", "train"), ("test_loss", "test")):
            loss_lines[f"{name} {short}"], loss_bands[f"{name} {short}"] = mean_band(r["curves"][key])
            per_epoch.append({"model": name, "loss": key.replace("_", " "),
                              **{str(e): float(v) for e, v in zip(*loss_lines[f"{name} {short}"])}})
        acc_lines[name], acc_bands[name] = mean_band(r["curves"]["test_accuracy"])
    line_plot(part_dir / "loss_per_epoch.png", loss_lines, bands=loss_bands, logy=True,
              title=f"{c.dataset}: training (dropout on) and test loss per epoch, mean ± std",
              xlabel="epoch", ylabel="cross-entropy")
    line_plot(part_dir / "test_accuracy_per_epoch.png", acc_lines, bands=acc_bands,
              title=f"{c.dataset}: test accuracy per epoch, mean ± std", xlabel="epoch", ylabel="test accuracy")
    text = ("Test loss and accuracy of the final weights (mean ± std over seeds):\n\n"
            + markdown_table([model_row(name, r) for name, r in trained.items()])
            + "\n\nLoss per epoch (mean over seeds; columns are epochs):\n\n" + markdown_table(per_epoch)
            + "\n\n![loss per epoch](comparison/loss_per_epoch.png) "
            "![test accuracy per epoch](comparison/test_accuracy_per_epoch.png)")
    return text, {"test_accuracy_mean": {n: float(np.mean(r["final"]["test_accuracy"])) for n, r in trained.items()}}


def main(c, workdir: pathlib.Path) -> dict:
    check(c)
    data = load_data(c)
    trained: dict = {}
    parts = {name: (ARCHITECTURES[name][2], functools.partial(model_part, c, data, trained, name)) for name in c.models}
    parts["comparison"] = ("Comparison: test loss and accuracy, loss per epoch",
                           functools.partial(comparison_part, c, trained))
    setup = (f"{c.dataset} {c.n_train}/{c.n_val}/{c.n_test} (train/validation/test, data seed {c.data_seed}), "
             f"pixels in [0, 1], flattened. Adam lr {c.learning_rate}, batch {c.batch_size}, {c.epochs} epochs, "
             f"cross-entropy, no early stopping; final weights tested. Seeds {list(c.seeds)} "
             f"({'vmapped' if c.vmap_seeds else 'one after another'}), epoch loop {c.epoch_loop}. "
             f"Preset `{c.preset}`.")
    return run_parts("MNIST MLPs: dropout, width, depth", parts, [*c.models, "comparison"], workdir,
                     [("Setup", setup)])


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
