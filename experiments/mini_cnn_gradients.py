"""Mini-CNN gradients: hand-derived backpropagation vs ``jax.grad``, then SGD on a toy set.

Coursework question: for the 3-input "mini CNN"

    a_1 = x_1 w_1 + x_2 w_2,   a_2 = x_2 w_1 + x_3 w_2,   o_i = max(0, a_i),
    ŷ = o_1 v_1 + o_2 v_2,     ℓ = ln(1 + exp(-y ŷ)),  y ∈ {-1, +1},

derive the gradients by hand and check them. With σ the logistic function and H the
Heaviside step (H(a) = 1 for a > 0, else 0 — the derivative of max(0, a) that JAX uses):

    ∂ℓ/∂v_i = (σ(yŷ) - 1) y o_i
    ∂ℓ/∂w_1 = (σ(yŷ) - 1) y (v_1 H(a_1) x_1 + v_2 H(a_2) x_2)
    ∂ℓ/∂w_2 = (σ(yŷ) - 1) y (v_1 H(a_1) x_2 + v_2 H(a_2) x_3)

Parts:

- ``gradcheck``: the formulas against ``jax.grad`` of the flax module
  (:class:`jaxml.models.mini_cnn.MiniCNN`) at ``n_check`` random (x, y, w, v), float64 and
  float32; the maximum absolute difference is reported (the test asserts <= 1e-6).
- ``train``: a teacher mini CNN labels Gaussian inputs (y = +1 iff its ŷ > 0); a student is
  trained with minibatch SGD (optax, ``fit``), seeds vmapped. Then full-batch gradient descent
  run twice by ``fit`` from the same start with the same optax SGD — once with the default step
  (``jax.grad``) and once with :func:`hand_step`, a train step whose gradients are the
  hand-derived formulas — must follow the same trajectory.

    python -m experiments.mini_cnn_gradients                    # full (seconds)
    python -m experiments.mini_cnn_gradients --config=tiny      # used by the smoke test
"""
from __future__ import annotations

import functools
import pathlib

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.models.mini_cnn import MiniCNN, mini_cnn_params, mini_cnn_weights
from jaxml.report import line_plot, markdown_table, mean_band, mean_std, scatter_plot
from jaxml.report.metrics_log import write_metrics
from jaxml.study.config import ConfigError, check_config, check_range
from jaxml.study.experiment import run_experiment, run_parts
from jaxml.train import fit, make_optimizer, make_runs, unstack
from jaxml.train.epoch import batch_mask

NAME = "mini_cnn_gradients"
PRESETS = ("full", "tiny")
PARTS = ("gradcheck", "train")


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.parts = PARTS
    c.check_seed = 0
    c.n_check = 10_000            # random (x, y, w, v) points for the gradient check
    c.seeds = (0, 1, 2, 3, 4)
    c.data_seed = 0
    c.teacher_w = (1.0, -1.0)
    c.teacher_v = (1.0, -1.0)
    c.n_train, c.n_test = 500, 2_000
    c.learning_rate = 0.1
    c.batch_size = 10
    c.epochs = 50
    c.gd_steps = 100              # full-batch steps for the trajectory comparison
    c.progress = True
    if preset == "tiny":
        c.n_check = 200
        c.seeds = (0, 1)
        c.n_train, c.n_test = 60, 100
        c.epochs = 3
        c.gd_steps = 5
    return c


def check(c) -> None:
    check_config(c, choices={"preset": PRESETS}, subsets={"parts": PARTS}, nonempty=("seeds",),
                 positive=("learning_rate",), counts=("n_check", "n_train", "n_test", "epochs", "gd_steps"),
                 ranges={"batch_size": (1, c.n_train)})
    for key in ("teacher_w", "teacher_v"):
        if len(c[key]) != 2:
            raise ConfigError(f"config key {key!r} must have 2 entries, got {c[key]!r}")
        check_range(c, key)  # any finite numbers: the teacher's weights may be negative


# ---------------------------------------------------------------------------------------------
# The model's loss and the hand-derived gradients.

MODEL = MiniCNN()


def logistic_loss(y_hat, y):
    """ℓ = ln(1 + exp(-y ŷ)) per example (computed stably as softplus(-y ŷ)); y ∈ {-1, +1}."""
    return jax.nn.softplus(-y * y_hat)


