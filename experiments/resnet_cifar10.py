"""ResNet-18/34/50 on CIFAR-10: accuracy and wall time per epoch; cross-entropy vs MSE on one-hot targets.

Coursework question: how accurate do ResNet-18, -34 and -50 get on CIFAR-10 per epoch, how long
does an epoch of training and of evaluation take, and what changes when the loss is the mean
squared error between the network's outputs and one-hot targets instead of cross-entropy?

Data: CIFAR-10, the 50,000 training images and the 10,000 test images (``train_val_test`` with
``n_val=0``; ``n_train``/``n_test`` take deterministic subsets), pixels scaled to [0, 1] and
standardised per channel with the training set's mean and std; no augmentation.
``--config.dataset=fashion_mnist`` (or ``mnist``) runs on 28x28x1 images: the ResNet's first
conv takes any channel count and the CIFAR stem keeps the size (28 -> 28, then 14, 7, 4).

Models: ``jaxml.models.resnet.resnet18/34/50`` with the CIFAR stem (conv 3x3, no max-pool), stage
widths ``width * (1, 2, 4, 8)`` (64 = the standard network; smaller widths for CPU runs), batch
norm (running averages at test time). Loss ``cross_entropy`` on the logits, or ``mse``: the mean
over the 10 outputs of (output - one_hot(label))^2, on the raw outputs (no softmax), as
``jaxml.train.losses.mse``; accuracy is the argmax in both cases.

Training: SGD with momentum 0.9 and weight decay 5e-4 (added to the gradient), learning rate
``learning_rate`` (0.05) with a linear warm-up over ``warmup_epochs`` then cosine decay to 0 at
``epochs``; batch 128; final weights reported. After every epoch the test set is evaluated; the
records hold the wall time of the epoch's training (``epoch_seconds``) and of that evaluation
(``eval_seconds``). ``epoch_loop="auto"`` trains with a host loop of compiled steps on a CPU
(convolution gradients inside ``lax.scan`` are an order of magnitude slower on XLA:CPU; see
``jaxml.train.host_epoch``) and with one scanned call per epoch on accelerators. Epoch 1's times
include compilation, so the summary reports medians over epochs 2..E.

    python -m experiments.resnet_cifar10                      # full: CIFAR-10, ResNet-18/34/50, 30 epochs
    python -m experiments.resnet_cifar10 --config.losses=cross_entropy,mse
    python -m experiments.resnet_cifar10 --config=demo        # reduced budget for a 2-core CPU
    python -m experiments.resnet_cifar10 --config=tiny        # seconds; the smoke test

Outputs: config.json, machine.json, results.md, summary.json, <model>_<loss>/metrics.jsonl,
accuracy_per_epoch.png, seconds_per_epoch.png.
"""
from __future__ import annotations

import json
import pathlib
import time

import jax
import ml_collections
import numpy as np

from jaxml import data as jdata
from jaxml.data import transforms
from jaxml.data.registry import REGISTRY
from jaxml.models import count_params
from jaxml.models.resnet import resnet18, resnet34, resnet50
from jaxml.report import line_plot, markdown_table, mean_std, mean_std_array, write_results
from jaxml.study.config import ConfigError, check_choice, check_range
from jaxml.study.experiment import machine_summary, run_experiment
from jaxml.train import make_optimizer
from jaxml.train.host_epoch import EPOCH_LOOPS, resolve_epoch_loop
from jaxml.train.seeds import fit_seeds

