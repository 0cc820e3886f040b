"""A LeNet-style CNN on CIFAR-10 and its ablations: dense layers, channels, conv layers, activation, learning rate.

Coursework question: starting from the LeNet-style network of the PyTorch CIFAR-10 tutorial
(conv 6 5x5 -> ReLU -> max-pool 2 -> conv 16 5x5 -> ReLU -> max-pool 2 -> dense 120 -> dense 84
-> dense 10; ``jaxml.models.cnn.lenet``) trained by SGD with momentum 0.9, how do the number of
dense layers, the channel counts, the number of conv layers, the activation and the learning rate
change what it learns? Per-class accuracy, training/test loss curves, and the first 20 test
images with their predicted classes.

Data: CIFAR-10, all 50,000 training images and the 10,000 test images (``train_val_test`` with
``n_val=0``), pixels scaled to [0, 1] then standardised per channel with the training set's mean
and std. When ``<data dir>/cifar10/`` is missing, ``jaxml.data`` downloads the python-version archive
(SHA-256 verified) on first use; ``JAXML_OFFLINE=1`` turns that off and
``python -m jaxml.data download cifar10`` does it up front.
``--config.dataset=fashion_mnist`` (or ``mnist``) runs the same study on 28x28x1 images:
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
- ``dense_only``: no conv layers at all — the flattened image into dense layers, counted with the
  output layer: 2 = (120) -> 10, 5 = (120, 84, 64, 32) -> 10 (``dense_only_variants``); the base
  LeNet shown for reference.
- ``unpooled``: the conv layers without their max-pools (``unpooled_channel_variants``, default
  (6, 16): 5x5 VALID convs 32 -> 28 -> 24, flatten 24x24x16 = 9,216 into dense 120); the pooled
  base shown for reference.
- ``test_batch_size``: the base network's final weights evaluated at each of ``test_batch_sizes``
  (a short last batch is masked): test accuracy and cross-entropy per batch size, the largest
  logit difference from the first batch size and the number of test images whose predicted class
  changes. LeNet has no batch norm or dropout at test time, so each image's logits do not depend
  on the other images of its batch; only the floating-point order of the computation can (XLA
  may pick other kernels for other shapes).

Each distinct network is trained once, for every learning rate any selected part asks of it, as
ONE program: ``make_runs(..., grid={"learning_rate": ...})`` x seeds, then ``fit(runs)`` (the
learning rate is a traced hyperparameter; ``vmap_seeds=False`` trains the runs one after another,
same numbers). Each epoch is one scanned call (``epoch_loop="scan"``, the fast choice for these
small CNNs on CPU too; ``"host"`` runs a Python loop of compiled steps with identical numbers, see
``jaxml.train.epoch``). A run whose loss becomes non-finite stops and is reported as diverged.

    python -m experiments.cifar10_cnn                         # full: CIFAR-10, 3 seeds, 20 epochs
    python -m experiments.cifar10_cnn --config=demo --config.dataset=fashion_mnist   # 2-core CPU
    python -m experiments.cifar10_cnn --config=tiny           # seconds; the smoke test
    python -m experiments.cifar10_cnn --config.parts=activation,learning_rate

Parts (``run_parts``): the selected ablation groups (and ``test_batch_size``), then ``per_class_accuracy``,
``first_test_images`` and ``wall_time``.

Outputs: config.json, machine.json, results.md, summary.json, one folder per network with
metrics.jsonl, <group>/loss_<group>.png, per_class_accuracy/per_class_accuracy.png,
first_test_images/first_test_images.png.
"""
from __future__ import annotations

import functools
import pathlib
import time

import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml import data as jdata
from jaxml.evaluate.classify import mistakes, per_class_accuracy, predict, predict_logits
from jaxml.models import param_count
from jaxml.models.cnn import CNN, lenet
from jaxml.report import bar_plot, image_grid, line_plot, markdown_table, mean_band, mean_std
from jaxml.study.config import ConfigError, check_config
from jaxml.study.experiment import run_experiment, run_parts
from jaxml.study.fit_summary import fit_summary
from jaxml.train import EPOCH_LOOPS, fit, make_optimizer, make_runs, resolve_epoch_loop

