"""Which formulation computes an attention layer's output: ours written out, or ``jax.nn.dot_product_attention``.

- ``"plain"``: :func:`jaxml.models.attention.scaled_dot_product_attention` (scores, masks, softmax and
  A V written out; the only one that returns the weights A or applies dropout to them).
- ``"xla"``: ``jax.nn.dot_product_attention(..., implementation="xla")``, JAX's own XLA formulation.
- ``"cudnn"``: ``jax.nn.dot_product_attention(..., implementation="cudnn")``, cuDNN's fused (flash)
  attention kernel on NVIDIA GPUs: float16/bfloat16 inputs, head size a multiple of 8 up to 128; JAX
  raises where cuDNN does not apply.
- ``"auto"`` (the default of the attention modules): "cudnn" on a GPU backend when the layer needs
  neither the weights nor attention dropout, its inputs are float16/bfloat16, its head size fits and
  it has no key/value cache; "plain" otherwise. On the CPU "plain" is the faster of the two written-out
  formulations (bench/attention.py and bench/README.md, "Attention formulations").

All of them compute the same function of the same parameters (``tests/models/test_attention_impl.py``
compares them; on a GPU the cuDNN one too). Shapes: q (B, H, T, d_h), k and v (B, H, S, d_h), the
layout of :mod:`jaxml.models.attention`; ``jax.nn.dot_product_attention`` takes (B, T, H, d_h), so the
axes are swapped on the way in and out.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["ATTENTION_IMPLS", "choose_attention_impl", "jax_attention"]

ATTENTION_IMPLS = ("auto", "plain", "xla", "cudnn")
CUDNN_DTYPES = (jnp.float16, jnp.bfloat16)


def choose_attention_impl(impl: str, *, dtype, head_dim: int, need_weights: bool = False, dropout: bool = False,
                          cache: bool = False) -> str:
    """The concrete formulation ("plain" | "xla" | "cudnn") that ``impl`` stands for in this layer call.

    ``need_weights``: the caller wants A back; ``dropout``: attention dropout is applied in this call;
    ``cache``: the call attends over a key/value cache. Asking for "xla" or "cudnn" where the weights or
    dropout are needed is an error (only "plain" provides them)."""
    if impl not in ATTENTION_IMPLS:
        raise ValueError(f"unknown attention implementation {impl!r}; expected one of {list(ATTENTION_IMPLS)}")
    if impl == "auto":
        fits = (jnp.dtype(dtype) in [jnp.dtype(d) for d in CUDNN_DTYPES] and head_dim % 8 == 0
                and head_dim <= 128)
        use_cudnn = jax.default_backend() == "gpu" and fits and not (need_weights or dropout or cache)
        return "cudnn" if use_cudnn else "plain"
    if impl != "plain" and (need_weights or dropout):
        wanted = "the attention weights" if need_weights else "attention dropout"
        raise ValueError(f"attention_impl={impl!r} cannot provide {wanted}: use 'plain' (or 'auto', which does)")
    return impl


def jax_attention(q_BxHxTxK, k_BxHxSxK, v_BxHxSxK, *, causal: bool = False, mask=None,
                  implementation: str = "xla"):
    """``softmax(Q Kᵀ / sqrt(d_h)) V`` (B, H, T, d_h) through ``jax.nn.dot_product_attention``.

    ``mask``: bool, broadcastable to (B, H, T, S) (fewer leading axes allowed), True = may attend;
    ``causal``: query t sees keys s <= t. ``implementation``: "xla" or "cudnn"."""
    if implementation not in ("xla", "cudnn"):
        raise ValueError(f"jax_attention: implementation must be 'xla' or 'cudnn', got {implementation!r}")
    if mask is not None:
        mask = jnp.asarray(mask, bool)
        mask = mask.reshape((1,) * (4 - mask.ndim) + mask.shape)
        # cuDNN takes a mask as a bias of full (T, S) extent (a (B, 1, 1, S) padding mask is refused).
        t, s = q_BxHxTxK.shape[-2], k_BxHxSxK.shape[-2]
        mask = jnp.broadcast_to(mask, mask.shape[:2] + (t, s))
    swap = lambda a: jnp.swapaxes(a, 1, 2)  # noqa: E731  (B, H, T, d) <-> (B, T, H, d)
    z_BxTxHxK = jax.nn.dot_product_attention(swap(q_BxHxTxK), swap(k_BxHxSxK), swap(v_BxHxSxK), mask=mask,
                                             is_causal=causal, implementation=implementation)
    return swap(z_BxTxHxK)
