"""Language-model training by iterations: random (B, T) windows of a token stream, compiled chunks.

A language model here is any module ``apply({"params": p}, idx_BxT, train=...) -> logits_BxTxV``
(e.g. ``jaxml.models.transformer.GPT``) held in a ``jaxml.train.TrainState``.

- :func:`sample_blocks`: B windows of T + 1 consecutive tokens at uniformly random offsets drawn
  from a key; inputs are the first T tokens, targets the last T (the next token at each place).
- :func:`make_train_chunk`: ``chunk(state, ids, key, start) -> (state, loss_N)`` runs N training
  iterations as ONE compiled ``lax.scan``; iteration i (global count) draws its batch and dropout
  key from ``fold_in(key, i)``, so a run resumed at iteration k continues exactly as an
  uninterrupted one.
- :func:`make_estimate_loss`: ``estimate(state, ids, key, lo, hi) -> mean loss`` over
  ``eval_batches`` random batches of ``ids[lo:hi]`` (model in eval mode), one compiled call;
  ``train_lm`` evaluates train and validation with ONE program (they are two ranges of one
  concatenated stream). Passing the same key each time evaluates the same batches at every
  evaluation, which makes curves comparable point to point.
- :func:`train_lm`: the host loop: evaluate at iteration 0 and every ``eval_interval``
  iterations (train and validation loss on averaged batches), log ``metrics.jsonl``, keep the
  best-validation parameters, checkpoint (current + best state) with orbax under
  ``workdir/checkpoints`` and resume from it, stop with ``NonFiniteLossError`` on a NaN/inf loss.

Token streams are int32 device arrays (N,) with N > T; the loss is the mean next-token
cross-entropy in nats over all B·T positions.
"""
from __future__ import annotations

import dataclasses
import pathlib
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxml.report.metrics_log import MetricsLog, truncate_after
from jaxml.report.progress import format_metrics
from jaxml.train.checkpoint import Checkpointer
from jaxml.train.fit import NonFiniteLossError
from jaxml.train.state import TrainState, apply_model

__all__ = ["sample_blocks", "token_cross_entropy", "make_train_chunk", "make_estimate_loss", "train_lm",
           "LMResult"]


def _check_stream(ids, block_size: int, what: str = "ids"):
    if getattr(ids, "ndim", None) != 1 or not jnp.issubdtype(ids.dtype, jnp.integer):
        raise ValueError(f"{what} must be a 1-D integer token array, got {getattr(ids, 'dtype', type(ids))} "
                         f"{getattr(ids, 'shape', '')}")
    if ids.shape[0] <= block_size:
        raise ValueError(f"{what} has {ids.shape[0]} tokens; need more than block_size={block_size}")


def sample_blocks(key, ids_N, batch_size: int, block_size: int, lo=0, hi=None):
    """``(x (B, T), y (B, T))`` int32: ``x[b] = ids[s_b : s_b + T]``, ``y[b] = ids[s_b + 1 : s_b + T + 1]``,
    offsets ``s_b`` uniform on ``[lo, hi - T - 1]`` (default the whole stream, ``[0, N - T - 1]``).

    ``lo``/``hi`` may be traced: one compiled program then samples from any part of a stream
    (e.g. the train and validation parts of one concatenated array)."""
    hi = ids_N.shape[0] if hi is None else hi
    starts_B = jax.random.randint(key, (batch_size,), lo, hi - block_size)
    idx_BxT = starts_B[:, None] + jnp.arange(block_size)[None, :]
    return jnp.take(ids_N, idx_BxT).astype(jnp.int32), jnp.take(ids_N, idx_BxT + 1).astype(jnp.int32)


def token_cross_entropy(logits_BxTxV, y_BxT):
    """Mean next-token cross-entropy (nats) over all positions."""
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits_BxTxV, y_BxT))