NAME = "cifar10_cnn"
PRESETS = ("full", "demo", "tiny")
PARTS = ("dense_layers", "channels", "conv_layers", "activation", "learning_rate", "dense_only", "unpooled",
         "test_batch_size")
GROUPS = PARTS[:-1]   # the ablation groups: a table of trained variants each
ACTIVATIONS = ("relu", "leaky_relu", "tanh")
VARIANT_KEYS = ("dense_variants", "channel_variants", "conv_layer_variants", "dense_only_variants",
                "unpooled_channel_variants")


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
    c.dense_only_variants = ((120,), (120, 84, 64, 32))   # no conv layers: 2 and 5 dense layers with the output
    c.unpooled_channel_variants = ((6, 16),)              # conv layers without max-pooling
    c.test_batch_sizes = (1000, 100, 10, 1)               # the first is the reference
    c.num_shown = 20
    c.eval_batch_size = 1000
    c.vmap_seeds = True
    # The one-call scanned epoch: with the strided-slice pools and patch convs it is the fast
    # choice for these small CNNs on CPU too (MNIST CNN, 2 vmapped seeds: 5,421 vs 2,826 ex/s in the
    # host loop, identical numbers; see jaxml.train.epoch). "auto"/"host" select the host loop.
    c.epoch_loop = "scan"
    c.progress = True
    c.half_precision = False  # True: the model computes in bfloat16 (params, logits float32): GPUs/TPUs
    if preset == "demo":  # the documented reduced budget for a shared 2-core CPU (use with a 28x28 dataset)
        c.n_train = 20_000
        c.epochs = 5
    elif preset == "tiny":
        c.seeds = (0, 1)
        c.n_train, c.n_test = 100, 40
        # One small network (so one compilation): the activation group holds only the base, the
        # learning-rate group runs it at two learning rates in one program.
        c.parts = ("activation", "learning_rate", "dense_only", "unpooled", "test_batch_size")
        c.conv_channels, c.dense = (4, 8), (16,)
        # Small extra programs: two conv-free MLPs and one unpooled 1-conv net; the base network's final
        # weights evaluated at 40 (one batch) and 7 (5 full batches and a masked one of 5).
        c.dense_only_variants = ((16,), (16, 8, 8, 8))
        c.unpooled_channel_variants = ((4,),)
        c.test_batch_sizes = (40, 7)
        c.activations = ("relu",)
        c.learning_rates = (1e-2, 3e-2)
        c.learning_rate = 3e-2
        c.batch_size = 20
        c.epochs = 2
        c.eval_batch_size = 40
    return c


def check(c) -> None:
    check_config(c, choices={"preset": PRESETS, "dataset": jdata.IMAGE_DATASETS, "activation": ACTIVATIONS,
                             "conv_layers_padding": ("VALID", "SAME"), "epoch_loop": EPOCH_LOOPS},
                 subsets={"parts": PARTS, "activations": ACTIVATIONS}, nonempty=("parts", "seeds"),
                 positive=("learning_rate", "learning_rates"), fractions=("momentum",),
                 counts=("n_train", "n_test", "epochs", "eval_batch_size", "kernel", "num_shown", "batch_size",
                         "conv_channels", "dense", "test_batch_sizes", *VARIANT_KEYS),
                 ranges={"batch_size": (1, c.n_train)})
    for key in VARIANT_KEYS:
        if not all(isinstance(v, (tuple, list)) for v in c[key]):
            raise ConfigError(f"config key {key!r} must hold tuples of layer sizes, got {c[key]!r}")
    if not c.test_batch_sizes:
        raise ConfigError("config key 'test_batch_sizes' must list at least one batch size")
    for v in (c.conv_channels, *c.channel_variants, *c.conv_layer_variants, *c.unpooled_channel_variants):
        if not 1 <= len(v) <= 3:
            raise ConfigError(f"conv channel tuples need 1 to 3 entries (lenet), got {tuple(v)!r}")


