"""Perceptron study: the multiclass perceptron, primal and RBF-kernelised, on scikit-learn's digits.

Coursework question: how quickly do the multiclass perceptron and its kernelised form reach a
good test accuracy on handwritten digits, measured in passes over the training data; and does
the kernel perceptron with a linear kernel really make the same predictions as the primal one?

Data: digits (8x8 images, pixel values 0..16 kept as they are, 64 features), the seeded 75/25
split of ``jaxml.data`` (1,347 train / 450 test with data_seed 0). Learners
(:mod:`jaxml.classic.perceptron`): primal (weights start at 0, one random permutation of the
training set per pass, update w_ŷ −= x, w_y += x on a mistake); kernelised with the
precomputed (N, N) kernel matrix: linear k(a, b) = a·b and RBF exp(−γ‖a − b‖²). Seeds set the
example order; all seeds of a learner run as ONE ``jax.vmap`` over keys. Reference: scikit-learn's
``Perceptron`` (one-vs-rest binary perceptrons, not the same algorithm) after the same number of
passes, as a sanity line.

    python -m experiments.perceptron                 # full: 30 passes, 5 seeds
    python -m experiments.perceptron --config=tiny   # seconds; used by the smoke test

Outputs: config.json, machine.json, results.md, summary.json, accuracy_vs_passes.png,
mistakes_vs_passes.png.
"""
from __future__ import annotations

import functools
import pathlib
import time
import warnings

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.classic import perceptron
from jaxml.classic.datasets import tabular_split
from jaxml.classic.kernels import linear_kernel, rbf_kernel
from jaxml.report import line_plot, markdown_table, mean_std, mean_std_array
from jaxml.study.config import check_config
from jaxml.study.experiment import run_experiment, run_parts

NAME = "perceptron"
PRESETS = ("full", "tiny")
LEARNERS = ("primal", "kernel_linear", "kernel_rbf")


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.dataset = "digits"
    c.data_seed = 0
    c.n_train = 0  # 0 = the whole training split
    c.seeds = (0, 1, 2, 3, 4)
    c.passes = 30
    c.gamma = 0.001  # RBF width for raw 0..16 pixels (‖a − b‖² is ~ 10^3 between digits)
    c.report_passes = (1, 2, 3, 5, 10, 20, 30)
    c.sklearn_reference = True
    if preset == "tiny":
        c.n_train = 150
        c.seeds = (0, 1)
        c.passes = 3
        c.report_passes = (1, 3)
    return c


def validate(c) -> None:
    check_config(c, choices={"preset": PRESETS, "dataset": ("digits",)}, nonempty=("seeds",), counts=("passes",),
                 nonnegative=("n_train",), positive=("gamma",), ranges={"report_passes": (1, c.passes)})


def fit_all(c, xtr, ytr, xte, num_classes: int) -> dict:
    """Each learner for every seed (one vmapped call per learner); staged train/test predictions."""
    cfg = perceptron.PerceptronConfig(num_classes=num_classes, passes=c.passes, keep_history=True)
    keys = jnp.stack([jax.random.PRNGKey(s) for s in c.seeds])
    Xtr, Xte, Ytr = jnp.asarray(xtr), jnp.asarray(xte), jnp.asarray(ytr)
    kernels = {"kernel_linear": (linear_kernel(Xtr, Xtr), linear_kernel(Xte, Xtr)),
               "kernel_rbf": (rbf_kernel(Xtr, Xtr, c.gamma), rbf_kernel(Xte, Xtr, c.gamma))}
    out = {}
    for learner in LEARNERS:
        t0 = time.perf_counter()
        if learner == "primal":
            models = jax.vmap(lambda k: perceptron.fit(k, Xtr, Ytr, cfg))(keys)
            stage = jax.vmap(lambda m, X: perceptron.staged_predict(m, X), in_axes=(0, None))
            train_pred, test_pred = stage(models, Xtr), stage(models, Xte)
        else:
            K_tr, K_te = kernels[learner]
            models = jax.vmap(lambda k, K_tr=K_tr: perceptron.fit_kernel(k, K_tr, Ytr, cfg))(keys)
            stage = jax.vmap(lambda m, K: perceptron.staged_predict_kernel(m, K), in_axes=(0, None))
            train_pred, test_pred = stage(models, K_tr), stage(models, K_te)
        jax.block_until_ready((train_pred, test_pred))
        out[learner] = {"models": models, "seconds": time.perf_counter() - t0,
                        "train_pred": np.asarray(train_pred), "test_pred": np.asarray(test_pred),
                        "mistakes": np.asarray(models.mistakes_P)}
    return out


