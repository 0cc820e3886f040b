"""Boosting study: SAMME AdaBoost with decision stumps on real tabular data, vs scikit-learn and XGBoost.

Data: scikit-learn's bundled breast_cancer and digits tables, stand-ins for the homework's data.

Coursework question: how do the number of boosting rounds and the learning rate trade off in
AdaBoost on a real tabular problem, and how does it compare with gradient boosting (the
homework's comparison is XGBoost)?

Data: scikit-learn's breast_cancer (569 x 30, 2 classes) and digits (1,797 x 64, 10 classes)
through ``jaxml.data`` (seeded 75/25 train/test split, features unscaled: stumps are
invariant to monotone scaling). Learners:

- ours (:mod:`jaxml.classic.adaboost`): SAMME with stumps searched exhaustively over all
  features and thresholds; criterion "error" (weighted misclassification, the classic weak
  learner) and "gini" (what ``DecisionTreeClassifier(max_depth=1)`` minimises). For each
  criterion ALL learning rates run as one ``jax.vmap``; one fit with the largest
  n_estimators gives every smaller n_estimators through staged predictions (boosting rounds
  do not depend on the total count).
- ``sklearn.ensemble.AdaBoostClassifier`` (SAMME is its only algorithm in 1.9; the
  ``algorithm=`` argument no longer exists) with ``DecisionTreeClassifier(max_depth=1)``: the reference.
- ``sklearn.ensemble.GradientBoostingClassifier`` (log-loss, ``max_depth`` in ``gb_max_depths``,
  same learning rates, staged predictions for the same n_estimators): the comparison.
- ``xgboost.XGBClassifier`` (the homework's comparison; the ``classic`` and ``dev`` extras install
  it): ``max_depth`` in ``xgb_max_depths``, the same n_estimators and learning rates, histogram
  trees, ``n_jobs`` threads (1 by default: like the scikit-learn fits, one core), staged
  predictions through ``iteration_range``. ``--config.xgboost=False`` runs without it.

    python -m experiments.boosting                 # full grid
    python -m experiments.boosting --config=tiny   # seconds; used by the smoke test

Outputs: results.md, summary.json, heatmaps ``<set>_<method>.png`` (test accuracy over
n_estimators x learning rate), error-vs-rounds curves ``<set>_error_vs_rounds.png``.
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

from jaxml.classic import adaboost
from jaxml.classic.datasets import tabular_split
from jaxml.report import line_plot, markdown_table
from jaxml.report.heatmap import heatmap
from jaxml.study.config import check_config
from jaxml.study.experiment import run_experiment, run_parts, timed_call

NAME = "boosting"
PRESETS = ("full", "tiny")
DATASETS = ("breast_cancer", "digits")


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.datasets = DATASETS
    c.data_seed = 0
    c.n_train = 0  # 0 = whole training split
    c.n_estimators = (10, 50, 100, 200)
    c.learning_rates = (0.1, 0.5, 1.0)
    c.criteria = adaboost.CRITERIA
    c.sklearn_adaboost = True
    c.gb_max_depths = (1, 3)
    c.xgboost = True
    c.xgb_max_depths = (1, 3)  # 1 = stumps, as AdaBoost's; 3 = as GradientBoosting's second row
    c.xgb_n_jobs = 1
    c.random_state = 0
    c.time_second_call = True  # report our fit time without compilation (a second, identical call)
    if preset == "tiny":
        c.time_second_call = False
        c.datasets = ("breast_cancer",)
        c.n_train = 120
        c.n_estimators = (2, 5)
        c.learning_rates = (0.5, 1.0)
        c.criteria = ("error",)
        c.gb_max_depths = (1,)
        c.xgb_max_depths = (1,)
    return c


def validate(c) -> None:
    check_config(c, choices={"preset": PRESETS}, subsets={"datasets": DATASETS, "criteria": adaboost.CRITERIA},
                 counts=("n_estimators", "gb_max_depths", "xgb_max_depths", "xgb_n_jobs"),
                 positive=("learning_rates",), nonnegative=("n_train", "random_state"))
    if c.xgboost:
        try:
            import xgboost  # noqa: F401
        except ImportError as e:
            raise ImportError("config field 'xgboost' = True needs the xgboost package: pip install -e '.[classic]' "
                              "(or run with --config.xgboost=False)") from e


def ours(c, xtr, ytr, xte, yte, k: int, criterion: str) -> dict:
    """(lr, T) staged test/train accuracy from one vmapped fit over learning rates."""
    cfg = adaboost.AdaBoostConfig(num_classes=k, n_estimators=max(c.n_estimators), criterion=criterion)
    # Data are arguments, not closed-over constants (XLA would constant-fold the presort).
    fit_all = jax.jit(jax.vmap(lambda lr, X, Y: adaboost.fit(None, X, Y, cfg.replace(learning_rate=lr)),
                               in_axes=(0, None, None)))
    args = (jnp.asarray(c.learning_rates, jnp.float32), jnp.asarray(xtr), jnp.asarray(ytr))
    models, first, seconds = timed_call(fit_all, *args, repeat=c.time_second_call)
    stage = jax.vmap(adaboost.staged_predict, in_axes=(0, None))
    test_pred, train_pred = stage(models, jnp.asarray(xte)), stage(models, jnp.asarray(xtr))
    return {"test": (np.asarray(test_pred) == yte).mean(-1), "train": (np.asarray(train_pred) == ytr).mean(-1),
            "seconds": seconds, "first_call_seconds": first,
            "stopped_early": (np.asarray(models.alpha_T) == 0).any(-1).tolist()}


def sklearn_staged(c, make, xtr, ytr, xte, yte) -> dict:
    """Staged test/train accuracy (lr, T) of an sklearn ensemble, one fit per learning rate."""
    T = max(c.n_estimators)
    test = np.full((len(c.learning_rates), T), np.nan)
    train = np.full_like(test, np.nan)
    seconds = 0.0
    for i, lr in enumerate(c.learning_rates):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            model = make(lr, T).fit(xtr, ytr)
            seconds += time.perf_counter() - t0  # the fit only, as for ours
        for t, p in enumerate(model.staged_predict(xte)):
            test[i, t] = np.mean(p == yte)
        for t, p in enumerate(model.staged_predict(xtr)):
            train[i, t] = np.mean(p == ytr)
        # SAMME stops early on a perfect or useless stump: later rounds keep the last ensemble.
        last = np.flatnonzero(~np.isnan(test[i]))[-1]
        test[i, last + 1:], train[i, last + 1:] = test[i, last], train[i, last]
    return {"test": test, "train": train, "seconds": seconds}


def xgboost_staged(c, depth: int, xtr, ytr, xte, yte) -> dict:
    """Staged test/train accuracy (lr, T) of XGBClassifier, one fit per learning rate."""
    from xgboost import XGBClassifier

    T = max(c.n_estimators)
    test = np.empty((len(c.learning_rates), T))
    train = np.empty_like(test)
    seconds = 0.0
    for i, lr in enumerate(c.learning_rates):
        model = XGBClassifier(n_estimators=T, learning_rate=lr, max_depth=depth, tree_method="hist",
                              n_jobs=c.xgb_n_jobs, random_state=c.random_state)
        t0 = time.perf_counter()
        model.fit(xtr, ytr)
        seconds += time.perf_counter() - t0  # the fit only, as for the others
        for t in range(T):
            test[i, t] = np.mean(model.predict(xte, iteration_range=(0, t + 1)) == yte)
            train[i, t] = np.mean(model.predict(xtr, iteration_range=(0, t + 1)) == ytr)
    return {"test": test, "train": train, "seconds": seconds}


def run_set(c, name: str, workdir: pathlib.Path) -> tuple[str, dict]:
    from sklearn.ensemble import AdaBoostClassifier, GradientBoostingClassifier
    from sklearn.tree import DecisionTreeClassifier

    data = tabular_split(name, n_train=c.n_train or None, seed=c.data_seed)
    (xtr, ytr), (xte, yte), k = data["train"], data["test"], data["num_classes"]
    methods = {}
    for crit in c.criteria:
        methods[f"jaxml AdaBoost SAMME, stumps ({crit})"] = {**ours(c, xtr, ytr, xte, yte, k, crit),
                                                             "slug": f"jaxml_adaboost_{crit}"}
    if c.sklearn_adaboost:
        methods["sklearn AdaBoostClassifier, stumps"] = sklearn_staged(
            c, lambda lr, T: AdaBoostClassifier(DecisionTreeClassifier(max_depth=1), n_estimators=T,
                                                learning_rate=lr, random_state=c.random_state), xtr, ytr, xte, yte)
        methods["sklearn AdaBoostClassifier, stumps"]["slug"] = "sklearn_adaboost"
    for depth in c.gb_max_depths:
        methods[f"sklearn GradientBoosting, depth {depth}"] = sklearn_staged(
            c, lambda lr, T, depth=depth: GradientBoostingClassifier(n_estimators=T, learning_rate=lr, max_depth=depth,
                                                                     random_state=c.random_state), xtr, ytr, xte, yte)
        methods[f"sklearn GradientBoosting, depth {depth}"]["slug"] = f"sklearn_gradient_boosting_depth{depth}"
    if c.xgboost:
        for depth in c.xgb_max_depths:
            methods[f"XGBoost, depth {depth}"] = {**xgboost_staged(c, depth, xtr, ytr, xte, yte),
                                                  "slug": f"xgboost_depth{depth}"}
    cols = [f"lr {lr}" for lr in c.learning_rates]
    idx = np.asarray(c.n_estimators) - 1
    parts, summary = [], {"n_train": len(ytr), "n_test": len(yte), "methods": {}}
    for method, r in methods.items():
        grid = r["test"][:, idx].T  # (n_estimators, lr)
        path = f"{name}_{r['slug']}.png"
        heatmap(workdir / path, grid, list(c.n_estimators), cols, title=f"{name}: {method}",
                xlabel="learning rate", ylabel="n_estimators", fmt=".3f", colorbar_label="test accuracy")
        rows = [{"n_estimators": n, **{col: float(grid[i, j]) for j, col in enumerate(cols)}}
                for i, n in enumerate(c.n_estimators)]
        best = np.unravel_index(np.nanargmax(grid), grid.shape)
        compile_note = (f" (first call, with compilation: {r['first_call_seconds']:.2f} s)"
                        if "first_call_seconds" in r and c.time_second_call else "")
        parts.append(f"**{method}** — fit time (without predictions) {r['seconds']:.2f} s for all learning rates"
                     f"{compile_note}; best test accuracy "
                     f"{grid[best]:.4f} at n_estimators {c.n_estimators[best[0]]}, lr {c.learning_rates[best[1]]}.\n\n"
                     + markdown_table(rows) + f"\n\n![{method}]({path})")
        summary["methods"][method] = {"test_grid": grid.tolist(), "seconds": r["seconds"],
                                      "test_curve": r["test"].tolist(), "train_curve": r["train"].tolist()}
    ref_name = "sklearn AdaBoostClassifier, stumps"
    if ref_name in summary["methods"]:
        ref = np.asarray(summary["methods"][ref_name]["test_grid"])
        rows = []
        for method, r in summary["methods"].items():
            if method.startswith("jaxml"):
                diff = np.asarray(r["test_grid"]) - ref
                rows.append({"method": method,
                             "max |Δ test acc| vs sklearn AdaBoost (points)": 100 * np.abs(diff).max(),
                             "mean Δ (points)": 100 * diff.mean(),
                             "grid cells within 2 points": f"{int((np.abs(diff) <= 0.02 + 1e-9).sum())}/{diff.size}"})
        summary["agreement"] = rows
        parts.append("**Agreement with scikit-learn's AdaBoostClassifier** (same grid, test accuracy):\n\n"
                     + markdown_table(rows, floatfmt=".2f"))
    overview = []
    for method, r in summary["methods"].items():
        grid = np.asarray(r["test_grid"])
        i, j = np.unravel_index(np.nanargmax(grid), grid.shape)
        overview.append({"method": method, "best test acc": float(grid[i, j]),
                         "at (n_estimators, lr)": f"({c.n_estimators[i]}, {c.learning_rates[j]})",
                         f"test acc at {max(c.n_estimators)} rounds, lr {' / '.join(map(str, c.learning_rates))}":
                         " / ".join(f"{v:.4f}" for v in grid[-1]),
                         "fit s (all lr)": r["seconds"]})
    summary["overview"] = overview
    parts.insert(0, "**Overview** (test accuracy; fit time of all learning rates, without predictions):\n\n"
                 + markdown_table(overview, floatfmt=".4f"))
    rounds = np.arange(1, max(c.n_estimators) + 1)
    curves = {}
    for method, r in methods.items():
        if "GradientBoosting" in method or "XGBoost" in method:
            continue
        for i, lr in enumerate(c.learning_rates):
            curves[f"{method.replace('AdaBoost', 'AB')}, lr {lr}"] = (rounds, 1.0 - r["test"][i])
    line_plot(workdir / f"{name}_error_vs_rounds.png", curves, title=f"{name}: AdaBoost test error vs rounds",
              xlabel="boosting rounds", ylabel="test error", logx=True)
    text = (f"{name}: {len(ytr)} train / {len(yte)} test, {k} classes.\n\n" + "\n\n".join(parts)
            + f"\n\n![error vs rounds]({name}_error_vs_rounds.png)")
    return text, summary


def main(c, workdir: pathlib.Path) -> dict:
    validate(c)
    xgb = ""
    if c.xgboost:
        import xgboost
        xgb = (f" XGBoost {xgboost.__version__}: max_depth {list(c.xgb_max_depths)}, tree_method hist, "
               f"n_jobs {c.xgb_n_jobs}, random_state {c.random_state}.")
    setup = (f"n_estimators {list(c.n_estimators)} x learning rate {list(c.learning_rates)}; test accuracy; data "
             f"seed {c.data_seed}; sklearn random_state {c.random_state}; preset `{c.preset}`. Our fits are "
             f"deterministic (exhaustive stump search).{xgb} Wall times include compilation.")
    parts = {name: (name, functools.partial(run_set, c, name)) for name in c.datasets}
    return run_parts("AdaBoost (SAMME) vs scikit-learn", parts, c.datasets, workdir, [("Setup", setup)],
                     part_dirs=False)


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
