"""The MNIST CNN: 10 epochs, per-epoch train/validation loss and accuracy, parameter shapes, test accuracy.

Coursework question: train the small Keras-style MNIST CNN (conv 32 3x3 -> max-pool 2 ->
dropout -> conv 32 3x3 -> batch norm -> ReLU -> max-pool 2 -> dropout -> dense 64 -> dense 10;
``jaxml.models.cnn.mnist_cnn``) for 10 epochs; report its parameter shapes, its learning curves
and its test accuracy.

Data: MNIST, 55,000 train / 5,000 validation / 10,000 test (``train_val_test(..., seed=
data_seed)``), pixels scaled to [0, 1], NHWC (N, 28, 28, 1). Model: 61,546 trainable parameters
plus 64 batch-norm running statistics (dropout rate ``dropout``, 0.2). Training: Adam, learning
rate 1e-3, batch 128, exactly ``epochs`` epochs (no early stopping); the test accuracy is that of
the final weights (batch norm with its running averages, dropout off). Train loss/accuracy per
epoch are running means over the epoch's batches in train mode; validation (and test, used only
for the final number) after each epoch.

    python -m experiments.mnist_cnn                            # full: 3 seeds, 10 epochs
    python -m experiments.mnist_cnn --config=demo              # reduced budget for a 2-core CPU
    python -m experiments.mnist_cnn --config=tiny              # seconds; the smoke test
    python -m experiments.mnist_cnn --config.dataset=fashion_mnist

Outputs: config.json, machine.json, results.md, summary.json, training/metrics.jsonl,
curves_loss.png, curves_accuracy.png.
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
from jaxml.models.cnn import mnist_cnn
from jaxml.report import line_plot, markdown_table, mean_std, mean_std_array, write_results
from jaxml.study.config import ConfigError, check_choice, check_range
from jaxml.study.experiment import machine_summary, run_experiment
from jaxml.train import make_optimizer
from jaxml.train.host_epoch import EPOCH_LOOPS, resolve_epoch_loop
from jaxml.train.seeds import fit_seeds

NAME = "mnist_cnn"
PRESETS = ("full", "demo", "tiny")
IMAGE_DATASETS = tuple(n for n, s in REGISTRY.items() if s.returns == "ImageDataset")
EXPECTED_PARAMS = 61_546  # on 28x28x1 inputs, 10 classes


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.dataset = "mnist"
    c.n_train, c.n_val, c.n_test = 55_000, 5_000, 10_000
    c.data_seed = 0
    c.seeds = (0, 1, 2)
    c.dropout = 0.2
    c.learning_rate = 1e-3
    c.batch_size = 128
    c.epochs = 10
    c.eval_batch_size = 1000
    c.vmap_seeds = True
    # The one-call scanned epoch: with the strided-slice pools and patch convs it is the fast
    # choice for these small CNNs on CPU too (MNIST CNN, 2 vmapped seeds: 5,421 vs 2,826 ex/s in the
    # host loop, identical numbers; see jaxml.train.host_epoch). "auto"/"host" select the host loop.
    c.epoch_loop = "scan"
    c.progress = True
    if preset == "demo":  # the documented reduced budget for a shared 2-core CPU
        c.seeds = (0, 1)
        c.n_train = 10_000
    elif preset == "tiny":
        c.seeds = (0, 1)
        c.n_train, c.n_val, c.n_test = 100, 50, 50
        c.batch_size = 25
        c.epochs = 2
        c.eval_batch_size = 50
        c.progress = False
    return c


def validate(c) -> None:
    check_choice(c, "preset", PRESETS)
    check_choice(c, "dataset", IMAGE_DATASETS)
    if not c.seeds:
        raise ConfigError("config key 'seeds' must list at least one seed")
    check_range(c, "learning_rate", 0, low_inclusive=False)
    check_range(c, "dropout", 0, 1, high_inclusive=False)
    for key in ("n_train", "n_val", "n_test", "epochs", "eval_batch_size"):
        check_range(c, key, 1)
    check_range(c, "batch_size", 1, c.n_train)
    check_choice(c, "epoch_loop", EPOCH_LOOPS)


def load_data(c) -> tuple[dict, tuple]:
    """({"train","validation","test"} -> {"x": float32 NHWC in [0, 1], "y": int32 (N,)}, class names)."""
    splits = jdata.train_val_test(c.dataset, c.n_train, c.n_val, c.n_test, seed=c.data_seed)
    return jdata.unit_arrays(splits), splits["train"].class_names


def _forward_order(layer: str, array: str) -> tuple:
    """Sort key putting a CNN's layers in forward order: conv_i, bn_i (block i), dense_i, output;
    within a layer kernel, scale, bias, mean, var."""
    kind, _, index = layer.rpartition("_")
    rank = {"conv": (0, 0), "bn": (0, 1), "dense": (1, 0)}.get(kind)
    if rank is None or not index.isdigit():
        rank, index = ((2, 0), "0") if layer == "output" else ((3, 0), "0")
    arrays = ("kernel", "scale", "bias", "mean", "var")
    return rank[0], int(index), rank[1], layer, arrays.index(array) if array in arrays else len(arrays), array


def parameter_shapes(variables) -> list[dict]:
    """One row per array, layers in forward order (see ``_forward_order``): collection, layer,
    array name, shape and count (``params`` first, then the non-trainable ``batch_stats``)."""
    rows = []
    for collection in ("params", "batch_stats"):
        flat = jax.tree_util.tree_flatten_with_path(variables.get(collection, {}))[0]
        found = []
        for path, leaf in flat:
            keys = [str(getattr(p, "key", p)) for p in path]
            found.append(("/".join(keys[:-1]), keys[-1], tuple(leaf.shape)))
        for layer, array, shape in sorted(found, key=lambda f: _forward_order(f[0], f[1])):
            rows.append({"collection": collection, "layer": layer, "array": array, "shape": str(shape),
                         "count": int(np.prod(shape))})
    return rows


def main(c, workdir: pathlib.Path) -> dict:
    validate(c)
    t0 = time.perf_counter()
    data, class_names = load_data(c)
    model = mnist_cnn(num_classes=len(class_names), dropout=c.dropout)
    variables = jax.eval_shape(model.init, jax.random.PRNGKey(0), data["train"]["x"][:1])
    n_params = count_params(variables["params"])
    if data["train"]["x"].shape[1:] == (28, 28, 1) and len(class_names) == 10 and n_params != EXPECTED_PARAMS:
        raise AssertionError(f"the MNIST CNN should have {EXPECTED_PARAMS} parameters, got {n_params}")
    shapes = parameter_shapes(variables)
    tx = make_optimizer({"name": "adam", "learning_rate": c.learning_rate})
    out = fit_seeds(model, tx, data["train"], seeds=c.seeds, vmap=c.vmap_seeds, workdir=workdir / "training",
                    epochs=c.epochs, batch_size=c.batch_size,
                    eval_sets={"val": data["validation"], "test": data["test"]},
                    checkpoint_every=c.epochs, eval_batch_size=c.eval_batch_size, progress=c.progress,
                    desc="mnist_cnn", epoch_loop=c.epoch_loop)
    # fit evaluates the test set after every epoch (eval mode); the result is the last epoch's.
    tests = [(float(r.curve("test_loss")[1][-1]), float(r.curve("test_accuracy")[1][-1])) for r in out.runs]
    eval_seconds = float(sum(h["eval_seconds"] for r in out.runs for h in r.history))

    keys = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
    curves = {k: out.curves(k) for k in keys}
    epochs = np.arange(1, curves["train_loss"].shape[1] + 1)
    per_epoch = [{"epoch": int(e), **{k.replace("_", " "): mean_std(curves[k][:, i]) for k in keys}}
                 for i, e in enumerate(epochs)]
    for kind in ("loss", "accuracy"):
        lines, bands = {}, {}
        for split in ("train", "val"):
            m, s = mean_std_array(curves[f"{split}_{kind}"])
            label = "train (running, dropout on)" if split == "train" else "validation"
            lines[label], bands[label] = (epochs, m), (epochs, m - s, m + s)
        line_plot(workdir / f"curves_{kind}.png", lines, bands=bands, logy=(kind == "loss"),
                  title=f"MNIST CNN on {c.dataset}: {kind} per epoch (mean ± std over {len(c.seeds)} seeds)",
                  xlabel="epoch", ylabel="cross-entropy" if kind == "loss" else "accuracy")
    test_loss = mean_std([t[0] for t in tests])
    test_acc = mean_std([t[1] for t in tests])
    total = time.perf_counter() - t0
    setup = (f"{c.dataset} {c.n_train}/{c.n_val}/{c.n_test} (train/validation/test, data seed {c.data_seed}), "
             f"pixels in [0, 1]. MNIST CNN, dropout {c.dropout}: {n_params:,} parameters + "
             f"{count_params(variables.get('batch_stats', {}))} batch-norm statistics. Adam lr {c.learning_rate}, "
             f"batch {c.batch_size}, {c.epochs} epochs, no early stopping. Seeds {list(c.seeds)} "
             f"({'vmapped' if c.vmap_seeds else 'one after another'}), epoch loop {resolve_epoch_loop(c.epoch_loop)}. "
             f"Preset `{c.preset}`; machine: "
             f"{machine_summary()}.")
    result_text = markdown_table([{"test loss": test_loss, "test accuracy": test_acc,
                                   "seeds": ", ".join(str(r.seed) for r in out.runs)}])
    sections = [("Setup", setup),
                ("Parameter shapes", markdown_table(shapes)),
                ("Per-epoch loss and accuracy (mean ± std over seeds)",
                 markdown_table(per_epoch) + "\n\n![loss](curves_loss.png) ![accuracy](curves_accuracy.png)"),
                ("Test (final weights)", result_text),
                ("Wall time", f"Training {out.train_seconds:.1f} s (all seeds; includes {eval_seconds:.1f} s of "
                              f"validation and test evaluation after each epoch; "
                              + ("the host-loop train step compiles inside epoch 1" if
                                 resolve_epoch_loop(c.epoch_loop) == "host" else
                                 f"compilation {out.compile_seconds:.1f} s excluded")
                              + f"); total {total:.1f} s.")]
    write_results(workdir / "results.md", f"MNIST CNN ({c.dataset})", sections)
    summary = {"n_params": n_params, "parameter_shapes": shapes, "seeds": [r.seed for r in out.runs],
               "curves": {k: v.tolist() for k, v in curves.items()},
               "test_loss": [t[0] for t in tests], "test_accuracy": [t[1] for t in tests],
               "train_seconds": out.train_seconds, "compile_seconds": out.compile_seconds,
               "eval_seconds": eval_seconds, "total_seconds": total}
    (workdir / "summary.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
    print("\n" + markdown_table(per_epoch) + "\n\n" + result_text + f"\n\nResults written to {workdir / 'results.md'}")
    return summary


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
