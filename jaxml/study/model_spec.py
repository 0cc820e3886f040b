"""What a trained model is, written next to its checkpoints: ``model.json``.

A study writes ``write_model_spec(folder, family, kwargs, study=..., data=...)`` into the folder
whose ``checkpoints/`` (or ``run<r>/checkpoints/``) hold the model's weights. The file::

    {"family": "mnist_cnn", "kwargs": {"num_classes": 10, "dropout": 0.2}, "study": "mnist_cnn",
     "data": {...what the model's inputs are: dataset, split sizes, layout, vocabulary...}}

``family`` names a builder in :data:`TASKS` (``build(spec)`` calls it with ``kwargs``), so the
commands ``python -m jaxml.trained.sample_text | sample_images | evaluate_checkpoint`` rebuild the
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
import pathlib

import jax.numpy as jnp

SPEC_FILE = "model.json"


class SpecError(ValueError):
    """A missing, unreadable or inconsistent ``model.json`` (the message names the file)."""


# family -> task: what a model of that family is for (the builders are in jaxml.trained.families)
TASKS = {"mlp": "classifier", "mnist_cnn": "classifier", "cnn2": "classifier", "cnn3": "classifier",
         "vae": "vae", "gan": "gan", "gpt": "gpt"}


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
    if family not in TASKS:
        raise SpecError(f"unknown model family {family!r}; expected one of {sorted(TASKS)}")
    spec = {"family": family, "task": TASKS[family], "kwargs": _plain(kwargs), "study": study,
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
    if not isinstance(spec, dict) or spec.get("family") not in TASKS or not isinstance(spec.get("kwargs"), dict):
        raise SpecError(f"{path}: expected {{'family': one of {sorted(TASKS)}, 'kwargs': {{...}}, ...}}")
    spec["task"] = TASKS[spec["family"]]
    return spec
