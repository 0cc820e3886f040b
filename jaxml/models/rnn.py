"""Recurrent networks: the simple RNN from its equations, SimpleRNN/GRU/LSTM layers, classifiers.

1. :func:`simple_rnn` — the textbook recurrence (Goodfellow et al., eq. 10.8), column-vector form,
   one ``lax.scan`` over time, h_0 = 0::

       a_t = b + W h_{t-1} + U x_t,   h_t = tanh(a_t),   o_t = c + V h_t,   ŷ_t = softmax(o_t)

   params ``{"U": (H, D), "W": (H, H), "b": (H,), "V": (O, H), "c": (O,)}`` (:func:`init_simple_rnn`).

2. :class:`Recurrent` — a recurrent layer with Keras's parameter layout and counts:
   ``kernel`` (D, G·H), ``recurrent_kernel`` (H, G·H) and ``bias`` ((G·H,), GRU: (2, 3H)), with
   G = 1 (simple), 3 (GRU, gates z, r, h; ``reset_after`` form) or 4 (LSTM, gates i, f, c, o).
   The input projection of all time steps is one matmul before the scan; only ``h @ recurrent_kernel``
   runs inside it. The LSTM on CPUs and GPUs runs instead through :func:`jaxml.models.lstm_scan.lstm_scan`
   (``lstm_impl="auto"``): the same function with a hand-written backward pass, faster there. The cell
   equations are flax's ``SimpleCell``/``GRUCell``/``LSTMCell``'s (the tests check equality with those
   cells under ``nn.RNN`` for mapped weights); the fused Keras layout is used instead of flax's
   per-gate Dense layers so parameter counts equal Keras's (flax's GRUCell has no recurrent bias for z
   and r: 4,736 vs Keras's 4,800 for GRU(32) on 16 inputs) and so the gates are one matmul per step.
   Initialisation as Keras: glorot-uniform kernel, orthogonal recurrent kernel, zero bias (LSTM:
   forget-gate bias 1). Dropout with Keras semantics: ``dropout`` drops input features and
   ``recurrent_dropout`` drops the state entering the recurrent matmul, each with ONE mask per
   sequence (shared by all time steps), inverted scaling, only when ``train=True`` (rng "dropout").

3. :class:`SequenceClassifier` — Embedding -> [recurrent layers | Flatten -> Dense ReLU] -> Dense.

Tokens are int (B, T); 'pre' padding (id 0) is processed like any token, as Keras does without
``mask_zero``.

Precision (2 and 3): ``dtype`` is the computation dtype (``jnp.bfloat16``: the projections and the
recurrence run in it, the state is carried in it), ``param_dtype`` the parameters' (float32 by
default). ``SequenceClassifier`` casts its logits to float32 after the output layer (a loss
follows); a ``Recurrent`` layer returns its states in ``dtype``.
"""
from __future__ import annotations

from typing import Any, Sequence

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxml.models.dropout import keep_mask
from jaxml.models.lstm_scan import choose_lstm_impl, lstm_scan

__all__ = ["simple_rnn", "init_simple_rnn", "Recurrent", "SequenceClassifier", "CELLS", "GATES"]

CELLS = ("simple", "gru", "lstm")
GATES = {"simple": 1, "gru": 3, "lstm": 4}


# ----------------------------------------------------------------------------- 1. from the equations

def init_simple_rnn(key, input_dim: int, hidden_dim: int, output_dim: int, scale: float = 0.5) -> dict:
    """Seeded simple-RNN parameters, each entry N(0, scale²) (biases included)."""
    ku, kw, kb, kv, kc = jax.random.split(key, 5)
    n = lambda k, s: scale * jax.random.normal(k, s, jnp.float32)  # noqa: E731
    return {"U": n(ku, (hidden_dim, input_dim)), "W": n(kw, (hidden_dim, hidden_dim)), "b": n(kb, (hidden_dim,)),
            "V": n(kv, (output_dim, hidden_dim)), "c": n(kc, (output_dim,))}


