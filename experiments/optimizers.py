"""Fully-connected nets: overfitting a small set, update rules, a strong baseline, dropout.

Data: Fashion-MNIST by default, a stand-in: the coursework's CIFAR-10 is not on our machines (see below).

Coursework questions (the CS231n "fully-connected nets" assignment, in JAX):

(a) ``overfit``: overfit 50 training examples to 100% training accuracy within 20 epochs with a
    3-layer and a 5-layer ReLU net (100 units per hidden layer) by choosing only the learning
    rate and the weight scale (weights ~ N(0, scale²), biases 0). The whole learning-rate x
    weight-scale x seed grid is one vmapped program per depth (``make_runs(grid=...)``), which
    shows how sensitive each depth is to the weight scale.
(b) ``update_rules``: a 6-layer net (5 x 100 hidden) on 4,000 examples for 5 epochs with SGD,
    SGD + momentum, RMSProp and Adam: loss per iteration, training and validation accuracy
    per epoch, each on one figure; seeds vmapped per optimizer.
(c) ``best``: the best fully-connected net we can train in a few minutes (CIFAR-10 target:
    >= 50% validation accuracy); on our machines the same recipe on Fashion-MNIST.
(d) ``dropout``: two nets with one 500-unit hidden layer on 500 examples, keep probability 1
    vs 0.25 (inverted dropout: ``MLP(dropout_rate=1 - keep)``), training vs validation accuracy
    per epoch.

Data: ``--config.dataset`` ``fashion_mnist`` (default here; CIFAR-10 is absent on our
machines) or ``cifar10`` (the coursework's). ``jaxml.data.train_val_test``: ``n_train`` =
49,000 training, ``n_val`` = 1,000 validation, ``n_test`` = 10,000 test images (seeded); pixels
scaled to [0, 1], flattened, minus the mean training image. Parts (a), (b), (d) train on the
first 50 / 4,000 / 500 of the training images and all validate on the same 1,000.

    python -m experiments.optimizers                                  # full
    python -m experiments.optimizers --config.dataset=cifar10         # the coursework data
    python -m experiments.optimizers --config=tiny                    # used by the smoke test
"""
from __future__ import annotations

import pathlib
import time

import ml_collections
import numpy as np

from jaxml import data as jdata
from jaxml.data import transforms
from jaxml.models import count_params
from jaxml.models.mlp import MLP
from jaxml.report import line_plot, markdown_table, mean_band, mean_std
from jaxml.report.metrics_log import write_metrics
from jaxml.study.config import ConfigError, check_config
from jaxml.study.experiment import run_experiment, run_parts
from jaxml.study.fit_summary import diverged
from jaxml.train import evaluate, fit, init_params, make_optimizer, make_runs, runs_from_params, unstack

