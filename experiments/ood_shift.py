"""Out-of-distribution test images: does a Fashion-MNIST classifier survive a shift or a rotation?

Coursework question: a model trained on Fashion-MNIST is tested on images moved up by 4
pixels and on images rotated by 90, 180 and 270 degrees. Which architectures (an MLP, a
one-conv-layer CNN, a two-conv-layer CNN) keep their accuracy?

Data: Fashion-MNIST 10,000 train / 2,000 validation / 10,000 test, the split of the MLP study
(``jaxml.data.train_val_test(..., seed=data_seed)``), pixels scaled to [0, 1], NHWC
(N, 28, 28, 1); no other preprocessing, so the zero fill of a shift is the black background.

Models: the 784-128-10 ReLU MLP (101,770 parameters), CNN-2 (conv 64 7x7 -> max-pool 2 -> dense
10; 80,650) and CNN-3 (conv 64 7x7 -> pool -> conv 128 2x2 -> pool -> dense 10; 68,106), all with
the library's default initialisation (LeCun normal weights, zero biases).

Training (the same recipe for all three): Adam, learning rate 1e-3, batch 64, at most
``max_epochs`` epochs with early stopping on validation accuracy (patience ``patience``; the best
epoch's weights are restored); seeds vmapped, one compiled program per model (``vmap_seeds=False``
trains them one after another). Each epoch is one scanned call (``epoch_loop="scan"``, the
fast choice for these small CNNs on CPU too; ``"host"`` runs a Python loop of compiled steps with
identical numbers, see ``jaxml.train.host_epoch``). Test sets: the
original test set, the test set shifted up by ``shift`` pixels (``translate(x, -shift, 0)``,
zero fill), and rotated counter-clockwise by 90, 180 and 270 degrees (``rotate90(x, k)``).

    python -m experiments.ood_shift                          # full: 3 seeds, up to 30 epochs
    python -m experiments.ood_shift --config=demo            # reduced budget for a 2-core CPU
    python -m experiments.ood_shift --config=tiny            # seconds; the smoke test
    python -m experiments.ood_shift --config.models=cnn2,cnn3 --config.dataset=mnist

Outputs: config.json, machine.json, results.md, summary.json, <model>/metrics.jsonl,
ood_accuracy.png (bar chart), ood_examples.png (original/shifted/rotated examples).
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
from jaxml.evaluate.classify import predict
from jaxml.models import count_params
from jaxml.models.cnn import cnn2, cnn3
from jaxml.models.mlp import MLP
from jaxml.report import bar_plot, image_grid, markdown_table, mean_std, write_results
from jaxml.study.config import ConfigError, check_choice, check_range
from jaxml.study.experiment import machine_summary, run_experiment
from jaxml.train import EarlyStopping, make_optimizer
from jaxml.train.host_epoch import EPOCH_LOOPS, resolve_epoch_loop
from jaxml.train.seeds import fit_seeds

NAME = "ood_shift"
PRESETS = ("full", "demo", "tiny")
MODELS = ("mlp", "cnn2", "cnn3")
MODEL_LABELS = {"mlp": "MLP 784-128-10", "cnn2": "CNN-2", "cnn3": "CNN-3"}
# Parameter counts on 28x28x1 inputs with 10 classes (asserted when the data has that shape).
EXPECTED_PARAMS = {"mlp": 101_770, "cnn2": 80_650, "cnn3": 68_106}
IMAGE_DATASETS = tuple(n for n, s in REGISTRY.items() if s.returns == "ImageDataset")


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.dataset = "fashion_mnist"
    c.n_train, c.n_val, c.n_test = 10_000, 2_000, 10_000
    c.data_seed = 0
    c.seeds = (0, 1, 2)
    c.models = MODELS
    c.optimizer = "adam"
    c.learning_rate = 1e-3
    c.batch_size = 64
    c.max_epochs = 30
    c.patience = 5
    c.shift = 4
    c.eval_batch_size = 1000
    c.num_examples = 6
    c.vmap_seeds = True
    # The one-call scanned epoch: with the strided-slice pools and patch convs it is the fast
    # choice for these small CNNs on CPU too (MNIST CNN, 2 vmapped seeds: 5,421 vs 2,826 ex/s in the
    # host loop, identical numbers; see jaxml.train.host_epoch). "auto"/"host" select the host loop.
    c.epoch_loop = "scan"
    c.progress = True
    if preset == "demo":  # the documented reduced budget for a shared 2-core CPU
        c.seeds = (0, 1)
        c.max_epochs = 4
        c.patience = 2
    elif preset == "tiny":
        c.seeds = (0, 1)
        c.n_train, c.n_val, c.n_test = 100, 50, 100
        c.batch_size = 25
        c.max_epochs = 2
        c.patience = 1
        c.eval_batch_size = 50
        c.num_examples = 4
        c.progress = False
    return c


def validate(c) -> None:
    check_choice(c, "preset", PRESETS)
    check_choice(c, "dataset", IMAGE_DATASETS)
    for m in c.models:
        if m not in MODELS:
            raise ConfigError(f"config key 'models' has unknown model {m!r}; expected a subset of {list(MODELS)}")
    if not c.models:
        raise ConfigError("config key 'models' must list at least one model")
    if not c.seeds:
        raise ConfigError("config key 'seeds' must list at least one seed")
    check_choice(c, "optimizer", ("sgd", "momentum", "adam", "adamw", "rmsprop"))
    check_range(c, "learning_rate", 0, low_inclusive=False)
    for key in ("n_train", "n_val", "n_test", "max_epochs", "patience", "eval_batch_size", "num_examples"):
        check_range(c, key, 1)
    check_range(c, "batch_size", 1, c.n_train)
    check_range(c, "shift", 0, 27)
    check_choice(c, "epoch_loop", EPOCH_LOOPS)


def load_data(c) -> tuple[dict, tuple]:
    """({"train","validation","test"} -> {"x": float32 NHWC in [0, 1], "y": int32 (N,)}, class names)."""
    splits = jdata.train_val_test(c.dataset, c.n_train, c.n_val, c.n_test, seed=c.data_seed)
    return jdata.unit_arrays(splits), splits["train"].class_names


def ood_test_sets(x, shift: int) -> dict:
    """{label: images} for the original, shifted-up and rotated test images (same labels)."""
    return {"original": x,
            f"shifted up {shift} px": np.asarray(transforms.translate(x, -shift, 0)),
            "rotated 90°": np.asarray(transforms.rotate90(x, 1)),
            "rotated 180°": np.asarray(transforms.rotate90(x, 2)),
            "rotated 270°": np.asarray(transforms.rotate90(x, 3))}


def make_model(name: str, num_classes: int):
    if name == "mlp":
        return MLP(hidden_sizes=(128,), output_size=num_classes)
    return {"cnn2": cnn2, "cnn3": cnn3}[name](num_classes=num_classes)


def train_and_test(c, name: str, data: dict, sets: dict, num_classes: int, workdir: pathlib.Path) -> dict:
    """Train ``name`` on the training set for every seed and return its per-seed accuracy on every
    test set, from each seed's best-validation weights."""
    model = make_model(name, num_classes)
    sample = data["train"]["x"][:1]
    n_params = count_params(jax.eval_shape(model.init, jax.random.PRNGKey(0), sample)["params"])
    if sample.shape[1:] == (28, 28, 1) and num_classes == 10 and n_params != EXPECTED_PARAMS[name]:
        raise AssertionError(f"{name} should have {EXPECTED_PARAMS[name]} parameters, got {n_params}")
    tx = make_optimizer({"name": c.optimizer, "learning_rate": c.learning_rate})
    out = fit_seeds(model, tx, data["train"], seeds=c.seeds, vmap=c.vmap_seeds, workdir=workdir / name,
                    epochs=c.max_epochs, batch_size=c.batch_size, eval_sets={"val": data["validation"]},
                    early_stopping=EarlyStopping("val_accuracy", "max", c.patience),
                    checkpoint_every=c.max_epochs, eval_batch_size=c.eval_batch_size, progress=c.progress, desc=name,
                    epoch_loop=c.epoch_loop)
    y = np.asarray(data["test"]["y"])
    t0 = time.perf_counter()
    accuracy = {label: [float(np.mean(predict(r.best_state, x, batch_size=c.eval_batch_size) == y))
                        for r in out.runs] for label, x in sets.items()}
    eval_seconds = time.perf_counter() - t0
    return {"n_params": n_params, "accuracy": accuracy, "seeds": [r.seed for r in out.runs],
            "best_epoch": [r.best_epoch for r in out.runs], "stopped_epoch": [r.stopped_epoch for r in out.runs],
            "best_val_accuracy": [float(np.max(r.curve("val_accuracy")[1])) for r in out.runs],
            "train_seconds": out.train_seconds, "compile_seconds": out.compile_seconds,
            "eval_seconds": eval_seconds, "vmapped": out.vmapped}


