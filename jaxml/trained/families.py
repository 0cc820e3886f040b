"""The model families a ``model.json`` (``jaxml.study.model_spec``) names, rebuilt: ``build(spec)`` is
the flax module, ``param_shapes(spec)`` its variables' shapes (nothing computed)."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxml.study.model_spec import DTYPE_KEYS, TASKS, SpecError


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


# family -> builder(**kwargs) -> flax module; the families are model_spec's TASKS
BUILDERS = {"mlp": _mlp, "mnist_cnn": _cnn("mnist_cnn"), "cnn2": _cnn("cnn2"), "cnn3": _cnn("cnn3"),
            "vae": _vae, "gan": _gan, "gpt": _gpt}
assert set(BUILDERS) == set(TASKS), "jaxml.study.model_spec.TASKS and BUILDERS name the same families"


def build(spec: dict):
    """The flax module ``spec`` describes (lists in kwargs become tuples, as modules want; dtype names
    such as ``"bfloat16"`` dtypes)."""
    kwargs = {k: tuple(v) if isinstance(v, list) else jnp.dtype(v) if k in DTYPE_KEYS else v
              for k, v in spec["kwargs"].items()}
    try:
        return BUILDERS[spec["family"]](**kwargs)
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
