"""One- vs two-layer nets on a table with categorical fields and missing values.

Data: the Palmer penguins table by default, a stand-in for the report's public-health table (any CSV works).

Coursework question: on tabular data, how much does a hidden layer add over a linear softmax
classifier, measured against the majority-class baseline with accuracy and *balanced* accuracy
(the mean of the per-class recalls)? When one class is rare in training, what do class weights
change? Which input features do the first-layer weights use?

Data. ``--config.dataset=penguins`` (default): the Palmer penguins table shipped by the
``palmerpenguins`` package (344 rows; label ``species``; ``island`` and ``sex`` categorical;
four body measurements and ``year`` numeric; missing cells). ``--config.dataset=csv
--config.csv_path=my.csv --config.label=<column>`` reads any CSV (``categorical``, ``drop``
name columns). Rows split by ``stratified_split`` (``fractions`` train / validation, the rest
test; ``data_seed``); the encoder (median imputation + missing indicators, standardisation,
one-hot with a "missing" category) is fitted on the training rows only
(``jaxml.data.tabular_prep``).

Parts:

(a) ``layers``: a 1-layer net (``MLP(hidden_sizes=())``: linear softmax regression) vs a 2-layer
    net (``hidden`` ReLU units), each with seeds vmapped (``make_runs``), Adam, full training;
    the majority-class baseline; accuracy and balanced accuracy on validation and test; the
    first-layer weights as pictures: the 1-layer net's weights per encoded feature and class
    (mean over seeds), and per table column the norm of its first-layer weights for both nets.
(b) ``imbalance``: the training rows of ``minority`` (default: the smallest class) thinned to
    ``minority_keep`` of them (validation and test untouched); both nets trained with the plain
    and with the class-weighted cross-entropy (weights ``N / (K n_k)`` of the thinned training
    set, ``jaxml.data.tabular_prep.class_weights``), a new per-example loss passed to ``fit``.

    python -m experiments.tabular_layers                    # full (penguins)
    python -m experiments.tabular_layers --config.dataset=csv --config.csv_path=t.csv --config.label=y
    python -m experiments.tabular_layers --config=tiny      # used by the smoke test
"""
from __future__ import annotations

import pathlib

import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.data.tabular_csv import csv_header, load_penguins, penguins_path, read_csv_table
from jaxml.data.tabular_prep import class_weights, encode_splits, stratified_split
from jaxml.evaluate.classify import per_class_accuracy, predict
from jaxml.models.mlp import MLP
from jaxml.report import bar_plot, line_plot, markdown_table, mean_band, mean_std
from jaxml.report.heatmap import heatmap
from jaxml.report.metrics_log import write_metrics
from jaxml.study.config import ConfigError, check_config
from jaxml.study.experiment import run_experiment, run_parts
from jaxml.train import fit, get_loss, make_optimizer, make_runs

NAME = "tabular_layers"
PRESETS = ("full", "tiny")
PARTS = ("layers", "imbalance")
DATASETS = ("penguins", "csv")


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    c.parts = PARTS
    c.dataset = "penguins"
    c.csv_path = ""
    c.label = "species"
    c.categorical = ()            # csv: columns to treat as categorical (e.g. integer codes)
    c.drop = ()                   # columns to ignore
    c.data_seed = 0
    c.fractions = (0.6, 0.2)      # train, validation; the rest is test
    c.seeds = (0, 1, 2, 3, 4)
    c.hidden = 16
    c.learning_rate = 0.01
    c.batch_size = 16
    c.epochs = 60
    c.minority = ""               # class name; "" = the smallest class
    c.minority_keep = 0.15
    c.progress = True
    if preset == "tiny":
        c.seeds = (0, 1)
        c.hidden = 4
        c.epochs = 2
        c.batch_size = 32
    return c


