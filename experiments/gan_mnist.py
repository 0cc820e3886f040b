"""GAN and DCGAN on MNIST: losses per epoch, samples from fixed noise, latent interpolation, quality.

Coursework question: train a generative adversarial network (an MLP GAN, or a DCGAN with
``--config.model=dcgan``) on MNIST; how do the generator's and discriminator's losses evolve,
what do samples from a fixed batch of noise look like as training goes on, is the latent
space smooth (interpolations), and how close are the samples to real digits (a Fréchet
distance in MNIST-classifier features, and the class histogram of the samples)?

Models (``jaxml.models.gan``): MLP GAN — G 100-256-512-1024-784 (LeakyReLU 0.2, tanh), D
784-1024-512-256-1 (LeakyReLU 0.2, dropout 0.3); DCGAN — G dense -> 7x7x2F -> transposed
convs to 14x14xF and 28x28x1 (batch norm, ReLU, tanh), D stride-2 convs 28 -> 14 -> 7
(LeakyReLU, dropout) -> dense logit. Losses (``jaxml.recipes.gan``): D: BCE(real, 1) +
BCE(fake, 0); G: non-saturating BCE(fake, 1). Adam 2e-4, β1 0.5, batch 128, one D step then
one G step per batch. Pixels scaled to [-1, 1]. The GAN trains on the one driver
(``jaxml.train.fit`` with ``jaxml.recipes.gan.gan_step`` on the ``GANState`` pytree): it
checkpoints every ``checkpoint_every`` epochs, a rerun with the same work directory resumes, and
a NaN/inf loss stops with ``NonFiniteLossError`` naming the epoch, step and last good checkpoint.

Quality (``jaxml.evaluate.feature_classifier.QualityMeter``), every epoch (a ``fit`` callback):
Fréchet distance between ``quality_samples`` generated images (fixed noise, rescaled to [0, 1])
and the 10,000 test images, in the 64-d penultimate features of the cached jaxml MNIST CNN; the
samples' predicted-class histogram; sanity line: test half vs test half.

    python -m experiments.gan_mnist                              # MLP GAN, full preset
    python -m experiments.gan_mnist --config.model=dcgan         # DCGAN
    python -m experiments.gan_mnist --config=tiny                # seconds; used by the tests

Outputs in the work directory: config.json, machine.json, results.md, summary.json,
metrics.jsonl (the driver's record per epoch, with the quality measure),
checkpoints/ (a rerun with the same workdir resumes), PNG figures (loss and quality curves,
sample grids every ``sample_every`` epochs, the interpolation grid, the class histogram).
"""
from __future__ import annotations

import json
import pathlib
import time

import jax
import ml_collections
import numpy as np

from jaxml import data as jdata
from jaxml.evaluate.feature_classifier import QualityMeter, cached_quality_meter
from jaxml.models import count_params
from jaxml.models.cnn import mnist_cnn
from jaxml.models.gan import interpolate, make_gan
from jaxml.recipes.gan import create_gan_state, gan_step, generate
from jaxml.report import bar_plot, line_plot, markdown_table, write_results
from jaxml.report.mosaic import mosaic_png
from jaxml.study.config import ConfigError, check_choice, check_config, check_range
from jaxml.study.experiment import machine_summary, run_experiment
from jaxml.study.model_spec import write_model_spec
from jaxml.train import EPOCH_LOOPS, fit, make_optimizer, resolve_epoch_loop, seed_keys

NAME = "gan_mnist"
PRESETS = ("full", "tiny")
MODELS = ("gan", "dcgan")


