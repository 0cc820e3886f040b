"""Compiled text generation for GPT-2 with a key/value cache: prefill once, then one token per step.

``generate = make_generate(model)`` (a :class:`jaxml.models.gpt2.GPT2`), then
``generate(params, input_ids, attention_mask=None, *, max_new_tokens=None, max_length=None,
do_sample=False, temperature=1.0, top_k=0, top_p=1.0, num_return_sequences=1, eos_token_id=None,
pad_token_id=None, rng=None)`` -> int32 (B * num_return_sequences, P + n) as Hugging Face's
``generate`` returns: each (left-padded) prompt followed by its new tokens; after a row's EOS the
rest of it is ``pad_token_id``; n < max_new_tokens when every row has stopped.

How: prompts of different lengths are left-padded (``attention_mask`` 0 on the padding; positions
count real tokens only, :func:`jaxml.models.gpt2.positions_from_mask`), and further left-padded to
a multiple of ``bucket`` tokens, so one compiled program serves every prompt length in a bucket
(padded keys are masked: the numbers do not change). The program (one per (B, bucket, max_new_tokens)):
prefill the cache with the prompt, pick token 0 from its last logits, then a ``lax.while_loop`` of
single-token steps until ``max_new_tokens`` or every row has emitted EOS. Token i is drawn with
``fold_in(rng, i)``; greedy/temperature/top-k/top-p are traced arguments
(:func:`jaxml.models.sampling.next_token`). ``use_cache=False`` re-runs the whole sequence every step
(the reference the cached program equals token for token, tested).

Checks before anything compiles: ids outside [0, vocab) -> :class:`~jaxml.models.sampling.TokenIdError`;
top_k < 0, top_p outside (0, 1], temperature <= 0 (when sampling), bad lengths or counts ->
:class:`~jaxml.models.sampling.SamplingConfigError` (both ValueErrors naming the argument and value).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.models.gpt2 import GPT2, init_cache, positions_from_mask
from jaxml.models.sampling import SamplingConfigError, TokenIdError, check_sampling, check_token_ids, next_token

__all__ = ["make_generate"]


def make_generate(model: GPT2, use_cache: bool = True, bucket: int = 8):
    """The ``generate`` function for ``model`` (see the module docstring); ``generate.cache_size()``
    counts its compiled programs."""
    config = model.config

    def core(params, rng, ids_BxP, mask_BxP, greedy, temperature, top_k, top_p, eos_id, pad_id, max_new):
        b, p = ids_BxP.shape
        s = p + max_new
        full_mask_BxS = jnp.concatenate([mask_BxP, jnp.ones((b, max_new), mask_BxP.dtype)], axis=1)
        out_BxS = jnp.concatenate([ids_BxP, jnp.full((b, max_new), pad_id, jnp.int32)], axis=1)
        positions_BxS = positions_from_mask(full_mask_BxS)
        apply = lambda *a, **k: model.apply({"params": params}, *a, **k)  # noqa: E731

        if use_cache:
            cache = init_cache(config, b, s, model.dtype or jnp.float32)
            logits_BxPxV, cache = apply(ids_BxP, full_mask_BxS, positions_BxS[:, :p], cache=cache)
            last_BxV = logits_BxPxV[:, -1]
        else:
            cache = ()
            last_BxV = apply(ids_BxP, mask_BxP, positions_BxS[:, :p])[:, -1]

        def choose(i, last_BxV, out_BxS, done_B):
            tok_B = next_token(jax.random.fold_in(rng, i), last_BxV, greedy=greedy, temperature=temperature,
                               top_k=top_k, top_p=top_p)
            tok_B = jnp.where(done_B, pad_id, tok_B)
            out_BxS = jax.lax.dynamic_update_slice(out_BxS, tok_B[:, None], (0, p + i))
            return out_BxS, done_B | ((tok_B == eos_id) & (eos_id >= 0))

        out_BxS, done_B = choose(0, last_BxV, out_BxS, jnp.zeros((b,), bool))

        def cond(carry):
            i, _, _, done_B = carry
            return (i < max_new) & ~jnp.all(done_B)

        def body(carry):
            i, out_BxS, cache, done_B = carry
            if use_cache:  # one new token (slot p + i - 1) against the cache
                prev_Bx1 = jax.lax.dynamic_slice(out_BxS, (0, p + i - 1), (b, 1))
                pos_Bx1 = jax.lax.dynamic_slice(positions_BxS, (0, p + i - 1), (b, 1))
                logits_Bx1xV, cache = apply(prev_Bx1, full_mask_BxS, pos_Bx1, cache=cache)
                last_BxV = logits_Bx1xV[:, 0]
            else:  # the whole buffer again (slots after p + i - 1 are hidden by the causal mask)
                logits_BxSxV = apply(out_BxS, full_mask_BxS, positions_BxS)
                last_BxV = jax.lax.dynamic_index_in_dim(logits_BxSxV, p + i - 1, axis=1, keepdims=False)
            out_BxS, done_B = choose(i, last_BxV, out_BxS, done_B)
            return i + 1, out_BxS, cache, done_B

        n, out_BxS, _, _ = jax.lax.while_loop(cond, body, (jnp.int32(1), out_BxS, cache, done_B))
        return out_BxS, n

    jitted = jax.jit(core, static_argnames=("max_new",))

    def generate(params, input_ids, attention_mask=None, *, max_new_tokens=None, max_length=None, do_sample=False,
                 temperature=1.0, top_k=0, top_p=1.0, num_return_sequences=1, eos_token_id=None, pad_token_id=None,
                 rng=None):
        ids = np.asarray(input_ids)
        ids = ids[None] if ids.ndim == 1 else ids
        if ids.ndim != 2 or ids.shape[1] < 1:
            raise SamplingConfigError(f"input_ids must have shape (P,) or (B, P) with P >= 1, got "
                                      f"{np.shape(input_ids)}")
        mask = np.ones(ids.shape, np.int32) if attention_mask is None else np.asarray(attention_mask)
        mask = mask[None] if mask.ndim == 1 else mask
        if mask.shape != ids.shape:
            raise SamplingConfigError(f"attention_mask must have input_ids' shape {ids.shape}, got {mask.shape}")
        mask = (mask != 0).astype(np.int32)
        check_token_ids(ids, config.vocab_size, "input_ids", mask=mask)
        if (np.diff(mask, axis=1) < 0).any() or (mask.sum(1) == 0).any():
            raise SamplingConfigError("attention_mask: every prompt needs >= 1 token and left padding (0s before "
                                      "the 1s); right-padded prompts would continue after their padding")
        b, p = ids.shape
        if max_new_tokens is not None and max_length is not None:
            raise SamplingConfigError(f"give max_new_tokens ({max_new_tokens}) or max_length ({max_length}), not both")
        if max_new_tokens is None:
            if max_length is None:
                raise SamplingConfigError("give max_new_tokens or max_length")
            max_new_tokens = int(max_length) - p
            if max_new_tokens < 1:
                raise SamplingConfigError(f"max_length={max_length} leaves no room after the prompt's {p} tokens")
        if isinstance(max_new_tokens, bool) or int(max_new_tokens) < 1:
            raise SamplingConfigError(f"max_new_tokens must be >= 1, got {max_new_tokens!r}")
        max_new = int(max_new_tokens)
        if int(num_return_sequences) < 1:
            raise SamplingConfigError(f"num_return_sequences must be >= 1, got {num_return_sequences!r}")
        check_sampling(temperature=temperature, top_k=top_k, top_p=top_p, greedy=not do_sample)
        eos = config.eos_token_id if eos_token_id is None else eos_token_id
        eos = -1 if eos is None else int(eos)
        if eos >= config.vocab_size:
            raise TokenIdError(f"eos_token_id must lie in [0, {config.vocab_size}), got {eos}")
        pad = pad_token_id if pad_token_id is not None else (config.pad_token_id if config.pad_token_id is not None
                                                              else max(eos, 0))
        if p + max_new > config.n_positions:
            raise SamplingConfigError(f"prompt length {p} + max_new_tokens {max_new} exceeds n_positions="
                                      f"{config.n_positions}")
        width = min(-(-p // bucket) * bucket, config.n_positions - max_new)  # left-pad into a bucket
        extra = width - p
        ids_in = np.concatenate([np.full((b, extra), pad, np.int32), ids.astype(np.int32)], axis=1)
        mask_in = np.concatenate([np.zeros((b, extra), np.int32), mask], axis=1)
        r = int(num_return_sequences)
        ids_in, mask_in = np.repeat(ids_in, r, axis=0), np.repeat(mask_in, r, axis=0)
        rng = jax.random.key(0) if rng is None else rng
        out, n = jitted(params, rng, jnp.asarray(ids_in), jnp.asarray(mask_in), jnp.bool_(not do_sample),
                        jnp.float32(temperature), jnp.int32(top_k), jnp.float32(top_p), jnp.int32(eos),
                        jnp.int32(pad), max_new=max_new)
        return np.asarray(out)[:, extra:width + int(n)]

    generate.cache_size = jitted._cache_size
    return generate