NAME = "optimizers"
PRESETS = ("full", "tiny")
PARTS = ("overfit", "update_rules", "best", "dropout")
DATASETS = ("fashion_mnist", "cifar10")
INITS = ("normal", "xavier_uniform", "xavier_normal", "he_normal", "he_uniform", "lecun_normal")


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.parts = PARTS
    c.dataset = "fashion_mnist"
    c.data_seed = 0
    c.n_train, c.n_val, c.n_test = 49_000, 1_000, 10_000
    c.eval_batch_size = 1_000
    # (a) overfit 50 examples.
    c.a_examples = 50
    c.a_depths = (3, 5)                       # layers = hidden layers + 1
    c.a_width = 100
    c.a_learning_rates = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)
    c.a_weight_scales = (1e-2, 3e-2, 1e-1, 2e-1, 3e-1, 5e-1, 1.0)
    c.a_seeds = (0, 1, 2)
    c.a_epochs = 20
    c.a_batch_size = 25
    # (b) update rules.
    c.b_examples = 4_000
    c.b_hidden = (100, 100, 100, 100, 100)
    c.b_init = "he_normal"                  # or "normal": N(0, b_weight_scale²)
    c.b_weight_scale = 5e-2
    c.b_epochs = 5
    c.b_batch_size = 100
    c.b_seeds = (0, 1, 2)
    c.b_optimizers = {
        "sgd": {"name": "sgd", "learning_rate": 1e-2},
        "sgd_momentum": {"name": "momentum", "learning_rate": 1e-2, "momentum": 0.9},
        "rmsprop": {"name": "rmsprop", "learning_rate": 1e-4, "rms_decay": 0.99},
        "adam": {"name": "adam", "learning_rate": 1e-3},
    }
    # (c) best net.
    c.c_hidden = (512, 256)
    c.c_init = "he_normal"
    c.c_dropout = 0.1
    c.c_optimizer = {"name": "adamw", "learning_rate": 1e-3, "weight_decay": 1e-4,
                     "schedule": "warmup_cosine", "warmup_epochs": 1, "total_epochs": 15}
    c.c_epochs = 15
    c.c_batch_size = 128
    c.c_seeds = (0,)
    # (d) dropout.
    c.d_examples = 500
    c.d_hidden = 500
    c.d_keep = (1.0, 0.25)
    c.d_init = "he_normal"
    c.d_optimizer = {"name": "adam", "learning_rate": 5e-4}
    c.d_epochs = 25
    c.d_batch_size = 100
    c.d_seeds = (0, 1, 2)
    c.progress = True
    if preset == "tiny":
        c.n_train, c.n_val, c.n_test = 100, 50, 50
        c.eval_batch_size = 50
        c.a_examples = 20
        c.a_depths = (3,)
        c.a_width = 8
        c.a_learning_rates = (1e-2, 1e-1)
        c.a_weight_scales = (1e-2, 1e-1)
        c.a_seeds = (0,)
        c.a_epochs = 2
        c.a_batch_size = 10
        c.b_examples = 50
        c.b_hidden = (8, 8)
        c.b_epochs = 2
        c.b_batch_size = 25
        c.b_seeds = (0,)
        c.b_optimizers = {"adam": {"name": "adam", "learning_rate": 1e-3}}
        c.c_hidden = (16,)            # = d_hidden with the same init: the two parts share one draw
        c.c_epochs = 2
        c.c_optimizer.total_epochs = 2
        c.c_batch_size = 50
        c.d_examples = 50
        c.d_hidden = 16
        c.d_epochs = 2
        c.d_batch_size = 25
        c.d_seeds = (0,)
        c.d_keep = (0.25,)
    return c


def check(c) -> None:
    check_config(c, choices={"preset": PRESETS, "dataset": DATASETS, "b_init": INITS, "c_init": INITS,
                             "d_init": INITS}, subsets={"parts": PARTS},
                 nonempty=("a_seeds", "b_seeds", "c_seeds", "d_seeds"),
                 counts=("n_train", "n_val", "n_test", "a_width", "a_epochs", "b_epochs", "c_epochs", "d_epochs",
                         "d_hidden", "b_hidden", "c_hidden", "eval_batch_size"),
                 positive=("a_learning_rates", "a_weight_scales", "b_weight_scale", "d_keep"),
                 fractions=("c_dropout",),
                 ranges={"a_depths": (2, None), "a_examples": (1, c.n_train), "b_examples": (1, c.n_train),
                         "d_examples": (1, c.n_train), "a_batch_size": (1, c.a_examples),
                         "b_batch_size": (1, c.b_examples), "c_batch_size": (1, c.n_train),
                         "d_batch_size": (1, c.d_examples), "d_keep": (0, 1)})
    if not c.b_optimizers:
        raise ConfigError("config key 'b_optimizers' must name at least one optimizer")
    for label, opt in c.b_optimizers.items():
        try:
            make_optimizer(opt)
        except ValueError as e:
            raise ConfigError(f"config key 'b_optimizers.{label}': {e}") from None
    for key in ("c_optimizer", "d_optimizer"):
        try:
            make_optimizer(c[key])
        except ValueError as e:
            raise ConfigError(f"config key {key!r}: {e}") from None