# ---------------------------------------------------------------------------------------------
# Data.

def load_data(c) -> tuple[dict, tuple, np.ndarray]:
    """({"train","test"} -> {"x": float32 NHWC standardised, "y": int32}, class names, raw uint8 test images)."""
    splits = jdata.train_val_test(c.dataset, c.n_train, 0, c.n_test, seed=c.data_seed)
    data = jdata.standardised_arrays({k: splits[k] for k in ("train", "test")})
    return data, splits["train"].class_names, splits["test"].x


# ---------------------------------------------------------------------------------------------
# Variants: (group, label, network fields, learning rate). Networks are keyed by their fields.

def base_net(c) -> dict:
    return {"conv_channels": tuple(c.conv_channels), "dense": tuple(c.dense), "activation": c.activation,
            "padding": "VALID", "pool": True}


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
    if "dense_only" in c.parts:
        for dense in sorted(map(tuple, c.dense_only_variants), key=len):
            out.append(("dense_only", f"no conv, {len(dense) + 1} dense layers {dense}->10",
                        {**base, "conv_channels": (), "dense": dense}, lr))
        out.append(("dense_only", f"base LeNet, conv {tuple(c.conv_channels)} (reference)", base, lr))
    if "unpooled" in c.parts:
        for ch in map(tuple, c.unpooled_channel_variants):
            out.append(("unpooled", f"channels {ch}, no pooling", {**base, "conv_channels": ch, "pool": False}, lr))
        out.append(("unpooled", f"channels {tuple(c.conv_channels)}, max-pool 2 (base)", base, lr))
    if "test_batch_size" in c.parts:
        out.append(("test_batch_size", "base network", base, lr))
    return out


def net_key(net: dict) -> str:
    """A readable folder name for a network: conv6-16_dense120-84_relu_VALID (``_nopool`` without the
    max-pools; ``noconv_dense120_relu`` without conv layers)."""
    dense = f"dense{'-'.join(map(str, net['dense'])) or 'none'}"
    if not net["conv_channels"]:
        return f"noconv_{dense}_{net['activation']}"
    return (f"conv{'-'.join(map(str, net['conv_channels']))}_{dense}_{net['activation']}_{net['padding']}"
            + ("" if net.get("pool", True) else "_nopool"))