def main(c, workdir: pathlib.Path) -> dict:
    validate(c)
    t0 = time.perf_counter()
    data, class_names = load_data(c)
    sets = ood_test_sets(data["test"]["x"], c.shift)
    results = {}
    for name in c.models:
        print(f"\n=== {MODEL_LABELS[name]} ===", flush=True)
        results[name] = train_and_test(c, name, data, sets, len(class_names), workdir)

    labels = list(sets)
    rows = []
    for name, r in results.items():
        row = {"model": MODEL_LABELS[name], "parameters": r["n_params"]}
        row.update({label: mean_std(r["accuracy"][label]) for label in labels})
        row["epochs (best)"] = ", ".join(f"{s} ({b})" for s, b in zip(r["stopped_epoch"], r["best_epoch"]))
        rows.append(row)
    bar_plot(workdir / "ood_accuracy.png", labels,
             {MODEL_LABELS[n]: ([mean_std(r["accuracy"][lab]).mean for lab in labels],
                                [mean_std(r["accuracy"][lab]).std for lab in labels]) for n, r in results.items()},
             title=f"{c.dataset}: shifted/rotated test sets (mean ± std, {len(c.seeds)} seeds)",
             ylabel="test accuracy")
    k = min(c.num_examples, c.n_test)
    grid = np.concatenate([sets[label][:k] for label in labels])
    titles = [f"{label}: {class_names[int(data['test']['y'][i])]}" if i == 0 else class_names[int(data['test']['y'][i])]
              for label in labels for i in range(k)]
    image_grid(workdir / "ood_examples.png", grid, nrows=len(labels), ncols=k, titles=titles,
               title="Test images: original, shifted, rotated (counter-clockwise)")

    host = resolve_epoch_loop(c.epoch_loop) == "host"
    timing = markdown_table([{"model": MODEL_LABELS[n], "train s (all seeds, validation included)": r["train_seconds"],
                              "compile s": None if host else r["compile_seconds"],
                              "five test sets s": r["eval_seconds"]} for n, r in results.items()], floatfmt=".1f")
    if host:
        timing += ("\n\nWith the host epoch loop the train step compiles on its first call, so compilation is "
                   "inside the training time (epoch 1).")
    setup = (f"{c.dataset} {c.n_train}/{c.n_val}/{c.n_test} (train/validation/test, data seed {c.data_seed}), "
             f"pixels in [0, 1]. {c.optimizer} lr {c.learning_rate}, batch {c.batch_size}, at most {c.max_epochs} "
             f"epochs, early stopping on validation accuracy with patience {c.patience} (best weights restored). "
             f"Seeds {list(c.seeds)} ({'vmapped' if c.vmap_seeds else 'one after another'}), epoch loop "
             f"{resolve_epoch_loop(c.epoch_loop)}. Test sets: "
             f"original; shifted up {c.shift} px with zero fill; rotated "
             f"90/180/270° counter-clockwise. Preset `{c.preset}`; machine: {machine_summary()}.")
    total = time.perf_counter() - t0
    table = markdown_table(rows)
    sections = [("Setup", setup),
                ("Test accuracy (mean ± std over seeds)", table + "\n\n![accuracy](ood_accuracy.png)\n\n"
                 "![examples](ood_examples.png)"),
                ("Wall time", timing + f"\n\nTotal wall time {total:.1f} s.")]
    write_results(workdir / "results.md", "Out-of-distribution test images (shift, rotation)", sections)
    summary = {"models": results, "test_sets": labels, "total_seconds": total}
    (workdir / "summary.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
    print("\n" + table + f"\n\nResults written to {workdir / 'results.md'} (total {total:.1f} s)")
    return summary


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