def make_train_chunk(batch_size: int, block_size: int, iterations: int):
    """``chunk(state, ids, key, start) -> (state, loss (iterations,))``; jit it (donate the state)."""
    if iterations < 1:
        raise ValueError(f"iterations per chunk must be >= 1, got {iterations}")

    def chunk(state: TrainState, ids_N, key, start):
        def body(state, i):
            batch_key, dropout_key = jax.random.split(jax.random.fold_in(key, start + i))
            x_BxT, y_BxT = sample_blocks(batch_key, ids_N, batch_size, block_size)

            def objective(params):
                logits, _ = apply_model(state, params, x_BxT, train=True, rng=dropout_key)
                return token_cross_entropy(logits, y_BxT)

            loss, grads = jax.value_and_grad(objective)(state.params)
            return state.apply_gradients(grads=grads), loss

        return jax.lax.scan(body, state, jnp.arange(iterations))

    return chunk


def make_estimate_loss(batch_size: int, block_size: int, eval_batches: int):
    """``estimate(state, ids, key, lo=0, hi=None) -> scalar``: mean loss over ``eval_batches`` random
    batches of ``ids[lo:hi]`` (``lo``/``hi`` traced, see :func:`sample_blocks`)."""
    if eval_batches < 1:
        raise ValueError(f"eval_batches must be >= 1, got {eval_batches}")

    def estimate(state: TrainState, ids_N, key, lo=0, hi=None):
        def body(total, j):
            x_BxT, y_BxT = sample_blocks(jax.random.fold_in(key, j), ids_N, batch_size, block_size, lo, hi)
            logits, _ = apply_model(state, state.params, x_BxT, train=False)
            return total + token_cross_entropy(logits, y_BxT), None

        total, _ = jax.lax.scan(body, jnp.zeros((), jnp.float32), jnp.arange(eval_batches))
        return total / eval_batches

    return estimate


@dataclasses.dataclass
class LMResult:
    state: object             # final train state
    best_params: object       # parameters at the best validation loss
    best_val_loss: float
    best_iteration: int
    history: list             # one dict per evaluation: iteration, train_loss, val_loss, seconds
    step_loss: np.ndarray     # (iterations trained in this call,) training loss of every iteration
    train_seconds: float      # wall time of the training chunks and evaluations (compile excluded)
    compile_seconds: float
    resumed_from: int | None = None

    def curve(self, key: str):
        return (np.array([h["iteration"] for h in self.history]),
                np.array([h[key] for h in self.history], dtype=float))


