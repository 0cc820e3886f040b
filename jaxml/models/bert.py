"""BERT (and RoBERTa): a post-LayerNorm encoder with a masked-language-model head, in Linen.

``Bert(config)(input_ids_BxT, attention_mask_BxT=None, token_type_ids_BxT=None, position_ids_BxT=None)``
-> MLM logits (B, T, V):

- embeddings: word (V, D) + position (P, D) + token type (types, D) -> LayerNorm -> dropout;
- ``num_hidden_layers`` post-LN blocks: ``x = LN(x + Attn(x))``, ``x = LN(x + W_2 GELU(W_1 x))``
  (bidirectional multi-head self-attention of :mod:`jaxml.models.attention`; padded keys hidden by
  ``attention_mask``, 1 = real, 0 = padding);
- MLM head: dense D -> D, GELU, LayerNorm, then ``x Eᵀ + b`` with E the word embedding (tied).

``return_hidden=True`` returns the encoder's output (B, T, D) instead of the logits.
RoBERTa is the configuration ``model_type="roberta"``: default positions count from
``pad_token_id + 1`` over the non-padding tokens (``(cumsum(ids != pad) * (ids != pad)) + pad``),
as Hugging Face's ``RobertaForMaskedLM``; BERT's are 0, 1, ... Same numbers as Hugging Face's
``BertForMaskedLM`` / ``RobertaForMaskedLM`` (checkpoints convert with :mod:`jaxml.pretrained.convert`).

Shapes: B batch, T tokens, D = hidden_size, V = vocab_size, P = max_position_embeddings.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import chex
import flax.linen as nn
import jax.numpy as jnp

from jaxml.models.attention import MultiHeadSelfAttention, padding_mask
from jaxml.models.attention_impl import ATTENTION_IMPLS
from jaxml.models.dropout import DROPOUT_IMPLS, Dropout

__all__ = ["BertConfig", "Bert", "BertLayer", "bert_positions"]

_ACTIVATIONS = {"gelu": lambda x: nn.gelu(x, approximate=False), "gelu_new": lambda x: nn.gelu(x, approximate=True),
                "relu": nn.relu}


@dataclasses.dataclass(frozen=True)
class BertConfig:
    """Hyperparameters, named as in Hugging Face's ``BertConfig`` (defaults: bert-base-uncased)."""

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    dropout_rate: float = 0.0  # embeddings, attention weights, residual branches (train=True only)
    dropout_impl: str = "hash"  # how masks are drawn: "hash" or "bernoulli" (jaxml.models.dropout)
    attention_impl: str = "auto"  # softmax(QK^T/sqrt(d))V formulation (jaxml.models.attention_impl)
    model_type: str = "bert"  # or "roberta"

    def __post_init__(self):
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"BertConfig: hidden_size={self.hidden_size} is not divisible by "
                             f"num_attention_heads={self.num_attention_heads}")
        if self.hidden_act not in _ACTIVATIONS:
            raise ValueError(f"BertConfig: hidden_act must be one of {sorted(_ACTIVATIONS)}, got {self.hidden_act!r}")
        if self.model_type not in ("bert", "roberta"):
            raise ValueError(f"BertConfig: model_type must be 'bert' or 'roberta', got {self.model_type!r}")
        if self.dropout_impl not in DROPOUT_IMPLS:
            raise ValueError(f"BertConfig: dropout_impl must be one of {list(DROPOUT_IMPLS)}, "
                             f"got {self.dropout_impl!r}")
        if self.attention_impl not in ATTENTION_IMPLS:
            raise ValueError(f"BertConfig: attention_impl must be one of {list(ATTENTION_IMPLS)}, "
                             f"got {self.attention_impl!r}")


def bert_positions(config: BertConfig, input_ids_BxT):
    """Default position ids int32 (B, T): 0..T-1 for BERT; RoBERTa's padding-aware ids (module docstring)."""
    b, t = input_ids_BxT.shape
    if config.model_type == "roberta":
        real = (input_ids_BxT != config.pad_token_id).astype(jnp.int32)
        return jnp.cumsum(real, axis=-1) * real + config.pad_token_id
    return jnp.broadcast_to(jnp.arange(t, dtype=jnp.int32)[None, :], (b, t))


