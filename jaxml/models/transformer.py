"""A decoder-only GPT (character or token level) and compiled-once sampling.

:class:`GPT`: token embedding (V, D) + learned position embedding (block_size, D) -> dropout ->
``num_layers`` pre-LayerNorm blocks ``x + Attn(LN(x))``, ``x + MLP(LN(x))`` (causal multi-head
self-attention from :mod:`jaxml.models.attention`; MLP D -> 4D GELU -> D) -> final LayerNorm ->
linear head to V logits. Dropout (``dropout_rate``, ``train=True``, rng "dropout") on the
embeddings, the attention weights, and each block's two residual branches, as nanoGPT.
Weights N(0, 0.02), residual output projections N(0, 0.02/sqrt(2·num_layers)), biases zero.

:func:`make_generate` returns ``generate(params, rng, prompt, max_new_tokens, temperature=1.0,
top_k=0)``: autoregressive sampling of ``max_new_tokens`` tokens after ``prompt`` (int (B, P) or
(P,)). The whole loop is one jitted ``lax.fori_loop`` over a fixed buffer of
``max(P + max_new_tokens, block_size)`` tokens: each step reads the last ``block_size`` tokens
written so far (a ``dynamic_slice``; positions past the written part are hidden by the causal
mask), samples from ``softmax(logits / temperature)`` restricted to the ``top_k`` most likely
tokens (0 = all), and writes the token. ``temperature`` and ``top_k`` are traced, so new values,
prompts of the same length and new keys reuse the compiled program (one compile per
(B, P, max_new_tokens)); ``generate.cache_size()`` reports the number of compiled programs.
"""
from __future__ import annotations

import math

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxml.models.attention import MultiHeadSelfAttention

__all__ = ["GPT", "Block", "make_generate"]


class Block(nn.Module):
    """Pre-LayerNorm transformer block over x (B, T, D)."""

    num_heads: int
    num_layers: int = 1
    dropout_rate: float = 0.0
    mlp_ratio: int = 4

    @nn.compact
    def __call__(self, x_BxTxD, train: bool = False):
        d = x_BxTxD.shape[-1]
        init = nn.initializers.normal(0.02)
        proj_init = nn.initializers.normal(0.02 / math.sqrt(2 * self.num_layers))
        drop = nn.Dropout(self.dropout_rate, deterministic=not train)
        h = nn.LayerNorm(name="ln_1")(x_BxTxD)
        h = MultiHeadSelfAttention(self.num_heads, causal=True, dropout_rate=self.dropout_rate,
                                   kernel_init=init, out_kernel_init=proj_init, name="attn")(h, train=train)
        x_BxTxD = x_BxTxD + drop(h)
        h = nn.LayerNorm(name="ln_2")(x_BxTxD)
        h = nn.gelu(nn.Dense(self.mlp_ratio * d, kernel_init=init, name="mlp_fc")(h))
        h = nn.Dense(d, kernel_init=proj_init, name="mlp_proj")(h)
        return x_BxTxD + drop(h)


class GPT(nn.Module):
    """tokens (B, T), T <= block_size -> logits (B, T, vocab_size)."""

    vocab_size: int
    block_size: int
    num_layers: int = 4
    num_heads: int = 4
    embed_dim: int = 64
    dropout_rate: float = 0.0

    @nn.compact
    def __call__(self, idx_BxT, train: bool = False):
        if idx_BxT.ndim != 2 or not jnp.issubdtype(idx_BxT.dtype, jnp.integer):
            raise ValueError(f"GPT expects integer tokens of shape (B, T), got {idx_BxT.dtype} {idx_BxT.shape}")
        b, t = idx_BxT.shape
        if t > self.block_size:
            raise ValueError(f"GPT: sequence length {t} exceeds block_size {self.block_size}")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"GPT: embed_dim={self.embed_dim} is not divisible by num_heads={self.num_heads}")
        init = nn.initializers.normal(0.02)
        tok_VxD = self.param("wte", init, (self.vocab_size, self.embed_dim))
        pos_TxD = self.param("wpe", init, (self.block_size, self.embed_dim))
        x = jnp.take(tok_VxD, idx_BxT, axis=0) + pos_TxD[None, :t]
        x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
        for i in range(self.num_layers):
            x = Block(self.num_heads, self.num_layers, self.dropout_rate, name=f"block_{i}")(x, train=train)
        x = nn.LayerNorm(name="ln_f")(x)
        logits = nn.Dense(self.vocab_size, kernel_init=init, name="lm_head")(x)
        chex.assert_shape(logits, (b, t, self.vocab_size))
        return logits


