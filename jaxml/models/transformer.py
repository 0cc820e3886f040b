"""A decoder-only GPT (character or token level) and compiled-once sampling.

:class:`GPT`: token embedding (V, D) + learned position embedding (block_size, D) -> dropout ->
``num_layers`` pre-LayerNorm blocks ``x + Attn(LN(x))``, ``x + MLP(LN(x))`` (causal multi-head
self-attention from :mod:`jaxml.models.attention`; MLP D -> 4D GELU -> D) -> final LayerNorm ->
linear head to V logits. Dropout (``dropout_rate``, ``train=True``, rng "dropout") on the
embeddings, the attention weights, and each block's two residual branches, as nanoGPT; the masks
come from :mod:`jaxml.models.dropout` (``dropout_impl``: "hash", the default, or "bernoulli").
Weights N(0, 0.02), residual output projections N(0, 0.02/sqrt(2·num_layers)), biases zero.
``dtype`` is the computation dtype (``jnp.bfloat16``: embeddings, blocks and head in bfloat16;
LayerNorm statistics and the attention softmax are computed in float32 by flax / ``attention``),
``param_dtype`` the parameters' (float32 by default). ``GPT`` casts its logits to float32 after
``lm_head`` (the loss follows); a key/value cache keeps the dtype it was made with.

:func:`make_generate` returns ``generate(params, rng, prompt, max_new_tokens, temperature=1.0,
top_k=0)``: autoregressive sampling of ``max_new_tokens`` tokens after ``prompt`` (int (B, P) or
(P,)), from ``softmax(logits / temperature)`` restricted to the ``top_k`` most likely tokens (0 = all),
token at position ``pos`` drawn with ``fold_in(rng, pos)``. The whole loop is one jitted program
over a fixed buffer of ``max(P + max_new_tokens, block_size)`` tokens:

- while the context fits the block (positions <= block_size), with a key/value cache
  (:class:`jaxml.models.attention.KVCache`, ``GPT(..., cache=...)``): the prompt is run once
  (prefill), then each step runs the block on the one new token;
- past block_size the learned positions shift with the window, so cached keys go stale: each
  further step re-runs the model on the last ``block_size`` tokens (a ``dynamic_slice``).

``make_generate(model, use_cache=False)`` re-runs the window for every token (the reference the
cached sampler equals token for token, tested). ``temperature`` and ``top_k`` are traced, so new
values, prompts of the same length and new keys reuse the compiled program (one compile per
(B, P, max_new_tokens)); ``generate.cache_size()`` reports the number of compiled programs.
Prompt tokens outside [0, vocab_size) raise :class:`jaxml.models.sampling.TokenIdError`, ``top_k < 0``
:class:`~jaxml.models.sampling.SamplingConfigError` (both ValueErrors) before anything runs.
"""
from __future__ import annotations

import math
from typing import Any

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxml.models.attention import MultiHeadSelfAttention, init_cache
from jaxml.models.dropout import Dropout
from jaxml.models.sampling import check_sampling, check_token_ids, filter_top_k

__all__ = ["GPT", "Block", "make_generate"]


