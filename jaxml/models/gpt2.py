"""GPT-2: a pre-LayerNorm decoder with tied input/output embeddings, in Linen.

``GPT2(config)(input_ids_BxT, attention_mask_BxS=None, position_ids_BxT=None, cache=None)``:
token embedding ``wte`` (V, D) + learned position embedding ``wpe`` (P, D) -> dropout ->
``n_layer`` blocks ``x + Attn(LN_1(x))``, ``x + MLP(LN_2(x))`` (causal multi-head self-attention of
:mod:`jaxml.models.attention`; MLP D -> 4D GELU-tanh -> D) -> ``ln_f`` -> logits ``x wteᵀ`` (V,)
(the output layer is the token embedding, tied). The same architecture and numbers as Hugging Face's
``GPT2LMHeadModel`` (checkpoints convert with :mod:`jaxml.pretrained.convert`).

Padding: ``attention_mask_BxS`` (1 = real, 0 = padding) hides padded keys; with left padding pass
``position_ids`` so real tokens keep positions 0, 1, ... (:func:`positions_from_mask`).
Cache: ``cache`` is a tuple of one :class:`~jaxml.models.attention.KVCache` per layer
(:func:`init_cache`); the call then returns ``(logits, new_cache)``, the attention mask covers the
cache's S slots, and default positions continue from the cache's index.

Shapes: B batch, T new tokens, S cache slots, D = n_embd, V = vocab_size, P = n_positions.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import chex
import flax.linen as nn
import jax.numpy as jnp

from jaxml.models.attention import KVCache, MultiHeadSelfAttention, padding_mask
from jaxml.models.attention import init_cache as _init_layer_cache
from jaxml.models.attention_impl import ATTENTION_IMPLS
from jaxml.models.dropout import DROPOUT_IMPLS, Dropout

__all__ = ["GPT2Config", "GPT2", "GPT2Block", "init_cache", "positions_from_mask"]


@dataclasses.dataclass(frozen=True)
class GPT2Config:
    """Hyperparameters, named as in Hugging Face's ``GPT2Config`` (defaults: GPT-2 small)."""

    vocab_size: int = 50257
    n_positions: int = 1024
    n_embd: int = 768
    n_layer: int = 12
    n_head: int = 12
    n_inner: int | None = None  # MLP width; None = 4 * n_embd
    layer_norm_epsilon: float = 1e-5
    dropout_rate: float = 0.0  # embeddings, attention weights, residual branches (train=True only)
    dropout_impl: str = "hash"  # how masks are drawn: "hash" or "bernoulli" (jaxml.models.dropout)
    attention_impl: str = "auto"  # softmax(QK^T/sqrt(d))V formulation (jaxml.models.attention_impl)
    bos_token_id: int | None = 50256
    eos_token_id: int | None = 50256
    pad_token_id: int | None = None

    def __post_init__(self):
        if self.n_embd % self.n_head:
            raise ValueError(f"GPT2Config: n_embd={self.n_embd} is not divisible by n_head={self.n_head}")
        for name in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"GPT2Config: {name} must be >= 1, got {getattr(self, name)}")
        if self.dropout_impl not in DROPOUT_IMPLS:
            raise ValueError(f"GPT2Config: dropout_impl must be one of {list(DROPOUT_IMPLS)}, "
                             f"got {self.dropout_impl!r}")
        if self.attention_impl not in ATTENTION_IMPLS:
            raise ValueError(f"GPT2Config: attention_impl must be one of {list(ATTENTION_IMPLS)}, "
                             f"got {self.attention_impl!r}")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


def init_cache(config: GPT2Config, batch: int, max_length: int, dtype=jnp.float32) -> tuple[KVCache, ...]:
    """An empty cache of ``max_length`` slots for every layer."""
    if max_length > config.n_positions:
        raise ValueError(f"init_cache: max_length={max_length} exceeds n_positions={config.n_positions}")
    return tuple(_init_layer_cache(batch, config.n_head, max_length, config.head_dim, dtype)
                 for _ in range(config.n_layer))


def positions_from_mask(attention_mask_BxT):
    """Position ids int32 (B, T) for left-padded rows: real tokens count 0, 1, ...; padding gets 0
    (padded keys are masked, so their positions never matter)."""
    m = jnp.asarray(attention_mask_BxT).astype(jnp.int32)
    return jnp.maximum(jnp.cumsum(m, axis=-1) - 1, 0)


