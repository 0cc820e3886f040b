"""A LeNet-style CNN on CIFAR-10 and its ablations: dense layers, channels, conv layers, activation, learning rate.

Coursework question: starting from the LeNet-style network of the PyTorch CIFAR-10 tutorial
(conv 6 5x5 -> ReLU -> max-pool 2 -> conv 16 5x5 -> ReLU -> max-pool 2 -> dense 120 -> dense 84
-> dense 10; ``jaxml.models.cnn.lenet``) trained by SGD with momentum 0.9, how do the number of
dense layers, the channel counts, the number of conv layers, the activation and the learning rate
change what it learns? Per-class accuracy, training/test loss curves, and the first 20 test
images with their predicted classes.

Data: CIFAR-10, all 50,000 training images and the 10,000 test images (``train_val_test`` with
``n_val=0``), pixels scaled to [0, 1] then standardised per channel with the training set's mean
and std. ``--config.dataset=fashion_mnist`` (or ``mnist``) runs the same study on 28x28x1 images:
the network takes the data's channel count, and 5x5 VALID convs fit (28 -> 24 -> 12 -> 8 -> 4).

Base recipe: SGD, momentum 0.9 (``v <- 0.9 v + g; w <- w - lr v``), learning rate 1e-3, batch 32,
``epochs`` epochs, cross-entropy, no early stopping; reported numbers are those of the final
weights. Ablations (one factor at a time, everything else as the base):

- ``dense_layers``: fully connected layers counted WITH the output layer: 2 = (120) -> 10,
  5 = (120, 84, 64, 32) -> 10; the base (120, 84) -> 10 has 3 and is shown for reference.
- ``channels``: conv channels (6, 16) (base), (16, 32), (32, 64).
- ``conv_layers``: 1, 2, 3 conv layers of 6, 16, 32 channels. Three 5x5 VALID convs with pooling
  do not fit 32x32, so this group uses SAME padding for all three depths (32 -> 16 -> 8 -> 4).
- ``activation``: ReLU (base), LeakyReLU (slope 0.01), tanh — in conv and dense layers.
- ``learning_rate``: 1e-4, 1e-3 (base), 1e-2.

Runs that share a network but differ in learning rate are one program (the learning rate is a
vmapped, traced hyperparameter); seeds are vmapped too unless ``vmap_seeds=False``.
Each epoch is one scanned call (``epoch_loop="scan"``, the fast choice for these small CNNs on
CPU too; ``"host"`` runs a Python loop of compiled steps with identical numbers, see
``jaxml.train.host_epoch``). A run whose loss becomes non-finite stops and is reported as diverged.

    python -m experiments.cifar10_cnn                         # full: CIFAR-10, 3 seeds, 20 epochs
    python -m experiments.cifar10_cnn --config=demo --config.dataset=fashion_mnist   # 2-core CPU
    python -m experiments.cifar10_cnn --config=tiny           # seconds; the smoke test
    python -m experiments.cifar10_cnn --config.parts=activation,learning_rate

Outputs: config.json, machine.json, results.md, summary.json, one folder per network with
metrics.jsonl, loss_<group>.png, per_class_accuracy.png, first_test_images.png.
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
from jaxml.evaluate.classify import mistakes, per_class_accuracy, predict
from jaxml.models import count_params
from jaxml.models.cnn import lenet
from jaxml.report import bar_plot, image_grid, line_plot, markdown_table, mean_std, mean_std_array, write_results
from jaxml.study.config import ConfigError, check_choice, check_range
from jaxml.study.experiment import machine_summary, run_experiment
from jaxml.train import make_optimizer
from jaxml.train.host_epoch import EPOCH_LOOPS, resolve_epoch_loop
from jaxml.train.seeds import fit_seeds

NAME = "cifar10_cnn"
PRESETS = ("full", "demo", "tiny")
PARTS = ("dense_layers", "channels", "conv_layers", "activation", "learning_rate")
ACTIVATIONS = ("relu", "leaky_relu", "tanh")
IMAGE_DATASETS = tuple(n for n, s in REGISTRY.items() if s.returns == "ImageDataset")


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.dataset = "cifar10"
    c.n_train, c.n_test = 50_000, 10_000
    c.data_seed = 0
    c.seeds = (0, 1, 2)
    c.parts = PARTS
    # The base network and recipe.
    c.conv_channels = (6, 16)
    c.kernel = 5
    c.dense = (120, 84)
    c.activation = "relu"
    c.learning_rate = 1e-3
    c.momentum = 0.9
    c.batch_size = 32
    c.epochs = 20
    # Ablations.
    c.dense_variants = ((120,), (120, 84, 64, 32))
    c.channel_variants = ((16, 32), (32, 64))
    c.conv_layer_variants = ((6,), (6, 16), (6, 16, 32))
    c.conv_layers_padding = "SAME"
    c.activations = ACTIVATIONS
    c.learning_rates = (1e-4, 1e-3, 1e-2)
    c.num_shown = 20
    c.eval_batch_size = 1000
    c.vmap_seeds = True
    # The one-call scanned epoch: with the strided-slice pools and patch convs it is the fast
    # choice for these small CNNs on CPU too (MNIST CNN, 2 vmapped seeds: 5,421 vs 2,826 ex/s in the
    # host loop, identical numbers; see jaxml.train.host_epoch). "auto"/"host" select the host loop.
    c.epoch_loop = "scan"
    c.progress = True
    if preset == "demo":  # the documented reduced budget for a shared 2-core CPU (use with a 28x28 dataset)
        c.n_train = 20_000
        c.epochs = 5
    elif preset == "tiny":
        c.seeds = (0, 1)
        c.n_train, c.n_test = 100, 40
        # One small network (so one compilation): the activation group holds only the base, the
        # learning-rate group runs it at two learning rates in one program.
        c.parts = ("activation", "learning_rate")
        c.conv_channels, c.dense = (4, 8), (16,)
        c.activations = ("relu",)
        c.learning_rates = (1e-2, 3e-2)
        c.learning_rate = 3e-2
        c.batch_size = 20
        c.epochs = 2
        c.eval_batch_size = 40
        c.progress = False
    return c


def validate(c) -> None:
    check_choice(c, "preset", PRESETS)
    check_choice(c, "dataset", IMAGE_DATASETS)
    if not c.parts:
        raise ConfigError("config key 'parts' must list at least one part")
    for part in c.parts:
        if part not in PARTS:
            raise ConfigError(f"config key 'parts' has unknown part {part!r}; expected a subset of {list(PARTS)}")
    for act in (c.activation, *c.activations):
        if act not in ACTIVATIONS:
            raise ConfigError(f"config key 'activations' has unknown activation {act!r}; expected one of "
                              f"{list(ACTIVATIONS)}")
    if not c.seeds:
        raise ConfigError("config key 'seeds' must list at least one seed")
    check_range(c, "learning_rate", 0, low_inclusive=False)
    check_range(c, "learning_rates", 0, low_inclusive=False)
    check_range(c, "momentum", 0, 1, high_inclusive=False)
    for key in ("n_train", "n_test", "epochs", "eval_batch_size", "kernel", "num_shown"):
        check_range(c, key, 1)
    check_range(c, "batch_size", 1, c.n_train)
    for key in ("conv_channels", "dense"):
        check_range(c, key, 1)
    for key in ("dense_variants", "channel_variants", "conv_layer_variants"):
        for v in c[key]:
            if not isinstance(v, (tuple, list)) or any(not isinstance(k, int) or k < 1 for k in v):
                raise ConfigError(f"config key {key!r} must hold tuples of positive ints, got {v!r}")
    for v in (c.conv_channels, *c.channel_variants, *c.conv_layer_variants):
        if not 1 <= len(v) <= 3:
            raise ConfigError(f"conv channel tuples need 1 to 3 entries (lenet), got {tuple(v)!r}")
    check_choice(c, "conv_layers_padding", ("VALID", "SAME"))
    check_choice(c, "epoch_loop", EPOCH_LOOPS)


# ---------------------------------------------------------------------------------------------
# Data.

def load_data(c) -> tuple[dict, tuple, np.ndarray]:
    """({"train","test"} -> {"x": float32 NHWC standardised, "y": int32}, class names, raw uint8 test images)."""
    splits = jdata.train_val_test(c.dataset, c.n_train, 0, c.n_test, seed=c.data_seed)
    train = np.asarray(transforms.scale_to_unit(splits["train"].x))
    mean = train.mean(axis=(0, 1, 2))
    std = train.std(axis=(0, 1, 2)) + 1e-6
    data = {k: {"x": np.asarray(transforms.standardise(transforms.scale_to_unit(splits[k].x), mean, std)),
                "y": splits[k].y} for k in ("train", "test")}
    return data, splits["train"].class_names, splits["test"].x


# ---------------------------------------------------------------------------------------------
# Variants: (group, label, network fields, learning rate). Networks are keyed by their fields.

def base_net(c) -> dict:
    return {"conv_channels": tuple(c.conv_channels), "dense": tuple(c.dense), "activation": c.activation,
            "padding": "VALID"}


def variants(c) -> list[tuple[str, str, dict, float]]:
    base, lr = base_net(c), float(c.learning_rate)
    out = []
    if "dense_layers" in c.parts:
        for dense in sorted({tuple(c.dense), *map(tuple, c.dense_variants)}, key=len):
            tag = " (base)" if dense == tuple(c.dense) else ""
            label = f"{len(dense) + 1} dense layers {dense}->10{tag}"
            out.append(("dense_layers", label, {**base, "dense": dense}, lr))
    if "channels" in c.parts:
        for ch in [tuple(c.conv_channels), *map(tuple, c.channel_variants)]:
            tag = " (base)" if ch == tuple(c.conv_channels) else ""
            out.append(("channels", f"channels {ch}{tag}", {**base, "conv_channels": ch}, lr))
    if "conv_layers" in c.parts:
        for ch in map(tuple, c.conv_layer_variants):
            label = f"{len(ch)} conv layer{'s' if len(ch) > 1 else ''} {ch}, {c.conv_layers_padding}"
            out.append(("conv_layers", label, {**base, "conv_channels": ch, "padding": c.conv_layers_padding}, lr))
    if "activation" in c.parts:
        for act in c.activations:
            tag = " (base)" if act == c.activation else ""
            out.append(("activation", f"{act}{tag}", {**base, "activation": act}, lr))
    if "learning_rate" in c.parts:
        for value in c.learning_rates:
            tag = " (base)" if float(value) == lr else ""
            out.append(("learning_rate", f"lr {value:g}{tag}", base, float(value)))
    return out


def net_key(net: dict) -> str:
    """A readable folder name for a network: conv6-16_dense120-84_relu_VALID."""
    return (f"conv{'-'.join(map(str, net['conv_channels']))}_dense{'-'.join(map(str, net['dense'])) or 'none'}"
            f"_{net['activation']}_{net['padding']}")


def make_model(c, net: dict, input_channels: int, num_classes: int):
    return lenet(conv_channels=net["conv_channels"], kernel=c.kernel, dense=net["dense"],
                 activation=net["activation"], padding=net["padding"], num_classes=num_classes,
                 input_channels=input_channels)


# ---------------------------------------------------------------------------------------------
# Training and read-outs.

def train_all(c, data: dict, num_classes: int, workdir: pathlib.Path) -> dict:
    """Train every distinct (network, learning rate) once; returns {(net key, lr): result}."""
    nets: dict[str, tuple[dict, set]] = {}
    for _, _, net, lr in variants(c):
        nets.setdefault(net_key(net), (net, set()))[1].add(lr)
    results = {}
    x_test, y_test = data["test"]["x"], np.asarray(data["test"]["y"])
    channels = data["train"]["x"].shape[-1]
    for key, (net, lrs) in nets.items():
        lrs = tuple(sorted(lrs))
        model = make_model(c, net, channels, num_classes)
        n_params = count_params(jax.eval_shape(model.init, jax.random.PRNGKey(0), data["train"]["x"][:1])["params"])
        tx = make_optimizer({"name": "sgd", "learning_rate": lrs[0], "momentum": c.momentum})
        print(f"\n=== {key}, learning rate(s) {', '.join(f'{v:g}' for v in lrs)}: {n_params:,} parameters ===",
              flush=True)
        out = fit_seeds(model, tx, data["train"], seeds=c.seeds, vmap=c.vmap_seeds,
                        sweep={"learning_rate": lrs} if len(lrs) > 1 else None, workdir=workdir / key,
                        epochs=c.epochs, batch_size=c.batch_size, eval_sets={"test": data["test"]},
                        checkpoint_every=c.epochs, eval_batch_size=c.eval_batch_size, progress=c.progress,
                        on_nonfinite="stop_run", desc=key, epoch_loop=c.epoch_loop)
        groups = out.group("learning_rate") if len(lrs) > 1 else {lrs[0]: out.runs}
        for lr, runs in groups.items():
            preds = np.stack([predict(r.state, x_test, batch_size=c.eval_batch_size) for r in runs])
            diverged = [any(h.get("diverged") for h in r.history) for r in runs]
            results[(key, float(lr))] = {
                "n_params": n_params, "seeds": [r.seed for r in runs], "diverged": diverged,
                "train_loss": [r.curve("train_loss")[1].tolist() for r in runs],
                "test_loss": [r.curve("test_loss")[1].tolist() for r in runs],
                "test_accuracy_curve": [r.curve("test_accuracy")[1].tolist() for r in runs],
                "test_accuracy": (preds == y_test[None]).mean(axis=1).tolist(),
                "per_class_accuracy": per_class_accuracy(y_test, preds, num_classes).tolist(),
                "predictions_first": preds[:, :c.num_shown].tolist(),
                "train_seconds": out.train_seconds / len(groups), "compile_seconds": out.compile_seconds}
    return results


def _curve_stats(per_run: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    width = max(len(v) for v in per_run)
    arr = np.full((len(per_run), width), np.nan)
    for i, v in enumerate(per_run):
        arr[i, :len(v)] = v
    m, s = mean_std_array(arr)
    return np.arange(1, width + 1), m, s


def group_section(c, group: str, rows_in: list, results: dict, workdir: pathlib.Path) -> str:
    rows, curves, bands = [], {}, {}
    for _, label, net, lr in rows_in:
        r = results[(net_key(net), lr)]
        n_div = sum(r["diverged"])
        rows.append({"variant": label, "parameters": r["n_params"], "test accuracy": mean_std(r["test_accuracy"]),
                     "final train loss": mean_std([v[-1] for v in r["train_loss"]]),
                     "final test loss": mean_std([v[-1] for v in r["test_loss"]]),
                     "diverged": f"{n_div}/{len(r['diverged'])}"})
        for kind in ("train", "test"):
            epochs, m, s = _curve_stats(r[f"{kind}_loss"])
            curves[f"{label} {kind}"] = (epochs, m)
            bands[f"{label} {kind}"] = (epochs, m - s, m + s)
    line_plot(workdir / f"loss_{group}.png", curves, bands=bands,
              title=f"{c.dataset}, {group.replace('_', ' ')}: train (running) and test loss", xlabel="epoch",
              ylabel="cross-entropy")
    return markdown_table(rows) + f"\n\n![loss curves](loss_{group}.png)"


def first_images_section(c, results: dict, base_key, class_names, data, raw_test, workdir) -> tuple[str, list]:
    r = results[base_key]
    pred = np.asarray(r["predictions_first"][0])
    k = len(pred)
    y = np.asarray(data["test"]["y"][:k])
    rows = [{"index": i, "ground truth": class_names[y[i]], "predicted": class_names[pred[i]],
             "correct": "yes" if y[i] == pred[i] else "NO"} for i in range(k)]
    wrong = mistakes(y, pred, class_names)
    titles = [f"{class_names[y[i]]}\n-> {class_names[pred[i]]}" for i in range(k)]
    image_grid(workdir / "first_test_images.png", raw_test[:k], nrows=max(1, (k + 9) // 10), titles=titles,
               title=f"First {k} test images: ground truth -> prediction (base network, seed {r['seeds'][0]})")
    listed = "; ".join(f"#{m['index']}: {m['true']} predicted as {m['predicted']}" for m in wrong) or "none"
    text = (f"Base network, seed {r['seeds'][0]}, final weights. {k - len(wrong)}/{k} correct. "
            f"Mistakes: {listed}.\n\n" + markdown_table(rows) + "\n\n![first test images](first_test_images.png)")
    return text, wrong


def main(c, workdir: pathlib.Path) -> dict:
    validate(c)
    t0 = time.perf_counter()
    data, class_names, raw_test = load_data(c)
    num_classes = len(class_names)
    results = train_all(c, data, num_classes, workdir)
    all_variants = variants(c)

    sections = [("Setup", (
        f"{c.dataset}: {c.n_train} training / {c.n_test} test images (data seed {c.data_seed}), standardised per "
        f"channel with the training set's mean and std. Base: LeNet conv {tuple(c.conv_channels)} "
        f"{c.kernel}x{c.kernel} "
        f"VALID + max-pool 2, dense {tuple(c.dense)} -> {num_classes}, {c.activation}; SGD momentum {c.momentum}, "
        f"lr {c.learning_rate:g}, batch {c.batch_size}, {c.epochs} epochs, cross-entropy, final weights reported. "
        f"Seeds {list(c.seeds)} ({'vmapped' if c.vmap_seeds else 'one after another'}), epoch loop "
        f"{resolve_epoch_loop(c.epoch_loop)}. Preset `{c.preset}`; "
        f"machine: {machine_summary()}."))]
    for group in PARTS:
        rows_in = [v for v in all_variants if v[0] == group]
        if rows_in:
            sections.append((f"Ablation: {group.replace('_', ' ')} (mean ± std over seeds)",
                             group_section(c, group, rows_in, results, workdir)))

    seen, pc_rows, labels_of = set(), [], {}
    for _, label, net, lr in all_variants:
        labels_of.setdefault((net_key(net), lr), label)
    for key, label in labels_of.items():
        if key in seen:
            continue
        seen.add(key)
        means = np.nanmean(np.asarray(results[key]["per_class_accuracy"], float), axis=0)
        pc_rows.append({"variant": label, **{name: float(v) for name, v in zip(class_names, means)}})
    base_key = (net_key(base_net(c)), float(c.learning_rate))
    if base_key not in results:  # e.g. only the conv_layers part was run
        base_key = next(iter(results))
    base_pc = np.asarray(results[base_key]["per_class_accuracy"], float)
    bar_plot(workdir / "per_class_accuracy.png", class_names,
             {labels_of.get(base_key, "base"): (np.nanmean(base_pc, axis=0),
                                                np.nanstd(base_pc, axis=0, ddof=1) if len(base_pc) > 1 else None)},
             title=f"{c.dataset}: per-class test accuracy of the base network", ylabel="accuracy")
    sections.append(("Per-class test accuracy (mean over seeds)",
                     markdown_table(pc_rows) + "\n\n![per-class accuracy](per_class_accuracy.png)"))
    first_text, wrong = first_images_section(c, results, base_key, class_names, data, raw_test, workdir)
    sections.append((f"First {c.num_shown} test images", first_text))
    total = time.perf_counter() - t0
    host = resolve_epoch_loop(c.epoch_loop) == "host"
    timing = markdown_table([{"network": k, "learning rate": f"{lr:g}", "train s (seeds together)": r["train_seconds"],
                              "compile s": None if host else r["compile_seconds"]}
                             for (k, lr), r in results.items()], floatfmt=".1f")
    note = (" With the host epoch loop the train step compiles on its first call, inside the training time."
            if host else "")
    sections.append(("Wall time", timing + f"\n\nTotal wall time {total:.1f} s (training includes the per-epoch "
                                           "test evaluation; a network's runs at several learning rates share "
                                           "one program when vmapped, and its time is then split evenly)." + note))
    write_results(workdir / "results.md", f"LeNet-style CNN ablations ({c.dataset})", sections)
    summary = {"class_names": list(class_names),
               "variants": [list(v[:2]) + [net_key(v[2]), v[3]] for v in all_variants],
               "results": {f"{k}@lr={lr:g}": r for (k, lr), r in results.items()},
               "base": f"{base_key[0]}@lr={base_key[1]:g}", "first_mistakes": wrong, "total_seconds": total}
    (workdir / "summary.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
    print(f"\nResults written to {workdir / 'results.md'} (total {total:.1f} s)")
    return summary


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