# ---------------------------------------------------------------------------------------------
# Data and helpers.

def load_data(c) -> dict:
    """{"train", "validation", "test"} -> {"x": float32 (N, D), "y": int32 (N,)}, mean image removed."""
    splits = jdata.train_val_test(c.dataset, c.n_train, c.n_val, c.n_test, seed=c.data_seed)
    flat = {k: np.asarray(transforms.flatten(transforms.scale_to_unit(ds.x))) for k, ds in splits.items()}
    mean_image = flat["train"].mean(axis=0, keepdims=True)
    return {k: {"x": (flat[k] - mean_image).astype(np.float32), "y": splits[k].y.astype(np.int32)} for k in splits}


def head(d: dict, n: int) -> dict:
    return {k: v[:n] for k, v in d.items()}


def shared_params(cache: dict, model: MLP, sample_x, seeds):
    """``init_params(model, sample_x, seeds)``, memoised on what determines the draw (layer
    sizes, initializer, seeds), so nets that differ only in dropout or optimizer share it."""
    key = (tuple(model.hidden_sizes), model.output_size, model.kernel_init, model.bias_init, model.init_std,
           tuple(seeds), np.shape(sample_x)[1:])
    if key not in cache:
        cache[key] = init_params(model, sample_x, seeds)
    return cache[key]


# ---------------------------------------------------------------------------------------------
# (a) overfit 50 examples.

def overfit_study(c, data, workdir: pathlib.Path, cache: dict) -> tuple[str, dict]:
    train = head(data["train"], c.a_examples)
    tables, result, best_curves = [], {}, {}
    scales = np.array(c.a_weight_scales)
    for depth in c.a_depths:
        model = MLP(hidden_sizes=(c.a_width,) * (depth - 1), output_size=10, kernel_init="normal", init_std=1.0)
        grid = make_runs(model, make_optimizer({"name": "sgd", "learning_rate": 1.0}), train["x"][:1],
                         seeds=c.a_seeds, grid={"weight_scale": c.a_weight_scales, "learning_rate": c.a_learning_rates})
        res = fit(grid, train, epochs=c.a_epochs, batch_size=c.a_batch_size, eval_sets={"train_eval": train},
                  on_nonfinite="stop_run", progress=False, eval_batch_size=c.eval_batch_size,
                  desc=f"{depth}-layer grid")
        write_metrics(workdir / f"metrics_{depth}layer.jsonl", res.history)
        failed = diverged(res) | ~np.isfinite(res.final("train_eval_loss"))
        acc = np.where(failed, 0.0, res.final("train_eval_accuracy"))
        acc_g, div_g = grid.reshape(acc), grid.reshape(failed)       # (scales, lrs, seeds)
        perfect = (acc_g >= 1.0).sum(-1)
        n = len(c.a_seeds)
        rows = []
        for i, ws in enumerate(c.a_weight_scales):
            row = {"weight scale": ws}
            for j, lr in enumerate(c.a_learning_rates):
                cell = "diverged" if div_g[i, j].all() else f"{acc_g[i, j].mean():.2f} ({perfect[i, j]}/{n})"
                row[f"lr {lr:g}"] = cell
            rows.append(row)
        ok_scales = [ws for i, ws in enumerate(c.a_weight_scales) if (perfect[i] == n).any()]
        cells = int((perfect == n).sum())
        tables.append(f"**{depth}-layer net** ({depth - 1} x {c.a_width} hidden): training accuracy after "
                      f"{c.a_epochs} epochs, mean over seeds (seeds at 100%). {cells} of {perfect.size} "
                      f"(scale, lr) cells reach 100% for every seed; weight scales where some learning rate "
                      f"does: {ok_scales or 'none'}.\n\n" + markdown_table(rows))
        best_curves[f"{depth}-layer"] = (scales, (perfect == n).mean(axis=1))
        result[f"{depth}_layer"] = {"accuracy": acc_g.tolist(), "diverged": div_g.tolist(),
                                    "cells_perfect_all_seeds": cells, "scales_that_work": ok_scales,
                                    "compile_seconds": res.compile_seconds, "train_seconds": res.train_seconds}
    line_plot(workdir / "overfit_sensitivity.png", best_curves, logx=True,
              title=f"Overfitting {c.a_examples} examples in {c.a_epochs} epochs: which weight scales work?",
              xlabel="weight scale (std of the initial weights)",
              ylabel=f"fraction of the {len(c.a_learning_rates)} learning rates reaching 100% (all seeds)")
    text = (f"{c.a_examples} training examples, SGD, batch {c.a_batch_size}, {c.a_epochs} epochs, ReLU, weights "
            f"N(0, scale²), biases 0; per depth the {len(c.a_weight_scales)} scales x {len(c.a_learning_rates)} "
            f"learning rates x seeds {list(c.a_seeds)} are ONE vmapped program. \"diverged\": every seed's loss "
            "became non-finite. The figure shows, per weight scale, the fraction of learning rates at which every "
            "seed reaches 100% training accuracy.\n\n" + "\n\n".join(tables)
            + "\n\n![sensitivity](overfit/overfit_sensitivity.png)")
    return text, result