def get_config(preset: str | None = None) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.preset = preset or "full"
    tiny = preset == "tiny"
    c.model = "gan"
    c.seed = 0
    c.epochs = 2 if tiny else 50
    c.batch_size = 100 if tiny else 128
    c.learning_rate = 2e-4
    c.b1 = 0.5
    c.latent_dim = 100
    c.dropout = 0.3
    c.dcgan_features = 8 if tiny else 64
    c.n_train = 700 if tiny else 60_000
    c.n_test = 300 if tiny else 10_000
    c.sample_every = 1 if tiny else 5
    c.sample_seed = 42            # the fixed 10x10 noise batch of the sample grids
    c.quality_seed = 43           # the fixed noise of the per-epoch quality measure
    c.interpolation_seed = 44
    c.checkpoint_every = 1 if tiny else 5
    # "auto": a host loop of jitted steps on CPU (convolutions inside lax.scan are ~6x slower
    # on XLA:CPU, see jaxml/train/epoch.py), the one-call lax.scan epoch elsewhere.
    c.epoch_loop = "auto"
    c.progress = True
    # Quality classifier: the same fields and defaults as experiments/vae_mnist.py, so both
    # studies share one cached checkpoint.
    c.classifier_epochs = 1 if tiny else 10
    c.classifier_batch_size = 128
    c.classifier_learning_rate = 1e-3
    c.classifier_seed = 0
    c.classifier_cache = "workdir" if tiny else ""
    c.quality_samples = 200 if tiny else 10_000
    return c


def validate(c) -> None:
    check_config(c, positive=("classifier_learning_rate",))  # and every *seed key (check_config's rule)
    check_choice(c, "preset", PRESETS)
    check_choice(c, "model", MODELS)
    check_choice(c, "epoch_loop", EPOCH_LOOPS)
    check_range(c, "learning_rate", 0, low_inclusive=False)
    check_range(c, "b1", 0, 1, high_inclusive=False)
    check_range(c, "dropout", 0, 1, high_inclusive=False)
    for key in ("epochs", "latent_dim", "dcgan_features", "n_train", "n_test", "sample_every",
                "checkpoint_every", "classifier_epochs", "classifier_batch_size"):
        check_range(c, key, 1)
    check_range(c, "batch_size", 1, c.n_train)
    check_range(c, "quality_samples", 2)


def load_data(c) -> dict:
    """{"train", "test"} -> {"images": float32 (N, 28, 28, 1) in [0, 1], "y": int32 (N,)}."""
    out = {}
    for split, n in (("train", c.n_train), ("test", c.n_test)):
        ds = jdata.load("mnist", split)
        if n > ds.x.shape[0]:
            raise ConfigError(f"config key 'n_{split}' = {n} exceeds the {ds.x.shape[0]} MNIST {split} images")
        out[split] = {"images": ds.x[:n].astype(np.float32) / 255.0, "y": ds.y[:n]}
    return out


def quality_meter(c, data, workdir: pathlib.Path) -> tuple[QualityMeter, dict]:
    return cached_quality_meter(
        mnist_cnn(), data["train"]["images"], data["train"]["y"], data["test"]["images"], data["test"]["y"],
        cache=c.classifier_cache, workdir=workdir, epochs=c.classifier_epochs, batch_size=c.classifier_batch_size,
        learning_rate=c.classifier_learning_rate, seed=c.classifier_seed, progress=c.progress,
        epoch_loop=c.epoch_loop)


def to_unit(images) -> np.ndarray:
    """Generator output in [-1, 1] -> [0, 1]."""
    return (np.asarray(images, np.float32) + 1.0) / 2.0


LOSSES = ("d_loss", "g_loss", "loss", "d_real", "d_fake")
QUALITY = ("frechet", "tv_from_uniform", "histogram", "quality_seconds")


