"""ResNet-18/34/50 on CIFAR-10: accuracy and wall time per epoch; cross-entropy vs MSE, RMSE, SMAPE on one-hot targets.

Coursework question: how accurate do ResNet-18, -34 and -50 get on CIFAR-10 per epoch, how long
does an epoch of training and of evaluation take, and what changes when the loss is the mean
squared error (or its root, RMSE, or the symmetric mean absolute percentage error, SMAPE) between
the network's outputs and one-hot targets instead of cross-entropy?

Data: CIFAR-10, the 50,000 training images and the 10,000 test images (``train_val_test`` with
``n_val=0``; ``n_train``/``n_test`` take deterministic subsets), pixels scaled to [0, 1] and
standardised per channel with the training set's mean and std; no augmentation. A missing
``<data dir>/cifar10/`` is downloaded (SHA-256 verified) on first use unless ``JAXML_OFFLINE=1``.
``--config.dataset=fashion_mnist`` (or ``mnist``) runs on 28x28x1 images: the ResNet's first
conv takes any channel count and the CIFAR stem keeps the size (28 -> 28, then 14, 7, 4).

Models: ``jaxml.models.resnet.resnet18/34/50`` with the CIFAR stem (conv 3x3, no max-pool), stage
widths ``width * (1, 2, 4, 8)`` (64 = the standard network; smaller widths for CPU runs), batch
norm (running averages at test time). Loss ``cross_entropy`` on the logits, or on the raw outputs
o (no softmax) against t = one_hot(label), per example (``jaxml.train.losses``, whose docstring
has the details): ``mse`` = mean_j (o_j - t_j)^2; ``rmse`` = sqrt(mse) per example (so a batch's
loss is the mean of per-example RMSEs, not the RMSE of the batch); ``smape`` = mean_j 2|o_j - t_j|
/ (|o_j| + |t_j| + 1e-8), in [0, 2]. Accuracy is the argmax in every case.

Training: SGD with momentum 0.9 and weight decay 5e-4 (added to the gradient), learning rate
``learning_rate`` (0.05) with a linear warm-up over ``warmup_epochs`` then cosine decay to 0 at
``epochs``; batch 128; final weights reported. After every epoch the test set is evaluated; the
records hold the wall time of the epoch's training (``epoch_seconds``) and of that evaluation
(``eval_seconds``). ``epoch_loop="auto"`` trains with a host loop of compiled steps on a CPU
(convolution gradients inside ``lax.scan`` are an order of magnitude slower on XLA:CPU; see
``jaxml.train.epoch``) and with one scanned call per epoch on accelerators. The seeds of one
(model, loss) are one ``fit(make_runs(...))`` program (``vmap_seeds=False``: one after another). Epoch 1's times
include compilation, so the summary reports medians over epochs 2..E.

    python -m experiments.resnet_cifar10                      # full: CIFAR-10, ResNet-18/34/50, 30 epochs
    python -m experiments.resnet_cifar10 --config.losses=cross_entropy,mse,rmse,smape
    python -m experiments.resnet_cifar10 --config=demo        # reduced budget for a 2-core CPU
    python -m experiments.resnet_cifar10 --config=tiny        # seconds; the smoke test

Parts (``run_parts``): one per (model, loss), named ``<model>_<loss>``, then ``comparison``.

Outputs: config.json, machine.json, results.md, summary.json, <model>_<loss>/metrics.jsonl,
comparison/accuracy_per_epoch.png, comparison/seconds_per_epoch.png.
"""
from __future__ import annotations

import functools
import pathlib

import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml import data as jdata
from jaxml.models import param_count
from jaxml.models.resnet import resnet18, resnet34, resnet50
from jaxml.report import line_plot, markdown_table, mean_band, mean_std
from jaxml.study.config import check_config
from jaxml.study.experiment import run_experiment, run_parts
from jaxml.study.fit_summary import fit_summary
from jaxml.train import EPOCH_LOOPS, fit, make_optimizer, make_runs, num_batches, resolve_epoch_loop