# ---------------------------------------------------------------------------------------------
# (b) update rules.

def update_rules_study(c, data, workdir: pathlib.Path, cache: dict) -> tuple[str, dict]:
    train = head(data["train"], c.b_examples)
    std = c.b_weight_scale if c.b_init == "normal" else None
    model = MLP(hidden_sizes=tuple(c.b_hidden), output_size=10, kernel_init=c.b_init, init_std=std)
    init_text = f"weights N(0, {c.b_weight_scale}²)" if c.b_init == "normal" else f"{c.b_init} weights"
    loss_c, loss_b, train_c, train_b, val_c, val_b, rows, result = {}, {}, {}, {}, {}, {}, [], {}
    params = shared_params(cache, model, train["x"][:1], c.b_seeds)     # every rule starts from these weights
    preferred = ("sgd", "sgd_momentum", "rmsprop", "adam")   # ConfigDict iterates its keys sorted
    labels = sorted(c.b_optimizers, key=lambda k: (preferred.index(k) if k in preferred else len(preferred), k))
    for label in labels:
        opt = c.b_optimizers[label]
        runs = runs_from_params(model, make_optimizer(opt), params, [{"seed": s} for s in c.b_seeds])
        res = fit(runs, train, epochs=c.b_epochs, batch_size=c.b_batch_size,
                  eval_sets={"train_eval": train, "val": data["validation"]}, progress=c.progress, step_log=True,
                  eval_batch_size=c.eval_batch_size, on_nonfinite="stop_run", desc=label)
        write_metrics(workdir / f"metrics_{label}.jsonl", res.history)
        steps = res.step_loss.reshape(runs.num_runs, -1)
        loss_c[label], loss_b[label] = mean_band(steps)                    # x: iterations 1..
        tr, va = res.curve("train_eval_accuracy"), res.curve("val_accuracy")
        train_c[label], train_b[label] = mean_band(tr)                     # x: epochs 1..
        val_c[label], val_b[label] = mean_band(va)
        hyper = ", ".join(f"{k}={v}" for k, v in opt.items() if k != "name")
        rows.append({"update rule": label, "hyperparameters": hyper,
                     "loss, first 10 iterations": mean_std(steps[:, :10].mean(1)),
                     "loss, last 10 iterations": mean_std(steps[:, -10:].mean(1)),
                     f"train accuracy (epoch {c.b_epochs})": mean_std(tr[:, -1]),
                     f"validation accuracy (epoch {c.b_epochs})": mean_std(va[:, -1])})
        result[label] = {"step_loss_mean": steps.mean(0).tolist(), "train_accuracy": tr.tolist(),
                         "val_accuracy": va.tolist()}
    line_plot(workdir / "loss_per_iteration.png", loss_c, bands=loss_b, logy=True,
              title=f"Training loss per iteration ({len(c.b_hidden) + 1}-layer net, mean ± std over seeds)",
              xlabel="iteration", ylabel="minibatch cross-entropy")
    line_plot(workdir / "train_accuracy.png", train_c, bands=train_b, title="Training accuracy per epoch",
              xlabel="epoch", ylabel=f"accuracy on the {c.b_examples} training examples")
    line_plot(workdir / "val_accuracy.png", val_c, bands=val_b, title="Validation accuracy per epoch",
              xlabel="epoch", ylabel=f"accuracy on the {c.n_val} validation examples")
    text = (f"{len(c.b_hidden) + 1}-layer ReLU net (hidden {list(c.b_hidden)}), {init_text}, biases 0, "
            f"{c.b_examples} training examples, batch {c.b_batch_size}, {c.b_epochs} epochs "
            f"({-(-c.b_examples // c.b_batch_size) * c.b_epochs} iterations); seeds {list(c.b_seeds)} vmapped per "
            "rule; every rule starts from the same weights per seed (one initialisation shared by all rules)."
            "\n\n" + markdown_table(rows)
            + "\n\n![loss](update_rules/loss_per_iteration.png) ![train accuracy](update_rules/train_accuracy.png) "
              "![validation accuracy](update_rules/val_accuracy.png)")
    return text, result


