"""VAE on MNIST: negative ELBO per epoch, reconstructions, samples, the latent plane, sample quality.

Coursework question: train a variational auto-encoder on MNIST; how well does it model the
digits (test negative ELBO, nats per image) with a 2-d and a 20-d latent space, what do its
reconstructions and samples look like, and how is the 2-d latent space organised?

Data: MNIST 60,000 train / 10,000 test. Pixels scaled to [0, 1] and binarised (default
``binarize="stochastic"``: each pixel is 1 with probability equal to its intensity, drawn
once with ``data_seed`` — the construction of the binarised MNIST used by the Flax VAE
example, so the Bernoulli likelihood is a proper likelihood and the loss is comparable to
its ~104 nats); ``"threshold"`` (> 0.5) and ``"none"`` (grayscale targets; BCE then has a
non-zero floor) are selectable. Model: ``jaxml.models.vae.VAE`` — 784 -> 500 ReLU -> (μ,
log σ²) of Z latents; decoder Z -> 500 ReLU -> 784 logits. Adam 1e-3, batch 128, 10 epochs;
seeds vmapped (one compiled program per latent size). Training is the one driver
(``jaxml.train.fit`` with the latent steps of ``jaxml.recipes.vae``): each latent size has its own
work folder ``z<Z>/`` with its ``metrics.jsonl`` and checkpoints, so a rerun with the same work
directory resumes, and a NaN/inf loss stops with ``NonFiniteLossError``.

Sample quality (``jaxml.evaluate.feature_classifier.QualityMeter``): Fréchet distance between
10,000 VAE samples (Bernoulli means of z ~ N(0, I)) and the 10,000 grayscale test images in
the penultimate-layer features of an MNIST CNN trained with jaxml (cached), plus the
samples' class histogram; sanity line: one half of the test set against the other.

    python -m experiments.vae_mnist                       # full study
    python -m experiments.vae_mnist --config=tiny         # seconds; used by the tests
    python -m experiments.vae_mnist --config.latent_dims=20 --config.seeds=0

Outputs in the work directory: config.json, machine.json, results.md, summary.json, PNG figures,
and per latent size ``z<Z>/metrics.jsonl`` (one record per seed per epoch) and ``z<Z>/checkpoints/``.
"""
from __future__ import annotations

import json
import pathlib
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml import data as jdata
from jaxml.evaluate.feature_classifier import QualityMeter, cached_quality_meter
from jaxml.models import count_params
from jaxml.models.cnn import mnist_cnn
from jaxml.models.vae import VAE, decode, encode, negative_elbo, reconstruct, sample
from jaxml.recipes.vae import create_latent_state, make_latent_eval_step, make_latent_train_step
from jaxml.report import line_plot, markdown_table, mean_std, mean_std_array, scatter_plot, write_results
from jaxml.report.mosaic import mosaic_png
from jaxml.study.config import ConfigError, check_choice, check_config, check_range
from jaxml.study.experiment import machine_summary, run_experiment
from jaxml.study.model_spec import write_model_spec
from jaxml.train import EPOCH_LOOPS, fit, make_optimizer, seed_keys, unstack

NAME = "vae_mnist"
PRESETS = ("full", "tiny")
BINARIZE = ("stochastic", "threshold", "none")


def classifier_config(c: ml_collections.ConfigDict, tiny: bool) -> None:
    """The quality classifier's fields (shared by the generative-model studies: the same
    values share one cached checkpoint)."""
    c.classifier_epochs = 1 if tiny else 10
    c.classifier_batch_size = 128
    c.classifier_learning_rate = 1e-3
    c.classifier_seed = 0
    c.classifier_cache = "workdir" if tiny else ""   # "" = $JAXML_CACHE_DIR/classifiers or ~/.cache/jaxml/...
    c.quality_samples = 200 if tiny else 10_000
    # How the classifier's epochs run: "auto" = a host loop of jitted steps on CPU
    # (convolutions inside lax.scan are ~4x slower on XLA:CPU), the lax.scan epoch elsewhere.
    c.epoch_loop = "auto"


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    tiny = preset == "tiny"
    c.seeds = (0,) if tiny else (0, 1, 2)
    c.latent_dims = (2,) if tiny else (2, 20)
    c.hidden = 32 if tiny else 500
    c.epochs = 2 if tiny else 10
    c.batch_size = 100 if tiny else 128
    c.learning_rate = 1e-3
    c.binarize = "stochastic"
    c.data_seed = 0
    c.n_train = 700 if tiny else 60_000
    c.n_test = 300 if tiny else 10_000
    c.eval_batch_size = 100 if tiny else 1000
    c.eval_seed = 1234          # the fixed latent noise of the test-loss estimate
    c.sample_seed = 42          # the fixed N(0, I) batch decoded into the sample grid
    c.grid_size = 5 if tiny else 20
    c.n_recon = 10
    c.progress = True
    classifier_config(c, tiny)
    return c