class BertLayer(nn.Module):
    """Post-LN encoder block over x (B, T, D)."""

    config: BertConfig
    dtype: Any = None
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x_BxTxD, mask=None, train: bool = False):
        c = self.config
        init = nn.initializers.normal(0.02)
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        norm = dict(epsilon=c.layer_norm_eps, use_fast_variance=False, **kw)
        drop = Dropout(c.dropout_rate, deterministic=not train, impl=c.dropout_impl)
        h = MultiHeadSelfAttention(c.num_attention_heads, dropout_rate=c.dropout_rate,
                                   dropout_impl=c.dropout_impl, attention_impl=c.attention_impl, kernel_init=init,
                                   name="attention", **kw)(x_BxTxD, train=train, mask=mask)
        x_BxTxD = nn.LayerNorm(name="attention_ln", **norm)(x_BxTxD + drop(h))
        h = nn.Dense(c.intermediate_size, kernel_init=init, name="intermediate", **kw)(x_BxTxD)
        h = _ACTIVATIONS[c.hidden_act](h)
        h = nn.Dense(c.hidden_size, kernel_init=init, name="output", **kw)(h)
        return nn.LayerNorm(name="output_ln", **norm)(x_BxTxD + drop(h))


class Bert(nn.Module):
    """input_ids (B, T) -> masked-LM logits float32 (B, T, V) (or hidden states (B, T, D))."""

    config: BertConfig
    dtype: Any = None
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, input_ids_BxT, attention_mask_BxT=None, token_type_ids_BxT=None, position_ids_BxT=None,
                 train: bool = False, return_hidden: bool = False):
        c = self.config
        if input_ids_BxT.ndim != 2 or not jnp.issubdtype(input_ids_BxT.dtype, jnp.integer):
            raise ValueError(f"Bert expects integer input_ids of shape (B, T), got {input_ids_BxT.dtype} "
                             f"{input_ids_BxT.shape}")
        b, t = input_ids_BxT.shape
        offset = c.pad_token_id + 1 if c.model_type == "roberta" else 0
        if t + offset > c.max_position_embeddings:
            raise ValueError(f"Bert: sequence length {t} exceeds max_position_embeddings="
                             f"{c.max_position_embeddings}" + (f" - {offset} (RoBERTa's offset)" if offset else ""))
        for name, a in (("attention_mask", attention_mask_BxT), ("token_type_ids", token_type_ids_BxT),
                        ("position_ids", position_ids_BxT)):
            if a is not None:
                chex.assert_shape(a, (b, t), custom_message=name)
        if position_ids_BxT is None:
            position_ids_BxT = bert_positions(c, input_ids_BxT)
        if token_type_ids_BxT is None:
            token_type_ids_BxT = jnp.zeros((b, t), jnp.int32)
        init = nn.initializers.normal(0.02)
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        norm = dict(epsilon=c.layer_norm_eps, use_fast_variance=False, **kw)
        word_VxD = self.param("word_embeddings", init, (c.vocab_size, c.hidden_size), self.param_dtype)
        pos_PxD = self.param("position_embeddings", init, (c.max_position_embeddings, c.hidden_size), self.param_dtype)
        type_YxD = self.param("token_type_embeddings", init, (c.type_vocab_size, c.hidden_size), self.param_dtype)
        x_BxTxD = (jnp.take(word_VxD, input_ids_BxT, axis=0) + jnp.take(pos_PxD, position_ids_BxT, axis=0)
                   + jnp.take(type_YxD, token_type_ids_BxT, axis=0))
        x_BxTxD = nn.LayerNorm(name="embeddings_ln", **norm)(x_BxTxD)
        x_BxTxD = Dropout(c.dropout_rate, deterministic=not train, impl=c.dropout_impl)(x_BxTxD)
        mask = None if attention_mask_BxT is None else padding_mask(attention_mask_BxT)
        for i in range(c.num_hidden_layers):
            x_BxTxD = BertLayer(c, self.dtype, self.param_dtype, name=f"layer_{i}")(x_BxTxD, mask=mask, train=train)
        if return_hidden:
            return x_BxTxD
        # Masked-LM head: transform, then the tied decoder x Eᵀ + b.
        h = nn.Dense(c.hidden_size, kernel_init=init, name="mlm_dense", **kw)(x_BxTxD)
        h = nn.LayerNorm(name="mlm_ln", **norm)(_ACTIVATIONS[c.hidden_act](h))
        bias_V = self.param("mlm_bias", nn.initializers.zeros, (c.vocab_size,), self.param_dtype)
        h, word_VxD, bias_V = nn.dtypes.promote_dtype(h, word_VxD, bias_V, dtype=self.dtype)
        logits_BxTxV = (jnp.einsum("btd,vd->btv", h, word_VxD) + bias_V[None, None, :]).astype(jnp.float32)
        chex.assert_shape(logits_BxTxV, (b, t, c.vocab_size))
        return logits_BxTxV
