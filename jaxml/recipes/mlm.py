"""Masked language modelling (BERT's objective) as steps for the one driver, ``jaxml.train.fit``.

A masked LM here is any module ``apply({"params": p}, ids_BxT, train=...) -> logits_BxTxV``
(e.g. ``jaxml.models.bert.Bert``) in a ``jaxml.train.TrainState``. Batches are token windows
``{"x": (B, T) int, "mask": (B,)}`` — e.g. :class:`jaxml.recipes.lm.BlockSource` over a token stream
(its ``"y"`` is ignored). A new objective is a new step, so the driver runs unchanged::

    step = make_mlm_train_step(mask_token_id=tok.mask_token_id, vocab_size=V, special_ids=tok.special_ids,
                               cls_id=tok.cls_token_id, sep_id=tok.sep_token_id)
    fit(state, BlockSource(ids, batch_size=32, block_size=T - 2, steps=250), key=key, epochs=8,
        train_step=step, eval_step=make_mlm_eval_step(...same arguments...),
        eval_sets={"val": BlockSource(val_ids, batch_size=32, block_size=T - 2, steps=20, seed=1)})

- :func:`mask_tokens`: BERT's corruption: each non-special token is selected with probability
  ``mask_prob`` (15%); a selected token becomes the mask token (80%), a random token (10%) or
  stays (10%). Returns the corrupted inputs and the selection.
- :func:`masked_lm_loss`: per-sequence mean cross-entropy (nats) over the selected positions and
  the fraction of them predicted right (0 for a sequence with none selected).
- :func:`make_mlm_train_step` / :func:`make_mlm_eval_step`: with ``cls_id``/``sep_id`` each window
  is wrapped as ``[CLS] window [SEP]`` (as the tokenizer wraps a sentence at inference). Training
  draws the masks from the step's key (split from the dropout key); evaluation from a fixed key
  ``seed`` folded with the batch's first token ids, so every evaluation of the same batches uses
  the same masks. Metrics: ``loss`` and ``accuracy`` (sums over sequences and a count).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxml.train.epoch import batch_mask

__all__ = ["mask_tokens", "masked_lm_loss", "make_mlm_train_step", "make_mlm_eval_step"]


def mask_tokens(key, ids_BxT, *, mask_token_id: int, vocab_size: int, mask_prob: float = 0.15, special_ids=()):
    """``(inputs_BxT int32, selected_BxT bool)``: BERT's 80/10/10 corruption (module docstring)."""
    k_sel, k_kind, k_rand = jax.random.split(key, 3)
    ids_BxT = ids_BxT.astype(jnp.int32)
    maskable_BxT = jnp.ones(ids_BxT.shape, bool)
    for s in special_ids:
        maskable_BxT &= ids_BxT != s
    selected_BxT = jax.random.bernoulli(k_sel, mask_prob, ids_BxT.shape) & maskable_BxT
    u_BxT = jax.random.uniform(k_kind, ids_BxT.shape)
    random_BxT = jax.random.randint(k_rand, ids_BxT.shape, 0, vocab_size)
    inputs_BxT = jnp.where(selected_BxT & (u_BxT < 0.8), mask_token_id,
                           jnp.where(selected_BxT & (u_BxT < 0.9), random_BxT, ids_BxT))
    return inputs_BxT.astype(jnp.int32), selected_BxT


def masked_lm_loss(logits_BxTxV, targets_BxT, selected_BxT):
    """``(loss_B, correct_B)``: mean cross-entropy and accuracy over each sequence's selected positions."""
    if logits_BxTxV.ndim != 3 or targets_BxT.shape != logits_BxTxV.shape[:2]:
        raise ValueError(f"masked_lm_loss expects logits (B, T, V) and targets (B, T), got {logits_BxTxV.shape} and "
                         f"{targets_BxT.shape}")
    w_BxT = selected_BxT.astype(jnp.float32)
    n_B = jnp.maximum(w_BxT.sum(axis=1), 1.0)
    ce_BxT = optax.softmax_cross_entropy_with_integer_labels(logits_BxTxV.astype(jnp.float32), targets_BxT)
    correct_BxT = (jnp.argmax(logits_BxTxV, axis=-1) == targets_BxT).astype(jnp.float32)
    return (ce_BxT * w_BxT).sum(axis=1) / n_B, (correct_BxT * w_BxT).sum(axis=1) / n_B


