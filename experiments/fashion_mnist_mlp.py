"""Fashion-MNIST MLP study: gradient check, batch size, early stopping, momentum.

Coursework question: how do minibatch size, early stopping and momentum affect a small
MLP trained by SGD, and are the gradients right?

Data: Fashion-MNIST, 10,000 train / 2,000 validation / 10,000 test (a deterministic
subset, ``jaxml.data.train_val_test`` with ``data_seed``), pixels scaled to [0, 1] and
flattened to 784. Model: 784 -> 128 ReLU -> 10 (101,770 parameters), weights and biases
from N(0, 0.1). Minibatch SGD, learning rate 0.01; early stopping on validation accuracy
with patience 5. Seeds are vmapped where runs share shapes (``fit(make_runs(...))``); in the
batch-size part they run one after another (``vmap_runs=False``) so that each run's wall time is
its own.

    python -m experiments.fashion_mnist_mlp                        # full study
    python -m experiments.fashion_mnist_mlp --config=demo          # ~5 minutes on 2 CPU cores
    python -m experiments.fashion_mnist_mlp --config=tiny          # seconds; used by the tests
    python -m experiments.fashion_mnist_mlp --config.parts=momentum --config.seeds=0,1

Outputs in the work directory: config.json, machine.json, results.md, summary.json, one
folder per part with metrics.jsonl (and checkpoints for the long runs), PNG plots.
"""
from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml import data as jdata
from jaxml.data import transforms
from jaxml.models import param_count
from jaxml.models.mlp import MLP
from jaxml.report import line_plot, markdown_table, mean_band, mean_std
from jaxml.study.config import check_config
from jaxml.study.experiment import run_experiment, run_parts
from jaxml.study.model_spec import write_model_spec
from jaxml.train import EarlyStopping, evaluate, fit, make_optimizer, make_runs, seed_keys
from jaxml.train.gradcheck import central_difference

NAME = "fashion_mnist_mlp"
PRESETS = ("full", "demo", "tiny")
PARTS = ("gradcheck", "batch_size", "early_stopping", "momentum")
EXPECTED_PARAMS = 101_770


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.parts = PARTS
    c.seeds = (0, 1, 2)
    c.data_seed = 0
    c.n_train, c.n_val, c.n_test = 10_000, 2_000, 10_000
    c.hidden = 128
    c.init_std = 0.1
    c.learning_rate = 0.01
    c.patience = 5
    c.eval_batch_size = 2_000
    # Gradient check.
    c.grad_batch = 50
    c.grad_big_batch = 5_000
    c.grad_eps = 1e-3
    # Batch size study (early stopping on validation accuracy, capped at max_epochs).
    c.batch_sizes = (1, 5, 50, 500, 5000)
    c.max_epochs = 1000
    # Early stopping study.
    c.es_batch_size = 5
    c.es_epochs = 30
    # Momentum study (one vmapped program over seeds x alphas).
    c.momenta = (0.1, 0.3, 0.5, 0.7, 0.9)
    c.momentum_batch_size = 50
    c.momentum_epochs = 20
    c.checkpoint_every = 10
    c.progress = True
    if preset == "demo":
        c.max_epochs = 150
    elif preset == "tiny":
        c.seeds = (0, 1)
        c.n_train, c.n_val, c.n_test = 300, 100, 200
        c.eval_batch_size = 100
        c.grad_batch, c.grad_big_batch = 20, 300
        c.batch_sizes = (5, 50)
        c.max_epochs = 3
        c.patience = 2
        c.es_batch_size, c.es_epochs = 10, 4
        c.momenta = (0.1, 0.9)
        c.momentum_batch_size, c.momentum_epochs = 20, 3
        c.checkpoint_every = 2
    return c


