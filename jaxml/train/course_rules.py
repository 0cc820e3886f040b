"""The course's update rules written out as optax ``GradientTransformation``s (a teaching module).

Each rule is the formula from the course notes, one line per equation, returning the *change*
of the weights so that ``optax.apply_updates(w, updates)`` performs ``w += change``:

- :func:`sgd_momentum` (velocity form)::

      v = mu * v - lr * dw
      w += v

- :func:`rmsprop`::

      cache = d * cache + (1 - d) * dw**2
      w -= lr * dw / (sqrt(cache) + eps)

- :func:`adam` (bias-corrected; ``t`` is incremented *before* it is used)::

      t += 1
      m = b1 * m + (1 - b1) * dw
      v = b2 * v + (1 - b2) * dw**2
      m_hat = m / (1 - b1**t);  v_hat = v / (1 - b2**t)
      w -= lr * m_hat / (sqrt(v_hat) + eps)

Relation to optax's own rules (tested in ``tests/train/test_course_rules.py``):

- ``optax.sgd(lr, momentum=mu)`` keeps a *trace* ``tr = mu * tr + dw`` and moves by ``-lr * tr``.
  With a constant ``lr`` the two are the same rule after the change of variables ``v = -lr * tr``
  (equal updates from zero state). They part when ``lr`` changes during training: the velocity
  form keeps the old steps' ``lr`` inside ``v``; the trace form rescales the whole trace by the
  new ``lr``.
- ``optax.rmsprop(lr, decay=d, eps=eps)`` divides by ``sqrt(cache + eps)`` (eps *inside* the
  root) by default; ``eps_in_sqrt=False`` gives the course's ``sqrt(cache) + eps`` exactly.
  The two differ where ``cache`` is comparable to ``eps`` (tiny gradients): e.g. a first
  gradient of 1e-5 with d = 0.99 moves the weight by about 10 lr in the course's form and
  0.1 lr in optax's default.
- ``optax.adam(lr, b1, b2, eps)`` is the same rule (its count is incremented before the bias
  correction, eps outside the root, ``eps_root=0``).

Hyperparameters may be traced values, so ``optax.inject_hyperparams(sgd_momentum)(...)`` works
for sweeps. Here ``mu``/``d``/``b1``/``b2`` must lie in [0, 1) and ``lr``/``eps`` be >= 0;
Python numbers are checked up front (a ValueError names the argument).
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

__all__ = ["sgd_momentum", "rmsprop", "adam", "VelocityState", "CacheState", "AdamState"]


class VelocityState(NamedTuple):
    velocity: optax.Updates          # v, same tree as the params


class CacheState(NamedTuple):
    cache: optax.Updates             # running mean of dw**2


class AdamState(NamedTuple):
    t: jax.Array                     # int32 step count (number of updates made so far)
    m: optax.Updates                 # first moment
    v: optax.Updates                 # second moment


def _check(name: str, value, low: float, high: float | None, *, closed_high: bool = False) -> None:
    """Validate a Python number (traced values pass through unchecked)."""
    if isinstance(value, jax.core.Tracer) or not isinstance(value, (int, float)):
        return
    ok = value >= low and (high is None or (value <= high if closed_high else value < high))
    if not ok:
        upper = "" if high is None else (f", {high}]" if closed_high else f", {high})")
        interval = f"[{low}{upper}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")


def _zeros(params):
    return jax.tree_util.tree_map(jnp.zeros_like, params)


def sgd_momentum(learning_rate=1e-2, momentum=0.9) -> optax.GradientTransformation:
    """SGD with momentum, velocity form: ``v = mu*v - lr*dw; w += v`` (the update IS ``v``)."""
    _check("learning_rate", learning_rate, 0.0, None)
    _check("momentum", momentum, 0.0, 1.0)

    def init(params):
        return VelocityState(velocity=_zeros(params))

    def update(grads, state, params=None):
        del params
        v = jax.tree_util.tree_map(lambda v, g: momentum * v - learning_rate * g, state.velocity, grads)
        return v, VelocityState(velocity=v)

    return optax.GradientTransformation(init, update)


def rmsprop(learning_rate=1e-2, decay_rate=0.99, eps=1e-8) -> optax.GradientTransformation:
    """RMSProp: ``cache = d*cache + (1-d)*dw**2; w -= lr*dw/(sqrt(cache) + eps)``."""
    _check("learning_rate", learning_rate, 0.0, None)
    _check("decay_rate", decay_rate, 0.0, 1.0)
    _check("eps", eps, 0.0, None)

    def init(params):
        return CacheState(cache=_zeros(params))

    def update(grads, state, params=None):
        del params
        cache = jax.tree_util.tree_map(lambda c, g: decay_rate * c + (1 - decay_rate) * g * g, state.cache, grads)
        updates = jax.tree_util.tree_map(lambda c, g: -learning_rate * g / (jnp.sqrt(c) + eps), cache, grads)
        return updates, CacheState(cache=cache)

    return optax.GradientTransformation(init, update)


def adam(learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8) -> optax.GradientTransformation:
    """Adam with bias correction; ``t`` is incremented before it is used (the first update has t = 1)."""
    _check("learning_rate", learning_rate, 0.0, None)
    _check("beta1", beta1, 0.0, 1.0)
    _check("beta2", beta2, 0.0, 1.0)
    _check("eps", eps, 0.0, None)

    def init(params):
        return AdamState(t=jnp.zeros([], jnp.int32), m=_zeros(params), v=_zeros(params))

    def update(grads, state, params=None):
        del params
        t = state.t + 1
        m = jax.tree_util.tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, state.m, grads)
        v = jax.tree_util.tree_map(lambda v, g: beta2 * v + (1 - beta2) * g * g, state.v, grads)
        tf = t.astype(jnp.float32)
        correct1, correct2 = 1 - beta1 ** tf, 1 - beta2 ** tf

        def step(m, v):
            m_hat, v_hat = m / correct1.astype(m.dtype), v / correct2.astype(v.dtype)
            return -learning_rate * m_hat / (jnp.sqrt(v_hat) + eps)

        return jax.tree_util.tree_map(step, m, v), AdamState(t=t, m=m, v=v)

    return optax.GradientTransformation(init, update)
