"""Principles of training on 2-D toy problems: initialisation, activation, example order, XOR.

Coursework questions:

(a) ``init``: a ReLU MLP initialised with all-zero weights vs random (He) weights — training
    loss per iteration and the fraction of dead hidden units (pre-activation <= 0 on every
    training example, ``jaxml.evaluate.probes.dead_relu_fraction``) after every epoch. With zero
    weights every hidden pre-activation is 0, ReLU'(0) = 0 in JAX, so every kernel and hidden
    bias gets an exactly zero gradient forever; only the output bias can move, which cannot
    make the output depend on x. The study also prints the largest gradient at zero init.
    Next to the ReLU nets, a *sigmoid* net started at zero (``zero_sigmoid``): sigmoid(0) = 1/2
    and sigmoid'(0) = 1/4, so gradients do flow (the output kernel moves first, then the layers
    below), but every unit of a layer receives the same gradient and stays identical to its
    neighbours forever, so the net behaves like one unit per layer (2-1-1-2), which cannot
    represent XOR. Reported: iterations until the moving-average training loss falls below
    ``loss_threshold`` for the three nets, and the largest difference between two units' incoming
    weights at the end (0 = the symmetry never broke).
(b) ``activation``: sigmoid vs ReLU hidden units (same initializer, optimizer and data):
    iterations until the training loss (moving average over one epoch of per-step losses)
    falls below ``loss_threshold``, and the decision boundaries.
(c) ``order``: SGD that visits every negative example before any positive one (the data
    sorted by label, ``fit(..., shuffle=False)``) vs a fresh shuffle per epoch: loss per
    iteration and final accuracy.
(d) ``xor``: the smallest ReLU network for XOR (2 inputs -> 2 ReLU units -> 1 linear output),
    with hand-set weights verified on the four points (h1 = relu(x1 + x2), h2 = relu(x1 + x2 - 1),
    y = h1 - 2 h2), the best linear least-squares fit for contrast, and trained networks of
    width 2, 3, 4, 8 from many seeds (how often does gradient descent find a solution?).

Data (``jaxml.data.toy``): noisy XOR (four Gaussian clouds, std ``noise``) for (a)-(b); two
overlapping Gaussian blobs for (c); test sets are fresh draws from the same distribution.
Seeds are vmapped: every setting's runs are one compiled program.

    python -m experiments.principles                  # full (about a minute on 2 CPU cores)
    python -m experiments.principles --config=tiny    # used by the smoke test
"""
from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.data import toy
from jaxml.evaluate.probes import dead_relu_fraction
from jaxml.models.initializers import NAMES as INIT_NAMES
from jaxml.models.mlp import MLP
from jaxml.report import line_plot, make_scatter_figure, markdown_table, mean_band, mean_std, save_figure
from jaxml.report.metrics_log import write_metrics
from jaxml.study.config import check_config
from jaxml.study.experiment import run_experiment, run_parts
from jaxml.train import evaluate, fit, get_loss, init_params, make_optimizer, runs_from_params, unstack

NAME = "principles"
PRESETS = ("full", "tiny")
PARTS = ("init", "activation", "order", "xor")
ACTIVATIONS = ("sigmoid", "relu", "tanh", "leaky_relu", "gelu", "elu")


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.parts = PARTS
    c.seeds = (0, 1, 2, 3, 4)
    c.data_seed = 0
    c.n_train, c.n_test = 400, 2_000
    c.noise = 0.5                 # std of the XOR clouds around (±1, ±1)
    c.hidden = (16, 16)
    c.learning_rate = 0.1
    c.batch_size = 20
    c.epochs = 100
    # (a) initialisation.
    c.random_init = "he_normal"
    c.zero_sigmoid = True         # also train a sigmoid net from all-zero weights
    # (b) activation.
    c.activations = ("sigmoid", "relu")
    c.activation_init = "xavier_uniform"
    c.activation_epochs = 300
    c.loss_threshold = 0.2
    # (c) order: two blobs, distance between centres / std.
    c.blob_distance = 2.0
    c.order_batch_size = 10
    c.order_learning_rate = 0.1
    c.order_epochs = 20
    # (d) XOR.
    c.xor_widths = (2, 3, 4, 8)
    c.xor_seeds = 20
    c.xor_learning_rate = 0.05
    c.xor_steps = 1_000
    c.xor_solved_loss = 0.01
    c.progress = True
    if preset == "tiny":
        c.seeds = (0, 1)
        c.n_train, c.n_test = 40, 40     # equal sizes share one compiled evaluation
        c.hidden = (4,)
        c.batch_size = 10
        c.epochs = 3
        c.order_epochs = 2
        c.activation_epochs = 3
        c.activation_init = c.random_init     # shares the random init's draw (saves a compile)
        c.loss_threshold = 0.69
        c.xor_widths = (2,)
        c.xor_seeds = 3
        c.xor_steps = 20
    return c


