"""Binary image classification with a tanh MLP and MSE on ±1 targets.

Coursework question: a one-hidden-layer MLP, tanh on every layer (hidden and output), trained
by minibatch SGD on the mean squared error to targets +1 / -1; the classification is the sign
of the output. How do initialisation, hyperparameters, width, depth + momentum and the loss
(MSE vs cross-entropy) change the MSE and classification error on train and test, per epoch?

Data. ``--config.dataset=cifar10`` (the coursework's setting): cat (3, target +1) vs
automobile (1, target -1), images converted to 32x32 grayscale (``jaxml.data.color``). On our
machines CIFAR-10 is absent, so the default is ``fashion_mnist`` with two real classes
(``--config.classes=(6,0)``: shirt +1 vs T-shirt/top -1, a hard pair), same protocol. Both:
``n_train`` = 1,900 training and ``n_val`` = 500 validation images drawn without overlap from
the upstream training split, ``n_test`` = 1,000 from the upstream test split, each half one
class (``data_seed``); pixels scaled to [0, 1], flattened, then standardised with the
training set's mean and std (two scalars).

Parts:

(a) ``init``: zero vs N(0, 0.01²) vs Xavier (uniform) vs He (normal) weights, biases zero;
    all initializers x seeds trained as one vmapped program.
(b) ``grid``: learning rate x initializer (both vmapped: one program per hidden size and batch
    size) x hidden units x batch size; the setting with the lowest *validation* error is chosen
    (test error is reported, never used).
(c) ``width``: hidden units 8 vs the chosen size vs 152.
(d) ``depth_momentum``: two hidden layers (76 and 380 units), plain SGD vs SGD with
    momentum 0.1 (``v <- 0.1 v + g``), one vmapped program.
(e) ``loss``: MSE (tanh output, ±1 targets) vs cross-entropy (linear output = logit,
    sigmoid cross-entropy on 0/1 targets) on the chosen net.

    python -m experiments.binary_mlp                                  # full (fashion_mnist)
    python -m experiments.binary_mlp --config.dataset=cifar10         # the coursework data
    python -m experiments.binary_mlp --config=tiny                    # used by the smoke test
"""
from __future__ import annotations

import itertools
import pathlib

import ml_collections
import numpy as np

from jaxml import data as jdata
from jaxml.data import transforms
from jaxml.data.color import to_grayscale
from jaxml.models.mlp import MLP
from jaxml.report import line_plot, markdown_table, mean_band, mean_std
from jaxml.report.metrics_log import write_metrics
from jaxml.study.config import ConfigError, check_config
from jaxml.study.experiment import run_experiment, run_parts
from jaxml.study.fit_summary import diverged
from jaxml.train import fit, init_params, make_optimizer, runs_from_params

NAME = "binary_mlp"
PRESETS = ("full", "tiny")
PARTS = ("init", "grid", "width", "depth_momentum", "loss")
DATASETS = ("fashion_mnist", "cifar10")
DEFAULT_CLASSES = {"cifar10": (3, 1), "fashion_mnist": (6, 0)}
INITS = ("zeros", "normal", "xavier_uniform", "he_normal")


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.parts = PARTS
    c.dataset = "fashion_mnist"
    c.classes = ()                # (positive, negative) labels; () = the dataset's default pair
    c.data_seed = 0
    c.n_train, c.n_val, c.n_test = 1_900, 500, 1_000
    c.seeds = (0, 1, 2)
    c.normal_std = 0.01           # std of the "normal" initializer
    # Defaults for (a) and the reference point before the grid search.
    c.hidden = 64
    c.learning_rate = 0.01
    c.batch_size = 19
    c.epochs = 50
    # (b) grid search (learning rates are vmapped; the rest are separate programs).
    c.grid_learning_rates = (0.01, 0.03, 0.1)
    c.grid_hidden = (16, 64, 256)
    c.grid_batch_sizes = (19, 95, 190)
    c.grid_inits = ("normal", "xavier_uniform", "he_normal")
    c.grid_seeds = (0,)
    c.grid_epochs = 30
    # (c) width.
    c.widths = (8, 152)           # compared with the chosen width
    # (d) two hidden layers.
    c.deep_hidden = (76, 380)
    c.momentum = 0.1
    c.progress = True
    if preset == "tiny":
        c.n_train, c.n_val, c.n_test = 40, 40, 40   # equal sizes share one compiled evaluation
        c.seeds = (0,)
        c.hidden = 8
        c.batch_size = 10
        c.epochs = 2
        c.grid_learning_rates = (0.01, 0.1)
        c.grid_hidden = (8,)
        c.grid_batch_sizes = (10,)
        c.grid_inits = ("xavier_uniform",)
        c.grid_epochs = 2
        c.widths = ()
        c.deep_hidden = (4, 6)
    return c