def per_example_loss(y_hat_N, y_N):
    """The loss for ``fit``: (ℓ_N, correct_N) with correct = sign(ŷ) agrees with y (ŷ = 0 counts as -1)."""
    y_N = y_N.astype(y_hat_N.dtype)
    return logistic_loss(y_hat_N, y_N), ((y_hat_N > 0) == (y_N > 0)).astype(jnp.float32)


def hand_gradients(w, v, x_Nx3, y_N):
    """Per-example gradients by the formulas in the module docstring.

    w, v: (2,); x_Nx3: (N, 3); y_N: (N,) in {-1, +1}. Returns (dw_Nx2, dv_Nx2).
    """
    x1, x2, x3 = x_Nx3[:, 0], x_Nx3[:, 1], x_Nx3[:, 2]
    a1, a2 = x1 * w[0] + x2 * w[1], x2 * w[0] + x3 * w[1]
    o1, o2 = jnp.maximum(a1, 0), jnp.maximum(a2, 0)
    y_hat = o1 * v[0] + o2 * v[1]
    common = (jax.nn.sigmoid(y_N * y_hat) - 1) * y_N
    h1, h2 = (a1 > 0).astype(x_Nx3.dtype), (a2 > 0).astype(x_Nx3.dtype)
    dv = jnp.stack([common * o1, common * o2], axis=1)
    dw = jnp.stack([common * (v[0] * h1 * x1 + v[1] * h2 * x2),
                    common * (v[0] * h1 * x2 + v[1] * h2 * x3)], axis=1)
    return dw, dv


def autodiff_gradients(w, v, x_Nx3, y_N):
    """Per-example gradients of the flax module's loss by ``jax.grad`` (vmapped). (dw_Nx2, dv_Nx2)."""
    def loss_one(w, v, x_3, y):
        y_hat = MODEL.apply({"params": mini_cnn_params(w, v)}, x_3[None])[0]
        return logistic_loss(y_hat, y)

    return jax.vmap(jax.grad(loss_one, argnums=(0, 1)), in_axes=(None, None, 0, 0))(w, v, x_Nx3, y_N)


def random_points(key, n: int, dtype=jnp.float32):
    """n random (x, y) and one random (w, v) per point: x, w, v ~ N(0, 1), y uniform on {-1, 1}.

    Returns w_Nx2, v_Nx2, x_Nx3, y_N.
    """
    kw, kv, kx, ky = jax.random.split(key, 4)
    w = jax.random.normal(kw, (n, 2), dtype)
    v = jax.random.normal(kv, (n, 2), dtype)
    x = jax.random.normal(kx, (n, 3), dtype)
    y = jnp.where(jax.random.bernoulli(ky, 0.5, (n,)), 1.0, -1.0).astype(dtype)
    return w, v, x, y


@functools.partial(jax.jit, static_argnums=(1, 2))
def _both_gradients(key, n: int, dtype):
    """(hand, autodiff) gradients (n, 4) at n random points, one (w, v) per point."""
    w, v, x, y = random_points(key, n, dtype)

    def one(f):
        return jax.vmap(lambda w, v, x, y: jnp.concatenate([g[0] for g in f(w, v, x[None], y[None])]))(w, v, x, y)

    return one(hand_gradients), one(autodiff_gradients)


def gradient_differences(key, n: int, dtype=jnp.float32):
    """Hand vs autodiff gradients at n random points, each with its own (w, v).

    Returns (hand, auto, stats): hand and auto are (n, 4) arrays (dw_1, dw_2, dv_1, dv_2) and
    stats the maximum absolute difference and the maximum of |difference| / (1 + |jax.grad|).
    """
    hand, auto = (np.asarray(a) for a in _both_gradients(key, n, dtype))
    abs_diff = np.abs(hand - auto)
    rel = abs_diff / (1.0 + np.abs(auto))
    return hand, auto, {"max_abs_diff": float(abs_diff.max()), "max_rel_diff": float(rel.max()),
                        "max_abs_grad": float(np.abs(auto).max()),
                        "fraction_dead_pairs": float(np.mean((hand == 0) & (auto == 0)))}