def check(c):
    """Every key checked (ConfigError naming it); returns the table (read once the cheap checks pass)."""
    check_config(c, choices={"preset": PRESETS, "dataset": DATASETS}, subsets={"parts": PARTS},
                 nonempty=("seeds", "fractions"), positive=("learning_rate",),
                 counts=("hidden", "epochs", "batch_size"), ranges={"fractions": (0.0, 1.0),
                                                                    "minority_keep": (0.0, 1.0)})
    if not 0 < sum(c.fractions) < 1 or len(c.fractions) != 2 or min(c.fractions) <= 0:
        raise ConfigError(f"config key 'fractions' must be (train, validation), both > 0, summing to < 1 (the "
                          f"rest is test), got {tuple(c.fractions)!r}")
    if not c.minority_keep > 0:
        raise ConfigError(f"config key 'minority_keep' must be in (0, 1], got {c.minority_keep!r}")
    if c.dataset == "csv" and (not c.csv_path or not c.label):
        raise ConfigError("config keys 'csv_path' and 'label' must name the CSV file and its label column when "
                          "dataset='csv'")
    if c.dataset == "csv" and not pathlib.Path(c.csv_path).is_file():
        raise ConfigError(f"config key 'csv_path' = {c.csv_path!r}: no such file")
    if c.dataset != "csv" and c.csv_path:
        raise ConfigError(f"config key 'csv_path' = {c.csv_path!r} is only used with dataset='csv' (dataset is "
                          f"{c.dataset!r})")
    # The checks against the table itself (after the cheap ones above: nothing is read if those fail).
    columns = csv_header(c.csv_path if c.dataset == "csv" else penguins_path())
    for key, names in (("label", (c.label,)), ("categorical", tuple(c.categorical)), ("drop", tuple(c.drop))):
        unknown = [n for n in names if n not in columns]
        if unknown:
            raise ConfigError(f"config key {key!r}: {unknown} not a column of the {c.dataset} table; columns: "
                              f"{list(columns)}")
    if c.label in tuple(c.drop) or c.label in tuple(c.categorical):
        raise ConfigError(f"config keys 'drop'/'categorical' must not include the label {c.label!r}")
    table = load_table(c)
    if c.minority and c.minority not in table.class_names:
        raise ConfigError(f"config key 'minority' = {c.minority!r} is not a class of {c.label!r}; classes: "
                          f"{list(table.class_names)}")
    return table


# ---------------------------------------------------------------------------------------------
# Data.

def load_table(c):
    if c.dataset == "penguins":
        return load_penguins(c.label or "species", drop=tuple(c.drop))
    return read_csv_table(c.csv_path, c.label, categorical=tuple(c.categorical), drop=tuple(c.drop))


def load_data(c, table=None) -> dict:
    """{"table", "parts" (row indices), "data" ({train, val, test}: x, y), "encoder", "class_names"}."""
    table = load_table(c) if table is None else table
    train, val, test = stratified_split(table.labels, tuple(c.fractions), seed=c.data_seed)
    data, enc = encode_splits(table, {"train": train, "val": val, "test": test})
    return {"table": table, "parts": {"train": train, "val": val, "test": test}, "data": data, "encoder": enc,
            "class_names": table.class_names}


def weighted_cross_entropy(weights_K):
    """Per-example cross-entropy times the weight of the example's class (sums / count in the step)."""
    w = jnp.asarray(weights_K, jnp.float32)
    ce = get_loss("cross_entropy")

    def loss(logits_NxC, y_N):
        l_N, correct_N = ce(logits_NxC, y_N)
        return l_N * w[y_N.astype(jnp.int32)], correct_N

    return loss


# ---------------------------------------------------------------------------------------------
# Training and measuring.

def nets(c, k: int) -> dict:
    return {"1 layer (softmax regression)": MLP(hidden_sizes=(), output_size=k),
            f"2 layers ({c.hidden} ReLU units)": MLP(hidden_sizes=(c.hidden,), output_size=k, activation="relu",
                                                     kernel_init="he_normal")}


def train(c, model, train_data, eval_sets, loss="cross_entropy", desc=""):
    tx = make_optimizer({"name": "adam", "learning_rate": c.learning_rate})
    runs = make_runs(model, tx, train_data["x"][:1], seeds=c.seeds)
    res = fit(runs, train_data, epochs=c.epochs, batch_size=c.batch_size, loss=loss, eval_sets=eval_sets,
              progress=c.progress, desc=desc)
    return runs, res