def validate(c) -> None:
    check_config(c, positive=("classifier_learning_rate",))  # and every *seed key (check_config's rule)
    check_choice(c, "preset", PRESETS)
    check_choice(c, "binarize", BINARIZE)
    check_choice(c, "epoch_loop", EPOCH_LOOPS)
    if not c.seeds:
        raise ConfigError("config key 'seeds' must list at least one seed")
    if not c.latent_dims:
        raise ConfigError("config key 'latent_dims' must list at least one latent size")
    check_range(c, "latent_dims", 1)
    check_range(c, "learning_rate", 0, low_inclusive=False)
    for key in ("hidden", "epochs", "n_train", "n_test", "eval_batch_size", "grid_size", "n_recon",
                "classifier_epochs", "classifier_batch_size"):
        check_range(c, key, 1)
    check_range(c, "batch_size", 1, c.n_train)
    check_range(c, "quality_samples", 2)


def load_data(c) -> dict:
    """{"train", "test"} -> {"x": VAE targets float32 (N, 784), "images": grayscale float32
    (N, 28, 28, 1) in [0, 1], "y": int32 (N,)}."""
    rng = np.random.default_rng(c.data_seed)
    out = {}
    for split, n in (("train", c.n_train), ("test", c.n_test)):
        ds = jdata.load("mnist", split)
        if n > ds.x.shape[0]:
            raise ConfigError(f"config key 'n_{split}' = {n} exceeds the {ds.x.shape[0]} MNIST {split} images")
        images = ds.x[:n].astype(np.float32) / 255.0
        flat = images.reshape(n, 784)
        if c.binarize == "stochastic":
            flat = (rng.random(flat.shape, dtype=np.float32) < flat).astype(np.float32)
        elif c.binarize == "threshold":
            flat = (flat > 0.5).astype(np.float32)
        out[split] = {"x": flat, "images": images, "y": ds.y[:n]}
    return out


def quality_meter(c, data, workdir: pathlib.Path) -> tuple[QualityMeter, dict]:
    return cached_quality_meter(
        mnist_cnn(), data["train"]["images"], data["train"]["y"], data["test"]["images"], data["test"]["y"],
        cache=c.classifier_cache, workdir=workdir, epochs=c.classifier_epochs, batch_size=c.classifier_batch_size,
        learning_rate=c.classifier_learning_rate, seed=c.classifier_seed, progress=c.progress,
        epoch_loop=c.epoch_loop)


CURVES = ("train_loss", "test_loss", "test_bce", "test_kl")


