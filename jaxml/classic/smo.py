"""The binary soft-margin SVM dual, solved by SMO with second-order working-set selection.

Problem (the dual of the C-SVM, as in LIBSVM), for labels y_i in {−1, +1}, per-point upper
bounds U_i (= C for points in the problem, 0 for points excluded from it) and kernel matrix K:

    minimise   f(α) = ½ αᵀQα − Σ_i α_i,   Q_ij = y_i y_j K_ij
    subject to 0 <= α_i <= U_i,  Σ_i y_i α_i = 0.

Algorithm: sequential minimal optimisation (Platt 1998) with the working-set selection of
Fan, Chen and Lin (JMLR 2005, "WSS 2", LIBSVM's): with G = ∇f = Qα − 1,

- i = argmax_{t ∈ I_up} −y_t G_t,   I_up  = {t: α_t < U_t, y_t = 1 or α_t > 0, y_t = −1};
- j = argmin_{t ∈ I_low, −y_t G_t < −y_i G_i} −b_t² / a_t with b_t = −y_i G_i + y_t G_t,
  a_t = K_ii + K_tt − 2K_it (1e-12 where not positive), I_low = {t: α_t < U_t, y_t = −1 or α_t > 0, y_t = 1};
- move α_i += y_i λ, α_j −= y_j λ (keeps Σ y α = 0) with the exact line minimiser
  λ = (−y_i G_i + y_j G_j) / a_ij clipped to the box; update G += λ y ∘ (K_i − K_j) (two kernel rows).

Stopping: the maximal KKT violation m(α) − M(α) = max_{I_up} −yG − min_{I_low} −yG <= ``tol``
(LIBSVM's ``eps``, scikit-learn's default 1e-3), or ``max_iter`` iterations (``converged`` says which).
Everything runs in one ``jax.lax.while_loop`` on the precomputed K (N, N): O(N) work per
iteration; jit-able and vmap-able (over sub-problems, C, kernels).

When the loop stops, the gradient is recomputed exactly (G = Qα − 1, one matrix-vector
product), which undoes the float32 drift of the incremental updates; if the exact KKT gap is
still above ``tol``, SMO continues from the exact gradient (at most ``REFINE_ROUNDS`` times,
within the same ``max_iter`` budget). The exact gradient gives the reported gap, the intercept and
the dual objective. In float32 the gap cannot be certified below roughly 1e-7 x max_i |(Qα)_i|
(rounding of the matrix-vector product), so for large C (large α) ``converged`` can stay False
although further iterations no longer change the solution measurably; enable float64
(``jax.enable_x64``) and pass float64 arrays when that matters.
Intercept (LIBSVM's ρ, decision f(x) = Σ_i y_i α_i k(x_i, x) − ρ): the mean of y_i G_i over free
α_i (0 < α_i < U_i); with none, the midpoint of the feasible interval from the bounded ones.
"""
from __future__ import annotations

import flax.struct
import jax
import jax.numpy as jnp

__all__ = ["SMOResult", "smo", "dual_objective"]

TAU = 1e-12
#: At most this many restarts of SMO from the exactly recomputed gradient (see :func:`smo`).
REFINE_ROUNDS = 5


@flax.struct.dataclass
class SMOResult:
    """alpha_N: the dual solution; rho: intercept (f(x) = Σ y α k − ρ); dual: Σα − ½αᵀQα (the
    maximised dual objective); gap: final maximal KKT violation (from the exact gradient);
    n_iter: SMO iterations; converged: gap reached ``tol`` within ``max_iter``."""

    alpha_N: jax.Array
    rho: jax.Array
    dual: jax.Array
    gap: jax.Array
    n_iter: jax.Array
    converged: jax.Array


def _sets(alpha_N, y_N, U_N):
    up = ((y_N > 0) & (alpha_N < U_N)) | ((y_N < 0) & (alpha_N > 0))
    low = ((y_N < 0) & (alpha_N < U_N)) | ((y_N > 0) & (alpha_N > 0))
    return up, low


def _violation(alpha_N, G_N, y_N, U_N):
    """(i, m, M): the most violating index of I_up, m = max_{I_up} −yG, M = min_{I_low} −yG."""
    mG_N = -y_N * G_N
    up, low = _sets(alpha_N, y_N, U_N)
    score_up = jnp.where(up, mG_N, -jnp.inf)
    i = jnp.argmax(score_up)
    return i, score_up[i], jnp.min(jnp.where(low, mG_N, jnp.inf))


def dual_objective(K_NxN, y_N, alpha_N):
    """Σα − ½ αᵀQα with Q = (y yᵀ) ∘ K."""
    v_N = y_N * alpha_N
    return jnp.sum(alpha_N) - 0.5 * v_N @ (K_NxN @ v_N)


