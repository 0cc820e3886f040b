"""Random search vs grid search at equal budgets (number of trained settings).

Data: scikit-learn's digits table, a stand-in for the reports' own data (see below).

Coursework question: with the same number of trials, does random search over the
hyperparameters find a better setting than a grid (Bergstra & Bengio, 2012)? Best validation
accuracy against the number of trials, over several independent searches.

Setting: an MLP (``hidden`` ReLU units) trained with SGD + momentum
(``make_optimizer({"name": "momentum"})``) on a scikit-learn tabular set (default ``digits``,
64 features, 10 classes). Two hyperparameters: the learning rate, log-uniform on
``lr_range``, and the momentum, uniform on ``momentum_range``.

- Grid of budget k² (k in ``grid_sizes``): k learning rates x k momenta at the centres of k equal
  cells of each range (log-spaced for the learning rate), so the grid covers the same box as
  the random draws without sitting on its edges.
- Random search: ``max(k)²`` trials drawn by ``jaxml.train.make_random_runs`` (search seed
  ``search_seed + r`` for repetition r); the search of budget B is its first B trials.
- ``repeats`` repetitions r = 0, 1, ...: repetition r trains every setting (grid and random)
  from seed r (same initial weights and data order: common random numbers) and draws its own
  random points. A run whose loss becomes non-finite is a failed trial (never chosen).

Selection uses the validation accuracy after the last epoch; the test accuracy of the chosen
setting is reported, never used. Data: the seeded 75/25 train/test split of ``jaxml.data``
(``data_seed``); ``n_val`` rows of the training split are held out for validation; features
standardised with the remaining training rows' mean and std.

All searches (every repetition, every grid and the random trials) are ONE vmapped program:
the settings are traced values (``make_runs`` grids and ``make_random_runs`` joined with
``concat_runs``).

    python -m experiments.search                  # full: 5 repetitions, budgets 4..25
    python -m experiments.search --config=tiny    # used by the smoke test
"""
from __future__ import annotations

import pathlib

import ml_collections
import numpy as np

from jaxml import data as jdata
from jaxml.data.tabular import TABULAR
from jaxml.models.mlp import MLP
from jaxml.report import line_plot, markdown_table, mean_band, mean_std, scatter_plot
from jaxml.report.metrics_log import write_metrics
from jaxml.study.config import ConfigError, check_config
from jaxml.study.experiment import run_experiment, run_parts
from jaxml.study.fit_summary import diverged
from jaxml.train import concat_runs, fit, make_optimizer, make_random_runs, make_runs

NAME = "search"
PRESETS = ("full", "tiny")
PARTS = ("search",)


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.parts = PARTS
    c.dataset = "digits"
    c.data_seed = 0
    c.n_val = 300
    c.n_train = 0                 # 0 = every remaining training row
    c.hidden = 32
    c.epochs = 20
    c.batch_size = 32
    c.lr_range = (1e-4, 1.0)      # log-uniform
    c.momentum_range = (0.0, 0.99)
    c.grid_sizes = (2, 3, 4, 5)   # budgets 4, 9, 16, 25
    c.repeats = 5
    c.search_seed = 0
    c.progress = True
    if preset == "tiny":
        c.n_val, c.n_train = 40, 80
        c.hidden = 4
        c.epochs = 2
        c.batch_size = 20
        c.grid_sizes = (1, 2)
        c.repeats = 2
    return c


def check(c) -> None:
    check_config(c, choices={"preset": PRESETS, "dataset": tuple(TABULAR)}, subsets={"parts": PARTS},
                 counts=("hidden", "epochs", "batch_size", "grid_sizes", "repeats", "n_val"),
                 positive=("lr_range",), ranges={"n_train": (0, None), "momentum_range": (0.0, 0.999)})
    for key in ("lr_range", "momentum_range"):
        if len(c[key]) != 2 or not c[key][0] < c[key][1]:
            raise ConfigError(f"config key {key!r} must be (low, high) with low < high, got {tuple(c[key])!r}")