def train_latent(c, latent_dim: int, data, workdir: pathlib.Path) -> dict:
    """All seeds of one latent size as one vmapped ``fit`` in ``workdir/z<Z>`` (resumed when its
    checkpoints exist); returns the final states and the (seeds, epochs) curves."""
    model = VAE(latent_dim=latent_dim, hidden=(c.hidden,))
    write_model_spec(workdir / f"z{latent_dim}", "vae", {"latent_dim": latent_dim, "hidden": (c.hidden,)},
                     study=NAME, data={"image_shape": (28, 28, 1)})   # for python -m jaxml.trained.sample_images
    tx = make_optimizer({"name": "adam", "learning_rate": c.learning_rate})
    init_keys, train_keys = seed_keys(tuple(c.seeds))
    x1 = jnp.asarray(data["train"]["x"][:1])
    states = jax.vmap(lambda k: create_latent_state(model, tx, k, x1))(init_keys)
    result = fit(states, {"x": data["train"]["x"]}, key=train_keys, epochs=c.epochs, batch_size=c.batch_size,
                 train_step=make_latent_train_step(negative_elbo),
                 eval_step=make_latent_eval_step(negative_elbo, jax.random.PRNGKey(c.eval_seed)),
                 eval_sets={"test": {"x": data["test"]["x"]}}, eval_batch_size=c.eval_batch_size,
                 run_info=[{"latent_dim": latent_dim, "seed": int(s)} for s in c.seeds],
                 workdir=workdir / f"z{latent_dim}", progress=c.progress, desc=f"VAE Z={latent_dim}")
    params0 = unstack(result.state.params, 0)
    # Training time over every invocation of the run (a resumed run adds its epochs' times).
    run0 = result.run_history(0)
    train_seconds = float(sum(h["epoch_seconds"] + h["eval_seconds"] for h in run0))
    return {"model": model, "params": result.state.params, "params0": params0,
            "curves": {k: result.curve(k) for k in CURVES}, "train_seconds": train_seconds,
            "compile_seconds": result.compile_seconds, "resumed_from": result.resumed_from,
            "n_params": count_params(params0)}


def figures(c, latent_dim: int, run: dict, data, workdir: pathlib.Path) -> list[str]:
    """Pictures of seed ``c.seeds[0]``'s model; returns Markdown image links."""
    model, params = run["model"], run["params0"]
    links = []
    x = data["train"]["x"][: c.n_recon]
    rec = np.asarray(reconstruct(model, params, jax.random.PRNGKey(c.sample_seed), jnp.asarray(x)))
    name = f"reconstructions_z{latent_dim}.png"
    mosaic_png(workdir / name, np.concatenate([x, rec]).reshape(-1, 28, 28), nrows=2)
    links.append(f"![reconstructions Z={latent_dim}]({name})")
    samples = np.asarray(sample(model, params, jax.random.PRNGKey(c.sample_seed), 100))
    name = f"samples_z{latent_dim}.png"
    mosaic_png(workdir / name, samples.reshape(-1, 28, 28), nrows=10)
    links.append(f"![samples Z={latent_dim}]({name})")
    if latent_dim == 2:
        q = np.asarray(jax.scipy.stats.norm.ppf(jnp.linspace(0.05, 0.95, c.grid_size)))
        # Row i from the top has z2 = q[-1 - i] (up is positive), column j has z1 = q[j].
        z = np.stack(np.meshgrid(q, q[::-1]), axis=-1).reshape(-1, 2).astype(np.float32)
        grid = np.asarray(decode(model, params, jnp.asarray(z)))
        mosaic_png(workdir / "latent_grid_z2.png", grid.reshape(-1, 28, 28), nrows=c.grid_size, pad=0)
        links.append("![latent plane](latent_grid_z2.png)")
        mu, _ = encode(model, params, jnp.asarray(data["test"]["x"]))
        mu = np.asarray(mu)
        scatter_plot(workdir / "latent_scatter_z2.png", mu[:, 0], mu[:, 1], data["test"]["y"],
                     title=f"Test-set latent means μ(x), Z=2 (seed {c.seeds[0]})", xlabel="μ₁", ylabel="μ₂")
        links.append("![latent means](latent_scatter_z2.png)")
    return links