class Block(nn.Module):
    """Pre-LayerNorm transformer block over x (B, T, D)."""

    num_heads: int
    num_layers: int = 1
    dropout_rate: float = 0.0
    mlp_ratio: int = 4
    dropout_impl: str = "hash"
    attention_impl: str = "auto"
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x_BxTxD, train: bool = False, cache=None):
        """x (B, T, D) -> (B, T, D); with a :class:`~jaxml.models.attention.KVCache`: ``(x, new_cache)``."""
        d = x_BxTxD.shape[-1]
        init = nn.initializers.normal(0.02)
        proj_init = nn.initializers.normal(0.02 / math.sqrt(2 * self.num_layers))
        drop = Dropout(self.dropout_rate, deterministic=not train, impl=self.dropout_impl)
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        h = nn.LayerNorm(name="ln_1", **kw)(x_BxTxD)
        h = MultiHeadSelfAttention(self.num_heads, causal=True, dropout_rate=self.dropout_rate,
                                   dropout_impl=self.dropout_impl, attention_impl=self.attention_impl,
                                   kernel_init=init, out_kernel_init=proj_init, name="attn", **kw)(
            h, train=train, cache=cache)
        if cache is not None:
            h, cache = h
        x_BxTxD = x_BxTxD + drop(h)
        h = nn.LayerNorm(name="ln_2", **kw)(x_BxTxD)
        h = nn.gelu(nn.Dense(self.mlp_ratio * d, kernel_init=init, name="mlp_fc", **kw)(h))
        h = nn.Dense(d, kernel_init=proj_init, name="mlp_proj", **kw)(h)
        x_BxTxD = x_BxTxD + drop(h)
        return x_BxTxD if cache is None else (x_BxTxD, cache)


class GPT(nn.Module):
    """tokens (B, T), T <= block_size -> logits (B, T, vocab_size).

    ``cache``: a tuple of one :class:`~jaxml.models.attention.KVCache` per block (``init_cache(B,
    num_heads, block_size, embed_dim // num_heads)`` each); the tokens then sit at positions
    ``cache.index + t`` and the call returns ``(logits, new_cache)``."""

    vocab_size: int
    block_size: int
    num_layers: int = 4
    num_heads: int = 4
    embed_dim: int = 64
    dropout_rate: float = 0.0
    dropout_impl: str = "hash"
    attention_impl: str = "auto"
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, idx_BxT, train: bool = False, cache=None):
        if idx_BxT.ndim != 2 or not jnp.issubdtype(idx_BxT.dtype, jnp.integer):
            raise ValueError(f"GPT expects integer tokens of shape (B, T), got {idx_BxT.dtype} {idx_BxT.shape}")
        b, t = idx_BxT.shape
        if t > self.block_size:
            raise ValueError(f"GPT: sequence length {t} exceeds block_size {self.block_size}")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"GPT: embed_dim={self.embed_dim} is not divisible by num_heads={self.num_heads}")
        init = nn.initializers.normal(0.02)
        tok_VxD = self.param("wte", init, (self.vocab_size, self.embed_dim), self.param_dtype)
        pos_TxD = self.param("wpe", init, (self.block_size, self.embed_dim), self.param_dtype)
        if cache is None:
            pos_BxTxD = pos_TxD[None, :t]
        else:
            pos_BxTxD = jax.lax.dynamic_slice_in_dim(pos_TxD, cache[0].index, t, axis=0)[None]
        x = (jnp.take(tok_VxD, idx_BxT, axis=0) + pos_BxTxD).astype(self.dtype)
        x = Dropout(self.dropout_rate, deterministic=not train, impl=self.dropout_impl)(x)
        new_cache = []
        for i in range(self.num_layers):
            block = Block(self.num_heads, self.num_layers, self.dropout_rate, dropout_impl=self.dropout_impl,
                          attention_impl=self.attention_impl, dtype=self.dtype, param_dtype=self.param_dtype,
                          name=f"block_{i}")
            if cache is None:
                x = block(x, train=train)
            else:
                x, layer_cache = block(x, train=train, cache=cache[i])
                new_cache.append(layer_cache)
        x = nn.LayerNorm(name="ln_f", dtype=self.dtype, param_dtype=self.param_dtype)(x)
        logits = nn.Dense(self.vocab_size, kernel_init=init, dtype=self.dtype, param_dtype=self.param_dtype,
                          name="lm_head")(x).astype(jnp.float32)
        chex.assert_shape(logits, (b, t, self.vocab_size))
        return logits if cache is None else (logits, tuple(new_cache))


