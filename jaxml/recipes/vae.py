"""Pure train/eval steps for latent-variable models whose loss is an expectation over noise (VAEs).

Why not the driver's default steps (``jaxml.train.steps``): they feed one rng stream,
``dropout``, and the eval step feeds none — but a VAE's loss (the negative ELBO) is an
expectation over z ~ q(z | x) in both modes, so the model draws its reparameterisation noise
from its own ``latent`` stream and evaluation needs a key too. Calling that stream ``dropout``
would work in training and then silently break (or turn deterministic) in eval, so these steps
pass both streams explicitly.

Contract (nothing here knows a particular model):

- ``state.apply_fn(variables, x, train=bool, rngs={"latent": k, "dropout": k'})`` returns the
  model's outputs (for ``jaxml.models.vae.VAE``: ``(logits, mu, logvar)``);
- ``loss_fn(outputs, x) -> {"loss": (N,), <other terms>: (N,)}`` gives per-example terms
  (``jaxml.models.vae.negative_elbo``: loss, bce, kl).

A batch is ``{"x": (B, ...), "mask": (B,)}`` (no labels needed). Metrics are sums plus a count:
``<term>_sum`` for every term and ``count``; the gradient is that of the mean ``loss`` over the
real examples. Both steps plug into the driver::

    fit(state, {"x": train_x}, key=..., epochs=..., batch_size=...,
        train_step=make_latent_train_step(negative_elbo),
        eval_step=make_latent_eval_step(negative_elbo, eval_key), eval_sets={"test": {"x": test_x}})

which logs ``train_loss``, ``train_bce``, ``train_kl``, ``test_loss``, ...
"""
from __future__ import annotations

from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxml.train.epoch import batch_mask
from jaxml.train.state import TrainState

LATENT_RNG = "latent"


def create_latent_state(model: nn.Module, tx, key: jax.Array, sample_x) -> TrainState:
    """A ``TrainState`` for ``model`` initialised on ``sample_x`` (only shape/dtype matter)."""
    def init(key, sample_x):
        params_key, dropout_key, latent_key = jax.random.split(key, 3)
        variables = model.init({"params": params_key, "dropout": dropout_key, LATENT_RNG: latent_key},
                               sample_x, train=False)
        return TrainState.create(apply_fn=model.apply, params=variables["params"], tx=tx,
                                 batch_stats=variables.get("batch_stats"))

    # Jitted (and vmap-able over keys): eager initialisation compiles one program per parameter.
    return jax.jit(init)(key, jnp.asarray(sample_x))


def _check_terms(terms, n):
    if not isinstance(terms, dict) or "loss" not in terms:
        keys = f" with keys {sorted(terms)}" if isinstance(terms, dict) else ""
        raise ValueError(f"loss_fn must return a dict of per-example terms with a 'loss' entry, got "
                         f"{type(terms).__name__}{keys}")
    for name, value in terms.items():
        if value.shape != (n,):
            raise ValueError(f"loss_fn term {name!r} must have shape ({n},) (one value per example), got {value.shape}")


def _sums(terms, mask_B):
    out = {f"{name}_sum": jnp.sum(value * mask_B) for name, value in terms.items()}
    out["count"] = jnp.sum(mask_B)
    return out


def make_latent_train_step(loss_fn: Callable) -> Callable:
    """``train_step(state, batch, rng) -> (state, metrics)``; ``rng`` is split into the
    ``latent`` and ``dropout`` streams."""

    def train_step(state: TrainState, batch, rng):
        x = batch["x"]
        mask_B = batch_mask(batch, x.shape[0])
        count = jnp.maximum(jnp.sum(mask_B), 1.0)
        latent_key, dropout_key = jax.random.split(rng)

        rngs = {LATENT_RNG: latent_key, "dropout": dropout_key}

        def objective(params):
            new_stats = None
            if state.batch_stats is None:
                out = state.apply_fn({"params": params}, x, train=True, rngs=rngs)
            else:
                out, updates = state.apply_fn({"params": params, "batch_stats": state.batch_stats}, x,
                                              train=True, rngs=rngs, mutable=["batch_stats"])
                new_stats = updates["batch_stats"]
            terms = loss_fn(out, x)
            _check_terms(terms, x.shape[0])
            return jnp.sum(terms["loss"] * mask_B) / count, (terms, new_stats)

        grads, (terms, new_stats) = jax.grad(objective, has_aux=True)(state.params)
        return state.apply_gradients(grads=grads, batch_stats=new_stats), _sums(terms, mask_B)

    return train_step


def make_latent_eval_step(loss_fn: Callable, key: jax.Array) -> Callable:
    """``eval_step(state, batch) -> metrics`` (eval mode) with the latent noise drawn from ``key``.

    Every batch uses the same ``key``: the estimate is still one independent sample of z per
    example (different rows get different noise), and the result is a deterministic function
    of (state, data, key).
    """

    def eval_step(state: TrainState, batch):
        x = batch["x"]
        mask_B = batch_mask(batch, x.shape[0])
        variables = {"params": state.params}
        if state.batch_stats is not None:
            variables["batch_stats"] = state.batch_stats
        out = state.apply_fn(variables, x, train=False, rngs={LATENT_RNG: key})
        terms = loss_fn(out, x)
        _check_terms(terms, x.shape[0])
        return _sums(terms, mask_B)

    return eval_step