def make_model(c, net: dict, input_channels: int, num_classes: int):
    dtype = jnp.bfloat16 if c.half_precision else jnp.float32
    if not net["conv_channels"]:  # conv-free: flatten -> dense layers -> logits (lenet needs 1-3 conv layers)
        return CNN(blocks=(), dense=net["dense"], num_classes=num_classes, dense_activation=net["activation"],
                   input_channels=input_channels, dtype=dtype)
    return lenet(conv_channels=net["conv_channels"], kernel=c.kernel, dense=net["dense"],
                 activation=net["activation"], padding=net["padding"], num_classes=num_classes,
                 input_channels=input_channels, pool=2 if net.get("pool", True) else None, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Training: each network once, at all the learning rates the selected parts ask of it, one program.

def learning_rates(c) -> dict:
    """{network key: sorted learning rates} over the selected variants."""
    out: dict = {}
    for _, _, net, lr in variants(c):
        out.setdefault(net_key(net), set()).add(lr)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def train_network(c, data: dict, num_classes: int, net: dict, lrs: tuple,
                  workdir: pathlib.Path) -> tuple[dict, object]:
    """({learning rate: record}, final state of all runs) for ``net`` trained for every (learning rate,
    seed) as one program."""
    key = net_key(net)
    model = make_model(c, net, data["train"]["x"].shape[-1], num_classes)
    n_params = param_count(model, data["train"]["x"][:1])
    print(f"\n--- {key}, learning rate(s) {', '.join(f'{v:g}' for v in lrs)}: {n_params:,} parameters ---", flush=True)
    tx = make_optimizer({"name": "sgd", "learning_rate": lrs[0], "momentum": c.momentum})
    runs = make_runs(model, tx, data["train"]["x"][:1], seeds=c.seeds, grid={"learning_rate": lrs})
    res = fit(runs, data["train"], epochs=c.epochs, batch_size=c.batch_size, eval_sets={"test": data["test"]},
              workdir=workdir / key, checkpoint_every=c.epochs, eval_batch_size=c.eval_batch_size,
              progress=c.progress, on_nonfinite="stop_run", desc=key, epoch_loop=c.epoch_loop,
              vmap_runs=c.vmap_seeds)
    y_test = np.asarray(data["test"]["y"])
    preds = predict(res.state, data["test"]["x"], batch_size=c.eval_batch_size, num_runs=res.num_runs)
    out = {}
    for lr, idx in runs.group(np.arange(runs.num_runs), "learning_rate").items():
        out[lr] = {"network": key, "learning_rate": lr, "n_params": n_params,
                   **fit_summary(res, ("train_loss", "test_loss", "test_accuracy"), runs=idx),
                   "test_accuracy": (preds[idx] == y_test[None]).mean(axis=1).tolist(),
                   "per_class_accuracy": per_class_accuracy(y_test, preds[idx], num_classes).tolist(),
                   "predictions_first": preds[idx, :c.num_shown].tolist(), "runs_in_program": res.num_runs,
                   "run_indices": np.asarray(idx).tolist()}
    return out, res.state


# ---------------------------------------------------------------------------------------------
# Parts.

def group_part(c, group: str, trained, part_dir: pathlib.Path) -> tuple[str, dict]:
    rows, lines, bands, records = [], {}, {}, {}
    for _, label, net, lr in (v for v in variants(c) if v[0] == group):
        r = records[label] = trained(net, lr)
        rows.append({"variant": label, "parameters": r["n_params"], "test accuracy": mean_std(r["test_accuracy"]),
                     "final train loss": mean_std(r["final"]["train_loss"]),
                     "final test loss": mean_std(r["final"]["test_loss"]),
                     "diverged": f"{sum(r['diverged'])}/{len(r['diverged'])}"})
        for kind in ("train", "test"):
            lines[f"{label} {kind}"], bands[f"{label} {kind}"] = mean_band(r["curves"][f"{kind}_loss"])
    line_plot(part_dir / f"loss_{group}.png", lines, bands=bands,
              title=f"{c.dataset}, {group.replace('_', ' ')}: train (running) and test loss", xlabel="epoch",
              ylabel="cross-entropy")
    return markdown_table(rows) + f"\n\n![loss curves]({group}/loss_{group}.png)", {"variants": records}


def base_training(c, done: dict) -> tuple:
    """(label, record) of the base network at the base learning rate, else of the first training."""
    key = (net_key(base_net(c)), float(c.learning_rate))
    if key not in done:  # e.g. only the conv_layers part was run
        key = next(iter(done))
    label = next(lbl for _, lbl, net, lr in variants(c) if (net_key(net), lr) == key)
    return label, done[key]


def per_class_part(c, class_names, done: dict, part_dir: pathlib.Path) -> tuple[str, dict]:
    labels = {}
    for _, label, net, lr in variants(c):
        labels.setdefault((net_key(net), lr), label)
    means = {labels[k]: np.nanmean(np.asarray(r["per_class_accuracy"], float), axis=0) for k, r in done.items()}
    base_label, base = base_training(c, done)
    pc = np.asarray(base["per_class_accuracy"], float)
    bar_plot(part_dir / "per_class_accuracy.png", class_names,
             {base_label: (np.nanmean(pc, axis=0), np.nanstd(pc, axis=0, ddof=1) if len(pc) > 1 else None)},
             title=f"{c.dataset}: per-class test accuracy of the base network", ylabel="accuracy")
    table = markdown_table([{"variant": label, **dict(zip(class_names, map(float, m)))} for label, m in means.items()])
    return (table + "\n\n![per-class accuracy](per_class_accuracy/per_class_accuracy.png)",
            {"class_names": list(class_names), "mean_over_seeds": {k: v.tolist() for k, v in means.items()}})


def first_images_part(c, class_names, raw_test, y_test, done: dict, part_dir: pathlib.Path):
    label, r = base_training(c, done)
    pred = np.asarray(r["predictions_first"][0])
    k = len(pred)
    y = np.asarray(y_test[:k])
    rows = [{"index": i, "ground truth": class_names[y[i]], "predicted": class_names[pred[i]],
             "correct": "yes" if y[i] == pred[i] else "NO"} for i in range(k)]
    wrong = mistakes(y, pred, class_names)
    titles = [f"{class_names[y[i]]}\n-> {class_names[pred[i]]}" for i in range(k)]
    image_grid(part_dir / "first_test_images.png", raw_test[:k], nrows=max(1, (k + 9) // 10), titles=titles,
               title=f"First {k} test images: ground truth -> prediction ({label}, seed {r['seeds'][0]})")
    listed = "; ".join(f"#{m['index']}: {m['true']} predicted as {m['predicted']}" for m in wrong) or "none"
    text = (f"{label}, seed {r['seeds'][0]}, final weights. {k - len(wrong)}/{k} correct. Mistakes: {listed}.\n\n"
            + markdown_table(rows) + "\n\n![first test images](first_test_images/first_test_images.png)")
    return text, {"variant": label, "seed": r["seeds"][0], "predictions": pred.tolist(), "mistakes": wrong}


def _cross_entropy(logits_RxNxC: np.ndarray, y_N: np.ndarray) -> np.ndarray:
    """Mean cross-entropy per run (R,), in float64 from the logits."""
    z = np.asarray(logits_RxNxC, np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(log_p, y_N[None, :, None], axis=-1)[..., 0].mean(axis=1)


def test_batch_size_part(c, data: dict, trained, states: dict, part_dir: pathlib.Path) -> tuple[str, dict]:
    """The base network's final weights (every seed) evaluated at each of ``c.test_batch_sizes``."""
    net, lr = base_net(c), float(c.learning_rate)
    record = trained(net, lr)
    state, idx = states[net_key(net)], np.asarray(record["run_indices"])
    x, y = data["test"]["x"], np.asarray(data["test"]["y"])
    rows, out, ref = [], {}, None
    for b in c.test_batch_sizes:
        t0 = time.perf_counter()
        logits = predict_logits(state, x, batch_size=int(b), num_runs=record["runs_in_program"])[idx]
        seconds = time.perf_counter() - t0
        pred = logits.argmax(-1)
        acc, loss = (pred == y[None]).mean(axis=1), _cross_entropy(logits, y)
        if ref is None:
            ref = (logits, pred, acc, loss)
        diff = float(np.abs(logits - ref[0]).max())
        flips = (pred != ref[1]).sum(axis=1)
        out[int(b)] = {"test_accuracy": acc.tolist(), "test_loss": loss.tolist(), "max_abs_logit_diff": diff,
                       "prediction_changes": flips.tolist(), "accuracy_diff": (acc - ref[2]).tolist(),
                       "loss_diff": (loss - ref[3]).tolist(),
                       "seconds": seconds}
        n_batches = -(-len(y) // min(int(b), len(y)))
        rows.append({"test batch size": int(b), "batches (last masked if short)": n_batches,
                     "test accuracy": mean_std(acc), "test cross-entropy": mean_std(loss),
                     "max |logit - ref|": f"{diff:.2e}",
                     "max |accuracy - ref|": f"{float(np.abs(acc - ref[2]).max()):.6f}",
                     "max |cross-entropy - ref|": f"{float(np.abs(loss - ref[3]).max()):.2e}",
                     "predictions changed (per seed)": ", ".join(map(str, flips.tolist())),
                     "eval s (incl. compile)": f"{seconds:.2f}"})
    text = (f"Base network ({net_key(net)}, lr {lr:g}), final weights of seeds {record['seeds']}, on the "
            f"{len(y)} test images; reference = batch size {c.test_batch_sizes[0]}.\n\n" + markdown_table(rows))
    return text, {"network": net_key(net), "seeds": record["seeds"], "batch_sizes": out}


def wall_time_part(c, done: dict, part_dir: pathlib.Path) -> tuple[str, dict]:
    programs = {}
    for (key, lr), r in done.items():
        p = programs.setdefault(key, {"network": key, "learning_rates": [], "runs": r["runs_in_program"],
                                      "train_seconds": r["train_seconds"], "compile_seconds": r["compile_seconds"]})
        p["learning_rates"].append(lr)
    host = resolve_epoch_loop(c.epoch_loop) == "host"
    table = markdown_table([{"network": p["network"],
                             "learning rates": ", ".join(f"{v:g}" for v in p["learning_rates"]), "runs": p["runs"],
                             "train s (runs together)": p["train_seconds"],
                             "compile s": None if host else p["compile_seconds"]} for p in programs.values()],
                           floatfmt=".1f")
    note = (" With the host epoch loop the train step compiles on its first call, inside the training time."
            if host else "")
    return (table + "\n\nTraining includes the per-epoch test evaluation; each network is one program over its "
            "learning rates and seeds." + note, {"programs": list(programs.values())})


def main(c, workdir: pathlib.Path) -> dict:
    check(c)
    data, class_names, raw_test = load_data(c)
    lrs, done, states = learning_rates(c), {}, {}

    def trained(net: dict, lr: float) -> dict:
        """The record of ``net`` at ``lr``, training the network (all its learning rates) on first use."""
        key = net_key(net)
        if (key, lr) not in done:
            records, states[key] = train_network(c, data, len(class_names), net, lrs[key], workdir)
            done.update({(key, v): rec for v, rec in records.items()})
        return done[(key, lr)]

    parts = {group: (f"Ablation: {group.replace('_', ' ')} (mean ± std over seeds)",
                     functools.partial(group_part, c, group, trained)) for group in GROUPS}
    parts["test_batch_size"] = ("Test batch size: the base network evaluated in batches of different sizes",
                                functools.partial(test_batch_size_part, c, data, trained, states))
    parts["per_class_accuracy"] = ("Per-class test accuracy (mean over seeds)",
                                   functools.partial(per_class_part, c, class_names, done))
    parts["first_test_images"] = (f"First {c.num_shown} test images", functools.partial(
        first_images_part, c, class_names, raw_test, data["test"]["y"], done))
    parts["wall_time"] = ("Wall time", functools.partial(wall_time_part, c, done))
    setup = (f"{c.dataset}: {c.n_train} training / {c.n_test} test images (data seed {c.data_seed}), standardised per "
             f"channel with the training set's mean and std. Base: LeNet conv {tuple(c.conv_channels)} "
             f"{c.kernel}x{c.kernel} VALID + max-pool 2, dense {tuple(c.dense)} -> {len(class_names)}, {c.activation}; "
             f"SGD momentum {c.momentum}, lr {c.learning_rate:g}, batch {c.batch_size}, {c.epochs} epochs, "
             f"cross-entropy, final weights reported. Seeds {list(c.seeds)} "
             f"({'vmapped' if c.vmap_seeds else 'one after another'}), epoch loop {resolve_epoch_loop(c.epoch_loop)}. "
             f"Preset `{c.preset}`.")
    selected = [*c.parts, "per_class_accuracy", "first_test_images", "wall_time"]
    return run_parts(f"LeNet-style CNN ablations ({c.dataset})", parts, selected, workdir, [("Setup", setup)])


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