def smo(K_NxN: jax.Array, y_N: jax.Array, U_N: jax.Array, tol, max_iter: int) -> SMOResult:
    """Solve the dual above. y_N: ±1 floats; U_N: per-point upper bounds (0 excludes a point).

    Points with U_i = 0 never enter the working set and keep α_i = 0 (one-vs-one sub-problems
    use this to share one K). Returns :class:`SMOResult`.
    """
    dtype = K_NxN.dtype
    diag_N = jnp.diagonal(K_NxN)
    alpha0 = jnp.zeros_like(y_N, dtype=dtype)
    G0 = -jnp.ones_like(alpha0)

    def cond(state):
        _, _, it, done = state
        return jnp.logical_and(it < max_iter, ~done)

    def body(state):
        alpha, G, it, _ = state
        mG = -y_N * G
        up, low = _sets(alpha, y_N, U_N)
        score_up = jnp.where(up, mG, -jnp.inf)
        i = jnp.argmax(score_up)
        m = score_up[i]
        done = m - jnp.min(jnp.where(low, mG, jnp.inf)) <= tol
        Ki = K_NxN[i]
        b = m - mG
        a = diag_N[i] + diag_N - 2.0 * Ki
        a = jnp.where(a > 0, a, TAU)
        j = jnp.argmin(jnp.where(low & (mG < m), -(b * b) / a, jnp.inf))
        Kj = K_NxN[j]
        lam = b[j] / a[j]
        lam = jnp.minimum(lam, jnp.where(y_N[i] > 0, U_N[i] - alpha[i], alpha[i]))
        lam = jnp.minimum(lam, jnp.where(y_N[j] > 0, alpha[j], U_N[j] - alpha[j]))
        lam = jnp.where(done, 0.0, jnp.maximum(lam, 0.0))
        ai = jnp.clip(alpha[i] + y_N[i] * lam, 0.0, U_N[i])
        aj = jnp.clip(alpha[j] - y_N[j] * lam, 0.0, U_N[j])
        alpha = alpha.at[i].set(ai).at[j].set(aj)
        G = G + lam * y_N * (Ki - Kj)
        return alpha, G, it + jnp.where(done, 0, 1), done

    def exact_gradient(alpha):
        return y_N * (K_NxN @ (y_N * alpha)) - 1.0

    def exact_gap(alpha, G):
        _, m, M = _violation(alpha, G, y_N, U_N)
        return m - M

    def refine_cond(state):
        _, _, it, gap, rounds = state
        return (gap > tol) & (it < max_iter) & (rounds < REFINE_ROUNDS)

    def refine(state):
        # SMO from the exact gradient until the running gradient says "converged"; then
        # recompute the gradient exactly (undoing the drift of the incremental updates).
        alpha, G, it, _, rounds = state
        alpha, _, it, _ = jax.lax.while_loop(cond, body, (alpha, G, it, jnp.asarray(False)))
        G = exact_gradient(alpha)
        return alpha, G, it, exact_gap(alpha, G), rounds + 1

    init = (alpha0, G0, jnp.asarray(0, jnp.int32), jnp.asarray(jnp.inf, dtype), jnp.asarray(0, jnp.int32))
    alpha, G, n_iter, gap, _ = jax.lax.while_loop(refine_cond, refine, init)
    member = U_N > 0
    yG = y_N * G
    free = member & (alpha > 0) & (alpha < U_N)
    at_upper = member & (alpha >= U_N)
    at_lower = member & (alpha <= 0)
    ub_set = (at_upper & (y_N < 0)) | (at_lower & (y_N > 0))
    lb_set = (at_upper & (y_N > 0)) | (at_lower & (y_N < 0))
    ub = jnp.min(jnp.where(ub_set, yG, jnp.inf))
    lb = jnp.max(jnp.where(lb_set, yG, -jnp.inf))
    n_free = jnp.sum(free)
    mid = jnp.where(jnp.isfinite(ub) & jnp.isfinite(lb), 0.5 * (ub + lb),
                    jnp.where(jnp.isfinite(ub), ub, jnp.where(jnp.isfinite(lb), lb, 0.0)))
    rho = jnp.where(n_free > 0, jnp.sum(jnp.where(free, yG, 0.0)) / jnp.maximum(n_free, 1), mid)
    dual = jnp.sum(alpha) - 0.5 * jnp.sum(alpha * (G + 1.0))
    return SMOResult(alpha, rho.astype(dtype), dual, gap, n_iter, gap <= tol)
