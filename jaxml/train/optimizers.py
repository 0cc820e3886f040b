"""Optimizers and learning-rate schedules from config, all built from optax.

``make_optimizer(cfg, steps_per_epoch)`` reads these fields of a mapping/ConfigDict:

  name           sgd | momentum | nesterov | rmsprop | adam | adamw
  learning_rate  η (float > 0)
  momentum       α for sgd/momentum/nesterov (and rmsprop's momentum); SGD with momentum is
                 optax's trace: ``v <- α v + g ; w <- w - η v`` (the coursework's form)
  weight_decay   L2 decay added to the gradient (decoupled for adamw); 0 = off
  clip_norm      clip gradients by global norm; 0/None = off
  b1, b2, eps    Adam/AdamW moments; rms_decay, eps for RMSProp
  schedule       constant | step | exponential | warmup_cosine | constant_then_exponential
  decay_rate     factor per ``decay_epochs`` for step (staircase) and exponential decay; factor
                 per epoch for constant_then_exponential
  decay_epochs   N epochs between decays
  decay_after_epochs  constant_then_exponential: the rate stays constant for this many epochs,
                 then is multiplied by ``decay_rate`` at the start of every later epoch (Keras'
                 ``LearningRateScheduler(lambda e, lr: lr if e < k else lr * exp(-0.1))`` is
                 ``decay_after_epochs=k, decay_rate=exp(-0.1)``: epoch e (0-based) trains with
                 ``rate**max(0, e - k + 1)``)
  warmup_epochs  linear warm-up length for warmup_cosine
  total_epochs   horizon of the cosine decay
  end_factor     warmup_cosine decays to ``end_factor * learning_rate`` (default 0; nanoGPT's
                 min_lr = lr / 10 is 0.1). Iteration-based training passes steps_per_epoch=1,
                 so the *_epochs fields count iterations.

The result is wrapped in ``optax.inject_hyperparams`` so that the numeric hyperparameters
(``learning_rate``, and ``momentum`` / ``weight_decay`` where the optimizer uses them) live in
the optimizer state. ``set_hyperparams`` overrides them after ``init``; under ``jax.vmap`` that
gives a sweep over a traced hyperparameter that compiles once. The schedule multiplies the
injected base learning rate, so schedules and learning-rate sweeps combine.
"""
from __future__ import annotations

import difflib
import math
import numbers
from typing import Any, Mapping

import jax.numpy as jnp
import optax

from jaxml.train.errors import ConfigError

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw")
SCHEDULES = ("constant", "step", "exponential", "warmup_cosine", "constant_then_exponential")

DEFAULTS = dict(
    name="sgd", learning_rate=0.01, momentum=0.0, weight_decay=0.0, clip_norm=0.0,
    b1=0.9, b2=0.999, eps=1e-8, rms_decay=0.9, schedule="constant", decay_rate=0.1,
    decay_epochs=10, warmup_epochs=0, total_epochs=0, decay_after_epochs=0,
    end_factor=0.0,
)