def scores(state, d, k: int, runs: int) -> dict:
    """Per run: accuracy, balanced accuracy and per-class recall of ``state`` on ``d``."""
    pred = predict(state, d["x"], num_runs=runs)                       # (R, N)
    recall = per_class_accuracy(d["y"], pred, k)                       # (R, K)
    return {"accuracy": (pred == d["y"][None]).mean(1), "balanced": np.nanmean(recall, axis=1), "recall": recall}


def majority(train_y, d, k: int) -> dict:
    cls = int(np.bincount(train_y, minlength=k).argmax())
    pred = np.full((1, d["y"].shape[0]), cls, np.int32)
    recall = per_class_accuracy(d["y"], pred, k)
    return {"class": cls, "accuracy": float((pred == d["y"]).mean()), "balanced": float(np.nanmean(recall))}


# ---------------------------------------------------------------------------------------------
# (a) one vs two layers, and first-layer weight pictures.

def layers_study(c, ds, workdir: pathlib.Path) -> tuple[str, dict]:
    data, enc, names = ds["data"], ds["encoder"], ds["class_names"]
    k = len(names)
    rows, result, curves, bands, norms = [], {}, {}, {}, {}
    for tag, d in (("validation", data["val"]), ("test", data["test"])):
        base = majority(data["train"]["y"], d, k)
        rows.append({"model": f"majority class ({names[base['class']]})", "set": tag,
                     "accuracy": f"{base['accuracy']:.4f}", "balanced accuracy": f"{base['balanced']:.4f}"})
        result.setdefault("majority", {})[tag] = base
    for i, (label, model) in enumerate(nets(c, k).items()):
        runs, res = train(c, model, data["train"], {"val": data["val"], "test": data["test"]}, desc=label)
        write_metrics(workdir / f"metrics_{i + 1}layer.jsonl", res.history)
        curves[label], bands[label] = mean_band(res.curve("val_accuracy"))
        entry = {}
        for tag, d in (("validation", data["val"]), ("test", data["test"])):
            s = scores(res.state, d, k, runs.num_runs)
            rows.append({"model": label, "set": tag, "accuracy": mean_std(s["accuracy"]),
                         "balanced accuracy": mean_std(s["balanced"])})
            entry[tag] = {"accuracy": s["accuracy"].tolist(), "balanced": s["balanced"].tolist()}
        kernel = np.asarray(res.state.params["hidden_0" if "hidden_0" in res.state.params else "output"]["kernel"])
        per_column = {col: np.sqrt((w ** 2).sum(axis=(0, 2))) for col, w in
                      enc.group_by_source(np.moveaxis(kernel, 0, 1)).items()}        # {column: (R,)}
        norms[label] = per_column
        entry["first_layer_norm"] = {col: v.tolist() for col, v in per_column.items()}
        if not model.hidden_sizes:
            heatmap(workdir / "softmax_weights.png", kernel.mean(0), enc.feature_names, names,
                    title=f"1-layer net weights (mean of {len(c.seeds)} seeds)",
                    xlabel="class", ylabel="encoded input feature", fmt=".2f", cmap="RdBu_r",
                    vmin=-float(np.abs(kernel.mean(0)).max()), vmax=float(np.abs(kernel.mean(0)).max()),
                    colorbar_label="weight")
            entry["weights_mean"] = kernel.mean(0).tolist()
        result[label] = entry
    columns = list(next(iter(norms.values())))
    bar_plot(workdir / "first_layer_norms.png", columns,
             {label: (np.array([v[col].mean() for col in columns]), np.array([v[col].std() for col in columns]))
              for label, v in norms.items()},
             title="First-layer weight norm per input column",
             ylabel="‖W[rows of the column]‖ (mean ± std over seeds)")
    line_plot(workdir / "val_accuracy.png", curves, bands=bands, xlabel="epoch", ylabel="validation accuracy",
              title=f"Validation accuracy (mean ± std over {len(c.seeds)} seeds)")
    text = (f"{len(c.seeds)} seeds {list(c.seeds)} vmapped per net; Adam lr {c.learning_rate}, batch "
            f"{c.batch_size}, {c.epochs} epochs; metrics of the final weights. Balanced accuracy = mean recall over "
            f"the {k} classes (the majority baseline's is 1/{k}).\n\n" + markdown_table(rows)
            + "\n\n![validation accuracy](layers/val_accuracy.png) ![1-layer weights](layers/softmax_weights.png) "
              "![first-layer norms](layers/first_layer_norms.png)")
    return text, result