def check(c) -> None:
    check_config(c, choices={"preset": PRESETS, "dataset": DATASETS}, subsets={"parts": PARTS, "grid_inits": INITS},
                 nonempty=("seeds", "grid_seeds"), positive=("learning_rate", "normal_std", "grid_learning_rates"),
                 fractions=("momentum",),
                 counts=("hidden", "epochs", "grid_epochs", "grid_hidden", "widths", "deep_hidden", "batch_size",
                         "grid_batch_sizes"),
                 ranges={"classes": (0, 9), "n_train": (2, None), "n_val": (2, None), "n_test": (2, None),
                         "batch_size": (1, c.n_train), "grid_batch_sizes": (1, c.n_train)})
    if len(c.classes) not in (0, 2) or (len(c.classes) == 2 and c.classes[0] == c.classes[1]):
        raise ConfigError(f"config key 'classes' must be two different labels (positive, negative) or () for "
                          f"the dataset's default {DEFAULT_CLASSES[c.dataset]}, got {tuple(c.classes)!r}")
    for key in ("n_train", "n_val", "n_test"):
        if c[key] % 2:
            raise ConfigError(f"config key {key!r} must be even (half of each class), got {c[key]}")


# ---------------------------------------------------------------------------------------------
# Data.

def classes_of(c) -> tuple[int, int]:
    return tuple(c.classes) if len(c.classes) == 2 else DEFAULT_CLASSES[c.dataset]