# ---------------------------------------------------------------------------------------------
# Part 1: gradient check.

def gradcheck_study(c, workdir: pathlib.Path) -> tuple[str, dict]:
    rows, result = [], {}
    hand32 = auto32 = None
    for dtype, label in ((jnp.float64, "float64"), (jnp.float32, "float32")):
        with jax.enable_x64(dtype == jnp.float64):
            hand, auto, stats = gradient_differences(jax.random.key(c.check_seed), c.n_check, dtype)
        if dtype == jnp.float32:
            hand32, auto32 = hand, auto
        result[label] = stats
        rows.append({"precision": label, "points": c.n_check, "max |hand - jax.grad|": f"{stats['max_abs_diff']:.2e}",
                     "max |hand - jax.grad| / (1 + |jax.grad|)": f"{stats['max_rel_diff']:.2e}",
                     "max |gradient|": f"{stats['max_abs_grad']:.3f}",
                     "components exactly 0 in both": f"{stats['fraction_dead_pairs']:.3f}"})
    scatter_plot(workdir / "hand_vs_autodiff.png", auto32.ravel(), hand32.ravel(),
                 np.tile(np.arange(4), auto32.shape[0]),
                 label_names=["∂ℓ/∂w1", "∂ℓ/∂w2", "∂ℓ/∂v1", "∂ℓ/∂v2"],
                 title=f"Hand-derived vs jax.grad, {c.n_check} random points (float32)",
                 xlabel="jax.grad", ylabel="hand-derived formula")
    text = (f"At {c.n_check} random points, each with its own x, w, v ~ N(0, 1) and y uniform on "
            f"{{-1, +1}} (key {c.check_seed}), the per-example gradients from the formulas above against "
            "`jax.grad` of the flax module (conv + ReLU + dense); components where a ReLU is off are exactly "
            "0 in both.\n\n" + markdown_table(rows)
            + "\n\n![hand vs jax.grad](gradcheck/hand_vs_autodiff.png)")
    return text, result


# ---------------------------------------------------------------------------------------------
# Part 2: training by SGD.

def make_toy_data(c) -> dict:
    """Teacher-labelled data: x ~ N(0, I_3) float32 (N, 3); y = +1 if the teacher's ŷ > 0 else -1."""
    rng = np.random.default_rng(c.data_seed)
    teacher = mini_cnn_params(jnp.asarray(c.teacher_w, jnp.float32), jnp.asarray(c.teacher_v, jnp.float32))
    out = {}
    for name, n in (("train", c.n_train), ("test", c.n_test)):
        x = rng.standard_normal((n, 3)).astype(np.float32)
        y_hat = np.asarray(MODEL.apply({"params": teacher}, x))
        out[name] = {"x": x, "y": np.where(y_hat > 0, 1.0, -1.0).astype(np.float32)}
    return out


def hand_step(state, batch, rng):
    """A train step for ``fit`` whose gradient is the hand-derived one: the mean over the batch's
    real examples of :func:`hand_gradients`, applied by the state's optimizer (``rng`` unused)."""
    x, y = batch["x"], batch["y"]
    mask_N = batch_mask(batch, x.shape[0])
    count = jnp.sum(mask_N)
    dw_Nx2, dv_Nx2 = hand_gradients(*mini_cnn_weights(state.params), x, y)
    mean = lambda g_Nx2: jnp.sum(g_Nx2 * mask_N[:, None], axis=0) / jnp.maximum(count, 1.0)  # noqa: E731
    loss_N, correct_N = per_example_loss(state.apply_fn({"params": state.params}, x), y)
    state = state.apply_gradients(grads=mini_cnn_params(mean(dw_Nx2), mean(dv_Nx2)))
    return state, {"loss_sum": jnp.sum(loss_N * mask_N), "accuracy_sum": jnp.sum(correct_N * mask_N),
                   "count": count}