def load_data(c) -> dict:
    """{"train", "val", "test"} -> {"x": float32 standardised, "y": int32}; also "num_classes"."""
    train = jdata.load(c.dataset, "train", seed=c.data_seed)
    test = jdata.load(c.dataset, "test", seed=c.data_seed)
    perm = np.random.default_rng(c.data_seed).permutation(train.x.shape[0])
    n_train = c.n_train or train.x.shape[0] - c.n_val
    if c.n_val + n_train > train.x.shape[0]:
        raise ConfigError(f"config keys 'n_val' + 'n_train' = {c.n_val + n_train} exceed the {train.x.shape[0]} "
                          f"training rows of {c.dataset}")
    i_val, i_train = perm[:c.n_val], perm[c.n_val:c.n_val + n_train]
    mean, std = train.x[i_train].mean(0), train.x[i_train].std(0)
    std = np.where(std > 0, std, 1.0)

    def part(x, y):
        return {"x": ((x - mean) / std).astype(np.float32), "y": y.astype(np.int32)}

    return {"train": part(train.x[i_train], train.y[i_train]), "val": part(train.x[i_val], train.y[i_val]),
            "test": part(test.x, test.y), "num_classes": len(train.class_names)}


def cell_centres(low: float, high: float, k: int, log: bool) -> tuple:
    """Centres of k equal cells of [low, high] (in log space when ``log``)."""
    u = (np.arange(k) + 0.5) / k
    if log:
        return tuple(float(v) for v in np.exp(np.log(low) + (np.log(high) - np.log(low)) * u))
    return tuple(float(v) for v in low + (high - low) * u)


def build_runs(c, model, tx, x1):
    """Every grid (each size x repetition) and every repetition's random search, joined."""
    lr, mom = tuple(c.lr_range), tuple(c.momentum_range)
    parts, tags = [], []
    reps = tuple(range(c.repeats))
    for k in c.grid_sizes:
        grid = {"learning_rate": cell_centres(*lr, k, log=True), "momentum": cell_centres(*mom, k, log=False)}
        parts.append(make_runs(model, tx, x1, seeds=reps, grid=grid))
        tags.append({"search": "grid", "budget": k * k})
    space = {"learning_rate": ("log_uniform", *lr), "momentum": ("uniform", *mom)}
    trials = max(c.grid_sizes) ** 2
    for r in reps:
        parts.append(make_random_runs(model, tx, x1, seeds=(r,), space=space, trials=trials,
                                      search_seed=c.search_seed + r))
        tags.append({"search": "random"})
    return concat_runs(parts, tags)


