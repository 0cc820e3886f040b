"""Attention written out: Q/K/V projections, scaled dot-product attention, multi-head self-attention.

Pure functions first, then one Flax module built from them.

- :func:`qkv`: ``Q = X W_Q``, ``K = X W_K``, ``V = X W_V`` for X (..., T, D), W (D, d_k) or (D, d_v).
- :func:`scaled_dot_product_attention`: ``A = softmax(Q Kᵀ / sqrt(d_k))`` (softmax over the keys,
  the last axis) and ``Z = A V``; returns both ``(Z, A)``. ``causal=True`` lets query t see only
  keys s <= t; ``mask`` (broadcastable to (..., T_q, T_k), True = may attend) adds any other mask.
- :func:`multi_head_self_attention`: per head h, ``Z_h = attention(X W_Q^h, X W_K^h, X W_V^h)``;
  the heads are concatenated along features and multiplied by ``W_O``.
- :class:`MultiHeadSelfAttention`: the same as a module. Its parameters are laid out exactly like
  ``flax.linen.MultiHeadDotProductAttention``'s (``query``/``key``/``value``: kernel (D, H, d_h),
  bias (H, d_h); ``out``: kernel (H, d_h, D_out), bias (D_out,)), so the two give the same output
  for the same weights (tested).

- :class:`KVCache` / :func:`init_cache`: keys and values of the tokens seen so far, (B, H, S, d_h)
  buffers of S slots and the number of slots written; ``MultiHeadSelfAttention(..., cache=c)``
  writes the new tokens' keys/values at slot ``c.index`` and attends over the buffer (query at slot
  ``c.index + t`` sees slots ``<= c.index + t`` when causal), returning ``(out, new cache)``:
  prefill a prompt once, then one token per step (GPT-2 and the char GPT's samplers).
- :func:`padding_mask`: an attention mask (B, S) of 1 = real token, 0 = padding, as the (B, 1, 1, S)
  bool mask the functions above take (no query attends to a padded key).

The whole path of one attention layer, for GPT-2 (:mod:`jaxml.models.gpt2`) and BERT
(:mod:`jaxml.models.bert`) alike: projections ``_DenseHeads`` -> (cache write) -> scores
``Q Kᵀ / sqrt(d_k)`` -> masks (causal, padding) -> softmax over keys -> ``A V`` -> heads
concatenated and multiplied by W_O in ``_OutHeads`` (see docs/attention.md).

Shapes: B batch, T sequence length, D model width, H heads, d_h = qkv_features / H per head.
Masked scores are set to the most negative float of their dtype (not -inf), so a row with every key masked
gives a uniform row instead of NaN. Scores and softmax are computed in at least float32 (bf16
inputs are upcast there and the weights cast back).
"""
from __future__ import annotations

import math
from typing import Any

import chex
import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp

from jaxml.models.attention_impl import choose_attention_impl, jax_attention
from jaxml.models.dropout import keep_mask

__all__ = [
    "qkv",
    "causal_mask",
    "scaled_dot_product_attention",
    "multi_head_self_attention",
    "MultiHeadSelfAttention",
    "KVCache",
    "init_cache",
    "padding_mask",
]


def qkv(x_TxD, Wq_DxK, Wk_DxK, Wv_DxV):
    """``(Q, K, V) = (X W_Q, X W_K, X W_V)``; X may have leading batch axes (..., T, D)."""
    d = x_TxD.shape[-1]
    for name, w in (("Wq", Wq_DxK), ("Wk", Wk_DxK), ("Wv", Wv_DxV)):
        if w.ndim != 2 or w.shape[0] != d:
            raise ValueError(f"qkv: {name} must have shape ({d}, d), matching x's last axis {d}; got {w.shape}")
    if Wq_DxK.shape != Wk_DxK.shape:
        raise ValueError(f"qkv: Wq and Wk must have the same shape (d_k is shared), got {Wq_DxK.shape} and "
                         f"{Wk_DxK.shape}")
    return x_TxD @ Wq_DxK, x_TxD @ Wk_DxK, x_TxD @ Wv_DxV


def causal_mask(t_q: int, t_k: int | None = None):
    """Bool (T_q, T_k): entry (t, s) is True when query t may see key s (s <= t)."""
    t_k = t_q if t_k is None else t_k
    return jnp.tril(jnp.ones((t_q, t_k), dtype=bool))


