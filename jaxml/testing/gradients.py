"""``assert_gradients(fn, *args)``: JAX's derivatives of ``fn`` against finite differences, in float64.

``jax.test_util.check_grads`` compares forward- and reverse-mode derivatives (up to ``order``) with
central differences along random directions. Here it runs under ``jax.enable_x64`` with every floating
argument cast to float64, where a step of ``eps=1e-4`` has truncation error ~1e-8 and rounding error ~1e-12,
so the default tolerances (``atol = rtol = 1e-5``, jax's float64 defaults) separate a wrong derivative
(errors of order 1) from numerics by three orders of magnitude. Defaults: ``order=2`` in reverse mode
(the gradient training uses, and its derivative: Hessian-vector products, gradient penalties);
``modes=("fwd", "rev")`` adds forward mode (``jacfwd``, ``hessian``) at about 2.5x the compile time.
``fn`` is jitted (check_grads evaluates it many times); kinks (``relu`` at exactly 0, e.g. zero inputs
with zero biases) make finite differences disagree: check smooth activations or inputs away from kinks.

On failure the message names the worst entry: which argument, which leaf and index, JAX's partial
derivative, the central difference and their gap (of a random projection of ``fn``'s output to a scalar,
so that any output shape works); ``check_grads``' own message follows.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.test_util import check_grads

__all__ = ["assert_gradients", "worst_gradient_entry"]


def _float64(tree):
    return jax.tree.map(lambda a: jnp.asarray(a, jnp.float64)
                        if jnp.issubdtype(jnp.asarray(a).dtype, jnp.floating) else jnp.asarray(a), tree)


def _scalar_projection(fn, args):
    """``g(*args) = sum(fn(*args) * w)`` for fixed random weights ``w`` of ``fn``'s output shapes."""
    out = jax.eval_shape(fn, *args)
    leaves, treedef = jax.tree.flatten(out)
    keys = jax.random.split(jax.random.key(1234), max(len(leaves), 1))
    weights = [jax.random.normal(k, s.shape, jnp.float64) for k, s in zip(keys, leaves)]

    def g(*a):
        return sum(jnp.sum(o * w) for o, w in zip(jax.tree.leaves(fn(*a)), weights))
    return g


def worst_gradient_entry(fn, *args, eps: float = 1e-4, max_entries: int = 200) -> dict:
    """The entry of ``args`` where JAX's derivative of a random scalar projection of ``fn`` is furthest
    from the central difference (float64; up to ``max_entries`` entries per argument leaf, spread evenly):
    ``{"arg", "path", "index", "jax", "numeric", "error"}``."""
    with jax.enable_x64(True):
        args = _float64(args)
        g = jax.jit(_scalar_projection(fn, args))
        grads = jax.grad(g, argnums=tuple(range(len(args))))(*args)
        worst = {"error": -1.0}
        for i, (arg, grad) in enumerate(zip(args, grads)):
            flat, treedef = jax.tree_util.tree_flatten_with_path(arg)
            for j, ((path, leaf), gleaf) in enumerate(zip(flat, jax.tree.leaves(grad))):
                if not jnp.issubdtype(leaf.dtype, jnp.floating) or leaf.size == 0:
                    continue
                base = np.asarray(leaf)
                for flat_index in np.unique(np.linspace(0, base.size - 1, min(max_entries, base.size)).astype(int)):
                    index = np.unravel_index(flat_index, base.shape)
                    values = []
                    for delta in (eps, -eps):
                        moved = base.copy()
                        moved[index] += delta
                        leaves = [jnp.asarray(moved) if k == j else v for k, (_, v) in enumerate(flat)]
                        new_args = list(args)
                        new_args[i] = jax.tree.unflatten(treedef, leaves)
                        values.append(float(g(*new_args)))
                    numeric = (values[0] - values[1]) / (2 * eps)
                    analytic = float(np.asarray(gleaf)[index])
                    error = abs(analytic - numeric)
                    if error > worst["error"]:
                        worst = {"arg": i, "path": jax.tree_util.keystr(path), "index": tuple(int(k) for k in index),
                                 "jax": analytic, "numeric": numeric, "error": error}
    return worst


def assert_gradients(fn, *args, order: int = 2, modes=("rev",), eps: float = 1e-4,
                     atol: float | None = 1e-5, rtol: float | None = 1e-5) -> None:
    """Check ``fn``'s derivatives with respect to all of ``args`` (pytrees; floating leaves are
    differentiated, in float64) against central differences; see the module docstring."""
    with jax.enable_x64(True):
        args64 = _float64(args)
        try:
            # Jitted: check_grads evaluates fn and its derivatives many times (eagerly, op by op, otherwise).
            check_grads(jax.jit(fn), args64, order=order, modes=modes, eps=eps, atol=atol, rtol=rtol)
        except AssertionError as e:
            w = worst_gradient_entry(fn, *args64, eps=eps)
            where = f"argument {w['arg']}{w['path']}[{', '.join(map(str, w['index']))}]" if "arg" in w else "?"
            raise AssertionError(
                f"wrong derivatives of {getattr(fn, '__name__', 'fn')} (order {order}, modes {tuple(modes)}, float64, "
                f"eps={eps}, atol={atol}, rtol={rtol}). Worst first-order entry of a random scalar projection: "
                f"{where}: "
                f"jax {w.get('jax', float('nan')):.6g}, central difference {w.get('numeric', float('nan')):.6g}, "
                f"|gap| {w['error']:.3g}.\ncheck_grads: {e}") from None