def check(c) -> None:
    check_config(c, choices={"preset": PRESETS}, subsets={"parts": PARTS}, nonempty=("seeds",),
                 positive=("learning_rate", "init_std", "grad_eps"), fractions=("momenta",),
                 counts=("patience", "n_train", "n_val", "n_test", "max_epochs", "es_epochs", "momentum_epochs",
                         "grad_batch", "batch_sizes", "grad_big_batch", "hidden", "checkpoint_every",
                         "es_batch_size", "momentum_batch_size", "eval_batch_size"),
                 ranges={"batch_sizes": (1, c.n_train), "grad_big_batch": (1, c.n_train)})


def load_data(c) -> dict:
    """{"train","validation","test"} -> {"x": float32 (N, 784) in [0, 1], "y": int32 (N,)}."""
    splits = jdata.train_val_test("fashion_mnist", c.n_train, c.n_val, c.n_test, seed=c.data_seed)
    return {name: {"x": transforms.flatten(transforms.scale_to_unit(ds.x)), "y": ds.y.astype(np.int32)}
            for name, ds in splits.items()}


def model_kwargs(c) -> dict:
    return {"hidden_sizes": (c.hidden,), "output_size": 10, "kernel_init": "normal", "bias_init": "normal",
            "init_std": c.init_std}


def make_model(c) -> MLP:
    return MLP(**model_kwargs(c))


def save_model_spec(c, folder: pathlib.Path) -> None:
    """``folder/model.json``: what ``python -m jaxml.trained.evaluate_checkpoint`` rebuilds."""
    write_model_spec(folder, "mlp", model_kwargs(c), study=NAME,
                     data={"dataset": "fashion_mnist", "n_train": c.n_train, "n_val": c.n_val, "n_test": c.n_test,
                           "data_seed": c.data_seed, "layout": "flat", "image_shape": (28, 28, 1)})


def sgd_runs(c, data, cache: dict):
    """One plain-SGD run per seed (``make_runs``), made once and shared by the batch-size and
    early-stopping parts (``fit`` never changes the runs it is given)."""
    if "sgd" not in cache:
        cache["sgd"] = make_runs(make_model(c), sgd(c), data["train"]["x"][:1], seeds=c.seeds)
    return cache["sgd"]


def sgd(c, momentum: float = 0.0):
    return make_optimizer({"name": "sgd", "learning_rate": c.learning_rate, "momentum": momentum})


# ---------------------------------------------------------------------------------------------
# Part 1: gradient check.

def gradient_check(c, data) -> tuple[str, dict]:
    model = make_model(c)
    init_key, _ = seed_keys(c.seeds[0])
    x, y = data["train"]["x"], data["train"]["y"]
    with jax.enable_x64(True):
        params = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64),
                                        model.init(init_key, x[:1])["params"])

        def loss(params, xb, yb):
            logits = model.apply({"params": params}, jnp.asarray(xb, jnp.float64))
            logp = jax.nn.log_softmax(logits.astype(jnp.float64))
            return -jnp.mean(jnp.take_along_axis(logp, jnp.asarray(yb)[:, None], axis=1))

        xb, yb = x[: c.grad_batch], y[: c.grad_batch]
        grad_fn = jax.jit(jax.grad(loss))  # compiled once per batch shape (op by op it took seconds)
        grads = grad_fn(params, xb, yb)
        w1 = params["hidden_0"]["kernel"]

        @jax.jit
        def loss_at_entry(v, i, j):
            """The loss with W1[i, j] set to ``v`` (one program for every entry)."""
            return loss({**params, "hidden_0": {**params["hidden_0"], "kernel": w1.at[i, j].set(v)}}, xb, yb)

        # Four entries of W1 whose input pixel is non-zero in the batch (border pixels are
        # always 0 in Fashion-MNIST, where both derivatives are exactly 0).
        active = np.flatnonzero(np.abs(np.asarray(xb)).sum(0) > 0)
        rng = np.random.default_rng(c.data_seed)
        rows = rng.choice(active, size=4, replace=False)
        cols = rng.choice(w1.shape[1], size=4, replace=False)
        table = []
        for i, j in zip(rows, cols):
            numeric = central_difference(lambda v, i=int(i), j=int(j): loss_at_entry(v, i, j), w1[i, j], c.grad_eps)
            analytic = float(grads["hidden_0"]["kernel"][i, j])
            rel = abs(analytic - numeric) / max(abs(analytic) + abs(numeric), 1e-12)
            table.append({"entry": f"W1[{i}, {j}]", "jax.grad": f"{analytic:.8e}",
                          "central difference": f"{numeric:.8e}", "relative error": f"{rel:.2e}"})
        g_small = grads["hidden_0"]["kernel"]
        g_big = grad_fn(params, x[: c.grad_big_batch], y[: c.grad_big_batch])["hidden_0"]["kernel"]
        l1_small, l1_big = float(jnp.abs(g_small).sum()), float(jnp.abs(g_big).sum())
    norms = [{"batch": c.grad_batch, "L1 norm of dLoss/dW1": f"{l1_small:.4f}"},
             {"batch": c.grad_big_batch, "L1 norm of dLoss/dW1": f"{l1_big:.4f}"}]
    ratio = l1_small / l1_big
    text = (f"Mean cross-entropy over the first {c.grad_batch} training images, float64, at the "
            f"initial weights (seed {c.seeds[0]}); central difference with eps = {c.grad_eps}.\n\n"
            + markdown_table(table) + "\n\n" + markdown_table(norms)
            + f"\n\nRatio of the L1 norms (batch {c.grad_batch} / batch {c.grad_big_batch}): {ratio:.3f} — "
            f"{'the same' if 0.1 <= ratio <= 10 else 'NOT the same'} order of magnitude: the loss is a mean, "
            "so its gradient does not grow with the batch.")
    return text, {"entries": table, "l1_small": l1_small, "l1_big": l1_big, "ratio": ratio}