def make_generate(model: GPT, use_cache: bool = True):
    """``generate(params, rng, prompt, max_new_tokens, temperature=1.0, top_k=0) -> tokens``.

    ``prompt``: int (B, P) or (P,) with 1 <= P; returns int32 (B, P + max_new_tokens) (or 1-D for a
    1-D prompt): the prompt followed by the sampled tokens. See the module docstring.
    """
    block = model.block_size
    head_dim = model.embed_dim // model.num_heads

    def core(params, rng, prompt_BxP, temperature, top_k, max_new_tokens):
        b, p = prompt_BxP.shape
        total = p + max_new_tokens
        size = max(total, block)
        buf_BxL = jnp.zeros((b, size), jnp.int32).at[:, :p].set(prompt_BxP.astype(jnp.int32))

        def write(buf_BxL, pos, last_BxV):
            last_BxV = filter_top_k(last_BxV / temperature, top_k)
            token_B = jax.random.categorical(jax.random.fold_in(rng, pos), last_BxV, axis=-1)
            return jax.lax.dynamic_update_slice(buf_BxL, token_B[:, None].astype(jnp.int32), (0, pos))

        def window_body(pos, buf_BxL):
            start = jnp.clip(pos - block, 0, size - block)
            window_BxT = jax.lax.dynamic_slice(buf_BxL, (0, start), (b, block))
            logits_BxTxV = model.apply({"params": params}, window_BxT, train=False)
            return write(buf_BxL, pos, jax.lax.dynamic_index_in_dim(logits_BxTxV, pos - 1 - start, axis=1,
                                                                    keepdims=False))

        first_window = p
        if use_cache and p <= block:
            # Positions p .. min(total - 1, block) see the whole prefix: prefill once, then one token a step.
            cache = tuple(init_cache(b, model.num_heads, block, head_dim) for _ in range(model.num_layers))
            logits_BxPxV, cache = model.apply({"params": params}, prompt_BxP.astype(jnp.int32), cache=cache)
            buf_BxL = write(buf_BxL, p, logits_BxPxV[:, -1])
            last_cached = min(total - 1, block)

            def cached_body(pos, carry):
                buf_BxL, cache = carry
                prev_Bx1 = jax.lax.dynamic_slice(buf_BxL, (0, pos - 1), (b, 1))
                logits_Bx1xV, cache = model.apply({"params": params}, prev_Bx1, cache=cache)
                return write(buf_BxL, pos, logits_Bx1xV[:, 0]), cache

            buf_BxL, _ = jax.lax.fori_loop(p + 1, last_cached + 1, cached_body, (buf_BxL, cache))
            first_window = last_cached + 1
        buf_BxL = jax.lax.fori_loop(first_window, total, window_body, buf_BxL)
        return buf_BxL[:, :total]

    jitted = jax.jit(core, static_argnames=("max_new_tokens",))

    def generate(params, rng, prompt, max_new_tokens: int, temperature: float = 1.0, top_k: int = 0):
        prompt = jnp.asarray(prompt)
        squeeze = prompt.ndim == 1
        prompt_BxP = prompt[None] if squeeze else prompt
        if prompt_BxP.ndim != 2 or prompt_BxP.shape[1] < 1 or not jnp.issubdtype(prompt_BxP.dtype, jnp.integer):
            raise ValueError(f"generate: prompt must be integer tokens (P,) or (B, P) with P >= 1, got "
                             f"{prompt.dtype} {prompt.shape}")
        check_token_ids(prompt_BxP, model.vocab_size, name="prompt")
        if int(max_new_tokens) < 1:
            raise ValueError(f"generate: max_new_tokens must be >= 1, got {max_new_tokens}")
        check_sampling(temperature=temperature, top_k=top_k or 0)
        out = jitted(params, rng, prompt_BxP, jnp.float32(temperature), jnp.int32(top_k or 0),
                     max_new_tokens=int(max_new_tokens))
        return out[0] if squeeze else out

    generate.cache_size = jitted._cache_size  # number of compiled programs (for no-recompile tests)
    return generate