def _filter_top_k(logits_BxV, k):
    """Logits outside each row's k largest set to -inf; k <= 0 or k >= V keeps all (k traced)."""
    v = logits_BxV.shape[-1]
    k = jnp.where((k <= 0) | (k > v), v, k)
    kth = jnp.take_along_axis(jnp.sort(logits_BxV, axis=-1), jnp.broadcast_to(v - k, logits_BxV.shape[:-1] + (1,)),
                              axis=-1)
    return jnp.where(logits_BxV < kth, -jnp.inf, logits_BxV)


def make_generate(model: GPT):
    """``generate(params, rng, prompt, max_new_tokens, temperature=1.0, top_k=0) -> tokens``.

    ``prompt``: int (B, P) or (P,) with 1 <= P; returns int32 (B, P + max_new_tokens) (or 1-D for a
    1-D prompt): the prompt followed by the sampled tokens. See the module docstring.
    """
    block = model.block_size

    def core(params, rng, prompt_BxP, temperature, top_k, max_new_tokens):
        b, p = prompt_BxP.shape
        total = p + max_new_tokens
        size = max(total, block)
        buf_BxL = jnp.zeros((b, size), jnp.int32).at[:, :p].set(prompt_BxP.astype(jnp.int32))

        def body(pos, buf_BxL):
            start = jnp.clip(pos - block, 0, size - block)
            window_BxT = jax.lax.dynamic_slice(buf_BxL, (0, start), (b, block))
            logits_BxTxV = model.apply({"params": params}, window_BxT, train=False)
            last_BxV = jax.lax.dynamic_index_in_dim(logits_BxTxV, pos - 1 - start, axis=1, keepdims=False)
            last_BxV = _filter_top_k(last_BxV / temperature, top_k)
            token_B = jax.random.categorical(jax.random.fold_in(rng, pos), last_BxV, axis=-1)
            return jax.lax.dynamic_update_slice(buf_BxL, token_B[:, None].astype(jnp.int32), (0, pos))

        buf_BxL = jax.lax.fori_loop(p, total, body, buf_BxL)
        return buf_BxL[:, :total]

    jitted = jax.jit(core, static_argnames=("max_new_tokens",))

    def generate(params, rng, prompt, max_new_tokens: int, temperature: float = 1.0, top_k: int = 0):
        prompt = jnp.asarray(prompt)
        squeeze = prompt.ndim == 1
        prompt_BxP = prompt[None] if squeeze else prompt
        if prompt_BxP.ndim != 2 or prompt_BxP.shape[1] < 1 or not jnp.issubdtype(prompt_BxP.dtype, jnp.integer):
            raise ValueError(f"generate: prompt must be integer tokens (P,) or (B, P) with P >= 1, got "
                             f"{prompt.dtype} {prompt.shape}")
        if int(max_new_tokens) < 1:
            raise ValueError(f"generate: max_new_tokens must be >= 1, got {max_new_tokens}")
        if not float(temperature) > 0:
            raise ValueError(f"generate: temperature must be > 0, got {temperature}")
        out = jitted(params, rng, prompt_BxP, jnp.float32(temperature), jnp.int32(top_k or 0),
                     max_new_tokens=int(max_new_tokens))
        return out[0] if squeeze else out

    generate.cache_size = jitted._cache_size  # number of compiled programs (for no-recompile tests)
    return generate