# ---------------------------------------------------------------------------------------------
# Part 2: batch size.

def batch_size_study(c, data, cache: dict, workdir: pathlib.Path) -> tuple[str, dict]:
    """Per batch size, the seeds trained one after another (``vmap_runs=False``: each its own
    program), so each run's wall time is its own."""
    stop = EarlyStopping(monitor="val_accuracy", patience=c.patience)
    runs = sgd_runs(c, data, cache)
    rows, per_bs = [], {}
    for bs in c.batch_sizes:
        save_model_spec(c, workdir / f"bs{bs}")
        res = fit(runs, data["train"], epochs=c.max_epochs, batch_size=bs, eval_sets={"val": data["validation"]},
                  early_stopping=stop, eval_batch_size=c.eval_batch_size, workdir=workdir / f"bs{bs}",
                  checkpoint_every=c.checkpoint_every, progress=c.progress, desc=f"batch {bs}", vmap_runs=False)
        test = evaluate(res.best_state, data["test"], batch_size=c.eval_batch_size, num_runs=runs.num_runs)
        # A run's own wall time: its epochs and validation passes (compilation excluded).
        seconds = [sum(h["epoch_seconds"] + h["eval_seconds"] for h in res.run_history(r))
                   for r in range(runs.num_runs)]
        results = [{"seed": runs.info[r]["seed"], "test_accuracy": float(test["accuracy"][r]),
                    "train_seconds": seconds[r], "epochs": int(res.stopped_epoch[r]),
                    "best_epoch": int(res.best_epoch[r]), "updates": int(res.updates[r]),
                    "capped": int(res.stopped_epoch[r]) >= c.max_epochs} for r in range(runs.num_runs)]
        per_bs[bs] = results
        col = lambda k, results=results: [r[k] for r in results]  # noqa: E731
        rows.append({"batch size": bs, "test accuracy": mean_std(col("test_accuracy")),
                     "train time (s)": mean_std(col("train_seconds")).format(".2f"),
                     "compile (s, all seeds)": f"{res.compile_seconds:.1f}",
                     "epochs": mean_std(col("epochs")).format(".1f"),
                     "best epoch": mean_std(col("best_epoch")).format(".1f"),
                     "gradient updates": mean_std(col("updates")).format(".0f"),
                     "hit epoch cap": f"{sum(col('capped'))}/{len(results)}"})
    bss = np.array(c.batch_sizes, float)
    per_seed = lambda k: np.array([[r[k] for r in per_bs[b]] for b in c.batch_sizes]).T  # noqa: E731 (seeds, sizes)
    acc_line, acc_band = mean_band(per_seed("test_accuracy"), bss)
    (_, t_m), (_, t_lo, t_hi) = mean_band(per_seed("train_seconds"), bss)
    line_plot(workdir / "batch_size_test_accuracy.png", {"test accuracy": acc_line},
              bands={"test accuracy": acc_band}, logx=True,
              title="Test accuracy vs batch size (early stopping, mean ± std over seeds)",
              xlabel="batch size", ylabel="test accuracy")
    line_plot(workdir / "batch_size_train_time.png", {"train time": (bss, t_m)},
              bands={"train time": (bss, np.maximum(t_lo, 1e-3), t_hi)}, logx=True, logy=True,
              title="Training wall time until early stopping vs batch size",
              xlabel="batch size", ylabel="seconds (compile excluded)")
    text = (f"SGD lr {c.learning_rate}, early stopping on validation accuracy (patience {c.patience}, best "
            f"weights restored), at most {c.max_epochs} epochs; each seed a separate run, one after another "
            f"(its wall time is its own, compile time excluded). Seeds {list(c.seeds)}.\n\n"
            + markdown_table(rows)
            + "\n\n![test accuracy](batch_size/batch_size_test_accuracy.png) "
              "![train time](batch_size/batch_size_train_time.png)")
    return text, {str(k): v for k, v in per_bs.items()}