def simple_rnn(params: dict, x_TxD, h0_H=None) -> dict:
    """Run the simple RNN over x (T, D) or (B, T, D); returns ``{"h", "a", "o", "y_hat"}``.

    ``h``/``a``: (…, T, H) hidden states and pre-activations; ``o``/``y_hat``: (…, T, O) outputs and
    their softmax. ``h0_H``: the initial state (default zeros), (H,) or (B, H).
    """
    U, W, b, V, c = (params[k] for k in ("U", "W", "b", "V", "c"))
    h, d = U.shape
    if W.shape != (h, h) or b.shape != (h,) or V.ndim != 2 or V.shape[1] != h or c.shape != V.shape[:1]:
        raise ValueError("simple_rnn: params need U (H, D), W (H, H), b (H,), V (O, H), c (O,); got "
                         + ", ".join(f"{k} {tuple(params[k].shape)}" for k in ("U", "W", "b", "V", "c")))
    if x_TxD.ndim not in (2, 3) or x_TxD.shape[-1] != d:
        raise ValueError(f"simple_rnn: x must be (T, {d}) or (B, T, {d}), got {x_TxD.shape}")
    lead = x_TxD.shape[:-2]
    h0 = jnp.zeros(lead + (h,), x_TxD.dtype) if h0_H is None else jnp.broadcast_to(h0_H, lead + (h,))
    xs_TxD = jnp.moveaxis(x_TxD, -2, 0)

    def step(h_prev, x_t):
        a_t = _lead(b, x_t.ndim) + h_prev @ W.T + x_t @ U.T   # = b + W h_{t-1} + U x_t, row by row
        h_t = jnp.tanh(a_t)
        o_t = _lead(c, x_t.ndim) + h_t @ V.T                  # = c + V h_t
        return h_t, (a_t, h_t, o_t)

    _, (a, hs, o) = jax.lax.scan(step, h0, xs_TxD)
    a, hs, o = (jnp.moveaxis(v, 0, -2) for v in (a, hs, o))
    return {"a": a, "h": hs, "o": o, "y_hat": jax.nn.softmax(o, axis=-1)}


# ----------------------------------------------------------------------------- 2. layers

def _lead(a, ndim: int):
    """``a`` with leading unit axes up to rank ``ndim`` (explicit broadcasting)."""
    return a.reshape((1,) * (ndim - a.ndim) + a.shape)


def _dropout_mask(rng, rate: float, shape):
    """Inverted-dropout multipliers (0 or 1 / (1 - rate)); flax's ``nn.Dropout`` mask for the same key."""
    return keep_mask(rng, rate, shape, impl="bernoulli").astype(jnp.float32) / (1.0 - rate)


def _lstm_bias_init(units: int):
    def init(key, shape, dtype=jnp.float32):
        del key
        return jnp.zeros(shape, dtype).at[units:2 * units].set(1.0)  # unit_forget_bias, as Keras
    return init