def train_study(c, workdir: pathlib.Path) -> tuple[str, dict]:
    data = make_toy_data(c)
    tx = make_optimizer({"name": "sgd", "learning_rate": c.learning_rate})
    runs = make_runs(MODEL, tx, data["train"]["x"][:1], seeds=c.seeds)
    res = fit(runs, data["train"], epochs=c.epochs, batch_size=c.batch_size, loss=per_example_loss,
              eval_sets={"test": data["test"]}, progress=c.progress, desc="mini CNN SGD")
    write_metrics(workdir / "metrics.jsonl", res.history)
    final = {k: res.final(k) for k in ("train_loss", "train_accuracy", "test_loss", "test_accuracy")}
    curves, bands = {}, {}
    for key, label in (("train_loss", "train (running mean over the epoch)"), ("test_loss", "test")):
        curves[label], bands[label] = mean_band(res.curve(key), res.curve_epochs(key))
    line_plot(workdir / "loss.png", curves, bands=bands,
              title=f"Mini CNN, SGD lr {c.learning_rate}, batch {c.batch_size} (mean ± std, {len(c.seeds)} seeds)",
              xlabel="epoch", ylabel="logistic loss ln(1 + exp(-y ŷ))")
    weights = []
    for r in range(runs.num_runs):
        w, v = mini_cnn_weights(unstack(res.state.params, r))
        weights.append({"seed": runs.info[r]["seed"], "w": "(" + ", ".join(f"{a:.3f}" for a in np.asarray(w)) + ")",
                        "v": "(" + ", ".join(f"{a:.3f}" for a in np.asarray(v)) + ")",
                        "test accuracy": float(final["test_accuracy"][r])})
    # Trajectory check: full-batch GD from the first seed's initial weights, by jax.grad and by hand.
    gd = dict(key=runs.keys[0], epochs=c.gd_steps, batch_size=c.n_train, loss=per_example_loss, shuffle=False,
              progress=False, eval_sets={"test": data["test"]})
    by_grad = fit(unstack(runs.state, 0), data["train"], **gd)
    by_hand = fit(unstack(runs.state, 0), data["train"], train_step=hand_step, **gd)
    (w_fit, v_fit), (w_hand, v_hand) = (mini_cnn_weights(r.state.params) for r in (by_grad, by_hand))
    traj_diff = float(max(jnp.abs(w_fit - w_hand).max(), jnp.abs(v_fit - v_hand).max()))
    test_final = float(by_grad.final("test_accuracy")[0])
    table = [{"metric": name.replace("_", " "), "value (mean ± std over seeds)": mean_std(vals)}
             for name, vals in final.items()]
    text = (f"Teacher w = {list(c.teacher_w)}, v = {list(c.teacher_v)} labels x ~ N(0, I_3): y = +1 iff its "
            f"ŷ > 0 ({c.n_train} train / {c.n_test} test, data seed {c.data_seed}; "
            f"{float(np.mean(data['train']['y'] > 0)):.2f} of the training labels are +1). Student: the same "
            f"architecture from flax's default init, SGD (optax) lr {c.learning_rate}, batch {c.batch_size}, "
            f"{c.epochs} epochs, seeds {list(c.seeds)} vmapped in one program.\n\n" + markdown_table(table)
            + "\n\nLearned weights (the model is invariant to scaling w by s > 0 and v by 1/s, and a student "
              "need not recover the teacher to separate the data):\n\n" + markdown_table(weights)
            + f"\n\nTrajectory check: {c.gd_steps} full-batch gradient-descent steps (lr {c.learning_rate}) from "
              f"seed {c.seeds[0]}'s initial weights, by `fit` with optax SGD (unshuffled, batch = all "
              f"{c.n_train}), once with the default step (`jax.grad`) and once with `hand_step` (the hand-derived "
              f"gradients): the final weights differ "
              f"by at most {traj_diff:.2e} (float32); test accuracy after these steps "
              f"{test_final:.4f}.\n\n![loss](train/loss.png)")
    return text, {"final": {k: v.tolist() for k, v in final.items()}, "weights": weights,
                  "trajectory_max_diff": traj_diff, "runs": runs.info}


def main(c, workdir: pathlib.Path) -> dict:
    check(c)
    parts = {"gradcheck": ("Gradient check", lambda d: gradcheck_study(c, d)),
             "train": ("SGD on a toy set", lambda d: train_study(c, d))}
    return run_parts("Mini-CNN gradients", parts, c.parts, workdir, [("Setup", f"Preset `{c.preset}`.")])

if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