# ---------------------------------------------------------------------------------------------
# Part 3: early stopping.

def early_stopping_study(c, data, cache: dict, workdir: pathlib.Path) -> tuple[str, dict]:
    runs = sgd_runs(c, data, cache)
    save_model_spec(c, workdir)
    res = fit(runs, data["train"], epochs=c.es_epochs, batch_size=c.es_batch_size,
              eval_sets={"train_eval": data["train"], "val": data["validation"], "test": data["test"]},
              workdir=workdir, checkpoint_every=c.checkpoint_every, eval_batch_size=c.eval_batch_size,
              progress=c.progress, desc="early stopping study")
    rule = EarlyStopping(monitor="val_accuracy", patience=c.patience)
    curves, bands, stats = {}, {}, {}
    for key, label in (("train_eval_accuracy", "train"), ("val_accuracy", "validation"), ("test_accuracy", "test")):
        stats[label] = res.curve(key)                                    # (runs, epochs)
        curves[label], bands[label] = mean_band(stats[label], res.curve_epochs(key))
    stops = [rule.stop_epoch(stats["validation"][r]) for r in range(runs.num_runs)]
    markers = {f"patience {c.patience} would stop (seed {runs.info[r]['seed']})": e
               for r, (_, e) in enumerate(stops) if e is not None}
    line_plot(workdir / "early_stopping_accuracy.png", curves, bands=bands, markers=markers,
              title=f"Batch {c.es_batch_size}, {c.es_epochs} epochs without early stopping (mean ± std)",
              xlabel="epoch", ylabel="accuracy")
    rows = []
    for r, (best, stop_e) in enumerate(stops):
        at = (stop_e or c.es_epochs)
        rows.append({"seed": runs.info[r]["seed"], "best val epoch": best,
                     f"patience-{c.patience} stop epoch": stop_e if stop_e is not None else "—",
                     "test acc at best val epoch": float(stats["test"][r][best - 1]),
                     f"test acc at epoch {c.es_epochs}": float(stats["test"][r][-1]),
                     "train acc at last epoch": float(stats["train"][r][-1]),
                     "test acc at stop epoch": float(stats["test"][r][at - 1])})
    text = (f"Batch size {c.es_batch_size}, SGD lr {c.learning_rate}, {c.es_epochs} epochs with early stopping "
            f"off; accuracy of the full train/validation/test sets after each epoch (eval mode). The dashed "
            f"lines mark where early stopping with patience {c.patience} on validation accuracy would have "
            f"stopped.\n\n" + markdown_table(rows)
            + "\n\n![accuracy vs epoch](early_stopping/early_stopping_accuracy.png)")
    summary = {"stops": stops, **{k: v.tolist() for k, v in stats.items()}}
    return text, summary


