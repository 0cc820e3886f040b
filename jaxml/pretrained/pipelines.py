"""The two Hugging Face pipelines the coursework uses, as plain functions on a jaxml model.

- :func:`fill_mask(model, params, tokenizer, text, top_k=5)`: for a text with one mask token, the
  ``top_k`` most likely fillers, best first, each ``{"score", "token", "token_str", "sequence"}`` as
  ``transformers.pipeline("fill-mask")`` returns them (score = softmax probability at the mask; the
  sequence is the text with the filler, special tokens dropped). With several masks: one such list per
  mask (special tokens kept in the sequences, as transformers does). A list of texts: one result each.
- :func:`generate_text(model, params, tokenizer, prompt, max_new_tokens=50, **sampling)`:
  ``[{"generated_text": prompt + continuation}, ...]`` (``num_return_sequences`` of them; a list of
  prompts gives one list each, generated as one left-padded batch) through
  :mod:`jaxml.pretrained.generate` (cached, compiled decoding).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.pretrained.generate import make_generate

__all__ = ["fill_mask", "generate_text"]

_APPLY, _GENERATE = {}, {}


def _apply(model):
    if model not in _APPLY:
        _APPLY[model] = jax.jit(lambda params, ids, mask: model.apply({"params": params}, ids, mask))
    return _APPLY[model]


def fill_mask(model, params, tokenizer, text, top_k: int = 5):
    """See the module docstring. ``model``: a :class:`jaxml.models.bert.Bert` (BERT or RoBERTa)."""
    if isinstance(text, (list, tuple)):
        return [fill_mask(model, params, tokenizer, t, top_k) for t in text]
    if tokenizer.mask_token_id is None:
        raise ValueError("fill_mask: the tokenizer has no mask token")
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ValueError(f"fill_mask: top_k must be an integer >= 1, got {top_k!r}")
    ids_T = np.asarray(tokenizer.encode(text), np.int32)
    where = np.flatnonzero(ids_T == tokenizer.mask_token_id)
    if where.size == 0:
        raise ValueError(f"fill_mask: no mask token {tokenizer.mask_token!r} in {text!r}")
    # Right-pad to a multiple of 8 tokens (masked keys: the same numbers), so texts of similar
    # lengths share one compiled forward pass.
    c = model.config
    limit = c.max_position_embeddings - (c.pad_token_id + 1 if c.model_type == "roberta" else 0)
    t = max(ids_T.size, min(-(-ids_T.size // 8) * 8, limit))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    padded_1xT = np.full((1, t), pad, np.int32)
    padded_1xT[0, :ids_T.size] = ids_T
    mask_1xT = (np.arange(t) < ids_T.size).astype(np.int32)[None]
    logits_TxV = _apply(model)(params, jnp.asarray(padded_1xT), jnp.asarray(mask_1xT))[0]
    probs_MxV = np.asarray(jax.nn.softmax(logits_TxV[jnp.asarray(where)], axis=-1), np.float64)
    k = min(top_k, probs_MxV.shape[-1])
    single = where.size == 1
    results = []
    for m, probs_V in zip(where, probs_MxV):
        best = np.argsort(-probs_V, kind="stable")[:k]
        rows = []
        for token in best:
            filled = ids_T.copy()
            filled[m] = token
            if tokenizer.pad_token_id is not None:
                filled = filled[filled != tokenizer.pad_token_id]
            rows.append({"score": float(probs_V[token]), "token": int(token),
                         "token_str": tokenizer.decode([int(token)], skip_special_tokens=False),
                         "sequence": tokenizer.decode(filled, skip_special_tokens=single)})
        results.append(rows)
    return results[0] if single else results


def generate_text(model, params, tokenizer, prompt, max_new_tokens: int = 50, **sampling):
    """See the module docstring. ``model``: a :class:`jaxml.models.gpt2.GPT2`; ``sampling``: the keyword
    arguments of :mod:`jaxml.pretrained.generate` (do_sample, temperature, top_k, top_p,
    num_return_sequences, eos_token_id, pad_token_id, rng)."""
    prompts = [prompt] if isinstance(prompt, str) else list(prompt)
    if model not in _GENERATE:
        _GENERATE[model] = make_generate(model)
    ids_BxP, mask_BxP = tokenizer.batch(prompts, padding_side="left")
    if "eos_token_id" not in sampling and tokenizer.eos_token_id is not None:
        sampling["eos_token_id"] = tokenizer.eos_token_id
    out = _GENERATE[model](params, ids_BxP, mask_BxP, max_new_tokens=max_new_tokens, **sampling)
    r = out.shape[0] // len(prompts)
    p = ids_BxP.shape[1]
    results = [[{"generated_text": text + tokenizer.decode(out[i * r + j, p:], skip_special_tokens=True)}
                for j in range(r)] for i, text in enumerate(prompts)]
    return results[0] if isinstance(prompt, str) else results