NAME = "resnet_cifar10"
PRESETS = ("full", "demo", "tiny")
MODELS = {"resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50}
LOSSES = ("cross_entropy", "mse")
IMAGE_DATASETS = tuple(n for n, s in REGISTRY.items() if s.returns == "ImageDataset")


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
    if preset == "demo":  # the documented reduced budget for a shared 2-core CPU
        c.width = 16
        c.n_train, c.n_test = 6_000, 2_000
        c.epochs = 3
    elif preset == "tiny":
        c.models = ("resnet18",)
        c.losses = ("mse",)  # the non-default loss; cross-entropy is what every other study trains with
        c.width = 4
        c.n_train, c.n_test = 60, 30
        c.batch_size = 30
        c.epochs = 2
        c.eval_batch_size = 30
        c.progress = False
    return c


def validate(c) -> None:
    check_choice(c, "preset", PRESETS)
    check_choice(c, "dataset", IMAGE_DATASETS)
    for key, allowed in (("models", tuple(MODELS)), ("losses", LOSSES)):
        if not c[key]:
            raise ConfigError(f"config key {key!r} must list at least one entry; allowed: {list(allowed)}")
        for v in c[key]:
            if v not in allowed:
                raise ConfigError(f"config key {key!r} has unknown entry {v!r}; expected a subset of {list(allowed)}")
    if not c.seeds:
        raise ConfigError("config key 'seeds' must list at least one seed")
    check_range(c, "learning_rate", 0, low_inclusive=False)
    check_range(c, "momentum", 0, 1, high_inclusive=False)
    check_range(c, "weight_decay", 0)
    check_range(c, "warmup_epochs", 0, c.epochs - 1)
    for key in ("n_train", "n_test", "epochs", "eval_batch_size", "width"):
        check_range(c, key, 1)
    check_range(c, "batch_size", 1, c.n_train)
    check_choice(c, "epoch_loop", EPOCH_LOOPS)


def load_data(c) -> tuple[dict, tuple]:
    """({"train","test"} -> {"x": float32 NHWC standardised per channel (training statistics), "y": int32},
    class names)."""
    splits = jdata.train_val_test(c.dataset, c.n_train, 0, c.n_test, seed=c.data_seed)
    train = np.asarray(transforms.scale_to_unit(splits["train"].x))
    mean, std = train.mean(axis=(0, 1, 2)), train.std(axis=(0, 1, 2)) + 1e-6
    data = {k: {"x": np.asarray(transforms.standardise(transforms.scale_to_unit(splits[k].x), mean, std)),
                "y": splits[k].y} for k in ("train", "test")}
    return data, splits["train"].class_names


def make_tx(c, steps_per_epoch: int):
    return make_optimizer({"name": "sgd", "learning_rate": c.learning_rate, "momentum": c.momentum,
                           "weight_decay": c.weight_decay, "schedule": "warmup_cosine",
                           "warmup_epochs": c.warmup_epochs, "total_epochs": c.epochs}, steps_per_epoch)


def _median_after_first(seconds_RxE: np.ndarray) -> float:
    """Median seconds per epoch over epochs 2..E (epoch 1's evaluation includes compiling it)."""
    seconds_RxE = np.asarray(seconds_RxE, float)
    return float(np.nanmedian(seconds_RxE[:, 1:] if seconds_RxE.shape[1] > 1 else seconds_RxE))


def main(c, workdir: pathlib.Path) -> dict:
    validate(c)
    t0 = time.perf_counter()
    data, class_names = load_data(c)
    num_classes = len(class_names)
    steps = -(-c.n_train // c.batch_size)
    results, rows, acc_curves, acc_bands, time_curves = {}, [], {}, {}, {}
    for name in c.models:
        model = MODELS[name](num_classes=num_classes, stem="cifar", width=c.width)
        n_params = count_params(jax.eval_shape(model.init, jax.random.PRNGKey(0), data["train"]["x"][:1])["params"])
        for loss in c.losses:
            run = f"{name}_{loss}"
            print(f"\n=== {name} (width {c.width}, {n_params:,} parameters), loss {loss} ===", flush=True)
            out = fit_seeds(model, make_tx(c, steps), data["train"], seeds=c.seeds, vmap=c.vmap_seeds,
                            workdir=workdir / run, epochs=c.epochs, batch_size=c.batch_size, loss=loss,
                            eval_sets={"test": data["test"]}, checkpoint_every=c.epochs,
                            eval_batch_size=c.eval_batch_size, progress=c.progress, on_nonfinite="stop_run",
                            desc=run, epoch_loop=c.epoch_loop)
            curves = {k: out.curves(k) for k in ("train_accuracy", "test_accuracy", "train_loss", "test_loss",
                                                   "epoch_seconds", "eval_seconds")}
            epochs = np.arange(1, curves["test_accuracy"].shape[1] + 1)
            m, s = mean_std_array(curves["test_accuracy"])
            acc_curves[run], acc_bands[run] = (epochs, m), (epochs, m - s, m + s)
            time_curves[f"{run} train"] = (epochs, np.nanmean(curves["epoch_seconds"], axis=0))
            time_curves[f"{run} eval"] = (epochs, np.nanmean(curves["eval_seconds"], axis=0))
            results[run] = {"model": name, "loss": loss, "width": c.width, "n_params": n_params,
                            "seeds": [r.seed for r in out.runs], "vmapped": out.vmapped,
                            "curves": {k: v.tolist() for k, v in curves.items()},
                            "compile_seconds": out.compile_seconds, "train_seconds": out.train_seconds,
                            "diverged": [any(h.get("diverged") for h in r.history) for r in out.runs]}
            rows.append({"model": name, "loss": loss, "parameters": n_params,
                         "final test accuracy": mean_std(curves["test_accuracy"][:, -1]),
                         "best test accuracy": mean_std(np.nanmax(curves["test_accuracy"], axis=1)),
                         "train s/epoch (median)": _median_after_first(curves["epoch_seconds"]),
                         "eval s/epoch (median)": _median_after_first(curves["eval_seconds"]),
                         "compile s": None if resolve_epoch_loop(c.epoch_loop) == "host" else out.compile_seconds})
    line_plot(workdir / "accuracy_per_epoch.png", acc_curves, bands=acc_bands,
              title=f"{c.dataset}: test accuracy per epoch (width {c.width})", xlabel="epoch", ylabel="test accuracy")
    line_plot(workdir / "seconds_per_epoch.png", time_curves, logy=True,
              title="Wall time per epoch: training and test evaluation",
              xlabel="epoch", ylabel="seconds")
    per_epoch = []
    for run, r in results.items():
        acc = np.asarray(r["curves"]["test_accuracy"])
        for e in range(acc.shape[1]):
            per_epoch.append({"run": run, "epoch": e + 1, "test accuracy": mean_std(acc[:, e]),
                              "train accuracy (running)": mean_std(np.asarray(r["curves"]["train_accuracy"])[:, e]),
                              "train s": float(np.nanmean(np.asarray(r["curves"]["epoch_seconds"])[:, e])),
                              "eval s": float(np.nanmean(np.asarray(r["curves"]["eval_seconds"])[:, e]))})
    total = time.perf_counter() - t0
    setup = (f"{c.dataset}: {c.n_train} training / {c.n_test} test images (data seed {c.data_seed}), standardised per "
             f"channel, no augmentation. ResNets with the CIFAR stem, width {c.width}. SGD momentum {c.momentum}, "
             f"weight decay {c.weight_decay}, lr {c.learning_rate} with {c.warmup_epochs} warm-up epoch(s) then cosine "
             f"decay, batch {c.batch_size}, {c.epochs} epochs. Seeds {list(c.seeds)} "
             f"({'vmapped' if c.vmap_seeds else 'one after another'}), epoch loop {resolve_epoch_loop(c.epoch_loop)}. "
             f"Times are wall seconds per epoch for all seeds of a program together. Epoch 1's times include "
             f"compilation (the evaluation compiles on its first call; with the host loop so does the train "
             f"step), so the summary columns are medians over epochs 2..E. Preset `{c.preset}`; machine: "
             f"{machine_summary()}.")
    table = markdown_table(rows)
    sections = [("Setup", setup), ("Summary", table),
                ("Per epoch", markdown_table(per_epoch) + "\n\n![accuracy](accuracy_per_epoch.png) "
                 "![seconds](seconds_per_epoch.png)"),
                ("Run", f"Total wall time {total:.1f} s.")]
    write_results(workdir / "results.md", f"ResNets on {c.dataset}", sections)
    summary = {"runs": results, "total_seconds": total}
    (workdir / "summary.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
    print("\n" + table + f"\n\nResults written to {workdir / 'results.md'} (total {total:.1f} s)")
    return summary


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