def _wrap(x_BxT, cls_id, sep_id):
    b = x_BxT.shape[0]
    parts = ([jnp.full((b, 1), cls_id, jnp.int32)] if cls_id is not None else []) + [x_BxT.astype(jnp.int32)]
    parts += [jnp.full((b, 1), sep_id, jnp.int32)] if sep_id is not None else []
    return jnp.concatenate(parts, axis=1)


def _check(mask_token_id, vocab_size, mask_prob):
    if not 0 <= int(mask_token_id) < int(vocab_size):
        raise ValueError(f"mask_token_id must lie in [0, vocab_size={vocab_size}), got {mask_token_id}")
    if not 0.0 < float(mask_prob) < 1.0:
        raise ValueError(f"mask_prob must be in (0, 1), got {mask_prob}")


def make_mlm_train_step(*, mask_token_id: int, vocab_size: int, mask_prob: float = 0.15, special_ids=(),
                        cls_id: int | None = None, sep_id: int | None = None):
    """``train_step(state, batch, rng) -> (state, metric_sums)`` for the masked-LM objective."""
    _check(mask_token_id, vocab_size, mask_prob)
    special = tuple(int(s) for s in special_ids)

    def train_step(state, batch, rng):
        ids_BxT = _wrap(batch["x"], cls_id, sep_id)
        mask_B = batch_mask(batch, ids_BxT.shape[0])
        count = jnp.sum(mask_B)
        mask_key, dropout_key = jax.random.split(rng)
        inputs_BxT, selected_BxT = mask_tokens(mask_key, ids_BxT, mask_token_id=mask_token_id,
                                               vocab_size=vocab_size, mask_prob=mask_prob, special_ids=special)

        def objective(params):
            logits = state.apply_fn({"params": params}, inputs_BxT, train=True, rngs={"dropout": dropout_key})
            loss_B, correct_B = masked_lm_loss(logits, ids_BxT, selected_BxT)
            return jnp.sum(loss_B * mask_B) / jnp.maximum(count, 1.0), (loss_B, correct_B)

        grads, (loss_B, correct_B) = jax.grad(objective, has_aux=True)(state.params)
        state = state.apply_gradients(grads=grads)
        return state, {"loss_sum": jnp.sum(loss_B * mask_B), "accuracy_sum": jnp.sum(correct_B * mask_B),
                       "count": count}

    return train_step


def make_mlm_eval_step(*, mask_token_id: int, vocab_size: int, mask_prob: float = 0.15, special_ids=(),
                       cls_id: int | None = None, sep_id: int | None = None, seed: int = 0):
    """``eval_step(state, batch) -> metric_sums`` (model in eval mode; masks fixed per batch)."""
    _check(mask_token_id, vocab_size, mask_prob)
    special = tuple(int(s) for s in special_ids)

    def eval_step(state, batch):
        ids_BxT = _wrap(batch["x"], cls_id, sep_id)
        mask_B = batch_mask(batch, ids_BxT.shape[0])
        key = jax.random.fold_in(jax.random.key(seed), jnp.sum(batch["x"][:, :4].astype(jnp.int32)))
        inputs_BxT, selected_BxT = mask_tokens(key, ids_BxT, mask_token_id=mask_token_id, vocab_size=vocab_size,
                                               mask_prob=mask_prob, special_ids=special)
        logits = state.apply_fn({"params": state.params}, inputs_BxT, train=False)
        loss_B, correct_B = masked_lm_loss(logits, ids_BxT, selected_BxT)
        return {"loss_sum": jnp.sum(loss_B * mask_B), "accuracy_sum": jnp.sum(correct_B * mask_B),
                "count": jnp.sum(mask_B)}

    return eval_step