class Recurrent(nn.Module):
    """A recurrent layer over x (B, T, D): (B, units), or (B, T, units) with ``return_sequences``.

    ``cell``: "simple" | "gru" | "lstm" (see the module docstring for layout and equations).
    ``unroll``: steps per scan iteration (a speed knob; results are the same).
    ``lstm_impl``: how the LSTM recurrence is differentiated (a speed knob; same parameters and results,
    :mod:`jaxml.models.lstm_scan`): "autodiff" (``jax.grad`` through the scan), "custom_vjp" (a
    hand-written backward pass, faster on the CPU and on GPUs; reverse mode only) or "auto" (custom_vjp on
    CPU and GPU backends, autodiff elsewhere). Ignored by the other cells.
    ``time_major``: x is (T, B, D) and the sequence output (T, B, units), as flax's ``nn.RNN``; the
    scan runs time-major, so this skips two transposes (stacked layers and :class:`SequenceClassifier`
    use it). Results and dropout masks are the same either way.
    """

    cell: str
    units: int
    return_sequences: bool = False
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    unroll: int = 1
    lstm_impl: str = "auto"
    time_major: bool = False
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False):
        lstm_impl = choose_lstm_impl(self.lstm_impl)
        if self.cell not in CELLS:
            raise ValueError(f"Recurrent.cell must be one of {list(CELLS)}, got {self.cell!r}")
        for name in ("dropout", "recurrent_dropout"):
            rate = getattr(self, name)
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"Recurrent.{name} must be in [0, 1), got {rate}")
        if x.ndim != 3:
            raise ValueError(f"Recurrent expects x of shape {'(T, B, D)' if self.time_major else '(B, T, D)'}, "
                             f"got {x.shape}")
        x_TxBxD = x if self.time_major else jnp.swapaxes(x, 0, 1)
        t, b, d = x_TxBxD.shape
        hdim, g = self.units, GATES[self.cell]
        x_TxBxD = x_TxBxD.astype(self.dtype)
        kernel = self.param("kernel", nn.initializers.glorot_uniform(), (d, g * hdim), self.param_dtype)
        rec = self.param("recurrent_kernel", nn.initializers.orthogonal(), (hdim, g * hdim), self.param_dtype)
        if self.cell == "gru":
            bias = self.param("bias", nn.initializers.zeros, (2, g * hdim), self.param_dtype)
            in_bias, rec_bias = bias[0], bias[1]
        else:
            init = _lstm_bias_init(hdim) if self.cell == "lstm" else nn.initializers.zeros
            in_bias, rec_bias = self.param("bias", init, (g * hdim,), self.param_dtype), None
        kernel, rec, in_bias = (a.astype(self.dtype) for a in (kernel, rec, in_bias))
        rec_bias = None if rec_bias is None else rec_bias.astype(self.dtype)

        if train and self.dropout > 0.0:
            # One mask per sequence, drawn as (B, 1, D) whatever the layout (the same bits either way).
            mask_Bx1xD = _dropout_mask(self.make_rng("dropout"), self.dropout, (b, 1, d))
            x_TxBxD = x_TxBxD * jnp.swapaxes(mask_Bx1xD, 0, 1).astype(self.dtype)
        rmask_BxH = None
        if train and self.recurrent_dropout > 0.0:
            rmask_BxH = _dropout_mask(self.make_rng("dropout"), self.recurrent_dropout, (b, hdim)).astype(self.dtype)
        if self.cell == "lstm" and lstm_impl == "custom_vjp":
            ys_TxBxH = lstm_scan(x_TxBxD, kernel, in_bias, rec, rmask_BxH,
                                 return_sequences=self.return_sequences, unroll=self.unroll)
        else:
            # All time steps' input projections in one matmul, time-major for the scan. Transposing the
            # (narrow) input rather than the (4x wider) projection keeps this a plain 2-D matmul whose
            # output is already time-major; XLA:CPU otherwise transposes the (T, B, G) result and its
            # gradient (bench/README.md, "The LSTM's time step").
            xp_TxBxG = (x_TxBxD.reshape(t * b, d) @ kernel).reshape(t, b, g * hdim) + in_bias[None, None, :]
            ys_TxBxH = _scan(self.cell, xp_TxBxG, rec, rec_bias, rmask_BxH, hdim, self.unroll,
                             self.return_sequences)
        if self.return_sequences:
            out = ys_TxBxH if self.time_major else jnp.swapaxes(ys_TxBxH, 0, 1)
            chex.assert_shape(out, (t, b, hdim) if self.time_major else (b, t, hdim))
        else:
            out = ys_TxBxH
            chex.assert_shape(out, (b, hdim))
        return out