# ---------------------------------------------------------------------------------------------
# (b) a rare class: plain vs class-weighted cross-entropy.

def imbalance_study(c, ds, workdir: pathlib.Path) -> tuple[str, dict]:
    data, names = ds["data"], ds["class_names"]
    k = len(names)
    counts = np.bincount(data["train"]["y"], minlength=k)
    minority = names.index(c.minority) if c.minority else int(counts.argmin())
    rows_m = np.flatnonzero(data["train"]["y"] == minority)
    n_keep = max(1, int(round(c.minority_keep * rows_m.size)))
    keep_m = np.sort(np.random.default_rng(c.data_seed).permutation(rows_m)[:n_keep])
    keep = np.sort(np.concatenate([np.flatnonzero(data["train"]["y"] != minority), keep_m]))
    thin = {"x": data["train"]["x"][keep], "y": data["train"]["y"][keep]}
    weights = class_weights(thin["y"], k)
    rows, result = [], {"minority": names[minority], "train_counts": np.bincount(thin["y"], minlength=k).tolist(),
                        "class_weights": weights.tolist()}
    base = majority(thin["y"], data["test"], k)
    rows.append({"model": f"majority class ({names[base['class']]})", "loss": "-",
                 "test accuracy": f"{base['accuracy']:.4f}", "test balanced accuracy": f"{base['balanced']:.4f}",
                 f"test recall of {names[minority]}": "0.0000" if base["class"] != minority else "1.0000"})
    for label, model in nets(c, k).items():
        for loss_name, loss in (("plain", "cross_entropy"), ("class-weighted", weighted_cross_entropy(weights))):
            runs, res = train(c, model, thin, {"test": data["test"]}, loss=loss, desc=f"{label}, {loss_name}")
            s = scores(res.state, data["test"], k, runs.num_runs)
            rows.append({"model": label, "loss": loss_name, "test accuracy": mean_std(s["accuracy"]),
                         "test balanced accuracy": mean_std(s["balanced"]),
                         f"test recall of {names[minority]}": mean_std(s["recall"][:, minority])})
            result[f"{label} / {loss_name}"] = {"accuracy": s["accuracy"].tolist(), "balanced": s["balanced"].tolist(),
                                                "minority_recall": s["recall"][:, minority].tolist()}
    shown = dict(zip(names, np.round(weights.astype(np.float64), 3).tolist()))
    text = (f"Training rows of class {names[minority]} thinned from {rows_m.size} to {keep_m.size} "
            f"(`minority_keep` {c.minority_keep}); training counts {dict(zip(names, result['train_counts']))}; "
            f"class weights N / (K n_k) = {shown}. Validation and test "
            f"sets untouched. Same nets and training as (a); seeds {list(c.seeds)} vmapped per setting.\n\n"
            + markdown_table(rows))
    return text, result


def main(c, workdir: pathlib.Path) -> dict:
    ds = load_data(c, check(c))
    t, enc, sizes = ds["table"], ds["encoder"], {k: len(v) for k, v in ds["parts"].items()}
    missing = {k: v for k, v in t.missing_counts().items() if v}
    setup = (f"{c.dataset} ({t.source}): {t.num_rows} rows, label `{t.label}` with classes "
             f"{dict(zip(t.class_names, np.bincount(t.labels).tolist()))}; columns {t.kinds}; missing cells "
             f"{missing or 'none'}. Stratified split (data seed {c.data_seed}): {sizes}. Encoded with statistics of "
             f"the training rows: {enc.num_features} inputs {list(enc.feature_names)}. Preset `{c.preset}`.")
    parts = {"layers": ("(a) One vs two layers", lambda d: layers_study(c, ds, d)),
             "imbalance": ("(b) A rare class: class weights", lambda d: imbalance_study(c, ds, d))}
    return run_parts("Tabular data: one vs two layers", parts, c.parts, workdir, [("Setup", setup)])


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
