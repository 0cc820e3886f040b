"""What a trained model is, written next to its checkpoints: ``model.json``.

A study writes ``write_model_spec(folder, family, kwargs, study=..., data=...)`` into the folder
whose ``checkpoints/`` (or ``run<r>/checkpoints/``) hold the model's weights. The file::

    {"family": "mnist_cnn", "kwargs": {"num_classes": 10, "dropout": 0.2}, "study": "mnist_cnn",
     "data": {...what the model's inputs are: dataset, split sizes, layout, vocabulary...}}

``family`` names a builder in :data:`FAMILIES` (``build(spec)`` calls it with ``kwargs``), so the
commands ``python -m jaxml.study.sample_text | sample_images | evaluate_checkpoint`` rebuild the
model without anything re-specified. ``data`` by task:

- classifier (``mlp``, ``mnist_cnn``, ``cnn2``, ``cnn3``): ``dataset``, ``n_train``, ``n_val``,
  ``n_test``, ``data_seed`` (the study's ``jaxml.data.train_val_test`` split), ``layout``
  (``"flat"``: (N, H*W*C); ``"nhwc"``); pixels are always scaled to [0, 1];
- ``vae``: ``image_shape``; the decoder's outputs are pixel probabilities;
- ``gan``: ``image_shape``; the generator's outputs are in [-1, 1];
- ``gpt``: ``vocab`` (the characters in id order).
"""
from __future__ import annotations

import json
import math
import pathlib

import jax
import jax.numpy as jnp

SPEC_FILE = "model.json"


class SpecError(ValueError):
    """A missing, unreadable or inconsistent ``model.json`` (the message names the file)."""


def _mlp(**kw):
    from jaxml.models.mlp import MLP
    return MLP(**kw)


def _cnn(name):
    def build(**kw):
        from jaxml.models import cnn
        return getattr(cnn, name)(**kw)
    return build


def _vae(**kw):
    from jaxml.models.vae import VAE
    return VAE(**kw)


def _gan(**kw):
    from jaxml.models.gan import make_gan
    return make_gan(**kw)[0]       # the generator: what sampling needs


def _gpt(**kw):
    from jaxml.models.transformer import GPT
    return GPT(**kw)


# family -> (builder(**kwargs) -> flax module, task)
FAMILIES = {"mlp": (_mlp, "classifier"), "mnist_cnn": (_cnn("mnist_cnn"), "classifier"),
            "cnn2": (_cnn("cnn2"), "classifier"), "cnn3": (_cnn("cnn3"), "classifier"),
            "vae": (_vae, "vae"), "gan": (_gan, "gan"), "gpt": (_gpt, "gpt")}


DTYPE_KEYS = ("dtype", "param_dtype")


def _plain(value):
    """JSON-ready: tuples as lists, numpy scalars as Python numbers, dtypes by name."""
    if isinstance(value, dict):
        return {str(k): jnp.dtype(v).name if k in DTYPE_KEYS else _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value.item() if hasattr(value, "item") else value


def write_model_spec(folder, family: str, kwargs: dict, *, study: str, data: dict | None = None) -> pathlib.Path:
    """Write ``folder/model.json`` (see the module docstring); returns its path."""
    if family not in FAMILIES:
        raise SpecError(f"unknown model family {family!r}; expected one of {sorted(FAMILIES)}")
    spec = {"family": family, "task": FAMILIES[family][1], "kwargs": _plain(kwargs), "study": study,
            "data": _plain(data or {})}
    path = pathlib.Path(folder) / SPEC_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec, indent=1, sort_keys=True) + "\n")
    return path


def read_model_spec(folder) -> dict:
    path = pathlib.Path(folder) / SPEC_FILE
    try:
        spec = json.loads(path.read_text())
    except FileNotFoundError:
        raise SpecError(f"{path} does not exist") from None
    except (OSError, json.JSONDecodeError) as e:
        raise SpecError(f"{path} is unreadable: {e}") from None
    if not isinstance(spec, dict) or spec.get("family") not in FAMILIES or not isinstance(spec.get("kwargs"), dict):
        raise SpecError(f"{path}: expected {{'family': one of {sorted(FAMILIES)}, 'kwargs': {{...}}, ...}}")
    spec["task"] = FAMILIES[spec["family"]][1]
    return spec


def build(spec: dict):
    """The flax module ``spec`` describes (lists in kwargs become tuples, as modules want; dtype names
    such as ``"bfloat16"`` dtypes)."""
    kwargs = {k: tuple(v) if isinstance(v, list) else jnp.dtype(v) if k in DTYPE_KEYS else v
              for k, v in spec["kwargs"].items()}
    try:
        return FAMILIES[spec["family"]][0](**kwargs)
    except TypeError as e:
        raise SpecError(f"model.json: {spec['family']}({kwargs}) failed: {e}") from None


def example_input(spec: dict):
    """A one-example input batch of the model's input shape and dtype."""
    task, data, kw = spec["task"], spec["data"], spec["kwargs"]
    if task == "gpt":
        return jnp.zeros((1, kw["block_size"]), jnp.int32)
    if task == "gan":
        return jnp.zeros((1, kw.get("latent_dim", 100)), jnp.float32)
    shape = tuple(data.get("image_shape", (28, 28, 1)))
    if task == "vae" or data.get("layout") == "flat":
        shape = (math.prod(shape),)
    return jnp.zeros((1, *shape), jnp.float32)


def param_shapes(spec: dict, model=None) -> dict:
    """``{"params": ..., ["batch_stats": ...]}`` as ShapeDtypeStructs, nothing computed."""
    model = build(spec) if model is None else model
    key = jax.random.key(0)
    rngs = {"params": key, "dropout": key, "latent": key}
    return jax.eval_shape(lambda: dict(model.init(rngs, example_input(spec), train=False)))