def search_study(c, data, workdir: pathlib.Path) -> tuple[str, dict]:
    model = MLP(hidden_sizes=(c.hidden,), output_size=data["num_classes"], activation="relu",
                kernel_init="he_normal")
    tx = make_optimizer({"name": "momentum", "learning_rate": c.lr_range[1], "momentum": c.momentum_range[0]})
    runs = build_runs(c, model, tx, data["train"]["x"][:1])
    res = fit(runs, data["train"], epochs=c.epochs, batch_size=c.batch_size,
              eval_sets={"val": data["val"], "test": data["test"]}, on_nonfinite="stop_run",
              progress=c.progress, desc=f"{runs.num_runs} runs")
    write_metrics(workdir / "metrics.jsonl", res.history)
    failed = diverged(res) | ~np.isfinite(res.final("val_loss"))
    val = np.where(failed, -np.inf, res.final("val_accuracy"))
    test = res.final("test_accuracy")
    info = runs.info
    budgets = [k * k for k in c.grid_sizes]
    trials = max(budgets)

    # Random: (repeats, trials) arrays in trial order; best so far and the test accuracy of that choice.
    r_val = np.full((c.repeats, trials), -np.inf)
    r_test, r_lr, r_mom = (np.zeros((c.repeats, trials)) for _ in range(3))
    for i, rec in enumerate(info):
        if rec["search"] == "random":
            r, t = rec["seed"], rec["trial"]
            r_val[r, t], r_test[r, t], r_lr[r, t], r_mom[r, t] = val[i], test[i], rec["learning_rate"], rec["momentum"]
    best_so_far = np.maximum.accumulate(r_val, axis=1)
    chosen = np.array([[int(np.argmax(r_val[r, :n])) for n in range(1, trials + 1)] for r in range(c.repeats)])
    chosen_test = np.take_along_axis(r_test, chosen, axis=1)

    rows, result = [], {"budgets": budgets, "grid": {}, "random": {}}
    for k, b in zip(c.grid_sizes, budgets):
        g_val, g_test = np.full(c.repeats, -np.inf), np.zeros(c.repeats)
        for r in range(c.repeats):
            idx = [i for i, rec in enumerate(info) if rec["search"] == "grid" and rec["budget"] == b
                   and rec["seed"] == r]
            j = idx[int(np.argmax(val[idx]))]
            g_val[r], g_test[r] = val[j], test[j]
        rnd_val, rnd_test = best_so_far[:, b - 1], chosen_test[:, b - 1]
        rows.append({"budget (trials)": b, "grid": f"{k} x {k}",
                     "grid: best val acc": mean_std(np.where(np.isfinite(g_val), g_val, 0.0)),
                     "random: best val acc": mean_std(np.where(np.isfinite(rnd_val), rnd_val, 0.0)),
                     "random better / equal / worse (repeats)": f"{int((rnd_val > g_val).sum())} / "
                     f"{int((rnd_val == g_val).sum())} / {int((rnd_val < g_val).sum())}",
                     "grid: test acc of choice": mean_std(g_test),
                     "random: test acc of choice": mean_std(rnd_test),
                     "distinct learning rates (grid / random)": f"{k} / {b}"})
        result["grid"][str(b)] = {"best_val": g_val.tolist(), "test_of_choice": g_test.tolist()}
        result["random"][str(b)] = {"best_val": rnd_val.tolist(), "test_of_choice": rnd_test.tolist()}
    result["random_curve"] = best_so_far.tolist()
    result["random_trials"] = {"learning_rate": r_lr.tolist(), "momentum": r_mom.tolist(),
                               "val_accuracy": np.where(np.isfinite(r_val), r_val, np.nan).tolist()}
    result["failed_runs"] = int(failed.sum())
    result["num_runs"] = runs.num_runs

    n = np.arange(1, trials + 1)
    finite = np.where(np.isfinite(best_so_far), best_so_far, np.nan)
    line, band = mean_band(finite, n)
    g_means = [np.mean(result["grid"][str(b)]["best_val"]) for b in budgets]
    line_plot(workdir / "best_val_vs_trials.png", {"random search": line, "grid search": (np.array(budgets), g_means)},
              bands={"random search": band}, logx=True,
              title=f"Best validation accuracy vs trials ({c.repeats} repetitions, mean ± std)",
              xlabel="number of trials (trained settings)", ylabel="best validation accuracy")
    ok = np.isfinite(r_val)
    scatter_plot(workdir / "random_trials.png", np.log10(r_lr[ok]), r_val[ok], r_mom[ok],
                 title="Random trials: validation accuracy (colour: momentum)", xlabel="log10 learning rate",
                 ylabel="validation accuracy")
    text = (f"{c.dataset}: {data['train']['x'].shape[0]} train / {data['val']['x'].shape[0]} validation / "
            f"{data['test']['x'].shape[0]} test rows, {data['train']['x'].shape[1]} standardised features. MLP "
            f"{data['train']['x'].shape[1]}-{c.hidden}-{data['num_classes']} ReLU (He normal), SGD + momentum, batch "
            f"{c.batch_size}, {c.epochs} epochs. Learning rate log-uniform on {tuple(c.lr_range)}, momentum uniform "
            f"on {tuple(c.momentum_range)}; grids at cell centres. {c.repeats} repetitions (training seed r, random "
            f"search seed {c.search_seed} + r); mean ± std over repetitions. All {runs.num_runs} runs trained as one "
            f"vmapped program ({res.compile_seconds:.1f} s compile, {res.train_seconds:.1f} s train); "
            f"{result['failed_runs']} runs diverged (failed trials).\n\n" + markdown_table(rows)
            + "\n\n![best val vs trials](search/best_val_vs_trials.png) ![random trials](search/random_trials.png)")
    return text, result


def main(c, workdir: pathlib.Path) -> dict:
    check(c)
    data = load_data(c)
    parts = {"search": ("Random vs grid search", lambda d: search_study(c, data, d))}
    return run_parts("Random vs grid search", parts, c.parts, workdir, [("Setup", f"Preset `{c.preset}`.")])


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