def scaled_dot_product_attention(q_TqxK, k_TkxK, v_TkxV, *, causal: bool = False, mask=None,
                                 dropout_rate: float = 0.0, dropout_rng=None, dropout_impl: str = "hash"):
    """``(Z (..., T_q, d_v), A (..., T_q, T_k))`` with ``A = softmax(Q Kᵀ / sqrt(d_k))``, ``Z = A V``.

    Leading axes (batch, heads) are shared by q, k and v. ``mask``: bool, broadcastable to A's
    shape, True where attention is allowed. ``dropout_rate`` > 0 with a ``dropout_rng`` drops
    attention weights (inverted dropout, mask from :func:`jaxml.models.dropout.keep_mask` with
    ``dropout_impl``) before they multiply V; the returned A is the undropped softmax.
    """
    if q_TqxK.shape[-1] != k_TkxK.shape[-1]:
        raise ValueError(f"attention: queries and keys need the same d_k, got {q_TqxK.shape} and {k_TkxK.shape}")
    if k_TkxK.shape[-2] != v_TkxV.shape[-2]:
        raise ValueError(f"attention: keys and values need the same length, got {k_TkxK.shape} and {v_TkxV.shape}")
    d_k = q_TqxK.shape[-1]
    # Scaling by 1/sqrt(d_k); scores in at least float32 (bf16 inputs upcast for the softmax).
    scores_TqxTk = jnp.einsum("...qd,...kd->...qk", q_TqxK, k_TkxK) / jnp.sqrt(jnp.asarray(d_k, q_TqxK.dtype))
    scores_TqxTk = scores_TqxTk.astype(jnp.promote_types(scores_TqxTk.dtype, jnp.float32))
    allowed = None
    if causal:
        allowed = _lead(causal_mask(q_TqxK.shape[-2], k_TkxK.shape[-2]), scores_TqxTk.ndim)
    if mask is not None:
        mask = _lead(jnp.asarray(mask), scores_TqxTk.ndim)
        allowed = mask if allowed is None else jnp.logical_and(allowed, mask)
    if allowed is not None:
        scores_TqxTk = jnp.where(allowed, scores_TqxTk, jnp.finfo(scores_TqxTk.dtype).min)
    a_TqxTk = jax.nn.softmax(scores_TqxTk, axis=-1)  # over the keys
    weights = a_TqxTk.astype(v_TkxV.dtype)
    if dropout_rate > 0.0 and dropout_rng is not None:
        keep = keep_mask(dropout_rng, dropout_rate, weights.shape, dropout_impl)
        weights = jnp.where(keep, weights / (1.0 - dropout_rate), 0.0)
    z_TqxV = jnp.einsum("...qk,...kv->...qv", weights, v_TkxV)
    return z_TqxV, a_TqxTk


def multi_head_self_attention(x_TxD, Wq_DxHxK, Wk_DxHxK, Wv_DxHxK, Wo_HxKxO, *, bq_HxK=None, bk_HxK=None,
                              bv_HxK=None, bo_O=None, causal: bool = False, mask=None):
    """Self-attention with H heads. Returns ``(out (..., T, D_out), A (..., H, T, T))``.

    Head h uses ``W_Q[:, h, :]`` etc.; ``concat_h(Z_h) @ W_O`` where W_O (H, d_h, D_out) is the
    (H * d_h, D_out) output matrix with its rows grouped by head. Optional biases as in flax.
    """
    if x_TxD.ndim < 2:
        raise ValueError(f"multi_head_self_attention expects x of shape (..., T, D), got {x_TxD.shape}")

    def project(w, b):
        y = jnp.einsum("...td,dhk->...htk", x_TxD, w)
        return y if b is None else y + _lead(b[:, None, :], y.ndim)

    q, k, v = project(Wq_DxHxK, bq_HxK), project(Wk_DxHxK, bk_HxK), project(Wv_DxHxK, bv_HxK)
    if mask is not None:
        mask = jnp.expand_dims(mask, -3) if mask.ndim >= 2 else mask
    z_HxTxK, a_HxTxT = scaled_dot_product_attention(q, k, v, causal=causal, mask=mask)
    out = jnp.einsum("...htk,hko->...to", z_HxTxK, Wo_HxKxO)
    return (out if bo_O is None else out + _lead(bo_O, out.ndim)), a_HxTxT


