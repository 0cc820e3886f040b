"""The LSTM layer's recurrence (input projection included), with a hand-written backward pass (``jax.custom_vjp``).

:func:`lstm_scan` computes exactly what the autodiff path in :mod:`jaxml.models.rnn` computes (same
parameters, same results up to float rounding; ``tests/models/test_lstm_scan.py`` compares values and
gradients), but arranges the work for XLA:CPU, where each time step of a ``lax.scan`` pays a fixed cost
per kernel and the step's matmul is tiny (B x H x 4H):

- forward: one matmul per step, then the i, f and g activations each computed by the kernel that writes it
  into its (T, B, H) buffer (sigmoids as tanh: sigmoid(z) = (1 + tanh(z / 2)) / 2), read back for c_t behind
  an ``optimization_barrier``; o is computed on its own (h_t uses it) and copied into its buffer. Without the
  barrier XLA rewrites the reads into the values written: one activation kernel over (B, 4H) and four
  copying writes, the arrangement before the tenth session. The change made an IMDB epoch at T = 100 0.96
  times as long, and o's own kernel another 0.97-0.98 (bench/README.md, "The LSTM, tenth session"). Only the
  gate activations and the cell state are kept per step; tanh(c_t) and h_t for all steps are recomputed
  after the scan in one vectorised pass;
- the gates are stored as four separate (T, B, H) arrays: XLA:CPU's loop kernels run several times slower
  when they read column slices of a dynamically indexed (T, B, 4H) array;
- the inputs' projection x_t @ kernel for all steps is one matmul before the loop, and the step's matmul
  h_{t-1} @ recurrent_kernel. Until the ninth session the projection was part of the step's matmul
  ([x_t, h_{t-1}] @ [kernel; recurrent_kernel]); with the loops' buffers unfilled (below) the projection
  before the loop made an IMDB epoch at T = 100 0.98 times as long (bench/README.md, "The LSTM, ninth session");
- backward: the gate gradients dz_t (elementwise, each of the four (B, H) blocks computed by the kernel that
  writes it into the dz row, read back behind a barrier as in the forward) and one matmul per step,
  dz_t @ recurrent_kernel^T, the state's gradient; when only the last state is returned, its gradient starts
  the carry (no per-step output gradients are read). After the scan, ONE matmul over all steps gives the
  input's gradients (dz @ kernel^T) and one more the weights' gradients (kernel, recurrent kernel and bias
  together). On one core the step's matmul costs in proportion to its width, so leaving the input's 16
  columns out of it (48 -> 32) pays for the extra matmul after the scan (bench/README.md, "The LSTM, seventh
  session");
- from ``PHASED_FROM_T`` (64) steps on, the backward runs in two phases of T/2 steps, latest first, each
  followed by its own two matmuls: XLA:CPU runs the first phase's matmuls on the second core while the
  second phase's loop runs on the first (the recurrence itself keeps one core busy). A phase reads the
  residuals in place by a dynamic index (slicing them would copy them). At T = 100 this made an IMDB epoch
  0.97 times as long (bench/README.md, "The LSTM, eighth session");
- the loops write their outputs (the forward's gates and c, the backward's dz) into buffers allocated once,
  unfilled (:mod:`jaxml.models.loop_buffers`): ``lax.scan`` would start them as zeros, a memset of every
  buffer before the loops (bench/README.md, "The LSTM, ninth session").

Measurements: bench/README.md ("The LSTM's time step"). Shapes: inputs ``x_TxBxD`` time-major, gates ordered
(i, f, g, o) as Keras, G = 4H; the initial state is zero; ``rmask_BxH`` (optional) multiplies the state
entering the recurrent matmul (Keras's recurrent dropout, one mask per sequence).

Limitation: a ``custom_vjp`` function supports reverse-mode differentiation only (``jax.grad``, ``vjp``);
forward mode (``jax.jvp``, ``jax.hessian``) needs ``lstm_impl="autodiff"``.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxml.models.loop_buffers import unfilled_buffers

__all__ = ["LSTM_IMPLS", "choose_lstm_impl", "lstm_scan"]

LSTM_IMPLS = ("auto", "autodiff", "custom_vjp")


def choose_lstm_impl(impl: str) -> str:
    """The concrete implementation ("autodiff" | "custom_vjp") that ``impl`` stands for on the current
    default backend: "auto" is "custom_vjp" on the CPU and on GPUs (faster on both: bench/impls.py, bench/README.md
    "Formulation choices"), "autodiff" elsewhere (TPU, where the two were not compared)."""
    if impl not in LSTM_IMPLS:
        raise ValueError(f"unknown LSTM implementation {impl!r}; expected one of {list(LSTM_IMPLS)}")
    if impl != "auto":
        return impl
    return "custom_vjp" if jax.default_backend() in ("cpu", "gpu") else "autodiff"


def _sigmoid(z):
    """sigmoid(z) as one tanh: (1 + tanh(z / 2)) / 2 (cheaper on XLA:CPU than ``logistic``'s exp and division)."""
    return 0.5 * jnp.tanh(0.5 * z) + 0.5


def _forward(x_TxBxD, kernel_DxG, bias_G, rec_HxG, rmask_BxH, outs, unroll):
    """Run the cell over the T steps, writing row t of the five (T, B, H) arrays ``outs`` at step t; returns them:
    the gate activations (i, f, g, o) and c."""
    t, b, d = x_TxBxD.shape
    hdim = rec_HxG.shape[0]
    bias_1xG = bias_G[None, :]
    zero_BxH = jnp.zeros((b, hdim), x_TxBxD.dtype)
    # The inputs' projection for all steps in one matmul before the loop; the step's matmul is then
    # (B x H) @ (H x 4H) instead of (B x (D + H)) @ ((D + H) x 4H) (bench/README.md, "The LSTM, ninth session").
    xp_TxBxG = (x_TxBxD.reshape(t * b, d) @ kernel_DxG).reshape(t, b, 4 * hdim)

    def step(k, state):
        (c_prev, h_prev), outs = state
        h_in = h_prev if rmask_BxH is None else h_prev * rmask_BxH
        z_BxG = h_in @ rec_HxG + jax.lax.dynamic_index_in_dim(xp_TxBxG, k, 0, keepdims=False) + bias_1xG
        zi, zf, zg, zo = jnp.split(z_BxG, 4, axis=-1)
        # i, f and g are computed by the kernels that write them to their buffers, and c reads them back. The
        # barrier keeps XLA from rewriting those reads into the values written, which would bring back one
        # activation kernel over (B, 4H) plus copying writes. o is computed on its own and copied into its
        # buffer: read back, it would cost h's kernel ~3 us (a dynamically indexed read in a kernel with a tanh
        # is slow on XLA:CPU; bench/README.md, "The LSTM, tenth session").
        ifg = jax.lax.optimization_barrier(tuple(
            jax.lax.dynamic_update_index_in_dim(a, v, k, 0)
            for a, v in zip(outs[:3], (_sigmoid(zi), _sigmoid(zf), jnp.tanh(zg)))))
        i, f, g = (jax.lax.dynamic_index_in_dim(a, k, 0, keepdims=False) for a in ifg)
        o = _sigmoid(zo)
        c = f * c_prev + i * g
        h = o * jnp.tanh(c)
        return (c, h), ifg + (jax.lax.dynamic_update_index_in_dim(outs[3], o, k, 0),
                              jax.lax.dynamic_update_index_in_dim(outs[4], c, k, 0))

    _, (i, f, g, o, c_TxBxH) = jax.lax.fori_loop(0, t, step, ((zero_BxH, zero_BxH), tuple(outs)), unroll=unroll)
    return (i, f, g, o), c_TxBxH


# From this many steps on, the backward runs in two phases of about T/2 steps (see _lstm_bwd). Each phase costs a
# loop and two matmuls of its own: at T = 20 two phases were 1.11-1.12 times slower per
# epoch, at T = 100 0.97 times (bench/README.md, "The LSTM, eighth session").
PHASED_FROM_T = 64


def _backward_phases(t: int) -> list[tuple[int, int]]:
    """The backward's phases as [lo, hi) step ranges, in the order they run (latest steps first)."""
    if t < PHASED_FROM_T:
        return [(0, t)]
    half = t // 2
    return [(half, t), (0, half)]


def _reverse_loop(step, finish, carry, xs, lo: int, hi: int, out_PxBxG, unroll: int):
    """Time steps hi-1, ..., lo of the time-major arrays ``xs`` (read in place by a dynamic index, so no phase
    copies its inputs). ``step(carry, inputs_t) -> (partial, blocks)`` gives the step's (B, W) output blocks,
    written side by side into row t - lo of ``out_PxBxG`` ((hi - lo, B, G), every row written) each by the
    kernel that computes it; ``finish(partial, row_BxG)`` gets the row read back and returns the next carry.
    Returns the last carry and ``out_PxBxG``."""
    def body(k, state):
        carry, out = state
        t = hi - 1 - k
        partial, blocks = step(carry, tuple(jax.lax.dynamic_index_in_dim(a, t, 0, keepdims=False) for a in xs))
        col = 0
        for block_BxW in blocks:
            out = jax.lax.dynamic_update_slice(out, block_BxW[None], (t - lo, 0, col))
            col += block_BxW.shape[-1]
        # Read the row back after the barrier: without it XLA would concatenate the blocks (one more kernel)
        # and copy the concatenation into the row (bench/README.md, "The LSTM, tenth session").
        out = jax.lax.optimization_barrier(out)
        return finish(partial, jax.lax.dynamic_index_in_dim(out, t - lo, 0, keepdims=False)), out

    return jax.lax.fori_loop(0, hi - lo, body, (carry, out_PxBxG), unroll=unroll)


@functools.partial(jax.custom_vjp, nondiff_argnums=(5, 6))
def _lstm(x_TxBxD, kernel_DxG, bias_G, rec_HxG, rmask_BxH, return_sequences, unroll):
    return _lstm_fwd(x_TxBxD, kernel_DxG, bias_G, rec_HxG, rmask_BxH, return_sequences, unroll)[0]


def _lstm_fwd(x_TxBxD, kernel_DxG, bias_G, rec_HxG, rmask_BxH, return_sequences, unroll):
    t, b, _ = x_TxBxD.shape
    hdim = rec_HxG.shape[0]
    # Every loop output of the forward (five (T, B, H) arrays) and of the backward (each phase's (steps, B, 4H)
    # dz) in one allocation, unfilled: the loops write every row, so no memset precedes them. The backward's
    # buffers are allocated here, with the forward's: allocated in the backward (after the cotangent), the
    # IMDB epoch was 1.02-1.04 times as long as with zero-filled buffers instead of 0.95-0.98 (bench/README.md,
    # "The LSTM, ninth session").
    structs = [jax.ShapeDtypeStruct((t, b, hdim), x_TxBxD.dtype)] * 5 + [
        jax.ShapeDtypeStruct((hi - lo, b, 4 * hdim), x_TxBxD.dtype) for lo, hi in _backward_phases(t)]
    buffers = unfilled_buffers(structs, x_TxBxD)
    gates, c_TxBxH = _forward(x_TxBxD, kernel_DxG, bias_G, rec_HxG, rmask_BxH, buffers[:5], unroll)
    tanh_c = jnp.tanh(c_TxBxH)
    h_TxBxH = gates[3] * tanh_c
    out = h_TxBxH if return_sequences else h_TxBxH[-1]
    return out, (x_TxBxD, kernel_DxG, rec_HxG, rmask_BxH, gates, c_TxBxH, tanh_c, h_TxBxH, tuple(buffers[5:]))


def _lstm_bwd(return_sequences, unroll, residuals, d_out):
    x_TxBxD, kernel_DxG, rec_HxG, rmask_BxH, (i_all, f_all, g_all, o_all), c_TxBxH, tanh_c, h_TxBxH, dz_outs = residuals
    t, b, d = x_TxBxD.shape
    hdim = rec_HxG.shape[0]
    zero_1xBxH = jnp.zeros((1, b, hdim), c_TxBxH.dtype)
    c_prev_TxBxH = jnp.concatenate([zero_1xBxH, c_TxBxH[:-1]], axis=0)
    # The step's matmul gives only the state's gradient, dz_t @ recurrent_kernel^T (K = 4H, N = H): the input's
    # gradient is one matmul over all steps after the scan, which makes the per-step matmul a third cheaper.
    rec_T_GxH = rec_HxG.T

    def step(carry, inputs):
        dh_next, dc_next = carry
        i, f, g, o, c_prev, tc = inputs[:6]
        # With return_sequences each h_t has its own output gradient; otherwise only h_T has one, and it
        # starts the carry below.
        dh = inputs[6] + dh_next if return_sequences else dh_next
        dc = dc_next + dh * o * (1.0 - tc * tc)
        # dz_t = [dz_i, dz_f, dz_g, dz_o], each (B, H), written into the phase's dz row by _reverse_loop.
        dz_blocks = (dc * g * i * (1.0 - i), dc * c_prev * f * (1.0 - f), dc * i * (1.0 - g * g),
                     dh * tc * o * (1.0 - o))
        return dc * f, dz_blocks

    def finish(dc_prev, dz_BxG):
        dh_prev = dz_BxG @ rec_T_GxH
        if rmask_BxH is not None:
            dh_prev = dh_prev * rmask_BxH
        return dh_prev, dc_prev

    zero_BxH = zero_1xBxH[0]
    xs = (i_all, f_all, g_all, o_all, c_prev_TxBxH, tanh_c) + ((d_out,) if return_sequences else ())
    carry = (zero_BxH if return_sequences else d_out, zero_BxH)
    h_in_TxBxH = jnp.concatenate([zero_1xBxH, h_TxBxH[:-1]], axis=0)
    if rmask_BxH is not None:
        h_in_TxBxH = h_in_TxBxH * rmask_BxH[None]
    # The backward runs in phases, latest steps first. A phase's weight and input gradients (two matmuls over its
    # steps) depend only on its own dz, so XLA:CPU runs them on the second core while the next phase's loop runs
    # on the first (bench/README.md, "The LSTM, eighth session").
    d_w, dx_parts = None, []
    for (lo, hi), dz_out in zip(_backward_phases(t), dz_outs):
        carry, dz_PxBxG = _reverse_loop(step, finish, carry, xs, lo, hi, dz_out, unroll)
        # The weights' gradients in ONE matmul over the phase's steps: [x_t, h_in_t, 1]^T @ dz_t summed over (t, B).
        n = (hi - lo) * b
        ones_PxBx1 = jnp.ones((hi - lo, b, 1), x_TxBxD.dtype)
        inputs_NxK = jnp.concatenate([x_TxBxD[lo:hi], h_in_TxBxH[lo:hi], ones_PxBx1], axis=-1).reshape(n, d + hdim + 1)
        part = inputs_NxK.T @ dz_PxBxG.reshape(n, 4 * hdim)
        d_w = part if d_w is None else d_w + part
        # The input's gradient, dz_t @ kernel^T for the phase's steps at once.
        dx_parts.append(jnp.einsum("tbg,dg->tbd", dz_PxBxG, kernel_DxG))
    dx_TxBxD = dx_parts[0] if len(dx_parts) == 1 else jnp.concatenate(dx_parts[::-1], axis=0)
    d_kernel, d_rec, d_bias = d_w[:d], d_w[d:d + hdim], d_w[-1]
    d_rmask = None if rmask_BxH is None else jnp.zeros_like(rmask_BxH)
    return dx_TxBxD, d_kernel, d_bias, d_rec, d_rmask


_lstm.defvjp(_lstm_fwd, _lstm_bwd)


def lstm_scan(x_TxBxD, kernel_DxG, bias_G, rec_HxG, rmask_BxH=None, *, return_sequences: bool = False,
              unroll: int = 1):
    """LSTM states from zero initial state: (T, B, H) with ``return_sequences``, else the last (B, H).

    x_TxBxD: (T, B, D) inputs, time-major; kernel_DxG: (D, 4H), bias_G: (4H,) and rec_HxG: (H, 4H), gates
    ordered (i, f, g, o) as Keras; rmask_BxH: optional (B, H) multiplier of the state entering the recurrent
    matmul (not differentiated: its cotangent is zero). All arrays must share one dtype. Differentiable in
    reverse mode only (see the module docstring).
    """
    if x_TxBxD.ndim != 3 or x_TxBxD.shape[0] < 1:
        raise ValueError(f"lstm_scan expects x of shape (T, B, D) with T >= 1, got {x_TxBxD.shape}")
    t, b, d = x_TxBxD.shape
    if rec_HxG.ndim != 2 or rec_HxG.shape[1] != 4 * rec_HxG.shape[0]:
        raise ValueError(f"lstm_scan: recurrent kernel of shape {rec_HxG.shape}, expected (H, 4H)")
    gdim = rec_HxG.shape[1]
    if kernel_DxG.shape != (d, gdim) or bias_G.shape != (gdim,):
        raise ValueError(f"lstm_scan: kernel {kernel_DxG.shape} and bias {bias_G.shape} do not match x "
                         f"{x_TxBxD.shape} and the recurrent kernel {rec_HxG.shape}; expected {(d, gdim)} "
                         f"and {(gdim,)}")
    if rmask_BxH is not None and rmask_BxH.shape != (b, rec_HxG.shape[0]):
        raise ValueError(f"lstm_scan: rmask shape {rmask_BxH.shape}, expected {(b, rec_HxG.shape[0])}")
    dtypes = {a.dtype for a in (x_TxBxD, kernel_DxG, bias_G, rec_HxG)}
    if len(dtypes) != 1:
        raise ValueError(f"lstm_scan: x, kernel, bias and recurrent kernel must share one dtype, got "
                         f"{sorted(str(dt) for dt in dtypes)}")
    return _lstm(x_TxBxD, kernel_DxG, bias_G, rec_HxG, rmask_BxH, bool(return_sequences), int(unroll))
