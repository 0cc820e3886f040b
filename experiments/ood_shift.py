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
epoch's weights are restored); seeds vmapped, one compiled ``fit(make_runs(...))`` program per model
(``vmap_seeds=False`` trains them one after another, same numbers). Each epoch is one scanned call
(``epoch_loop="scan"``, the fast choice for these small CNNs on CPU too; ``"host"`` runs a Python
loop of compiled steps with identical numbers, see ``jaxml.train.epoch``). Test sets: the
original test set, the test set shifted up by ``shift`` pixels (``translate(x, -shift, 0)``,
zero fill), and rotated counter-clockwise by 90, 180 and 270 degrees (``rotate90(x, k)``).

    python -m experiments.ood_shift                          # full: 3 seeds, up to 30 epochs
    python -m experiments.ood_shift --config=demo            # reduced budget for a 2-core CPU
    python -m experiments.ood_shift --config=tiny            # seconds; the smoke test
    python -m experiments.ood_shift --config.models=cnn2,cnn3 --config.dataset=mnist

Parts (``run_parts``): one per model (train, then the five test sets on each seed's best weights,
all seeds in one vmapped evaluation per set), then ``comparison``.

Outputs: config.json, machine.json, results.md, summary.json, <model>/metrics.jsonl,
comparison/ood_accuracy.png (bar chart), comparison/ood_examples.png (original/shifted/rotated).
"""
from __future__ import annotations

import functools
import pathlib
import time

import ml_collections
import numpy as np

from jaxml import data as jdata
from jaxml.data import transforms
from jaxml.evaluate.classify import predict
from jaxml.models import param_count
from jaxml.models.cnn import cnn2, cnn3
from jaxml.models.mlp import MLP
from jaxml.report import bar_plot, image_grid, markdown_table, mean_std
from jaxml.study.config import check_config
from jaxml.study.experiment import run_experiment, run_parts
from jaxml.study.fit_summary import fit_summary
from jaxml.study.model_spec import write_model_spec
from jaxml.train import EPOCH_LOOPS, EarlyStopping, fit, make_optimizer, make_runs, resolve_epoch_loop

NAME = "ood_shift"
PRESETS = ("full", "demo", "tiny")
MODELS = ("mlp", "cnn2", "cnn3")
MODEL_LABELS = {"mlp": "MLP 784-128-10", "cnn2": "CNN-2", "cnn3": "CNN-3"}
# Parameter counts on 28x28x1 inputs with 10 classes (asserted when the data has that shape).
EXPECTED_PARAMS = {"mlp": 101_770, "cnn2": 80_650, "cnn3": 68_106}


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
    # host loop, identical numbers; see jaxml.train.epoch). "auto"/"host" select the host loop.
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
    return c


def check(c) -> None:
    check_config(c, choices={"preset": PRESETS, "dataset": jdata.IMAGE_DATASETS, "epoch_loop": EPOCH_LOOPS,
                             "optimizer": ("sgd", "momentum", "adam", "adamw", "rmsprop")},
                 subsets={"models": MODELS}, nonempty=("models", "seeds"), positive=("learning_rate",),
                 counts=("n_train", "n_val", "n_test", "max_epochs", "patience", "eval_batch_size", "num_examples",
                         "batch_size"),
                 ranges={"batch_size": (1, c.n_train), "shift": (0, 27)})


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


def model_kwargs(name: str, num_classes: int) -> dict:
    return {"hidden_sizes": (128,), "output_size": num_classes} if name == "mlp" else {"num_classes": num_classes}


def make_model(name: str, num_classes: int):
    return ({"mlp": MLP, "cnn2": cnn2, "cnn3": cnn3}[name])(**model_kwargs(name, num_classes))


# ---------------------------------------------------------------------------------------------
# Parts: one per model, then the comparison.

def model_part(c, data: dict, sets: dict, num_classes: int, trained: dict, name: str,
               part_dir: pathlib.Path) -> tuple[str, dict]:
    """Train ``name`` for every seed (one program) and test each seed's best-validation weights on
    every test set."""
    model = make_model(name, num_classes)
    x1 = data["train"]["x"][:1]
    n_params = param_count(model, x1)
    if x1.shape[1:] == (28, 28, 1) and num_classes == 10 and n_params != EXPECTED_PARAMS[name]:
        raise AssertionError(f"{name} should have {EXPECTED_PARAMS[name]} parameters, got {n_params}")
    tx = make_optimizer({"name": c.optimizer, "learning_rate": c.learning_rate})
    write_model_spec(part_dir, name, model_kwargs(name, num_classes), study=NAME,
                     data={"dataset": c.dataset, "n_train": c.n_train, "n_val": c.n_val, "n_test": c.n_test,
                           "data_seed": c.data_seed, "layout": "nhwc", "image_shape": x1.shape[1:]})
    res = fit(make_runs(model, tx, x1, seeds=c.seeds), data["train"], epochs=c.max_epochs, batch_size=c.batch_size,
              eval_sets={"val": data["validation"]}, early_stopping=EarlyStopping("val_accuracy", "max", c.patience),
              workdir=part_dir, checkpoint_every=c.max_epochs, eval_batch_size=c.eval_batch_size,
              progress=c.progress, desc=name, epoch_loop=c.epoch_loop, vmap_runs=c.vmap_seeds)
    t0 = time.perf_counter()
    y = data["test"]["y"]
    # predict compiles once for all five sets (same shapes); jaxml.train.evaluate would compile per call.
    accuracy = {label: np.mean(predict(res.best_state, x, batch_size=c.eval_batch_size, num_runs=res.num_runs)
                               == y[None], axis=1).tolist() for label, x in sets.items()}
    fitted = fit_summary(res, ["val_accuracy"])
    trained[name] = {"n_params": n_params, "accuracy": accuracy, "seeds": fitted["seeds"],
                     "best_epoch": fitted["best_epoch"], "stopped_epoch": fitted["stopped_epoch"],
                     "best_val_accuracy": np.nanmax(fitted["curves"]["val_accuracy"], axis=1).tolist(),
                     "train_seconds": res.train_seconds, "compile_seconds": res.compile_seconds,
                     "eval_seconds": time.perf_counter() - t0}
    return markdown_table([accuracy_row(name, trained[name], list(sets))]), trained[name]


def accuracy_row(name: str, r: dict, labels: list) -> dict:
    return {"model": MODEL_LABELS[name], "parameters": r["n_params"],
            **{label: mean_std(r["accuracy"][label]) for label in labels},
            "epochs (best)": ", ".join(f"{s} ({b})" for s, b in zip(r["stopped_epoch"], r["best_epoch"]))}


def comparison_part(c, data: dict, sets: dict, class_names, trained: dict, part_dir: pathlib.Path):
    labels = list(sets)
    bar_plot(part_dir / "ood_accuracy.png", labels,
             {MODEL_LABELS[n]: ([mean_std(r["accuracy"][lab]).mean for lab in labels],
                                [mean_std(r["accuracy"][lab]).std for lab in labels]) for n, r in trained.items()},
             title=f"{c.dataset}: shifted/rotated test sets (mean ± std, {len(c.seeds)} seeds)",
             ylabel="test accuracy")
    k = min(c.num_examples, c.n_test)
    y = data["test"]["y"]
    titles = [f"{label}: {class_names[int(y[i])]}" if i == 0 else class_names[int(y[i])]
              for label in labels for i in range(k)]
    image_grid(part_dir / "ood_examples.png", np.concatenate([sets[label][:k] for label in labels]),
               nrows=len(labels), ncols=k, titles=titles,
               title="Test images: original, shifted, rotated (counter-clockwise)")
    host = resolve_epoch_loop(c.epoch_loop) == "host"
    timing = markdown_table([{"model": MODEL_LABELS[n], "train s (all seeds, validation included)": r["train_seconds"],
                              "compile s": None if host else r["compile_seconds"],
                              "five test sets s": r["eval_seconds"]} for n, r in trained.items()], floatfmt=".1f")
    if host:
        timing += ("\n\nWith the host epoch loop the train step compiles on its first call, so compilation is "
                   "inside the training time (epoch 1).")
    text = ("Test accuracy (mean ± std over seeds):\n\n"
            + markdown_table([accuracy_row(n, r, labels) for n, r in trained.items()])
            + "\n\n![accuracy](comparison/ood_accuracy.png)\n\n![examples](comparison/ood_examples.png)\n\n"
            + "Wall time:\n\n" + timing)
    return text, {"test_sets": labels}


def main(c, workdir: pathlib.Path) -> dict:
    check(c)
    data, class_names = load_data(c)
    sets = ood_test_sets(data["test"]["x"], c.shift)
    trained: dict = {}
    parts = {name: (MODEL_LABELS[name], functools.partial(model_part, c, data, sets, len(class_names), trained, name))
             for name in c.models}
    parts["comparison"] = ("Comparison: test accuracy on the shifted and rotated test sets",
                           functools.partial(comparison_part, c, data, sets, class_names, trained))
    setup = (f"{c.dataset} {c.n_train}/{c.n_val}/{c.n_test} (train/validation/test, data seed {c.data_seed}), "
             f"pixels in [0, 1]. {c.optimizer} lr {c.learning_rate}, batch {c.batch_size}, at most {c.max_epochs} "
             f"epochs, early stopping on validation accuracy with patience {c.patience} (best weights restored). "
             f"Seeds {list(c.seeds)} ({'vmapped' if c.vmap_seeds else 'one after another'}), epoch loop "
             f"{resolve_epoch_loop(c.epoch_loop)}. Test sets: original; shifted up {c.shift} px with zero fill; "
             f"rotated 90/180/270° counter-clockwise. Preset `{c.preset}`.")
    return run_parts("Out-of-distribution test images (shift, rotation)", parts, [*c.models, "comparison"], workdir,
                     [("Setup", setup)])


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