# ---------------------------------------------------------------------------------------------
# Part 4: momentum.

def momentum_study(c, data, workdir: pathlib.Path) -> tuple[str, dict]:
    runs = make_runs(make_model(c), sgd(c, momentum=max(c.momenta)), data["train"]["x"][:1],
                     seeds=c.seeds, sweep={"momentum": c.momenta})
    save_model_spec(c, workdir)
    res = fit(runs, data["train"], epochs=c.momentum_epochs, batch_size=c.momentum_batch_size,
              eval_sets={"test": data["test"]}, workdir=workdir, checkpoint_every=c.checkpoint_every,
              eval_batch_size=c.eval_batch_size, progress=c.progress, on_nonfinite="stop_run", desc="momentum sweep")
    losses, test_acc = res.curve("train_loss"), res.final("test_accuracy")    # (runs, epochs), (runs,)
    curves, bands, rows = {}, {}, []
    for alpha, loss_runs in runs.group(losses).items():
        curves[f"α = {alpha}"], bands[f"α = {alpha}"] = mean_band(loss_runs, res.curve_epochs("train_loss"))
    for alpha, acc in runs.group(test_acc).items():
        rows.append({"momentum α": alpha, "test accuracy": mean_std(acc),
                     f"train loss at epoch {c.momentum_epochs}": mean_std(runs.group(losses[:, -1])[alpha])})
    line_plot(workdir / "momentum_train_loss.png", curves, bands=bands, logy=True,
              title=f"Training loss, SGD lr {c.learning_rate} with momentum (batch {c.momentum_batch_size})",
              xlabel="epoch", ylabel="mean training loss over the epoch")
    text = (f"SGD with momentum `v <- α v + g; w <- w - η v`, η = {c.learning_rate}, batch "
            f"{c.momentum_batch_size}, {c.momentum_epochs} epochs, no early stopping; "
            f"{runs.num_runs} runs (α x seeds) as one vmapped program, compiled once "
            f"(compile {res.compile_seconds:.1f} s, training {res.train_seconds:.1f} s). Test accuracy of the "
            f"final weights.\n\n" + markdown_table(rows)
            + "\n\n![training loss](momentum/momentum_train_loss.png)")
    return text, {"losses": losses.tolist(), "test_accuracy": test_acc.tolist(), "runs": runs.info}


def main(c, workdir: pathlib.Path) -> dict:
    check(c)
    data = load_data(c)
    n_params = param_count(make_model(c), data["train"]["x"][:1])
    cache: dict = {}      # the plain-SGD runs, shared by two parts (see sgd_runs)
    if c.hidden == 128 and n_params != EXPECTED_PARAMS:
        raise AssertionError(f"784-128-10 MLP should have {EXPECTED_PARAMS} parameters, got {n_params}")
    intro = [("Setup", f"Fashion-MNIST {c.n_train}/{c.n_val}/{c.n_test} (train/validation/test, data seed "
              f"{c.data_seed}); MLP 784-{c.hidden}-10 ReLU, {n_params:,} parameters, W and b from "
              f"N(0, {c.init_std}); preset `{c.preset}`.")]
    parts = {"gradcheck": ("Gradient check", lambda d: gradient_check(c, data)),
             "batch_size": ("Batch size", lambda d: batch_size_study(c, data, cache, d)),
             "early_stopping": ("Early stopping", lambda d: early_stopping_study(c, data, cache, d)),
             "momentum": ("Momentum", lambda d: momentum_study(c, data, d))}
    summary = run_parts("Fashion-MNIST MLP study", parts, c.parts, workdir, intro)
    return {"n_params": n_params, **summary}


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
