"""The next-word model of Hinton's family-tree / trigram exercise: three words in, the fourth out.

:class:`TrigramMLP`: context word ids (B, 3) -> one shared embedding matrix E (V, D) applied to
each word -> the three D-vectors concatenated (B, 3D) (``combine="sum"``: summed, (B, D)) ->
Dense(P) with a logistic sigmoid -> Dense(V) logits (softmax in the loss). All weights
N(0, init_std²) (default 0.01), biases zero. ``dtype`` is the computation dtype (e.g.
``jnp.bfloat16``), ``param_dtype`` the parameters' (float32 by default); the logits are cast to
float32 after the output layer (the softmax cross-entropy follows).

Parameter count: V·D + (3D or D)·P + P + P·V + V; for V = 250, D = 32, P = 256 (concat):
8,000 + 24,832 + 64,250 = 97,082.

:func:`top_k_words` turns logits into the k most probable next words with their probabilities.
"""
from __future__ import annotations

from typing import Any, Sequence

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["TrigramMLP", "top_k_words", "COMBINE"]

COMBINE = ("concat", "sum")


class TrigramMLP(nn.Module):
    vocab_size: int = 250
    embed_dim: int = 32
    hidden: int = 256
    combine: str = "concat"
    context: int = 3
    init_std: float = 0.01
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, ctx_BxC, train: bool = False):
        if self.combine not in COMBINE:
            raise ValueError(f"TrigramMLP.combine must be one of {list(COMBINE)}, got {self.combine!r}")
        if ctx_BxC.ndim != 2 or ctx_BxC.shape[1] != self.context or not jnp.issubdtype(ctx_BxC.dtype, jnp.integer):
            raise ValueError(f"TrigramMLP expects integer word ids of shape (B, {self.context}), got "
                             f"{ctx_BxC.dtype} {ctx_BxC.shape}")
        b = ctx_BxC.shape[0]
        init = nn.initializers.normal(self.init_std)
        emb_VxD = self.param("embedding", init, (self.vocab_size, self.embed_dim), self.param_dtype)
        e_BxCxD = jnp.take(emb_VxD, ctx_BxC, axis=0).astype(self.dtype)
        if self.combine == "concat":
            e = e_BxCxD.reshape(b, self.context * self.embed_dim)
        else:
            e = e_BxCxD.sum(axis=1)
        kw = dict(kernel_init=init, dtype=self.dtype, param_dtype=self.param_dtype)
        h_BxP = jax.nn.sigmoid(nn.Dense(self.hidden, name="hidden", **kw)(e))
        logits_BxV = nn.Dense(self.vocab_size, name="output", **kw)(h_BxP).astype(jnp.float32)
        chex.assert_shape(logits_BxV, (b, self.vocab_size))
        return logits_BxV


def top_k_words(logits_V, vocab: Sequence[str], k: int = 10) -> list[tuple[str, float]]:
    """The ``k`` most probable words under ``softmax(logits_V)``, most probable first."""
    logits = np.asarray(logits_V, np.float64).reshape(-1)
    if logits.shape[0] != len(vocab):
        raise ValueError(f"top_k_words: {logits.shape[0]} logits for a vocabulary of {len(vocab)} words")
    p = np.exp(logits - logits.max())
    p /= p.sum()
    order = np.argsort(-p, kind="stable")[:k]
    return [(vocab[i], float(p[i])) for i in order]
