"""Choosing the next token from logits, and the checks every sampler runs on its arguments first.

- :func:`filter_top_k`: logits outside each row's k largest set to -inf (k traced; 0 = keep all).
- :func:`filter_top_p`: nucleus filtering: keep the smallest set of most likely tokens whose
  probability reaches ``top_p`` (the most likely token always stays; 1.0 = keep all).
- :func:`next_token`: greedy (argmax) or a draw from ``softmax(filter(logits / temperature))``,
  temperature, top-k and top-p applied in that order (as Hugging Face's ``generate``); every
  argument traced, so one compiled program serves all settings.
- :func:`check_token_ids`, :func:`check_sampling`: the up-front checks. Bad values raise
  :class:`TokenIdError` / :class:`SamplingConfigError` (both ``ValueError``) naming the argument
  and the value, instead of NaNs or silently clipped gathers inside the compiled loop.

Shapes: B rows, V vocabulary.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["TokenIdError", "SamplingConfigError", "filter_top_k", "filter_top_p", "next_token", "check_token_ids",
           "check_sampling"]


class TokenIdError(ValueError):
    """A token id outside [0, vocab_size)."""


class SamplingConfigError(ValueError):
    """A sampling argument out of its range (top_k, top_p, temperature, lengths, counts)."""


def filter_top_k(logits_BxV, k):
    """Logits outside each row's k largest set to -inf; k <= 0 or k >= V keeps all (k may be traced)."""
    v = logits_BxV.shape[-1]
    k = jnp.where((k <= 0) | (k > v), v, k)
    kth = jnp.take_along_axis(jnp.sort(logits_BxV, axis=-1), jnp.broadcast_to(v - k, logits_BxV.shape[:-1] + (1,)),
                              axis=-1)
    return jnp.where(logits_BxV < kth, -jnp.inf, logits_BxV)


def filter_top_p(logits_BxV, p):
    """Nucleus filtering: keep token j when the probability of the tokens ranked above it is < p
    (so the top token always stays); the others -> -inf. p >= 1 keeps all (p may be traced)."""
    order_BxV = jnp.argsort(-logits_BxV, axis=-1)
    sorted_BxV = jnp.take_along_axis(logits_BxV, order_BxV, axis=-1)
    probs_BxV = jax.nn.softmax(sorted_BxV, axis=-1)
    above_BxV = jnp.cumsum(probs_BxV, axis=-1) - probs_BxV
    keep_sorted_BxV = (above_BxV < p) | (p >= 1.0)
    keep_BxV = jnp.zeros_like(keep_sorted_BxV).at[jnp.arange(logits_BxV.shape[0])[:, None], order_BxV].set(
        keep_sorted_BxV)
    return jnp.where(keep_BxV, logits_BxV, -jnp.inf)


def next_token(key, logits_BxV, *, greedy, temperature=1.0, top_k=0, top_p=1.0):
    """int32 (B,): argmax when ``greedy`` (traced bool), else a categorical draw from the filtered,
    tempered logits with ``key``. The filters run only when they filter (``lax.cond``: sorting the
    vocabulary every step is the most expensive part of a small model's decoding step)."""
    logits_BxV = logits_BxV.astype(jnp.float32)
    v = logits_BxV.shape[-1]

    def sample():
        x_BxV = logits_BxV / temperature
        x_BxV = jax.lax.cond((top_k > 0) & (top_k < v), lambda: filter_top_k(x_BxV, top_k), lambda: x_BxV)
        x_BxV = jax.lax.cond(top_p < 1.0, lambda: filter_top_p(x_BxV, top_p), lambda: x_BxV)
        return jax.random.categorical(key, x_BxV, axis=-1).astype(jnp.int32)

    return jax.lax.cond(greedy, lambda: jnp.argmax(logits_BxV, axis=-1).astype(jnp.int32), sample)


def check_token_ids(ids, vocab_size: int, name: str = "input_ids", mask=None):
    """Raise :class:`TokenIdError` naming ``name`` and the first bad value and its place when an
    id (where ``mask`` is nonzero, if given) lies outside [0, vocab_size)."""
    ids = np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer):
        raise TokenIdError(f"{name} must be integer token ids, got dtype {ids.dtype}")
    bad = (ids < 0) | (ids >= vocab_size)
    if mask is not None:
        bad &= np.asarray(mask) != 0
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise TokenIdError(f"{name} must lie in [0, {vocab_size}) (the vocabulary); got {int(ids[where])} at "
                           f"index {where}")


def check_sampling(*, temperature=1.0, top_k=0, top_p=1.0, greedy=False):
    """Raise :class:`SamplingConfigError` naming the argument when ``top_k < 0`` or not an integer,
    ``top_p`` outside (0, 1], or (when sampling) ``temperature <= 0``."""
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 0:
        raise SamplingConfigError(f"top_k must be an integer >= 0 (0 = no top-k filtering), got {top_k!r}")
    if not 0.0 < float(top_p) <= 1.0:
        raise SamplingConfigError(f"top_p must be in (0, 1] (1 = no nucleus filtering), got {top_p!r}")
    if not greedy and not float(temperature) > 0.0:
        raise SamplingConfigError(f"temperature must be > 0, got {temperature!r}")