def main(c, workdir: pathlib.Path) -> dict:
    validate(c)
    t0 = time.perf_counter()
    data = load_data(c)
    t_clf = time.perf_counter()
    meter, clf_info = quality_meter(c, data, workdir)
    clf_seconds = time.perf_counter() - t_clf
    summary = {"classifier": clf_info, "latent": {}}
    rows, quality_rows, hist_rows, links, curves = [], [], [], [], {}
    for latent_dim in c.latent_dims:
        t_run = time.perf_counter()
        run = train_latent(c, latent_dim, data, workdir)
        cur = run["curves"]
        epochs = np.arange(1, c.epochs + 1)
        for key, label in (("train_loss", "train"), ("test_loss", "test")):
            m, _ = mean_std_array(cur[key])
            curves[f"{label}, Z={latent_dim}"] = (epochs, m)
        qualities = []
        for r in range(len(c.seeds)):
            imgs = sample(run["model"], unstack(run["params"], r), jax.random.PRNGKey(c.sample_seed + 1),
                          c.quality_samples)
            qualities.append(meter.measure(np.asarray(imgs)))
        links += figures(c, latent_dim, run, data, workdir)
        rows.append({"latent Z": latent_dim, "parameters": run["n_params"],
                     "test −ELBO (nats)": mean_std(cur["test_loss"][:, -1]).format(".2f"),
                     "test BCE": mean_std(cur["test_bce"][:, -1]).format(".2f"),
                     "test KL": mean_std(cur["test_kl"][:, -1]).format(".2f"),
                     "train −ELBO (last epoch)": mean_std(cur["train_loss"][:, -1]).format(".2f"),
                     "train s": f"{run['train_seconds']:.1f}", "compile s": f"{run['compile_seconds']:.1f}"})
        quality_rows.append({"images": f"VAE Z={latent_dim} samples",
                             "Fréchet distance": mean_std([q["frechet"] for q in qualities]).format(".2f"),
                             "TV from uniform": mean_std([q["tv_from_uniform"] for q in qualities]).format(".3f"),
                             "n": qualities[0]["n"]})
        hist_rows.append({"samples": f"Z={latent_dim} (seed {c.seeds[0]})",
                          **{str(k): v for k, v in enumerate(qualities[0]["histogram"])}})
        summary["latent"][str(latent_dim)] = {
            "curves": {k: v.tolist() for k, v in cur.items()}, "quality": qualities,
            "train_seconds": run["train_seconds"], "compile_seconds": run["compile_seconds"],
            "resumed_from": run["resumed_from"], "n_params": run["n_params"],
            "wall_seconds": time.perf_counter() - t_run}
    split = clf_info["split_half"]
    quality_rows.append({"images": "real test half vs other half (sanity)",
                         "Fréchet distance": f"{split['frechet']:.2f}", "TV from uniform": "—", "n": split["n"]})
    line_plot(workdir / "loss_curves.png", curves, title="VAE negative ELBO per epoch (mean over seeds)",
              xlabel="epoch", ylabel="nats per image")
    total = time.perf_counter() - t0
    setup = (f"MNIST {c.n_train}/{c.n_test} (train/test), binarised `{c.binarize}` (data seed {c.data_seed}); "
             f"VAE 784-{c.hidden}-Z / Z-{c.hidden}-784; Adam {c.learning_rate}, batch {c.batch_size}, "
             f"{c.epochs} epochs; seeds {list(c.seeds)} vmapped; preset `{c.preset}`; machine: {machine_summary()}.")
    clf_text = (f"MNIST CNN (`jaxml.models.cnn.mnist_cnn`), {clf_info['epochs']} epochs Adam "
                f"{c.classifier_learning_rate}: test accuracy {clf_info['test_accuracy']:.4f} "
                f"({'restored from' if clf_info['restored'] else 'trained into'} `{clf_info['path']}`, "
                f"{clf_seconds:.1f} s here). Features: the 64-d input of its output layer.")
    sections = [
        ("Setup", setup),
        ("Test loss", "Negative ELBO = BCE (summed over 784 pixels) + KL, nats per image, mean ± std over "
         "seeds after the last epoch; test estimate with one z sample per image (fixed key).\n\n"
         + markdown_table(rows) + "\n\n![loss curves](loss_curves.png)"),
        ("Sample quality", clf_text + "\n\n" + markdown_table(quality_rows)
         + "\n\nPredicted-class shares of the samples:\n\n" + markdown_table(hist_rows, floatfmt=".3f")),
        ("Figures", " ".join(links)),
        ("Run", f"Total wall time {total:.1f} s."),
    ]
    write_results(workdir / "results.md", "VAE on MNIST", sections)
    summary["total_seconds"] = total
    (workdir / "summary.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
    print("\n" + markdown_table(rows) + "\n\n" + markdown_table(quality_rows))
    print(f"\nResults written to {workdir / 'results.md'} (total {total:.1f} s)")
    return summary


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