def check(c) -> None:
    check_config(c, choices={"preset": PRESETS, "random_init": INIT_NAMES, "activation_init": INIT_NAMES},
                 subsets={"parts": PARTS, "activations": ACTIVATIONS},
                 nonempty=("seeds",),
                 positive=("learning_rate", "order_learning_rate", "xor_learning_rate", "noise", "blob_distance",
                           "loss_threshold", "xor_solved_loss"),
                 counts=("n_train", "n_test", "epochs", "activation_epochs", "order_epochs", "xor_seeds",
                         "xor_steps", "hidden", "xor_widths", "batch_size", "order_batch_size"),
                 ranges={"n_train": (2, None), "batch_size": (1, c.n_train), "order_batch_size": (1, c.n_train)})


# ---------------------------------------------------------------------------------------------
# Helpers.

def as_data(x, y) -> dict:
    return {"x": np.asarray(x, np.float32), "y": np.asarray(y, np.int32)}


def xor_data(c) -> dict:
    train = toy.xor(c.n_train, noise=c.noise, seed=c.data_seed)
    test = toy.xor(c.n_test, noise=c.noise, seed=c.data_seed + 1)
    return {"train": as_data(*train), "test": as_data(*test)}


def moving_average(values_RxT: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` steps (shorter at the start): (R, T) -> (R, T)."""
    c = np.cumsum(values_RxT, axis=1)
    out = np.empty_like(c)
    out[:, :window] = c[:, :window] / np.arange(1, min(window, c.shape[1]) + 1)
    out[:, window:] = (c[:, window:] - c[:, :-window]) / window
    return out


def first_below(values_RxT: np.ndarray, threshold: float) -> list:
    """Per run, the 1-based index of the first value <= threshold (None if never)."""
    out = []
    for row in values_RxT:
        hits = np.flatnonzero(row <= threshold)
        out.append(int(hits[0]) + 1 if hits.size else None)
    return out


def boundary_figure(path, predict, data, title: str, *, levels=(0.5,), colorbar_label="P(class 1)"):
    """Data scatter plus the model's output over a grid (filled) and its ``levels`` contour.

    ``predict(points (M, 2)) -> (M,)``.
    """
    x, y = data["x"], data["y"]
    pad = 0.5
    g0, g1, pts = toy.grid_points(tuple(x.min(0) - pad), tuple(x.max(0) + pad), 150)
    z = np.asarray(predict(pts)).reshape(len(g1), len(g0))
    fig = make_scatter_figure(x[:, 0], x[:, 1], y, title=title, xlabel="x1", ylabel="x2",
                              label_names=["class 0", "class 1"])
    ax = fig.axes[0]
    filled = ax.contourf(g0, g1, z, levels=20, cmap="RdBu_r", alpha=0.35, zorder=0)
    ax.contour(g0, g1, z, levels=list(levels), colors="k", linewidths=1.5)
    fig.colorbar(filled, ax=ax, label=colorbar_label)
    return save_figure(fig, path)


def mlp(c, activation: str, init: str, hidden=None, output_size: int = 2) -> MLP:
    return MLP(hidden_sizes=tuple(hidden or c.hidden), output_size=output_size, activation=activation,
               kernel_init=init)


# ---------------------------------------------------------------------------------------------
# (a) zero vs random initialisation.

def zero_init_gradients(c, data) -> dict:
    """Largest |gradient| per parameter of the mean cross-entropy at all-zero weights (full batch)."""
    model = mlp(c, "relu", "zeros")
    params = jax.jit(model.init)(jax.random.key(0), data["x"][:1])["params"]
    loss = get_loss("cross_entropy")

    def mean_loss(p):
        return loss(model.apply({"params": p}, data["x"]), data["y"])[0].mean()

    grads = jax.jit(jax.grad(mean_loss))(params)
    return {f"{layer}/{name}": float(jnp.abs(g).max()) for layer, d in grads.items() for name, g in d.items()}


def initial_params(c) -> dict:
    """Initial parameters (stacked over ``c.seeds``) of the hidden-layer MLP with zero, random
    (``random_init``) and ``activation_init`` weights, made by one compiled call and shared by
    parts (a)-(c): runs that differ only in activation, optimizer or data order start from the
    same weights."""
    names = {"zeros": "zeros", "random": c.random_init, "activation": c.activation_init}
    inits = list(dict.fromkeys(names.values()))       # an initializer used twice is drawn once
    params = init_params([mlp(c, "relu", init) for init in inits], np.zeros((1, 2), np.float32), c.seeds)
    return {name: params[inits.index(init)] for name, init in names.items()}


def unit_spread(params) -> np.ndarray:
    """Per run, the largest ``|w[:, i] - w[:, j]|`` between the incoming weights (kernel column and
    bias) of two units of the same hidden layer; ``params`` stacked over runs."""
    out = 0.0
    for name, layer in params.items():
        if not name.startswith("hidden_"):
            continue
        w = np.concatenate([np.asarray(layer["kernel"]), np.asarray(layer["bias"])[:, None, :]], axis=1)
        out = np.maximum(out, (w.max(axis=2) - w.min(axis=2)).max(axis=1))
    return np.asarray(out)


def zero_sigmoid_runs(c, data, bank, tx, workdir: pathlib.Path):
    """The sigmoid net from all-zero weights, seeds vmapped: per-step losses (R, T), unit spread (R,),
    final test accuracy (R,) and the largest |weight| of the first hidden kernel (R,)."""
    runs = runs_from_params(mlp(c, "sigmoid", "zeros"), tx, bank["zeros"], [{"seed": s} for s in c.seeds])
    res = fit(runs, data["train"], epochs=c.epochs, batch_size=c.batch_size, eval_sets={"test": data["test"]},
              progress=c.progress, step_log=True, desc="zero-init sigmoid")
    write_metrics(workdir / "metrics_zero_sigmoid.jsonl", res.history)
    moved = np.abs(np.asarray(res.state.params["hidden_0"]["kernel"])).max(axis=(1, 2))
    return (res.step_loss.reshape(runs.num_runs, -1), unit_spread(res.state.params), res.final("test_accuracy"),
            moved)


def init_study(c, data, bank, workdir: pathlib.Path) -> tuple[str, dict]:
    inits = {"zeros": "zeros", "random": c.random_init}
    x_dev = jnp.asarray(data["train"]["x"])
    params = [bank["zeros"], bank["random"]]
    info = [{"init": label, "seed": seed} for label in inits for seed in c.seeds]
    tx = make_optimizer({"name": "sgd", "learning_rate": c.learning_rate})
    runs = runs_from_params(mlp(c, "relu", c.random_init), tx, params, info)
    # eval_before: the probe (and the test set) are also measured at epoch 0, before any step.
    res = fit(runs, data["train"], epochs=c.epochs, batch_size=c.batch_size, eval_sets={"test": data["test"]},
              progress=c.progress, step_log=True, eval_before=True,
              probes={"dead_fraction": lambda s: dead_relu_fraction(s, x_dev)}, desc="zero vs random")
    write_metrics(workdir / "metrics.jsonl", res.history)
    step_loss = res.step_loss.reshape(runs.num_runs, -1)
    dead, epochs = res.curve("dead_fraction"), res.curve_epochs("dead_fraction")     # epochs 0..E
    test_acc = res.final("test_accuracy")
    grads = zero_init_gradients(c, data["train"])
    its = np.arange(1, step_loss.shape[1] + 1)
    loss_curves, dead_curves, bands, rows = {}, {}, {}, []
    names = {label: f"ReLU, {'zero' if label == 'zeros' else c.random_init} init" for label in inits}
    for label in inits:
        loss_curves[names[label]], bands[names[label]] = mean_band(runs.group(step_loss, "init")[label], its)
        dead_curves[label] = mean_band(runs.group(dead, "init")[label], epochs)[0]
        g_dead = runs.group(dead, "init")[label]
        rows.append({"init": label if label == "zeros" else f"random ({c.random_init})",
                     "train loss, first 10 steps": mean_std(runs.group(step_loss[:, :10].mean(1), "init")[label]),
                     "train loss, last epoch": mean_std(
                         runs.group(step_loss[:, -step_loss.shape[1] // c.epochs:].mean(1), "init")[label]),
                     "dead units at init": mean_std(g_dead[:, 0]),
                     "dead units at end": mean_std(g_dead[:, -1]),
                     "test accuracy": mean_std(runs.group(test_acc, "init")[label])})
    line_plot(workdir / "init_dead_units.png", dead_curves,
              title="Fraction of dead ReLU units (mean over seeds)",
              xlabel="epoch", ylabel="units with pre-activation <= 0 on every training point")
    steps = step_loss.shape[1] // c.epochs
    spread_all = unit_spread(res.state.params)
    threshold = {names[k]: runs.group(step_loss, "init")[k] for k in inits}
    spread = {names[k]: runs.group(spread_all, "init")[k] for k in inits}
    accuracy = {names[k]: runs.group(test_acc, "init")[k] for k in inits}
    sig_text, sig_result = "", {}
    if c.zero_sigmoid:
        label = "sigmoid, zero init"
        sig_loss, spread[label], accuracy[label], moved = zero_sigmoid_runs(c, data, bank, tx, workdir)
        threshold[label] = sig_loss
        loss_curves[label], bands[label] = mean_band(sig_loss, its)
        sig_result = {"test_accuracy": accuracy[label].tolist(), "unit_spread": spread[label].tolist(),
                      "hidden_0_kernel_max_abs": moved.tolist(),
                      "loss_first_epoch": sig_loss[:, :steps].mean(1).tolist(),
                      "loss_last_epoch": sig_loss[:, -steps:].mean(1).tolist()}
    hits, trows = {}, []
    for label, loss in threshold.items():
        hits[label] = first_below(moving_average(loss, steps), c.loss_threshold)
        reached = [h for h in hits[label] if h is not None]
        trows.append({"net": label,
                      f"iterations to loss <= {c.loss_threshold}": (mean_std(reached).format(".0f") if reached
                                                                     else "never"),
                      "runs that reached it": f"{len(reached)}/{len(hits[label])}",
                      "train loss, last epoch": mean_std(loss[:, -steps:].mean(1)),
                      "largest difference between two units' incoming weights, end": mean_std(spread[label]),
                      "test accuracy": mean_std(accuracy[label])})
    if c.zero_sigmoid:
        sig_text = (f"\n\n**Zero-initialised sigmoid net** next to the ReLU nets (same data, sizes, optimizer and "
                    f"epochs; seeds vmapped; only the activation differs from the zero ReLU net). \"Iterations to "
                    f"loss\" as in (b): the first iteration at which the moving average of the per-step loss over one "
                    f"epoch ({steps} steps) is <= {c.loss_threshold}. The weight-difference column is the largest "
                    f"|w[:, i] - w[:, j]| over the units i, j of any hidden layer (0: every unit of a layer is "
                    f"still identical). Largest |weight| of the sigmoid net's first hidden kernel at the end: "
                    f"{mean_std(moved).format('.2g')} (it moves, but all units together).\n\n" + markdown_table(trows))
    line_plot(workdir / "init_loss.png", loss_curves, bands=bands, logy=True,
              title=f"MLP {list(c.hidden)}: zero vs random init ({len(c.seeds)} seeds)",
              xlabel="iteration", ylabel="training loss (minibatch cross-entropy)")
    grad_rows = [{"parameter": k, "max |∂L/∂θ| at zero init": f"{v:.3g}"} for k, v in grads.items()]
    text = (f"Noisy XOR, {c.n_train} train / {c.n_test} test points (noise {c.noise}); "
            f"MLP 2-{'-'.join(map(str, c.hidden))}-2 "
            f"ReLU, biases zero; SGD lr {c.learning_rate}, batch {c.batch_size}, {c.epochs} epochs; seeds "
            f"{list(c.seeds)}; both inits x all seeds trained as one vmapped program.\n\n" + markdown_table(rows)
            + "\n\nGradient of the mean cross-entropy over the whole (balanced) training set at all-zero "
              "weights:\n\n" + markdown_table(grad_rows)
            + sig_text + "\n\n![loss](init/init_loss.png) ![dead units](init/init_dead_units.png)")
    return text, {"zero_init_max_grad": grads, "dead": dead.tolist(), "test_accuracy": test_acc.tolist(),
                  "runs": runs.info, "iterations_to_threshold": hits, "zero_sigmoid": sig_result,
                  "unit_spread": {k: v.tolist() for k, v in spread.items()}}


# ---------------------------------------------------------------------------------------------
# (b) sigmoid vs ReLU.

def activation_study(c, data, bank, workdir: pathlib.Path) -> tuple[str, dict]:
    tx = make_optimizer({"name": "sgd", "learning_rate": c.learning_rate})
    steps = -(-c.n_train // c.batch_size)
    rows, curves, bands, result = [], {}, {}, {}
    for act in c.activations:
        model = mlp(c, act, c.activation_init)
        runs = runs_from_params(model, tx, bank["activation"], [{"seed": s} for s in c.seeds])
        res = fit(runs, data["train"], epochs=c.activation_epochs, batch_size=c.batch_size,
                  eval_sets={"test": data["test"]}, progress=c.progress, step_log=True, desc=act)
        write_metrics(workdir / f"metrics_{act}.jsonl", res.history)
        step_loss = res.step_loss.reshape(runs.num_runs, -1)
        smooth = moving_average(step_loss, steps)
        hits = first_below(smooth, c.loss_threshold)
        curves[act], bands[act] = mean_band(smooth, np.arange(1, smooth.shape[1] + 1))
        test_acc = res.final("test_accuracy")
        reached = [h for h in hits if h is not None]
        rows.append({"hidden activation": act,
                     f"iterations to loss <= {c.loss_threshold}": (mean_std(reached).format(".0f") if reached
                                                                    else "never"),
                     "runs that reached it": f"{len(reached)}/{len(hits)}",
                     "final train loss (last epoch)": mean_std(smooth[:, -1]),
                     "test accuracy": mean_std(test_acc)})
        state0 = unstack(res.state, 0)
        predict = jax.jit(lambda pts, s=state0: jax.nn.softmax(s.apply_fn({"params": s.params}, pts))[:, 1])
        boundary_figure(workdir / f"boundary_{act}.png", predict, data["train"],
                        f"{act} hidden units, seed {c.seeds[0]}, after {c.activation_epochs} epochs")
        result[act] = {"iterations_to_threshold": hits, "test_accuracy": test_acc.tolist(),
                       "final_loss": smooth[:, -1].tolist()}
    line_plot(workdir / "activation_loss.png", curves, bands=bands, logy=True,
              title=f"Training loss, moving average over {steps} steps ({len(c.seeds)} seeds)",
              xlabel="iteration", ylabel="cross-entropy")
    pics = " ".join(f"![{a}](activation/boundary_{a}.png)" for a in c.activations)
    text = (f"Same data and MLP as (a) with {c.activation_init} init for both activations; SGD lr "
            f"{c.learning_rate}, batch {c.batch_size}, {c.activation_epochs} epochs of {steps} iterations; seeds "
            f"{list(c.seeds)} vmapped per activation. \"Iterations to loss\" is the first iteration at which the "
            f"moving average of the per-step training loss over one epoch ({steps} steps) is <= "
            f"{c.loss_threshold} (mean ± std over the runs that reached it).\n\n" + markdown_table(rows)
            + f"\n\n![loss](activation/activation_loss.png)\n\nDecision boundaries (P(class 1) = 0.5, black) on the "
              f"training points: {pics}")
    return text, result


# ---------------------------------------------------------------------------------------------
# (c) negatives first vs shuffled.

def order_study(c, bank, workdir: pathlib.Path) -> tuple[str, dict]:
    x, y = toy.two_blobs(c.n_train, distance=c.blob_distance, seed=c.data_seed)
    x_sorted, y_sorted = toy.sort_by_label(x, y)
    train = as_data(x_sorted, y_sorted)
    test = as_data(*toy.two_blobs(c.n_test, distance=c.blob_distance, seed=c.data_seed + 1))
    tx = make_optimizer({"name": "sgd", "learning_rate": c.order_learning_rate})
    model = mlp(c, "relu", c.random_init)
    steps = -(-c.n_train // c.order_batch_size)
    rows, curves, result = [], {}, {}
    for label, shuffle in (("negatives first, then positives (unshuffled)", False), ("shuffled every epoch", True)):
        runs = runs_from_params(model, tx, bank["random"], [{"seed": s} for s in c.seeds])
        res = fit(runs, train, epochs=c.order_epochs, batch_size=c.order_batch_size,
                  eval_sets={"train_eval": train, "test": test}, progress=c.progress, step_log=True,
                  shuffle=shuffle, desc=label)
        tag = "sorted" if not shuffle else "shuffled"
        write_metrics(workdir / f"metrics_{tag}.jsonl", res.history)
        step_loss = res.step_loss.reshape(runs.num_runs, -1)
        curves[label] = (np.arange(1, step_loss.shape[1] + 1), step_loss.mean(0))
        final_test, final_train = res.final("test_accuracy"), res.final("train_eval_accuracy")
        x_test = jnp.asarray(test["x"])
        positive = np.asarray(jax.jit(jax.vmap(
            lambda s, x_test=x_test: jnp.mean(jnp.argmax(s.apply_fn({"params": s.params}, x_test), -1) == 1)))(
                res.state))
        rows.append({"order": label, "final train accuracy": mean_std(final_train),
                     "final test accuracy": mean_std(final_test),
                     "fraction of test points predicted positive": mean_std(positive),
                     "train loss, last epoch": mean_std(step_loss[:, -steps:].mean(1))})
        result[tag] = {"test_accuracy": final_test.tolist(), "train_accuracy": final_train.tolist(),
                       "predicted_positive": positive.tolist(),
                       "step_loss_mean": step_loss.mean(0).tolist()}
    line_plot(workdir / "order_loss.png", curves,
              title=f"Per-iteration minibatch loss (mean over {len(c.seeds)} seeds); epochs of {steps} steps",
              xlabel="iteration", ylabel="cross-entropy of the current minibatch")
    text = (f"Two Gaussian blobs (std 1, centres {c.blob_distance} apart, {c.n_train} train / {c.n_test} test, "
            f"half of each class); MLP 2-{'-'.join(map(str, c.hidden))}-2 ReLU ({c.random_init}); SGD lr "
            f"{c.order_learning_rate}, batch {c.order_batch_size}, {c.order_epochs} epochs; seeds {list(c.seeds)} "
            "vmapped. Unshuffled, every epoch runs over all the negatives (label 0) and then all the positives, "
            "so it always ends on a run of positive examples. Accuracies are of the final weights; half of the "
            "test points are positive.\n\n"
            + markdown_table(rows) + "\n\n![loss](order/order_loss.png)")
    return text, result


# ---------------------------------------------------------------------------------------------
# (d) XOR.

def xor_hand_params() -> dict:
    """h1 = relu(x1 + x2), h2 = relu(x1 + x2 - 1), y = h1 - 2 h2 as MLP(hidden_sizes=(2,), output_size=1)."""
    return {"hidden_0": {"kernel": jnp.array([[1.0, 1.0], [1.0, 1.0]]), "bias": jnp.array([0.0, -1.0])},
            "output": {"kernel": jnp.array([[1.0], [-2.0]]), "bias": jnp.array([0.0])}}


def xor_loss(out_Nx1, y_N):
    """Squared error against the 0/1 target; correct when the output is on the target's side of 0.5."""
    out_N, y_N = out_Nx1[:, 0], y_N.astype(out_Nx1.dtype)
    return (out_N - y_N) ** 2, ((out_N > 0.5) == (y_N > 0.5)).astype(jnp.float32)


def xor_study(c, workdir: pathlib.Path) -> tuple[str, dict]:
    x, y = toy.xor_points()
    data = {"x": x, "y": y.astype(np.float32)}
    model = MLP(hidden_sizes=(2,), output_size=1, activation="relu")
    hand_apply = jax.jit(lambda p: model.apply({"params": xor_hand_params()}, p)[:, 0])
    hand_out = np.asarray(hand_apply(x))
    # Best linear (affine) least-squares fit: w, b minimising sum (x w + b - y)^2.
    design = np.concatenate([x, np.ones((4, 1), np.float32)], axis=1)
    coef, *_ = np.linalg.lstsq(design.astype(np.float64), y.astype(np.float64), rcond=None)
    linear_out = design @ coef
    check = [{"x1": int(a), "x2": int(b), "XOR": int(t), "hand-set ReLU net": float(h),
              "best linear fit": float(lin)} for (a, b), t, h, lin in zip(x, y, hand_out, linear_out)]
    boundary_figure(workdir / "xor_hand.png",
                    hand_apply,
                    {"x": x, "y": y}, "Hand-set 2-2-1 ReLU net for XOR: output and 0.5 contour",
                    colorbar_label="network output")
    tx = make_optimizer({"name": "adam", "learning_rate": c.xor_learning_rate})
    seeds = tuple(range(c.xor_seeds))
    rows, result, shown = [], {"hand_outputs": hand_out.tolist(), "linear_outputs": linear_out.tolist()}, False
    models = [MLP(hidden_sizes=(w,), output_size=1, activation="relu", kernel_init="he_normal") for w in c.xor_widths]
    all_params = init_params(models, x[:1], seeds)          # every width's initial weights, one compiled call
    for width, m, params in zip(c.xor_widths, models, all_params):
        runs = runs_from_params(m, tx, params, [{"seed": s} for s in seeds])
        res = fit(runs, data, epochs=c.xor_steps, batch_size=4, loss=xor_loss, progress=False,
                  desc=f"xor width {width}")
        final = res.final("train_loss")
        ev = evaluate(res.state, data, loss=xor_loss, num_runs=runs.num_runs)
        solved = (ev["loss"] <= c.xor_solved_loss) & (ev["accuracy"] == 1.0)
        rows.append({"hidden ReLU units": width, "seeds": len(seeds),
                     f"solved (MSE <= {c.xor_solved_loss}, 4/4 correct)": f"{int(solved.sum())}/{len(seeds)}",
                     "4/4 correct": f"{int((ev['accuracy'] == 1.0).sum())}/{len(seeds)}",
                     "median final MSE": float(np.median(ev["loss"]))})
        result[f"width_{width}"] = {"final_loss": ev["loss"].tolist(), "accuracy": ev["accuracy"].tolist(),
                                    "solved": solved.tolist(), "train_loss_last_step": final.tolist()}
        if width == min(c.xor_widths) and solved.any() and not shown:
            r = int(np.flatnonzero(solved)[0])
            st = unstack(res.state, r)
            boundary_figure(workdir / "xor_trained.png",
                            jax.jit(lambda p, st=st: st.apply_fn({"params": st.params}, p)[:, 0]),
                            {"x": x, "y": y}, f"Trained 2-{width}-1 ReLU net (seed {seeds[r]}): output",
                            colorbar_label="network output")
            result["trained_params"] = jax.tree_util.tree_map(lambda a: np.asarray(a).tolist(), st.params)
            shown = True
    ok = bool(np.array_equal(hand_out, y.astype(np.float32)))
    text = ("Hand-set weights: hidden kernel [[1, 1], [1, 1]], hidden bias [0, -1], output kernel [1, -2], output "
            f"bias 0 (loaded into `MLP(hidden_sizes=(2,), output_size=1)`); outputs equal XOR exactly: {ok}. The best "
            "affine least-squares fit predicts 0.5 for every point, so no linear model represents XOR.\n\n"
            + markdown_table(check)
            + f"\n\nTrained: MSE on the four points, Adam lr {c.xor_learning_rate}, {c.xor_steps} full-batch steps, "
              f"He-normal init, {len(seeds)} seeds vmapped per width.\n\n" + markdown_table(rows)
            + "\n\n![hand-set](xor/xor_hand.png)" + (" ![trained](xor/xor_trained.png)" if shown else ""))
    result["hand_exact"] = ok
    return text, result


def main(c, workdir: pathlib.Path) -> dict:
    check(c)
    data = xor_data(c)
    bank = initial_params(c)
    parts = {"init": ("(a) Zero vs random initialisation", lambda d: init_study(c, data, bank, d)),
             "activation": ("(b) Sigmoid vs ReLU", lambda d: activation_study(c, data, bank, d)),
             "order": ("(c) Example order", lambda d: order_study(c, bank, d)),
             "xor": ("(d) XOR", lambda d: xor_study(c, d))}
    return run_parts("Principles of training (2-D toy problems)", parts, c.parts, workdir,
                     [("Setup", f"Preset `{c.preset}`.")])

if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
