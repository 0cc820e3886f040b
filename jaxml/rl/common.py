"""Small helpers shared by the RL trainers."""
from __future__ import annotations

import math
from typing import Mapping

import jax.numpy as jnp

from jaxml.train.errors import ConfigError
from jaxml.train.optimizers import OPTIMIZERS, set_hyperparams

HPARAMS = ("gamma", "learning_rate")


def check_hparams(hparams: Mapping | None) -> dict:
    """``hparams`` as a dict; ValueError naming the allowed keys when one is unknown."""
    hparams = dict(hparams or {})
    unknown = set(hparams) - set(HPARAMS)
    if unknown:
        raise ValueError(f"hparams may set {list(HPARAMS)}, got {sorted(unknown)}")
    return hparams


def apply_hparams(state, default_gamma: float, hparams: Mapping | None):
    """``(state, gamma)`` with the swept ``hparams`` applied (traced values allowed).

    ``hparams`` may hold ``gamma`` (the discount, returned as a float32 scalar) and
    ``learning_rate`` (written into the optimizer state built by ``make_optimizer``), so a
    sweep over either is one program under ``jax.vmap``.
    """
    hparams = check_hparams(hparams)
    gamma = jnp.asarray(hparams.get("gamma", default_gamma), jnp.float32)
    if "learning_rate" in hparams:
        state = state.replace(opt_state=set_hyperparams(state.opt_state, learning_rate=hparams["learning_rate"]))
    return state, gamma


def check_optimizer_fields(what: str, optimizer: str, max_grad_norm: float) -> None:
    """ConfigError unless ``optimizer`` is a known optimizer name and ``max_grad_norm`` a finite
    number >= 0 (0 = no clipping); ``what`` names the config ("DQN")."""
    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"{what} config key 'optimizer' = {optimizer!r}; expected one of {list(OPTIMIZERS)}")
    if isinstance(max_grad_norm, bool) or not isinstance(max_grad_norm, (int, float)) \
            or not math.isfinite(max_grad_norm) or max_grad_norm < 0:
        raise ConfigError(f"{what} config key 'max_grad_norm' = {max_grad_norm!r}; expected a number >= 0 "
                          "(0 = no clipping)")