def _balanced(y: np.ndarray, classes, counts, rng, where: str) -> list[np.ndarray]:
    """Disjoint index sets, set i holding counts[i] // 2 examples of each class (sorted)."""
    parts = [[] for _ in counts]
    for cls in classes:
        idx = rng.permutation(np.flatnonzero(y == cls))
        need = sum(n // 2 for n in counts)
        if need > idx.size:
            raise ValueError(f"binary_mlp: the {where} split has {idx.size} examples of class {cls}, "
                             f"{need} are needed (sizes {list(counts)}, half per class)")
        start = 0
        for i, n in enumerate(counts):
            parts[i].append(idx[start:start + n // 2])
            start += n // 2
    return [np.sort(np.concatenate(p)) for p in parts]


def load_data(c) -> dict:
    """{"train", "validation", "test"} -> {"x": float32 (N, H*W), "y": float32 ±1 (N,)}.

    Grayscale for colour data, scaled to [0, 1], flattened, standardised with the training
    mean and std. Also returns "classes" (positive, negative) and "class_names".
    """
    pos, neg = classes_of(c)
    rng = np.random.default_rng(c.data_seed)
    train_ds, test_ds = jdata.load(c.dataset, "train"), jdata.load(c.dataset, "test")
    for label in (pos, neg):
        if label >= train_ds.num_classes:
            raise ConfigError(f"config key 'classes': {c.dataset} has labels 0..{train_ds.num_classes - 1}, "
                              f"got {label}")
    i_train, i_val = _balanced(train_ds.y, (pos, neg), (c.n_train, c.n_val), rng, f"{c.dataset} 'train'")
    (i_test,) = _balanced(test_ds.y, (pos, neg), (c.n_test,), rng, f"{c.dataset} 'test'")

    def prep(ds, idx):
        x = np.asarray(transforms.flatten(transforms.scale_to_unit(to_grayscale(ds.x[idx]))))
        return x, np.where(ds.y[idx] == pos, 1.0, -1.0).astype(np.float32)

    splits = {"train": prep(train_ds, i_train), "validation": prep(train_ds, i_val), "test": prep(test_ds, i_test)}
    mean, std = float(splits["train"][0].mean()), float(splits["train"][0].std())
    out = {name: {"x": ((x - mean) / std).astype(np.float32), "y": y} for name, (x, y) in splits.items()}
    out["classes"] = (pos, neg)
    out["class_names"] = (train_ds.class_names[pos], train_ds.class_names[neg])
    return out


def sets(data) -> dict:
    return {"train_eval": data["train"], "val": data["validation"], "test": data["test"]}


def with_01_targets(d: dict) -> dict:
    return {"x": d["x"], "y": (d["y"] > 0).astype(np.float32)}


# ---------------------------------------------------------------------------------------------
# Models and bookkeeping.

def make_model(c, hidden, init: str, output_activation: str = "tanh") -> MLP:
    hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
    return MLP(hidden_sizes=hidden, output_size=1, activation="tanh", output_activation=output_activation,
               kernel_init=init, init_std=c.normal_std if init == "normal" else None)


def sgd(lr: float, momentum: float | None = None):
    if momentum is None:
        return make_optimizer({"name": "sgd", "learning_rate": lr})
    return make_optimizer({"name": "momentum", "learning_rate": lr, "momentum": momentum})


def curves_of(res) -> dict:
    """{metric: (R, epochs)} for loss and error (1 - accuracy) on train/val/test (eval mode)."""
    out = {}
    for split in ("train_eval", "val", "test"):
        out[f"{split}_loss"] = res.curve(f"{split}_loss")
        out[f"{split}_error"] = 1.0 - res.curve(f"{split}_accuracy")
    return out


def final_row(curves: dict, runs_mask, loss_name: str = "MSE") -> dict:
    pick = lambda k: curves[k][runs_mask, -1]  # noqa: E731
    return {f"train {loss_name}": mean_std(pick("train_eval_loss")), "train error": mean_std(pick("train_eval_error")),
            f"test {loss_name}": mean_std(pick("test_loss")), "test error": mean_std(pick("test_error"))}


def plot_groups(path, curves: dict, groups: dict, key: str, title: str, ylabel: str, logy=False):
    """One mean ± std curve of ``curves[key]`` per group ({label: boolean run mask})."""
    lines, bands = {}, {}
    for label, mask in groups.items():
        lines[label], bands[label] = mean_band(curves[key][mask])
    line_plot(path, lines, bands=bands, title=title, xlabel="epoch", ylabel=ylabel, logy=logy)


# ---------------------------------------------------------------------------------------------
# (a) initialisation.

def init_study(c, data, workdir: pathlib.Path) -> tuple[str, dict]:
    x1 = data["train"]["x"][:1]
    params = init_params([make_model(c, c.hidden, init) for init in INITS], x1, c.seeds)
    info = [{"init": init, "seed": s} for init in INITS for s in c.seeds]
    runs = runs_from_params(make_model(c, c.hidden, "xavier_uniform"), sgd(c.learning_rate), params, info)
    res = fit(runs, data["train"], epochs=c.epochs, batch_size=c.batch_size, loss="mse", eval_sets=sets(data),
              progress=c.progress, desc="init")
    write_metrics(workdir / "metrics.jsonl", res.history)
    curves = curves_of(res)
    labels = {"zeros": "zero", "normal": f"N(0, {c.normal_std}²)", "xavier_uniform": "Xavier (uniform)",
              "he_normal": "He (normal)"}
    groups = {labels[i]: np.array([r["init"] == i for r in runs.info]) for i in INITS}
    rows = [{"init": label, **final_row(curves, mask)} for label, mask in groups.items()]
    for key, ylabel in (("train_eval_loss", "train MSE"), ("test_error", "test classification error")):
        plot_groups(workdir / f"init_{key}.png", curves, groups, key,
                    f"Initialisation: {ylabel} (mean ± std, {len(c.seeds)} seeds)", ylabel)
    text = (f"One hidden layer of {c.hidden} tanh units, tanh output, MSE to ±1, SGD lr {c.learning_rate}, batch "
            f"{c.batch_size}, {c.epochs} epochs, biases zero; seeds {list(c.seeds)}; the 4 initializers x seeds "
            f"are one vmapped program. Metrics of the final weights (eval mode).\n\n" + markdown_table(rows)
            + "\n\n![train MSE](init/init_train_eval_loss.png) ![test error](init/init_test_error.png)")
    return text, {"final": {label: {k: v.mean for k, v in final_row(curves, m).items()} for label, m in groups.items()},
                  "runs": runs.info}


# ---------------------------------------------------------------------------------------------
# (b) grid search.

def grid_study(c, data, workdir: pathlib.Path) -> tuple[str, dict]:
    x1 = data["train"]["x"][:1]
    rows = []
    # Every (hidden, init) model's initial weights in one compiled call. Initializers and learning
    # rates share shapes, so per (hidden, batch size) they are ONE program: runs ordered init-major,
    # then learning rate, seeds fastest; every learning rate starts from its init's weights.
    shapes = list(itertools.product(c.grid_hidden, c.grid_inits))
    bank = dict(zip(shapes, init_params([make_model(c, h, i) for h, i in shapes], x1, c.grid_seeds)))
    programs = list(itertools.product(c.grid_hidden, c.grid_batch_sizes))
    info = [{"init": init, "learning_rate": lr, "seed": s}
            for init in c.grid_inits for lr in c.grid_learning_rates for s in c.grid_seeds]
    for i, (hidden, bs) in enumerate(programs):
        params = [bank[hidden, init] for init in c.grid_inits for _ in c.grid_learning_rates]
        runs = runs_from_params(make_model(c, hidden, c.grid_inits[0]), sgd(max(c.grid_learning_rates)), params,
                                info, hyperparams={"learning_rate": [r["learning_rate"] for r in info]})
        res = fit(runs, data["train"], epochs=c.grid_epochs, batch_size=bs, loss="mse", eval_sets=sets(data),
                  progress=False, on_nonfinite="stop_run", desc=f"grid {i + 1}/{len(programs)}")
        print(f"  grid {i + 1}/{len(programs)}: hidden {hidden}, batch {bs}, {runs.num_runs} runs "
              f"({res.compile_seconds:.1f} s compile, {res.train_seconds:.1f} s train)", flush=True)
        # A run that diverged (stopped early or non-finite) counts as failed.
        ok = (res.stopped_epoch == c.grid_epochs) & ~diverged(res) & np.isfinite(res.final("val_loss"))
        final = {k: res.final(k) for k in ("val_accuracy", "val_loss", "train_eval_accuracy", "test_accuracy")}
        for init in c.grid_inits:
            for lr in c.grid_learning_rates:
                members = [r for r, rec in enumerate(runs.info) if rec["init"] == init and rec["learning_rate"] == lr]
                row = {"hidden": hidden, "batch": bs, "init": init, "lr": lr}
                if not ok[members].all():
                    row.update(val_error=np.inf, val_mse=np.inf, train_error=np.nan, test_error=np.nan)
                else:
                    mean = {k: float(np.mean(v[members])) for k, v in final.items()}
                    row.update(val_error=1.0 - mean["val_accuracy"], val_mse=mean["val_loss"],
                               train_error=1.0 - mean["train_eval_accuracy"], test_error=1.0 - mean["test_accuracy"])
                rows.append(row)
    write_metrics(workdir / "grid.jsonl", rows)
    ranked = sorted(rows, key=lambda r: (r["val_error"], r["val_mse"]))
    best = ranked[0]
    table = [{"rank": k + 1, "hidden": r["hidden"], "batch": r["batch"], "init": r["init"], "lr": r["lr"],
              "validation error": r["val_error"], "validation MSE": r["val_mse"], "train error": r["train_error"],
              "test error (not used)": r["test_error"]} for k, r in enumerate(ranked[:10])]
    by_factor = []
    for name, key, values in (("hidden", "hidden", c.grid_hidden), ("batch", "batch", c.grid_batch_sizes),
                              ("init", "init", c.grid_inits), ("lr", "lr", c.grid_learning_rates)):
        for v in values:
            errs = [r["val_error"] for r in rows if r[key] == v and np.isfinite(r["val_error"])]
            by_factor.append({"factor": name, "value": v, "best validation error": min(errs) if errs else None,
                              "mean validation error": float(np.mean(errs)) if errs else None})
    text = (f"{len(programs)} programs (hidden x batch), each training the {len(c.grid_inits)} initializers x "
            f"{len(c.grid_learning_rates)} learning rates {list(c.grid_learning_rates)} x seeds {list(c.grid_seeds)} "
            f"vmapped; {c.grid_epochs} epochs; "
            f"{len(rows)} settings ranked by final validation error (ties: validation MSE). Test error is shown "
            "for reference only; it played no part in the choice.\n\nTop 10:\n\n" + markdown_table(table)
            + "\n\nEach factor's best and mean validation error over the rest of the grid:\n\n"
            + markdown_table(by_factor)
            + f"\n\n**Chosen:** hidden {best['hidden']}, batch {best['batch']}, init {best['init']}, lr {best['lr']}.")
    return text, {"rows": rows, "best": best}


# ---------------------------------------------------------------------------------------------
# (c) width, (d) depth + momentum, (e) loss.

def chosen_params(c, data, chosen, cache: dict) -> dict:
    """Initial weights (stacked over ``c.seeds``) for every net of parts (c)-(e) with the chosen
    initializer, keyed by hidden sizes; one compiled call, memoised in ``cache``. The MSE and
    cross-entropy nets of (e) have the same shapes, so they start from the same weights."""
    key = ("params", chosen["init"])
    if key not in cache:
        sizes = [(h,) for h in sorted({*c.widths, chosen["hidden"]})] + [tuple(c.deep_hidden)]
        sizes = list(dict.fromkeys(sizes))
        params = init_params([make_model(c, h, chosen["init"]) for h in sizes], data["train"]["x"][:1], c.seeds)
        cache[key] = dict(zip(sizes, params))
    return cache[key]


def train_chosen(c, data, chosen, hidden, loss: str, cache: dict):
    """Curves {metric: (seeds, epochs)} of the chosen setting with ``hidden`` units trained on
    ``loss`` ("mse": tanh output, ±1 targets; "binary_cross_entropy": logit output, 0/1
    targets), seeds vmapped. Memoised in ``cache``: (c) and (e) share the chosen MSE run."""
    key = (hidden, loss, tuple(sorted(chosen.items())))
    if key not in cache:
        out_act = "tanh" if loss == "mse" else "identity"
        d = data if loss == "mse" else {k: with_01_targets(data[k]) for k in ("train", "validation", "test")}
        model = make_model(c, hidden, chosen["init"], output_activation=out_act)
        params = chosen_params(c, data, chosen, cache)[(hidden,)]
        runs = runs_from_params(model, sgd(chosen["lr"]), params, [{"seed": s} for s in c.seeds])
        res = fit(runs, d["train"], epochs=c.epochs, batch_size=chosen["batch"], loss=loss, eval_sets=sets(d),
                  progress=c.progress, desc=f"hidden {hidden}, {loss}")
        cache[key] = (res.history, curves_of(res))
    return cache[key]


def width_study(c, data, chosen, workdir: pathlib.Path, cache: dict) -> tuple[str, dict]:
    widths = sorted({*c.widths, chosen["hidden"]})
    rows, all_curves, result = [], {}, {}
    for h in widths:
        history, curves = train_chosen(c, data, chosen, h, "mse", cache)
        write_metrics(workdir / f"metrics_h{h}.jsonl", history)
        label = f"{h} hidden units" + (" (chosen)" if h == chosen["hidden"] else "")
        rows.append({"hidden units": label, **final_row(curves, np.ones(len(c.seeds), bool))})
        all_curves[label] = curves
        result[h] = {k: v[:, -1].tolist() for k, v in curves.items()}
    for key, ylabel in (("train_eval_error", "train error"), ("test_error", "test error")):
        epochs = np.arange(1, c.epochs + 1)
        line_plot(workdir / f"width_{key}.png",
                  {label: (epochs, cv[key].mean(0)) for label, cv in all_curves.items()},
                  title=f"Width: {ylabel} (mean over {len(c.seeds)} seeds)", xlabel="epoch", ylabel=ylabel)
    text = (f"Chosen lr {chosen['lr']}, batch {chosen['batch']}, init {chosen['init']}; {c.epochs} epochs; seeds "
            f"{list(c.seeds)} (vmapped per width).\n\n" + markdown_table(rows)
            + "\n\n![train error](width/width_train_eval_error.png) ![test error](width/width_test_error.png)")
    return text, result


def depth_momentum_study(c, data, chosen, workdir: pathlib.Path, cache: dict) -> tuple[str, dict]:
    model = make_model(c, c.deep_hidden, chosen["init"])
    params = chosen_params(c, data, chosen, cache)[tuple(c.deep_hidden)]
    info = [{"momentum": m, "seed": s} for m in (0.0, c.momentum) for s in c.seeds]
    runs = runs_from_params(model, sgd(chosen["lr"], momentum=c.momentum), [params, params], info,
                            hyperparams={"momentum": [r["momentum"] for r in info]})
    res = fit(runs, data["train"], epochs=c.epochs, batch_size=chosen["batch"], loss="mse", eval_sets=sets(data),
              progress=c.progress, desc="two hidden layers")
    write_metrics(workdir / "metrics.jsonl", res.history)
    curves = curves_of(res)
    groups = {("plain SGD" if m == 0 else f"SGD + momentum {m}"): np.array([r["momentum"] == m for r in runs.info])
              for m in (0.0, c.momentum)}
    rows = [{"optimizer": label, **final_row(curves, mask)} for label, mask in groups.items()]
    plot_groups(workdir / "depth_train_mse.png", curves, groups, "train_eval_loss",
                f"Hidden {list(c.deep_hidden)}: train MSE (mean ± std)", "train MSE")
    plot_groups(workdir / "depth_test_error.png", curves, groups, "test_error",
                f"Hidden {list(c.deep_hidden)}: test error (mean ± std)", "test error")
    text = (f"Two tanh hidden layers {list(c.deep_hidden)}, init {chosen['init']}, lr {chosen['lr']}, batch "
            f"{chosen['batch']}, {c.epochs} epochs; momentum as `v <- α v + g; w <- w - η v` with α = 0 (plain SGD) "
            f"and α = {c.momentum}; both x seeds {list(c.seeds)} are one vmapped program.\n\n" + markdown_table(rows)
            + "\n\n![train MSE](depth_momentum/depth_train_mse.png) ![test error](depth_momentum/depth_test_error.png)")
    return text, {label: {k: v.mean for k, v in final_row(curves, m).items()} for label, m in groups.items()}


def loss_study(c, data, chosen, workdir: pathlib.Path, cache: dict) -> tuple[str, dict]:
    rows, result, errs = [], {}, {}
    variants = (("MSE (tanh output, ±1 targets)", "mse"),
                ("cross-entropy (logit output, 0/1 targets)", "binary_cross_entropy"))
    for label, loss in variants:
        history, curves = train_chosen(c, data, chosen, chosen["hidden"], loss, cache)
        write_metrics(workdir / f"metrics_{loss}.jsonl", history)
        fr = final_row(curves, np.ones(len(c.seeds), bool), loss_name="loss")
        rows.append({"training loss": label, **fr,
                     "lowest test error over the epochs": mean_std(curves["test_error"].min(1))})
        errs[label] = curves["test_error"]
        result[loss] = {k: v.mean for k, v in fr.items()}
    epochs = np.arange(1, c.epochs + 1)
    line_plot(workdir / "loss_test_error.png", {k: (epochs, v.mean(0)) for k, v in errs.items()},
              title=f"MSE vs cross-entropy: test error (mean over {len(c.seeds)} seeds)", xlabel="epoch",
              ylabel="test error")
    text = (f"The chosen net (hidden {chosen['hidden']}, init {chosen['init']}, lr {chosen['lr']}, batch "
            f"{chosen['batch']}, {c.epochs} epochs, seeds {list(c.seeds)}). \"loss\" is each run's own training loss "
            "(MSE or cross-entropy, so the two loss columns are not comparable); errors are comparable. The MSE row "
            "is the same training run as the chosen width in (c).\n\n"
            + markdown_table(rows) + "\n\n![test error](loss/loss_test_error.png)")
    return text, result


def main(c, workdir: pathlib.Path) -> dict:
    check(c)
    data = load_data(c)
    pos, neg = data["classes"]
    intro = [("Setup", f"{c.dataset}: class {pos} ({data['class_names'][0]}) = +1 vs class {neg} "
              f"({data['class_names'][1]}) = -1; {c.n_train} train / {c.n_val} validation / {c.n_test} test, "
              f"balanced, data seed {c.data_seed}; {data['train']['x'].shape[1]} inputs (grayscale pixels, "
              f"standardised). Preset `{c.preset}`.")]
    # Parts (c)-(e) use the setting the grid search chose (the defaults below if it does not run).
    chosen = {"hidden": c.hidden, "batch": c.batch_size, "init": "xavier_uniform", "lr": c.learning_rate}
    cache: dict = {}

    def grid(d):
        text, result = grid_study(c, data, d)
        chosen.update({k: result["best"][k] for k in ("hidden", "batch", "init", "lr")})
        return text, result

    parts = {"init": ("(a) Initialisation", lambda d: init_study(c, data, d)),
             "grid": ("(b) Grid search on validation", grid),
             "width": ("(c) Hidden units", lambda d: width_study(c, data, chosen, d, cache)),
             "depth_momentum": ("(d) Two hidden layers, SGD vs momentum",
                                lambda d: depth_momentum_study(c, data, chosen, d, cache)),
             "loss": ("(e) MSE vs cross-entropy", lambda d: loss_study(c, data, chosen, d, cache))}
    if "grid" not in c.parts:
        intro.append(("Note", f"The grid search did not run; parts (c)-(e) use the default setting {chosen}."))
    summary = run_parts(f"Binary MLP ({c.dataset})", parts, c.parts, workdir, intro)
    return {"classes": [pos, neg], "chosen": chosen, **summary}

if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