def optimizer_config(**overrides) -> dict:
    """The default optimizer fields with ``overrides`` applied (unknown fields rejected)."""
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise ConfigError(f"unknown optimizer field(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    return {**DEFAULTS, **overrides}


def _get(cfg: Mapping[str, Any], key: str):
    try:
        return cfg[key]
    except (KeyError, AttributeError):
        return DEFAULTS[key]


def lr_factor_schedule(cfg: Mapping[str, Any], steps_per_epoch: int) -> optax.Schedule:
    """Multiplier of the base learning rate as a function of the update count."""
    schedule = _get(cfg, "schedule")
    if schedule not in SCHEDULES:
        raise ConfigError(f"optimizer.schedule={schedule!r} is not one of {list(SCHEDULES)}")
    if steps_per_epoch < 1:
        raise ConfigError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
    if schedule == "constant":
        return optax.constant_schedule(1.0)
    if schedule in ("step", "exponential"):
        epochs = int(_get(cfg, "decay_epochs"))
        if epochs < 1:
            raise ConfigError(f"optimizer.decay_epochs must be >= 1 for schedule {schedule!r}, got {epochs}")
        rate = float(_get(cfg, "decay_rate"))
        if not rate > 0:
            # optax.exponential_decay silently turns decay_rate=0 into a constant schedule.
            raise ConfigError(f"optimizer.decay_rate must be > 0 for schedule {schedule!r}, got {rate}")
        return optax.exponential_decay(
            1.0, transition_steps=epochs * steps_per_epoch, decay_rate=rate,
            staircase=(schedule == "step"))
    if schedule == "constant_then_exponential":
        after = int(_get(cfg, "decay_after_epochs"))
        rate = float(_get(cfg, "decay_rate"))
        if after < 0:
            raise ConfigError(f"optimizer.decay_after_epochs must be >= 0, got {after}")
        if not rate > 0:
            raise ConfigError(f"optimizer.decay_rate must be > 0 for schedule {schedule!r}, got {rate}")

        def constant_then_exponential(count):
            epoch = count // steps_per_epoch
            return jnp.asarray(rate, jnp.float32) ** jnp.maximum(0, epoch - after + 1).astype(jnp.float32)

        return constant_then_exponential
    total = int(_get(cfg, "total_epochs"))
    warmup = int(_get(cfg, "warmup_epochs"))
    if total <= warmup:
        raise ConfigError(
            f"warmup_cosine needs optimizer.total_epochs > optimizer.warmup_epochs, got {total} and {warmup}")
    end = float(_get(cfg, "end_factor"))
    if not 0.0 <= end <= 1.0:
        raise ConfigError(f"optimizer.end_factor must be in [0, 1], got {end}")
    return optax.warmup_cosine_decay_schedule(
        0.0, 1.0, warmup_steps=warmup * steps_per_epoch, decay_steps=total * steps_per_epoch, end_value=end)


def check_optimizer_keys(cfg: Mapping[str, Any]) -> None:
    """ConfigError naming any key of ``cfg`` that is not an optimizer field (with the closest
    known one), and any numeric field that is not a finite number: a misspelled ``momentun``
    must not silently train plain SGD."""
    try:
        keys = list(cfg.keys())
    except AttributeError:
        raise ConfigError(f"optimizer config must be a mapping of fields, got {type(cfg).__name__}") from None
    for key in keys:
        if key not in DEFAULTS:
            close = difflib.get_close_matches(str(key), list(DEFAULTS), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown optimizer field {key!r}.{hint} Known fields: {sorted(DEFAULTS)}")
        default, value = DEFAULTS[key], cfg[key]
        if isinstance(default, (int, float)) and not isinstance(default, bool) and value is not None:
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise ConfigError(f"optimizer.{key}={value!r}: expected a finite number")
            if isinstance(default, int) and not isinstance(default, bool) and int(value) != value:
                raise ConfigError(f"optimizer.{key}={value!r}: expected a whole number (epochs are counted)")


def make_optimizer(cfg: Mapping[str, Any], steps_per_epoch: int = 1) -> optax.GradientTransformation:
    """An optax transformation (with injected hyperparameters) described by ``cfg``; unknown
    fields and out-of-range values raise :class:`~jaxml.train.errors.ConfigError` naming them."""
    check_optimizer_keys(cfg)
    name = _get(cfg, "name")
    if name not in OPTIMIZERS:
        raise ConfigError(f"optimizer.name={name!r} is not one of {list(OPTIMIZERS)}")
    lr = float(_get(cfg, "learning_rate"))
    if not lr > 0:
        raise ConfigError(f"optimizer.learning_rate must be > 0, got {lr}")
    momentum = float(_get(cfg, "momentum"))
    if not 0.0 <= momentum < 1.0:
        raise ConfigError(f"optimizer.momentum must be in [0, 1), got {momentum}")
    weight_decay = float(_get(cfg, "weight_decay"))
    clip = float(_get(cfg, "clip_norm") or 0.0)
    for key, value in (("weight_decay", weight_decay), ("clip_norm", clip),
                       ("warmup_epochs", _get(cfg, "warmup_epochs")), ("eps", _get(cfg, "eps"))):
        if value < 0:
            raise ConfigError(f"optimizer.{key} must be >= 0, got {value}")
    for key in ("b1", "b2", "rms_decay"):
        if not 0.0 <= float(_get(cfg, key)) < 1.0:
            raise ConfigError(f"optimizer.{key} must be in [0, 1), got {_get(cfg, key)}")
    b1, b2, eps = float(_get(cfg, "b1")), float(_get(cfg, "b2")), float(_get(cfg, "eps"))
    rms_decay = float(_get(cfg, "rms_decay"))
    factor = lr_factor_schedule(cfg, steps_per_epoch)
    uses_momentum = name in ("momentum", "nesterov") or (name in ("sgd", "rmsprop") and momentum > 0)
    uses_decay = weight_decay > 0 or name == "adamw"

    def build(learning_rate, momentum=None, weight_decay=None):
        rate = lambda count: learning_rate * factor(count)  # noqa: E731
        parts = []
        if clip > 0:
            parts.append(optax.clip_by_global_norm(clip))
        if weight_decay is not None and name != "adamw":
            parts.append(optax.add_decayed_weights(weight_decay))
        if name in ("sgd", "momentum", "nesterov"):
            parts.append(optax.sgd(rate, momentum=momentum, nesterov=(name == "nesterov")))
        elif name == "rmsprop":
            parts.append(optax.rmsprop(rate, decay=rms_decay, eps=eps, momentum=momentum))
        elif name == "adam":
            parts.append(optax.adam(rate, b1=b1, b2=b2, eps=eps))
        else:
            parts.append(optax.adamw(rate, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay))
        return optax.chain(*parts)

    hyper = {"learning_rate": lr}
    if uses_momentum:
        hyper["momentum"] = momentum
    if uses_decay:
        hyper["weight_decay"] = weight_decay
    return optax.inject_hyperparams(build)(**hyper)


def set_hyperparams(opt_state, **values):
    """Return ``opt_state`` with injected hyperparameters replaced (traced values allowed).

    Raises ValueError naming the hyperparameters the optimizer has when one is unknown
    (e.g. sweeping ``momentum`` over plain SGD configured with momentum 0).
    """
    hyper = getattr(opt_state, "hyperparams", None)
    if hyper is None:
        raise ConfigError("optimizer state has no injected hyperparameters; build it with make_optimizer")
    for key in values:
        if key not in hyper:
            raise ConfigError(
                f"cannot set hyperparameter {key!r}: this optimizer has {sorted(hyper)}. "
                "(momentum exists for name='momentum'/'nesterov' or momentum > 0; weight_decay for "
                "weight_decay > 0 or adamw)")
    new = dict(hyper)
    for key, value in values.items():
        new[key] = jnp.asarray(value, dtype=jnp.asarray(hyper[key]).dtype)
    return opt_state._replace(hyperparams=new)