def train_lm(state: TrainState, train_ids, val_ids, *, key, iterations: int, batch_size: int,
             block_size: int, eval_interval: int, eval_batches: int, workdir=None, progress: bool = True,
             log_name: str = "metrics.jsonl", desc: str = "",
             callbacks: tuple[Callable[[int, dict], None], ...] = ()) -> LMResult:
    """Train ``state`` for ``iterations`` iterations (a multiple of ``eval_interval``); see module doc.

    ``callbacks``: ``cb(iteration, record)`` after each evaluation.
    """
    for name, v in (("iterations", iterations), ("batch_size", batch_size), ("block_size", block_size),
                    ("eval_interval", eval_interval), ("eval_batches", eval_batches)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"train_lm: {name} must be a positive integer, got {v!r}")
    if iterations % eval_interval:
        raise ValueError(f"train_lm: iterations={iterations} must be a multiple of eval_interval={eval_interval}")
    train_ids, val_ids = jnp.asarray(train_ids), jnp.asarray(val_ids)
    _check_stream(train_ids, block_size, "train_ids")
    _check_stream(val_ids, block_size, "val_ids")
    both_ids = jnp.concatenate([train_ids, val_ids]).astype(jnp.int32)
    n_train, n_both = int(train_ids.shape[0]), int(both_ids.shape[0])
    state = jax.tree_util.tree_map(jnp.copy, state)  # the chunk donates its state; keep the caller's
    train_key, eval_key = jax.random.split(key)
    eval_train_key, eval_val_key = jax.random.split(eval_key)
    chunk = jax.jit(make_train_chunk(batch_size, block_size, eval_interval), donate_argnums=0)
    estimate = jax.jit(make_estimate_loss(batch_size, block_size, eval_batches))

    best_params = jax.tree_util.tree_map(jnp.copy, state.params)
    best_val, best_iter, start, history, resumed_from = np.inf, 0, 0, [], None
    workdir = pathlib.Path(workdir) if workdir is not None else None
    ckpt = log = None
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        ckpt = Checkpointer(workdir / "checkpoints", max_to_keep=1)
        last = ckpt.latest_step()
        if last is not None:
            best_like = state.replace(params=best_params)
            state, best_state, meta = ckpt.restore(last, state, best_like)
            best_params = best_state.params
            best_val, best_iter = float(meta["best_val_loss"]), int(meta["best_iteration"])
            history, start, resumed_from = list(meta["history"]), last, last
            if (workdir / log_name).exists():
                truncate_after(workdir / log_name, "iteration", last)
        log = MetricsLog(workdir / log_name)

    def evaluate(iteration, seconds):
        nonlocal best_params, best_val, best_iter
        tr = float(evaluated(state, both_ids, eval_train_key, jnp.int32(0), jnp.int32(n_train)))
        va = float(evaluated(state, both_ids, eval_val_key, jnp.int32(n_train), jnp.int32(n_both)))
        rec = {"iteration": iteration, "train_loss": tr, "val_loss": va, "seconds": seconds}
        if va < best_val:
            best_val, best_iter = va, iteration
            best_params = jax.tree_util.tree_map(jnp.copy, state.params)
            rec["best"] = True
        history.append(rec)
        if log is not None:
            log.log(**rec)
        if progress:
            print(f"{desc + ' ' if desc else ''}iter {iteration:>6d}/{iterations}  "
                  f"{format_metrics({'train_loss': tr, 'val_loss': va})}  ({seconds:.1f} s)", flush=True)
        for cb in callbacks:
            cb(iteration, rec)

    compile_seconds = train_seconds = 0.0
    step_losses = []
    try:
        t0 = time.perf_counter()
        compiled = chunk.lower(state, train_ids, train_key, jnp.int32(start)).compile()
        # One evaluation program for both splits: they are two ranges of one concatenated stream.
        evaluated = estimate.lower(state, both_ids, eval_train_key, jnp.int32(0), jnp.int32(n_train)).compile()
        compile_seconds = time.perf_counter() - t0
        if start == 0:
            t0 = time.perf_counter()
            evaluate(0, 0.0)
            train_seconds += time.perf_counter() - t0
        for it in range(start, iterations, eval_interval):
            t0 = time.perf_counter()
            state, losses = compiled(state, train_ids, train_key, jnp.int32(it))
            losses = np.asarray(jax.device_get(losses))
            if not np.isfinite(losses).all():
                bad = it + int(np.flatnonzero(~np.isfinite(losses))[0]) + 1
                where = f"last good checkpoint: {ckpt.path(ckpt.latest_step())}" if (
                    ckpt is not None and ckpt.latest_step() is not None) else "no checkpoint saved"
                raise NonFiniteLossError(f"non-finite training loss at iteration {bad}; {where}")
            step_losses.append(losses)
            evaluate(it + eval_interval, time.perf_counter() - t0)
            train_seconds += time.perf_counter() - t0
            if ckpt is not None:
                meta = {"best_val_loss": best_val, "best_iteration": best_iter, "history": history}
                ckpt.save(it + eval_interval, state, state.replace(params=best_params), meta)
    finally:
        if log is not None:
            log.close()
        if ckpt is not None:
            ckpt.close()
    return LMResult(state=state, best_params=best_params, best_val_loss=float(best_val),
                    best_iteration=int(best_iter), history=history,
                    step_loss=np.concatenate(step_losses) if step_losses else np.zeros((0,)),
                    train_seconds=train_seconds, compile_seconds=compile_seconds, resumed_from=resumed_from)