def _scan(cell, xp_TxBxG, rec_HxG, rec_bias, rmask_BxH, hdim, unroll, return_sequences):
    """The recurrence over the projected inputs; (T, B, H) states or the last (B, H) state."""
    b = xp_TxBxG.shape[1]
    h0 = jnp.zeros((b, hdim), xp_TxBxG.dtype)
    carry0 = (h0, h0) if cell == "lstm" else h0

    def step(carry, xp_BxG):
        h_prev = carry[1] if cell == "lstm" else carry
        h_in = h_prev if rmask_BxH is None else h_prev * rmask_BxH
        r_BxG = h_in @ rec_HxG
        if cell == "simple":
            h = jnp.tanh(xp_BxG + r_BxG)
            new = h
        elif cell == "gru":
            r_BxG = r_BxG + rec_bias[None, :]
            xz, xr, xh = jnp.split(xp_BxG, 3, axis=-1)
            rz, rr, rh = jnp.split(r_BxG, 3, axis=-1)
            z = jax.nn.sigmoid(xz + rz)
            r = jax.nn.sigmoid(xr + rr)
            n = jnp.tanh(xh + r * rh)
            h = (1.0 - z) * n + z * h_prev
            new = h
        else:
            c_prev = carry[0]
            i, f, gg, o = jnp.split(xp_BxG + r_BxG, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c_prev + jax.nn.sigmoid(i) * jnp.tanh(gg)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            new = (c, h)
        return new, (h if return_sequences else None)

    carry, ys = jax.lax.scan(step, carry0, xp_TxBxG, unroll=unroll)
    if return_sequences:
        return ys
    return carry[1] if cell == "lstm" else carry


# ----------------------------------------------------------------------------- 3. classifiers

class SequenceClassifier(nn.Module):
    """Embedding -> body -> Dense(num_outputs) logits (B, num_outputs), from tokens (B, T).

    ``body="flatten"``: Flatten -> Dense(units[0], ReLU) (the Keras Embedding + Dense baseline).
    ``body`` in ("simple", "gru", "lstm"): one Recurrent layer per entry of ``units``; all but the
    last return sequences (stacking). ``dropout``/``recurrent_dropout``/``unroll``/``lstm_impl`` apply
    to every recurrent layer (see :class:`Recurrent`). Embedding init U(-0.05, 0.05), Dense glorot-uniform, as Keras.
    """

    vocab_size: int
    embed_dim: int = 16
    body: str = "lstm"
    units: Sequence[int] = (32,)
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    num_outputs: int = 1
    unroll: int = 1
    lstm_impl: str = "auto"
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, tokens_BxT, train: bool = False):
        if self.body not in ("flatten",) + CELLS:
            raise ValueError(f"SequenceClassifier.body must be one of {['flatten', *CELLS]}, got {self.body!r}")
        if not self.units:
            raise ValueError("SequenceClassifier.units must list at least one layer width")
        if tokens_BxT.ndim != 2 or not jnp.issubdtype(tokens_BxT.dtype, jnp.integer):
            raise ValueError(f"SequenceClassifier expects integer tokens of shape (B, T), got "
                             f"{tokens_BxT.dtype} {tokens_BxT.shape}")
        b, t = tokens_BxT.shape
        kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        embed = nn.Embed(self.vocab_size, self.embed_dim, name="embedding",
                         embedding_init=_uniform_sym(0.05), **kw)
        dense = lambda n, name: nn.Dense(n, kernel_init=nn.initializers.glorot_uniform(), name=name, **kw)  # noqa: E731
        if self.body == "flatten":
            x_BxTxD = embed(tokens_BxT)
            chex.assert_shape(x_BxTxD, (b, t, self.embed_dim))
            h = nn.relu(dense(self.units[0], "dense_hidden")(x_BxTxD.reshape(b, t * self.embed_dim)))
        else:
            # Looked up time-major, so the embedding's gather and its gradient's scatter write and read the
            # scan's layout directly (no (B, T, D) <-> (T, B, D) transposes); from the flat (T * B,) ids, whose
            # gather took 210 instead of 280 us in a profile (bench/README.md, "The LSTM, fourth session").
            h = embed(tokens_BxT.T.reshape(-1)).reshape(t, b, self.embed_dim)
            chex.assert_shape(h, (t, b, self.embed_dim))
            for i, width in enumerate(self.units):
                last = i == len(self.units) - 1
                h = Recurrent(self.body, width, return_sequences=not last, dropout=self.dropout,
                              recurrent_dropout=self.recurrent_dropout, unroll=self.unroll,
                              lstm_impl=self.lstm_impl, time_major=True, name=f"{self.body}_{i}",
                              **kw)(h, train=train)
        logits = dense(self.num_outputs, "output")(h).astype(jnp.float32)
        chex.assert_shape(logits, (b, self.num_outputs))
        return logits


def _uniform_sym(half: float):
    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -half, half)
    return init