@flax.struct.dataclass
class KVCache:
    """Keys and values of one attention layer: ``k``/``v`` (B, H, S, d_h); ``index`` int32 (): slots
    ``[0, index)`` are written (the next tokens go to ``index``)."""

    k_BxHxSxK: jax.Array
    v_BxHxSxK: jax.Array
    index: jax.Array


def init_cache(batch: int, num_heads: int, max_length: int, head_dim: int, dtype=jnp.float32) -> KVCache:
    """An empty :class:`KVCache` of ``max_length`` slots."""
    zeros = jnp.zeros((batch, num_heads, max_length, head_dim), dtype)
    return KVCache(zeros, zeros, jnp.zeros((), jnp.int32))


def padding_mask(attention_mask_BxS):
    """(B, S) with 1 = real token, 0 = padding -> bool (B, 1, 1, S): no query sees a padded key."""
    if attention_mask_BxS.ndim != 2:
        raise ValueError(f"padding_mask expects an attention mask of shape (B, S), got {attention_mask_BxS.shape}")
    return (attention_mask_BxS != 0)[:, None, None, :]


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention over x (B, T, D) -> (B, T, out_features or D).

    Parameters as in ``flax.linen.MultiHeadDotProductAttention`` (see module docstring).
    ``causal``: each position attends to itself and earlier positions only.
    ``dropout_rate``: dropout on the attention weights when ``train=True`` (rng ``dropout``; mask
    by ``dropout_impl``, see :mod:`jaxml.models.dropout`).
    ``mask``: extra bool mask broadcastable to (B, H, T, T) (or (B, H, T, S) with a cache),
    True = may attend, e.g. :func:`padding_mask`.
    ``return_weights=True`` returns ``(out, A (B, H, T, T))``.
    ``cache``: a :class:`KVCache` of S slots; the call then returns ``(out, new_cache)`` (and the
    weights (B, H, T, S) last when asked): see the module docstring.
    ``dtype``: computation dtype (None: from the inputs and params); ``param_dtype``: the params'.
    ``attention_impl``: "auto" | "plain" | "xla" | "cudnn", which formulation computes softmax(QKᵀ/√d) V
    (:mod:`jaxml.models.attention_impl`; same parameters and results): "auto" uses cuDNN's fused kernel
    on a GPU where it applies (bf16/fp16, no weights returned, no attention dropout, no cache), the
    written-out one elsewhere.
    """

    num_heads: int
    qkv_features: int | None = None
    out_features: int | None = None
    use_bias: bool = True
    causal: bool = False
    dropout_rate: float = 0.0
    dropout_impl: str = "hash"
    attention_impl: str = "auto"
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
    out_kernel_init: nn.initializers.Initializer | None = None
    dtype: Any = None
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x_BxTxD, train: bool = False, mask=None, return_weights: bool = False,
                 cache: KVCache | None = None):
        if x_BxTxD.ndim != 3:
            raise ValueError(f"MultiHeadSelfAttention expects x of shape (B, T, D), got {x_BxTxD.shape}")
        b, t, d = x_BxTxD.shape
        features = self.qkv_features or d
        if features % self.num_heads:
            raise ValueError(f"qkv_features={features} is not divisible by num_heads={self.num_heads}")
        head_dim = features // self.num_heads
        out_dim = self.out_features or d

        def proj(name):
            # Parameter tree {name: {"kernel", "bias"}} as flax's DenseGeneral lays it out.
            return _DenseHeads(self.num_heads, head_dim, self.use_bias, self.kernel_init, self.dtype,
                               self.param_dtype, name=name)(x_BxTxD)

        q_BxHxTxK, k_BxHxTxK, v_BxHxTxK = proj("query"), proj("key"), proj("value")
        causal = self.causal
        if cache is not None:
            chex.assert_shape([cache.k_BxHxSxK, cache.v_BxHxSxK], (b, self.num_heads, None, head_dim))
            # Write the T new keys/values at slots [index, index + T); attend over all S slots.
            slot = (0, 0, cache.index, 0)
            k_BxHxSxK = jax.lax.dynamic_update_slice(cache.k_BxHxSxK, k_BxHxTxK.astype(cache.k_BxHxSxK.dtype), slot)
            v_BxHxSxK = jax.lax.dynamic_update_slice(cache.v_BxHxSxK, v_BxHxTxK.astype(cache.v_BxHxSxK.dtype), slot)
            q_pos_T = cache.index + jnp.arange(t)
            k_pos_S = jnp.arange(k_BxHxSxK.shape[2])
            # Causal by absolute slot; slots not yet written (>= index + T) are hidden either way.
            limit_T = q_pos_T if self.causal else jnp.full((t,), cache.index + t - 1)
            written_TxS = k_pos_S[None, :] <= limit_T[:, None]
            mask = written_TxS if mask is None else jnp.logical_and(_lead(written_TxS, 4), mask)
            k_BxHxTxK, v_BxHxTxK, causal = k_BxHxSxK, v_BxHxSxK, False
            cache = KVCache(k_BxHxSxK, v_BxHxSxK, cache.index + t)
        rng = self.make_rng("dropout") if (train and self.dropout_rate > 0.0) else None
        impl = choose_attention_impl(self.attention_impl, dtype=q_BxHxTxK.dtype, head_dim=head_dim,
                                     need_weights=return_weights, dropout=rng is not None, cache=cache is not None)
        if impl == "plain":
            z_BxHxTxK, a_BxHxTxT = scaled_dot_product_attention(
                q_BxHxTxK, k_BxHxTxK, v_BxHxTxK, causal=causal, mask=mask,
                dropout_rate=self.dropout_rate if train else 0.0, dropout_rng=rng, dropout_impl=self.dropout_impl)
        else:
            z_BxHxTxK = jax_attention(q_BxHxTxK, k_BxHxTxK, v_BxHxTxK, causal=causal, mask=mask, implementation=impl)
        out = _OutHeads(out_dim, self.use_bias, self.out_kernel_init or self.kernel_init, self.dtype,
                        self.param_dtype, name="out")(z_BxHxTxK)
        chex.assert_shape(out, (b, t, out_dim))
        result = (out,) if cache is None else (out, cache)
        result = result + (a_BxHxTxT,) if return_weights else result
        return result[0] if len(result) == 1 else result


class _DenseHeads(nn.Module):
    """x (B, T, D) -> (B, H, T, d_h) with kernel (D, H, d_h) and bias (H, d_h): the Q, K or V projection."""

    num_heads: int
    head_dim: int
    use_bias: bool
    kernel_init: nn.initializers.Initializer
    dtype: Any = None
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x_BxTxD):
        d = x_BxTxD.shape[-1]
        kernel = self.param("kernel", _fan_in_2d(self.kernel_init, d), (d, self.num_heads, self.head_dim),
                            self.param_dtype)
        bias = (self.param("bias", nn.initializers.zeros, (self.num_heads, self.head_dim), self.param_dtype)
                if self.use_bias else None)
        x_BxTxD, kernel, bias = nn.dtypes.promote_dtype(x_BxTxD, kernel, bias, dtype=self.dtype)
        y = jnp.einsum("btd,dhk->bhtk", x_BxTxD, kernel)
        return y if bias is None else y + bias[None, :, None, :]


class _OutHeads(nn.Module):
    """z (B, H, T, d_h) -> (B, T, D_out): concatenate heads, multiply by W_O (H, d_h, D_out)."""

    features: int
    use_bias: bool
    kernel_init: nn.initializers.Initializer
    dtype: Any = None
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, z_BxHxTxK):
        _, h, _, k = z_BxHxTxK.shape
        kernel = self.param("kernel", _fan_in_2d(self.kernel_init, h * k), (h, k, self.features), self.param_dtype)
        bias = self.param("bias", nn.initializers.zeros, (self.features,), self.param_dtype) if self.use_bias else None
        z_BxHxTxK, kernel, bias = nn.dtypes.promote_dtype(z_BxHxTxK, kernel, bias, dtype=self.dtype)
        # Head concatenation and W_O in one contraction over (h, k) = the H * d_h features.
        y = jnp.einsum("bhtk,hko->bto", z_BxHxTxK, kernel)
        return y if bias is None else y + bias[None, None, :]


def _lead(a, ndim: int):
    """``a`` with leading unit axes up to rank ``ndim`` (explicit broadcasting, no rank promotion)."""
    return a.reshape((1,) * (ndim - a.ndim) + a.shape)


def _fan_in_2d(init, fan_in: int):
    """Initialise a (fan_in-ish, ...) kernel as the equivalent 2-D (fan_in, fan_out) matrix,
    as flax's DenseGeneral does, so fan-based initializers see the true fan-in and fan-out."""

    def wrapped(key, shape, dtype=jnp.float32):
        flat = (fan_in, math.prod(shape) // fan_in)
        return init(key, flat, dtype).reshape(shape)

    return wrapped