def sklearn_reference(c, xtr, ytr, xte, yte) -> list[float]:
    """Test accuracy of sklearn.linear_model.Perceptron (OvR) after each of ``report_passes``."""
    from sklearn.linear_model import Perceptron

    accs = []
    for p in c.report_passes:
        ref = Perceptron(max_iter=p, tol=None, shuffle=True, random_state=c.seeds[0], fit_intercept=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning for small max_iter
            ref.fit(xtr, ytr)
        accs.append(float(ref.score(xte, yte)))
    return accs


def accuracy_part(c, data: dict, fitted, workdir: pathlib.Path) -> tuple[str, dict]:
    """Train/test accuracy and mistakes per pass of every learner; scikit-learn's OvR perceptron."""
    (xtr, ytr), (xte, yte) = data["train"], data["test"]
    res = fitted()
    passes = np.arange(1, c.passes + 1)
    label = {"primal": "primal perceptron", "kernel_linear": "kernel perceptron, linear kernel",
             "kernel_rbf": f"kernel perceptron, RBF γ={c.gamma}"}
    # The linear-kernel curves coincide with the primal ones (the equivalence part), so they are drawn once.
    plotted = {"primal": "primal = linear-kernel perceptron", "kernel_rbf": label["kernel_rbf"]}
    curves, bands, mistakes, acc, learners = {}, {}, {}, {}, {}
    for learner, r in res.items():
        train_acc = (r["train_pred"] == ytr[None, None, :]).mean(-1)  # (seeds, passes)
        test_acc = (r["test_pred"] == yte[None, None, :]).mean(-1)
        if learner in plotted:
            m, s = mean_std_array(test_acc)
            curves[f"{plotted[learner]} (test)"] = (passes, m)
            bands[f"{plotted[learner]} (test)"] = (passes, m - s, m + s)
            curves[f"{plotted[learner]} (train)"] = (passes, train_acc.mean(0))
            mistakes[plotted[learner]] = (passes, np.maximum(r["mistakes"].mean(0), 0.1))
        acc[learner] = {"train": train_acc, "test": test_acc}
        learners[learner] = {"train_accuracy": train_acc.tolist(), "test_accuracy": test_acc.tolist(),
                             "mistakes": r["mistakes"].tolist(), "seconds": r["seconds"]}
    line_plot(workdir / "accuracy_vs_passes.png", curves, bands=bands,
              title=f"Multiclass perceptrons on {c.dataset} (mean ± std over {len(c.seeds)} seeds)",
              xlabel="passes over the training data", ylabel="accuracy")
    line_plot(workdir / "mistakes_vs_passes.png", mistakes, logy=True,
              title="Updates (training mistakes) made during each pass", xlabel="pass",
              ylabel="mistakes in the pass (mean over seeds; 0 drawn at 0.1)")
    ref = sklearn_reference(c, xtr, ytr, xte, yte) if c.sklearn_reference else None
    rows = []
    for k, p in enumerate(c.report_passes):
        row = {"passes": p}
        for learner in LEARNERS:
            row[f"{label[learner]}: test acc"] = mean_std(acc[learner]["test"][:, p - 1])
        row["RBF: train acc"] = mean_std(acc["kernel_rbf"]["train"][:, p - 1])
        if ref is not None:
            row["sklearn Perceptron (OvR), seed %d" % c.seeds[0]] = ref[k]
        rows.append(row)
    timing = [{"learner": label[k], "fit + staged predictions, all seeds, incl. compilation (s)": res[k]["seconds"]}
              for k in LEARNERS]
    text = (markdown_table(rows) + "\n\n![accuracy](accuracy_vs_passes.png) ![mistakes](mistakes_vs_passes.png)"
            "\n\n**Timing**\n\n" + markdown_table(timing))
    return text, {"learners": learners, "sklearn_perceptron_test_accuracy": ref}


def equivalence_part(data: dict, fitted, workdir: pathlib.Path) -> tuple[str, dict]:
    """Linear kernel == primal: predictions, mistakes and weights (w = Σ α x)."""
    res = fitted()
    prim, klin = res["primal"], res["kernel_linear"]
    xtr = data["train"][0]
    w_from_alpha = np.einsum("scn,nd->scd", np.asarray(klin["models"].alpha_CxN, np.float64), xtr.astype(np.float64))
    equivalence = {
        "test predictions equal (all seeds, all passes)": float(np.mean(prim["test_pred"] == klin["test_pred"])),
        "mistake counts equal": bool(np.array_equal(prim["mistakes"], klin["mistakes"])),
        "max |Σ α x − w|": float(np.abs(w_from_alpha - np.asarray(prim["models"].w_CxD, np.float64)).max()),
    }
    return markdown_table([{"check": k, "value": v} for k, v in equivalence.items()]), equivalence


def main(c, workdir: pathlib.Path) -> dict:
    validate(c)
    data = tabular_split(c.dataset, n_train=c.n_train or None, seed=c.data_seed)
    fitted = functools.cache(functools.partial(fit_all, c, data["train"][0], data["train"][1], data["test"][0],
                                               data["num_classes"]))  # both parts use the same fits
    setup = (f"{c.dataset}: {len(data['train'][1])} train / {len(data['test'][1])} test (data seed {c.data_seed}), "
             f"raw pixel values 0..16; {c.passes} passes, each a fresh random permutation; seeds {list(c.seeds)} "
             f"(vmapped); RBF γ = {c.gamma}; preset `{c.preset}`.")
    parts = {"accuracy": ("Test accuracy vs passes", functools.partial(accuracy_part, c, data, fitted)),
             "equivalence": ("Linear kernel perceptron = primal perceptron",
                             functools.partial(equivalence_part, data, fitted))}
    return run_parts("Perceptron study (digits)", parts, tuple(parts), workdir, [("Setup", setup)], part_dirs=False)


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
