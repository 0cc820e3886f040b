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

Two parts (``run_parts``): ``parameters`` (the shapes table) and ``training`` (the seeds as one
vmapped ``fit(make_runs(...))`` program; ``vmap_seeds=False`` trains them one after another with
the same numbers).

Outputs: config.json, machine.json, results.md, summary.json, training/metrics.jsonl,
training/curves_loss.png, training/curves_accuracy.png.
"""
from __future__ import annotations

import functools
import pathlib

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml import data as jdata
from jaxml.models import param_count
from jaxml.models.cnn import mnist_cnn
from jaxml.report import line_plot, markdown_table, mean_band, mean_std
from jaxml.study.config import check_config
from jaxml.study.experiment import run_experiment, run_parts
from jaxml.study.fit_summary import fit_summary
from jaxml.study.model_spec import write_model_spec
from jaxml.train import EPOCH_LOOPS, fit, make_optimizer, make_runs, resolve_epoch_loop

NAME = "mnist_cnn"
PRESETS = ("full", "demo", "tiny")
EXPECTED_PARAMS = 61_546  # on 28x28x1 inputs, 10 classes
METRICS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy")


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
    # host loop, identical numbers; see jaxml.train.epoch). "auto"/"host" select the host loop.
    c.epoch_loop = "scan"
    c.progress = True
    c.half_precision = False  # True: the model computes in bfloat16 (params, logits float32): GPUs/TPUs
    if preset == "demo":  # the documented reduced budget for a shared 2-core CPU
        c.seeds = (0, 1)
        c.n_train = 10_000
    elif preset == "tiny":
        c.seeds = (0, 1)
        c.n_train, c.n_val, c.n_test = 100, 50, 50
        c.batch_size = 25
        c.epochs = 2
        c.eval_batch_size = 50
    return c


def check(c) -> None:
    check_config(c, choices={"preset": PRESETS, "dataset": jdata.IMAGE_DATASETS, "epoch_loop": EPOCH_LOOPS},
                 nonempty=("seeds",), positive=("learning_rate",), fractions=("dropout",),
                 counts=("n_train", "n_val", "n_test", "epochs", "eval_batch_size", "batch_size"),
                 ranges={"batch_size": (1, c.n_train)})


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


# ---------------------------------------------------------------------------------------------
# Parts.

def parameters_part(model, x1, part_dir: pathlib.Path) -> tuple[str, dict]:
    shapes = parameter_shapes(jax.eval_shape(model.init, jax.random.PRNGKey(0), x1))
    n_params, n_stats = param_count(model, x1), param_count(model, x1, "batch_stats")
    if x1.shape[1:] == (28, 28, 1) and model.num_classes == 10 and n_params != EXPECTED_PARAMS:
        raise AssertionError(f"the MNIST CNN should have {EXPECTED_PARAMS} parameters, got {n_params}")
    text = f"{n_params:,} trainable parameters + {n_stats} batch-norm statistics.\n\n" + markdown_table(shapes)
    return text, {"n_params": n_params, "n_batch_stats": n_stats, "parameter_shapes": shapes}


def training_part(c, model, data: dict, part_dir: pathlib.Path) -> tuple[str, dict]:
    tx = make_optimizer({"name": "adam", "learning_rate": c.learning_rate})
    write_model_spec(part_dir, "mnist_cnn", {"num_classes": model.num_classes, "dropout": c.dropout,
                                             "dtype": model.dtype}, study=NAME,
                     data={"dataset": c.dataset, "n_train": c.n_train, "n_val": c.n_val, "n_test": c.n_test,
                           "data_seed": c.data_seed, "layout": "nhwc", "image_shape": data["train"]["x"].shape[1:]})
    runs = make_runs(model, tx, data["train"]["x"][:1], seeds=c.seeds)
    # The test set is evaluated after every epoch (eval mode) with the validation set; the
    # reported test numbers are the last epoch's, i.e. those of the final weights.
    res = fit(runs, data["train"], epochs=c.epochs, batch_size=c.batch_size,
              eval_sets={"val": data["validation"], "test": data["test"]}, workdir=part_dir,
              checkpoint_every=c.epochs, eval_batch_size=c.eval_batch_size, progress=c.progress, desc=NAME,
              epoch_loop=c.epoch_loop, vmap_runs=c.vmap_seeds)
    out = fit_summary(res, METRICS)
    out["eval_seconds"] = res.train_seconds - res.epoch_seconds  # evaluation after the epochs
    curves = {k: np.asarray(out["curves"][k]) for k in METRICS}
    per_epoch = [{"epoch": i + 1, **{k.replace("_", " "): mean_std(curves[k][:, i]) for k in METRICS[:4]}}
                 for i in range(curves["train_loss"].shape[1])]
    for kind in ("loss", "accuracy"):
        lines, bands = {}, {}
        for split, label in (("train", "train (running, dropout on)"), ("val", "validation")):
            lines[label], bands[label] = mean_band(curves[f"{split}_{kind}"])
        line_plot(part_dir / f"curves_{kind}.png", lines, bands=bands, logy=(kind == "loss"),
                  title=f"MNIST CNN on {c.dataset}: {kind} per epoch (mean ± std over {len(c.seeds)} seeds)",
                  xlabel="epoch", ylabel="cross-entropy" if kind == "loss" else "accuracy")
    test = markdown_table([{"test loss": mean_std(out["final"]["test_loss"]),
                            "test accuracy": mean_std(out["final"]["test_accuracy"]),
                            "seeds": ", ".join(map(str, out["seeds"]))}])
    compiled = ("the host-loop train step compiles inside epoch 1" if resolve_epoch_loop(c.epoch_loop) == "host"
                else f"compilation {res.compile_seconds:.1f} s excluded")
    text = ("Per-epoch loss and accuracy (mean ± std over seeds):\n\n" + markdown_table(per_epoch)
            + "\n\n![loss](training/curves_loss.png) ![accuracy](training/curves_accuracy.png)\n\n"
            f"Test (final weights):\n\n{test}\n\nTraining {res.train_seconds:.1f} s (all seeds; includes "
            f"{out['eval_seconds']:.1f} s of validation and test evaluation after each epoch; {compiled}).")
    return text, out


def main(c, workdir: pathlib.Path) -> dict:
    check(c)
    data, class_names = load_data(c)
    model = mnist_cnn(num_classes=len(class_names), dropout=c.dropout,
                      dtype=jnp.bfloat16 if c.half_precision else jnp.float32)
    parts = {"parameters": ("Parameter shapes", functools.partial(parameters_part, model, data["train"]["x"][:1])),
             "training": ("Training and test (final weights)", functools.partial(training_part, c, model, data))}
    setup = (f"{c.dataset} {c.n_train}/{c.n_val}/{c.n_test} (train/validation/test, data seed {c.data_seed}), "
             f"pixels in [0, 1]. MNIST CNN, dropout {c.dropout}. Adam lr {c.learning_rate}, batch {c.batch_size}, "
             f"{c.epochs} epochs, no early stopping. Seeds {list(c.seeds)} "
             f"({'vmapped' if c.vmap_seeds else 'one after another'}), epoch loop "
             f"{resolve_epoch_loop(c.epoch_loop)}. Preset `{c.preset}`.")
    return run_parts(f"MNIST CNN ({c.dataset})", parts, list(parts), workdir, [("Setup", setup)])


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