# ---------------------------------------------------------------------------------------------
# (c) best fully-connected net.

def best_study(c, data, workdir: pathlib.Path, cache: dict) -> tuple[str, dict]:
    model = MLP(hidden_sizes=tuple(c.c_hidden), output_size=10, kernel_init=c.c_init, dropout_rate=c.c_dropout)
    steps = -(-c.n_train // c.c_batch_size)
    params = shared_params(cache, model, data["train"]["x"][:1], c.c_seeds)
    runs = runs_from_params(model, make_optimizer(c.c_optimizer, steps), params, [{"seed": s} for s in c.c_seeds])
    t0 = time.perf_counter()
    res = fit(runs, data["train"], epochs=c.c_epochs, batch_size=c.c_batch_size, eval_sets={"val": data["validation"]},
              progress=c.progress, eval_batch_size=c.eval_batch_size, desc="best FC net")
    wall = time.perf_counter() - t0
    write_metrics(workdir / "metrics.jsonl", res.history)
    val, tr = res.curve("val_accuracy"), res.curve("train_accuracy")
    test = evaluate(res.state, data["test"], batch_size=c.eval_batch_size, num_runs=runs.num_runs)["accuracy"]
    epochs = np.arange(1, c.c_epochs + 1)
    line_plot(workdir / "best_accuracy.png",
              {"train (running, dropout on)": (epochs, tr.mean(0)), "validation": (epochs, val.mean(0))},
              title=f"Best FC net: {list(c.c_hidden)}, dropout {c.c_dropout}", xlabel="epoch", ylabel="accuracy")
    n_params = count_params(unstack(runs.state.params, 0))
    rows = [{"dataset": c.dataset, "parameters": n_params, "epochs": c.c_epochs,
             "final validation accuracy": mean_std(val[:, -1]), "best validation accuracy": mean_std(val.max(1)),
             "test accuracy (final weights)": mean_std(test),
             "train time (s)": f"{res.train_seconds:.0f}", "wall incl. compile (s)": f"{wall:.0f}"}]
    opt = ", ".join(f"{k}={v}" for k, v in c.c_optimizer.items())
    text = (f"MLP {list(c.c_hidden)} ReLU, {c.c_init} init, inverted dropout {c.c_dropout} after each hidden "
            f"layer; {opt}; batch {c.c_batch_size}; {c.n_train} training examples; seeds {list(c.c_seeds)}.\n\n"
            + markdown_table(rows) + "\n\n![accuracy](best/best_accuracy.png)")
    return text, {"val_accuracy": val.tolist(), "test_accuracy": np.asarray(test).tolist(), "n_params": n_params,
                  "train_seconds": res.train_seconds, "wall_seconds": wall}


# ---------------------------------------------------------------------------------------------
# (d) dropout.

def dropout_study(c, data, workdir: pathlib.Path, cache: dict) -> tuple[str, dict]:
    train = head(data["train"], c.d_examples)
    curves, bands, rows, result = {}, {}, [], {}
    # Dropout does not change the parameters: both nets start from the same weights.
    params = shared_params(cache, MLP(hidden_sizes=(c.d_hidden,), output_size=10, kernel_init=c.d_init),
                           train["x"][:1], c.d_seeds)
    for keep in c.d_keep:
        model = MLP(hidden_sizes=(c.d_hidden,), output_size=10, kernel_init=c.d_init, dropout_rate=1.0 - keep)
        runs = runs_from_params(model, make_optimizer(c.d_optimizer), params, [{"seed": s} for s in c.d_seeds])
        res = fit(runs, train, epochs=c.d_epochs, batch_size=c.d_batch_size,
                  eval_sets={"train_eval": train, "val": data["validation"]}, progress=c.progress,
                  eval_batch_size=c.eval_batch_size, desc=f"keep {keep}")
        write_metrics(workdir / f"metrics_keep{keep}.jsonl", res.history)
        tr, va = res.curve("train_eval_accuracy"), res.curve("val_accuracy")
        for name, v in ((f"train, keep {keep}", tr), (f"validation, keep {keep}", va)):
            curves[name], bands[name] = mean_band(v)
        rows.append({"keep probability": keep, "final train accuracy": mean_std(tr[:, -1]),
                     "final validation accuracy": mean_std(va[:, -1]), "best validation accuracy": mean_std(va.max(1)),
                     "train - validation gap": mean_std(tr[:, -1] - va[:, -1])})
        result[str(keep)] = {"train_accuracy": tr.tolist(), "val_accuracy": va.tolist()}
    line_plot(workdir / "dropout_accuracy.png", curves, bands=bands,
              title=f"{c.d_examples} examples, 1 x {c.d_hidden} hidden: train vs validation (mean ± std)",
              xlabel="epoch", ylabel="accuracy (eval mode)")
    text = (f"One hidden layer of {c.d_hidden} ReLU units ({c.d_init}), {c.d_examples} training examples, "
            f"{', '.join(f'{k}={v}' for k, v in c.d_optimizer.items())}, batch {c.d_batch_size}, {c.d_epochs} epochs; "
            f"seeds {list(c.d_seeds)} vmapped per keep probability; both nets start from the same weights. "
            "Inverted dropout: kept units are divided by "
            "the keep probability during training, so evaluation uses the weights as they are. Accuracies are "
            "measured in eval mode (no dropout) after each epoch.\n\n" + markdown_table(rows)
            + "\n\n![accuracy](dropout/dropout_accuracy.png)")
    return text, result


def main(c, workdir: pathlib.Path) -> dict:
    check(c)
    data = load_data(c)
    cache: dict = {}      # initial weights shared between parts (see shared_params)
    intro = [("Setup", f"{c.dataset}: {c.n_train} train / {c.n_val} validation / {c.n_test} test (data seed "
              f"{c.data_seed}), {data['train']['x'].shape[1]} inputs, mean training image subtracted. Preset "
              f"`{c.preset}`.")]
    parts = {"overfit": ("(a) Overfitting 50 examples", lambda d: overfit_study(c, data, d, cache)),
             "update_rules": ("(b) Update rules", lambda d: update_rules_study(c, data, d, cache)),
             "best": ("(c) Best fully-connected net", lambda d: best_study(c, data, d, cache)),
             "dropout": ("(d) Dropout", lambda d: dropout_study(c, data, d, cache))}
    return run_parts(f"Fully-connected nets and update rules ({c.dataset})", parts, c.parts, workdir, intro)

if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