class GPT2Block(nn.Module):
    """``x + Attn(LN_1(x))`` then ``x + MLP(LN_2(x))`` over x (B, T, D)."""

    config: GPT2Config
    dtype: Any = None
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x_BxTxD, mask=None, cache=None, train: bool = False):
        c = self.config
        init = nn.initializers.normal(0.02)
        proj_init = nn.initializers.normal(0.02 / math.sqrt(2 * c.n_layer))
        drop = Dropout(c.dropout_rate, deterministic=not train, impl=c.dropout_impl)
        norm = dict(epsilon=c.layer_norm_epsilon, dtype=self.dtype, param_dtype=self.param_dtype,
                    use_fast_variance=False)
        dense = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        h = nn.LayerNorm(name="ln_1", **norm)(x_BxTxD)
        h = MultiHeadSelfAttention(c.n_head, causal=True, dropout_rate=c.dropout_rate,
                                   dropout_impl=c.dropout_impl, attention_impl=c.attention_impl, kernel_init=init,
                                   out_kernel_init=proj_init, name="attn", **dense)(h, train=train, mask=mask,
                                                                                    cache=cache)
        if cache is not None:
            h, cache = h
        x_BxTxD = x_BxTxD + drop(h)
        h = nn.LayerNorm(name="ln_2", **norm)(x_BxTxD)
        h = nn.gelu(nn.Dense(c.n_inner or 4 * c.n_embd, kernel_init=init, name="c_fc", **dense)(h), approximate=True)
        h = nn.Dense(c.n_embd, kernel_init=proj_init, name="c_proj", **dense)(h)
        x_BxTxD = x_BxTxD + drop(h)
        return x_BxTxD if cache is None else (x_BxTxD, cache)


class GPT2(nn.Module):
    """input_ids (B, T) -> logits float32 (B, T, V); with ``cache``: ``(logits, new_cache)``."""

    config: GPT2Config
    dtype: Any = None  # computation dtype, e.g. jnp.bfloat16 (logits are returned in float32)
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, input_ids_BxT, attention_mask_BxS=None, position_ids_BxT=None, cache=None,
                 train: bool = False):
        c = self.config
        if input_ids_BxT.ndim != 2 or not jnp.issubdtype(input_ids_BxT.dtype, jnp.integer):
            raise ValueError(f"GPT2 expects integer input_ids of shape (B, T), got {input_ids_BxT.dtype} "
                             f"{input_ids_BxT.shape}")
        b, t = input_ids_BxT.shape
        if cache is not None and len(cache) != c.n_layer:
            raise ValueError(f"GPT2: cache has {len(cache)} layers, the model {c.n_layer}")
        s = t if cache is None else cache[0].k_BxHxSxK.shape[2]
        if s > c.n_positions:
            raise ValueError(f"GPT2: sequence length {s} exceeds n_positions={c.n_positions}")
        if attention_mask_BxS is not None:
            chex.assert_shape(attention_mask_BxS, (b, s))
        if position_ids_BxT is None:
            offset = 0 if cache is None else cache[0].index
            position_ids_BxT = jnp.broadcast_to(offset + jnp.arange(t)[None, :], (b, t))
        chex.assert_shape(position_ids_BxT, (b, t))
        init = nn.initializers.normal(0.02)
        wte_VxD = self.param("wte", init, (c.vocab_size, c.n_embd), self.param_dtype)
        wpe_PxD = self.param("wpe", nn.initializers.normal(0.01), (c.n_positions, c.n_embd), self.param_dtype)
        x_BxTxD = jnp.take(wte_VxD, input_ids_BxT, axis=0) + jnp.take(wpe_PxD, position_ids_BxT, axis=0)
        if self.dtype is not None:
            x_BxTxD = x_BxTxD.astype(self.dtype)
        x_BxTxD = Dropout(c.dropout_rate, deterministic=not train, impl=c.dropout_impl)(x_BxTxD)
        mask = None if attention_mask_BxS is None else padding_mask(attention_mask_BxS)
        new_cache = []
        for i in range(c.n_layer):
            block = GPT2Block(c, self.dtype, self.param_dtype, name=f"h_{i}")
            if cache is None:
                x_BxTxD = block(x_BxTxD, mask=mask, train=train)
            else:
                x_BxTxD, layer_cache = block(x_BxTxD, mask=mask, cache=cache[i], train=train)
                new_cache.append(layer_cache)
        x_BxTxD = nn.LayerNorm(epsilon=c.layer_norm_epsilon, dtype=self.dtype, param_dtype=self.param_dtype,
                               use_fast_variance=False, name="ln_f")(x_BxTxD)
        # Tied output layer: logits = x wteᵀ.
        x_BxTxD, wte_VxD = nn.dtypes.promote_dtype(x_BxTxD, wte_VxD, dtype=self.dtype)
        logits_BxTxV = jnp.einsum("btd,vd->btv", x_BxTxD, wte_VxD).astype(jnp.float32)
        chex.assert_shape(logits_BxTxV, (b, t, c.vocab_size))
        return logits_BxTxV if cache is None else (logits_BxTxV, tuple(new_cache))
