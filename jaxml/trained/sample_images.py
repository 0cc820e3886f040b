"""A PNG grid of samples from the VAE of ``experiments/vae_mnist.py`` or the GAN/DCGAN of
``experiments/gan_mnist.py``.

    python -m jaxml.trained.sample_images --workdir=runs/gan_mnist/<time> --out=grid.png --num=64 --seed=0
    python -m jaxml.trained.sample_images --workdir=runs/vae_mnist/<time> --part=z20 --run=1 --out=z20.png

Draws ``--num`` latent vectors z ~ N(0, I) from ``--seed`` and writes the decoded images as one
grayscale PNG (``jaxml.report.mosaic.mosaic_png``: ceil(sqrt(num)) rows, 1-pixel white gaps, each
pixel ``--scale`` x ``--scale``). VAE: the decoder's Bernoulli means; GAN: the generator (eval mode)
rescaled from [-1, 1] to [0, 1]. Parts: the VAE's ``z<Z>`` folders (default the first), the GAN's
work directory itself (``.``); ``--run`` picks the seed of a vmapped VAE run.
"""
from __future__ import annotations

import math
import pathlib
import sys

from absl import flags

from jaxml.trained.commands import CommandError, define_model_flags, load_model, run_command

PROG = "sample_images"


def define(fv: flags.FlagValues) -> None:
    define_model_flags(fv)
    flags.DEFINE_string("out", "samples.png", "Where the PNG grid goes.", flag_values=fv)
    flags.DEFINE_integer("num", 64, "How many samples.", flag_values=fv)
    flags.DEFINE_integer("seed", 0, "Seed of the latent noise.", flag_values=fv)
    flags.DEFINE_integer("scale", 2, "Each pixel drawn scale x scale.", flag_values=fv)


def samples(trained, num: int, seed: int):
    """(num, H, W, C) float32 images in [0, 1]."""
    import jax
    import numpy as np

    spec, model = trained.spec, trained.model
    shape = tuple(spec["data"].get("image_shape", (28, 28, 1)))
    key = jax.random.PRNGKey(seed)
    if spec["task"] == "vae":
        from jaxml.models.vae import sample
        images = np.asarray(sample(model, trained.variables["params"], key, num))
    else:
        z = jax.random.normal(key, (num, model.latent_dim))
        out = jax.jit(lambda v, z: model.apply(v, z, train=False))(trained.variables, z)
        images = (np.asarray(out, np.float32) + 1.0) / 2.0
    return np.clip(images, 0.0, 1.0).reshape(num, *shape)


def body(fv: flags.FlagValues) -> None:
    from jaxml.report.mosaic import mosaic_png

    if fv.num < 1:
        raise CommandError(f"--num={fv.num}: expected at least 1")
    if fv.scale < 1:
        raise CommandError(f"--scale={fv.scale}: expected at least 1")
    trained = load_model(PROG, fv, ("vae", "gan"))
    images = samples(trained, fv.num, fv.seed)
    out = pathlib.Path(fv.out)
    if out.is_dir():
        raise CommandError(f"--out={out} is a directory; give a file name such as {out / 'samples.png'}")
    mosaic_png(out, images, nrows=math.ceil(math.sqrt(fv.num)), scale=fv.scale)
    print(f"wrote {out} ({fv.num} samples)")


def main(argv=None) -> int:
    return run_command(PROG, define, body, sys.argv if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