def main(c, workdir: pathlib.Path) -> dict:
    validate(c)
    t0 = time.perf_counter()
    data = load_data(c)
    t_clf = time.perf_counter()
    meter, clf_info = quality_meter(c, data, workdir)
    clf_seconds = time.perf_counter() - t_clf

    gan_kwargs = {"kind": c.model, "latent_dim": c.latent_dim, "features": c.dcgan_features, "dropout": c.dropout}
    gen, disc = make_gan(**gan_kwargs)
    write_model_spec(workdir, "gan", gan_kwargs, study=NAME, data={"image_shape": (28, 28, 1)})  # sample_images
    opt = {"name": "adam", "learning_rate": c.learning_rate, "b1": c.b1}
    init_key, train_key = seed_keys(c.seed)
    train_x = data["train"]["images"] * 2.0 - 1.0
    gs = create_gan_state(gen, disc, make_optimizer(opt), make_optimizer(opt), init_key, train_x[:1], c.latent_dim)
    n_params = {"generator": count_params(gs.g.params), "discriminator": count_params(gs.d.params)}
    sample_z = jax.random.normal(jax.random.PRNGKey(c.sample_seed), (100, c.latent_dim))
    quality_z = jax.random.normal(jax.random.PRNGKey(c.quality_seed), (c.quality_samples, c.latent_dim))
    gen_fn = jax.jit(generate)
    loop = resolve_epoch_loop(c.epoch_loop)

    def measure(epoch, gs):
        """After each epoch (the driver's ``measure``: logged and checkpointed with the epoch's
        record): quality on the fixed noise, and the sample grid every ``sample_every`` epochs."""
        t_q = time.perf_counter()
        quality = meter.measure(to_unit(gen_fn(gs, quality_z)))
        if epoch % c.sample_every == 0 or epoch == c.epochs:
            mosaic_png(workdir / f"samples_epoch{epoch:03d}.png", to_unit(gen_fn(gs, sample_z)), nrows=10)
        if c.progress:
            print(f"{c.model} [epoch {epoch}/{c.epochs}] Fréchet {quality['frechet']:.3f}", flush=True)
        return {"frechet": quality["frechet"], "tv_from_uniform": quality["tv_from_uniform"],
                "histogram": quality["histogram"], "quality_seconds": time.perf_counter() - t_q}

    result = fit(gs, {"x": train_x}, key=train_key, epochs=c.epochs, batch_size=c.batch_size, train_step=gan_step,
                 workdir=workdir, checkpoint_every=c.checkpoint_every, keep_checkpoints=1, epoch_loop=loop,
                 measure=measure, progress=c.progress, desc=c.model)
    gs, resumed_from = result.state, result.resumed_from
    history = [{"epoch": h["epoch"], **{k: h[f"train_{k}"] for k in LOSSES}, **{k: h[k] for k in QUALITY},
                "epoch_seconds": h["epoch_seconds"]} for h in result.run_history(0)]

    # Quality of the final generator, recomputed (equals the last epoch's value; after a restore
    # it checks the restored weights).
    final_frechet = meter.measure(to_unit(gen_fn(gs, quality_z)))["frechet"]

    # Figures.
    epochs = np.array([h["epoch"] for h in history])
    col = lambda k: np.array([h[k] for h in history], float)  # noqa: E731
    line_plot(workdir / "losses.png", {"discriminator": (epochs, col("d_loss")), "generator": (epochs, col("g_loss")),
                                       "sum": (epochs, col("loss"))},
              title=f"{c.model.upper()} losses per epoch (means over the epoch's batches)", xlabel="epoch",
              ylabel="BCE (nats)")
    line_plot(workdir / "frechet.png", {c.model.upper(): (epochs, col("frechet"))},
              title=f"Fréchet distance to the test set ({c.quality_samples} samples, fixed noise)",
              xlabel="epoch", ylabel="Fréchet distance (CNN features)", logy=True)
    ka, kb = jax.random.split(jax.random.PRNGKey(c.interpolation_seed))
    z_path = interpolate(jax.random.normal(ka, (10, c.latent_dim)), jax.random.normal(kb, (10, c.latent_dim)), 10)
    mosaic_png(workdir / "interpolation.png", to_unit(gen_fn(gs, z_path.reshape(100, c.latent_dim))), nrows=10)
    final = history[-1]
    real_hist = np.bincount(data["test"]["y"], minlength=10) / len(data["test"]["y"])
    bar_plot(workdir / "class_histogram.png", [str(d) for d in range(10)],
             {f"{c.model.upper()} samples (epoch {final['epoch']})": (final["histogram"], None),
              "real test images (labels)": (real_hist, None)},
             title="Predicted class of generated digits (MNIST CNN)", ylabel="share")
    grids = [f"samples_epoch{e:03d}.png" for e in range(c.sample_every, c.epochs + 1, c.sample_every)]
    sample_links = [f"![epoch {int(name[13:16])}]({name})" for name in grids if (workdir / name).exists()]

    total = time.perf_counter() - t0
    train_total = float(sum(h["epoch_seconds"] for h in history))
    rows = [{"epoch": h["epoch"], "D loss": h["d_loss"], "G loss": h["g_loss"], "sum": h["loss"],
             "D(x)": h["d_real"], "D(G(z))": h["d_fake"], "Fréchet": h["frechet"],
             "TV from uniform": h["tv_from_uniform"], "epoch s": h["epoch_seconds"]} for h in history]
    split = clf_info["split_half"]
    quality_rows = [{"images": f"{c.model.upper()} samples, epoch {final['epoch']}",
                     "Fréchet distance": final["frechet"], "n": c.quality_samples},
                    {"images": "real test half vs other half (sanity)", "Fréchet distance": split["frechet"],
                     "n": split["n"]}]
    hist_row = [{"samples": c.model.upper(), **{str(k): v for k, v in enumerate(final["histogram"])}},
                {"samples": "real test labels", **{str(k): float(v) for k, v in enumerate(real_hist)}}]
    setup = (f"MNIST {c.n_train} training images in [-1, 1]; model `{c.model}` "
             f"(generator {n_params['generator']:,} / discriminator {n_params['discriminator']:,} parameters"
             f"{f', F={c.dcgan_features}' if c.model == 'dcgan' else ''}); Adam {c.learning_rate}, β1 {c.b1}, "
             f"batch {c.batch_size}, {c.epochs} epochs, seed {c.seed}; preset `{c.preset}`; machine: "
             f"{machine_summary()}.")
    clf_text = (f"MNIST CNN (`jaxml.models.cnn.mnist_cnn`), {clf_info['epochs']} epochs: test accuracy "
                f"{clf_info['test_accuracy']:.4f} ({'restored from' if clf_info['restored'] else 'trained into'} "
                f"`{clf_info['path']}`, {clf_seconds:.1f} s here).")
    sections = [
        ("Setup", setup),
        ("Losses and quality per epoch", markdown_table(rows, floatfmt=".3f")
         + "\n\n![losses](losses.png) ![Fréchet distance](frechet.png)"),
        ("Sample quality", clf_text + "\n\n" + markdown_table(quality_rows, floatfmt=".2f")
         + "\n\nPredicted-class shares:\n\n" + markdown_table(hist_row, floatfmt=".3f")
         + "\n\n![class histogram](class_histogram.png)"),
        ("Samples from fixed noise", " ".join(sample_links)),
        ("Interpolation", "Each row: 10 evenly spaced points on the segment between two random latent "
         "vectors.\n\n![interpolation](interpolation.png)"),
        ("Run", f"Training {train_total:.1f} s: the sum of the {len(history)} epochs' times (quality measure "
         f"excluded{', over all invocations of the run' if resumed_from else ''}); epoch loop `{loop}` "
         f"(compile {result.compile_seconds:.1f} s, summed over the invocations of this work directory)"
         f"{f'; this invocation resumed after epoch {resumed_from}' if resumed_from else ''}; wall time of this "
         f"invocation {total:.1f} s."),
    ]
    write_results(workdir / "results.md", f"{c.model.upper()} on MNIST", sections)
    summary = {"model": c.model, "n_params": n_params, "history": history, "classifier": clf_info,
               "compile_seconds": result.compile_seconds, "train_seconds": train_total, "total_seconds": total,
               "resumed_from": resumed_from, "final_frechet": final_frechet, "epoch_loop": loop}
    (workdir / "summary.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
    print("\n" + markdown_table(quality_rows, floatfmt=".2f"))
    print(f"\nResults written to {workdir / 'results.md'} (total {total:.1f} s)")
    return summary


if __name__ == "__main__":
    run_experiment(NAME, get_config, PRESETS, main)