NAME = "resnet_cifar10"
PRESETS = ("full", "demo", "tiny")
MODELS = {"resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50}
LOSSES = ("cross_entropy", "mse", "rmse", "smape")
METRICS = ("train_accuracy", "test_accuracy", "train_loss", "test_loss", "epoch_seconds", "eval_seconds")


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.dataset = "cifar10"
    c.n_train, c.n_test = 50_000, 10_000
    c.data_seed = 0
    c.seeds = (0,)
    c.models = tuple(MODELS)
    c.losses = ("cross_entropy",)
    c.width = 64
    c.learning_rate = 0.05
    c.momentum = 0.9
    c.weight_decay = 5e-4
    c.warmup_epochs = 1
    c.batch_size = 128
    c.epochs = 30
    c.eval_batch_size = 500
    c.vmap_seeds = True
    c.epoch_loop = "auto"  # host loop on CPU (conv gradients are slow inside lax.scan there), scan elsewhere
    c.progress = True
    c.half_precision = False  # True: the model computes in bfloat16 (params, logits float32): GPUs/TPUs
    if preset == "demo":  # the documented reduced budget for a shared 2-core CPU
        c.width = 16
        c.n_train, c.n_test = 6_000, 2_000
        c.epochs = 3
    elif preset == "tiny":
        c.models = ("resnet18",)
        # Two non-default losses (cross-entropy is what every other study trains with; mse runs the same
        # code by another name and is unit-tested in tests/train/test_losses.py): one program each.
        c.losses = ("rmse", "smape")
        c.width = 4
        c.n_train, c.n_test = 60, 30
        c.batch_size = 30
        c.epochs = 2
        c.eval_batch_size = 30
    return c


def check(c) -> None:
    check_config(c, choices={"preset": PRESETS, "dataset": jdata.IMAGE_DATASETS, "epoch_loop": EPOCH_LOOPS},
                 subsets={"models": MODELS, "losses": LOSSES}, nonempty=("models", "losses", "seeds"),
                 positive=("learning_rate",), fractions=("momentum",), nonnegative=("weight_decay",),
                 counts=("n_train", "n_test", "epochs", "eval_batch_size", "width", "batch_size"),
                 ranges={"warmup_epochs": (0, c.epochs - 1), "batch_size": (1, c.n_train)})


def load_data(c) -> tuple[dict, tuple]:
    """({"train","test"} -> {"x": float32 NHWC standardised per channel (training statistics), "y": int32},
    class names)."""
    splits = jdata.train_val_test(c.dataset, c.n_train, 0, c.n_test, seed=c.data_seed)
    return jdata.standardised_arrays({k: splits[k] for k in ("train", "test")}), splits["train"].class_names


def make_tx(c, steps_per_epoch: int):
    return make_optimizer({"name": "sgd", "learning_rate": c.learning_rate, "momentum": c.momentum,
                           "weight_decay": c.weight_decay, "schedule": "warmup_cosine",
                           "warmup_epochs": c.warmup_epochs, "total_epochs": c.epochs}, steps_per_epoch)


def _median_after_first(seconds_RxE: np.ndarray) -> float:
    """Median seconds per epoch over epochs 2..E (epoch 1's evaluation includes compiling it)."""
    seconds_RxE = np.asarray(seconds_RxE, float)
    return float(np.nanmedian(seconds_RxE[:, 1:] if seconds_RxE.shape[1] > 1 else seconds_RxE))


# ---------------------------------------------------------------------------------------------
# Parts: one per (model, loss), then the comparison.

def run_part(c, data: dict, num_classes: int, trained: dict, name: str, loss: str,
             part_dir: pathlib.Path) -> tuple[str, dict]:
    model = MODELS[name](num_classes=num_classes, stem="cifar", width=c.width,
                         dtype=jnp.bfloat16 if c.half_precision else jnp.float32)
    x1 = data["train"]["x"][:1]
    tx = make_tx(c, num_batches(c.n_train, c.batch_size))
    res = fit(make_runs(model, tx, x1, seeds=c.seeds), data["train"], epochs=c.epochs, batch_size=c.batch_size,
              loss=loss, eval_sets={"test": data["test"]}, workdir=part_dir, checkpoint_every=c.epochs,
              eval_batch_size=c.eval_batch_size, progress=c.progress, on_nonfinite="stop_run",
              desc=part_dir.name, epoch_loop=c.epoch_loop, vmap_runs=c.vmap_seeds)
    trained[part_dir.name] = r = {"model": name, "loss": loss, "width": c.width, "n_params": param_count(model, x1),
                                  "vmapped": c.vmap_seeds, **fit_summary(res, METRICS)}
    return markdown_table([summary_row(part_dir.name, r, c)]), r


def summary_row(run: str, r: dict, c) -> dict:
    acc = np.asarray(r["curves"]["test_accuracy"])
    return {"model": r["model"], "loss": r["loss"], "parameters": r["n_params"],
            "final test accuracy": mean_std(acc[:, -1]), "best test accuracy": mean_std(np.nanmax(acc, axis=1)),
            "train s/epoch (median)": _median_after_first(r["curves"]["epoch_seconds"]),
            "eval s/epoch (median)": _median_after_first(r["curves"]["eval_seconds"]),
            "compile s": None if resolve_epoch_loop(c.epoch_loop) == "host" else r["compile_seconds"]}


def comparison_part(c, trained: dict, part_dir: pathlib.Path) -> tuple[str, dict]:
    acc_lines, acc_bands, time_lines, per_epoch = {}, {}, {}, []
    for run, r in trained.items():
        curves = {k: np.asarray(v, float) for k, v in r["curves"].items()}
        acc_lines[run], acc_bands[run] = mean_band(curves["test_accuracy"])
        epochs = acc_lines[run][0]
        time_lines[f"{run} train"] = (epochs, np.nanmean(curves["epoch_seconds"], axis=0))
        time_lines[f"{run} eval"] = (epochs, np.nanmean(curves["eval_seconds"], axis=0))
        per_epoch += [{"run": run, "epoch": int(e), "test accuracy": mean_std(curves["test_accuracy"][:, i]),
                       "train accuracy (running)": mean_std(curves["train_accuracy"][:, i]),
                       "train s": float(time_lines[f"{run} train"][1][i]),
                       "eval s": float(time_lines[f"{run} eval"][1][i])} for i, e in enumerate(epochs)]
    line_plot(part_dir / "accuracy_per_epoch.png", acc_lines, bands=acc_bands,
              title=f"{c.dataset}: test accuracy per epoch (width {c.width})", xlabel="epoch", ylabel="test accuracy")
    line_plot(part_dir / "seconds_per_epoch.png", time_lines, logy=True,
              title="Wall time per epoch: training and test evaluation", xlabel="epoch", ylabel="seconds")
    text = (markdown_table([summary_row(run, r, c) for run, r in trained.items()]) + "\n\nPer epoch:\n\n"
            + markdown_table(per_epoch)
            + "\n\n![accuracy](comparison/accuracy_per_epoch.png) ![seconds](comparison/seconds_per_epoch.png)")
    return text, {"final_test_accuracy_mean": {run: float(np.mean(r["final"]["test_accuracy"]))
                                               for run, r in trained.items()}}


def main(c, workdir: pathlib.Path) -> dict:
    check(c)
    data, class_names = load_data(c)
    trained: dict = {}
    parts = {f"{name}_{loss}": (f"{name} (width {c.width}), loss {loss}",
                                functools.partial(run_part, c, data, len(class_names), trained, name, loss))
             for name in c.models for loss in c.losses}
    parts["comparison"] = ("Comparison: accuracy and wall time per epoch",
                           functools.partial(comparison_part, c, trained))
    setup = (f"{c.dataset}: {c.n_train} training / {c.n_test} test images (data seed {c.data_seed}), standardised per "
             f"channel, no augmentation. ResNets with the CIFAR stem, width {c.width}. SGD momentum {c.momentum}, "
             f"weight decay {c.weight_decay}, lr {c.learning_rate} with {c.warmup_epochs} warm-up epoch(s) then cosine "
             f"decay, batch {c.batch_size}, {c.epochs} epochs. Seeds {list(c.seeds)} "
             f"({'vmapped' if c.vmap_seeds else 'one after another'}), epoch loop {resolve_epoch_loop(c.epoch_loop)}. "
             f"Times are wall seconds per epoch for all seeds of a program together. Epoch 1's times include "
             f"compilation (the evaluation compiles on its first call; with the host loop so does the train "
             f"step), so the summary columns are medians over epochs 2..E. Preset `{c.preset}`.")
    return run_parts(f"ResNets on {c.dataset}", parts, list(parts), workdir, [("Setup", setup)])


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
