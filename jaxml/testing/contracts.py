"""The contracts every model and every step of jaxml keeps, as assertions for any test suite.

``assert_model_contract(model, example)`` — a ``flax.linen`` module:

- outputs have the declared shapes (``output_shape``; default: every output's leading axis is the
  batch's) and dtype (``output_dtype``, default float32), checked with chex, and are finite;
- eval mode ignores the ``dropout`` rng (dropout is off) and two calls give bit-identical outputs;
- with ``dropout=True``, train mode gives the same output for the same ``dropout`` rng and a different
  one for another rng;
- the jitted apply is traced once (as ``chex.assert_max_traces(n=1)`` checks): a second call, on variables whose
  mutable collections (``batch_stats``) a train-mode call has updated, reuses the compiled program —
  the collections keep their shapes and dtypes;
- the forward pass in bfloat16 agrees with float32 on the same (float32) parameters within
  ``bf16_tol`` of the output's scale (``max|y_bf16 - y_f32| <= bf16_tol * max(0.1, max|y_f32|)``;
  default 0.05, about 6 bf16 ulps of 1: bf16 keeps 8 significant bits, a tiny model chains ~10 rounded
  operations). A module with a ``dtype`` field is cloned with ``dtype=jnp.bfloat16`` (flax's convention:
  ``dtype`` is the computation dtype); any other module gets its float parameters and inputs cast to
  bfloat16. ``bf16_output_dtype``: the dtype the bfloat16 forward must return (jaxml's models: float32).

``assert_step_contract(step, state, batch)`` — a driver step (``jaxml.train.fit``):
``train_step(state, batch, rng) -> (state, metrics)`` or ``eval_step(state, batch) -> metrics``:

- metrics are a dict of scalar ``<name>_sum`` entries plus ``count``, finite, with ``count`` equal to
  the number of real examples (the sum of ``batch["mask"]``, all ones when absent);
- the new state has the old one's pytree structure, shapes and dtypes (``chex.assert_trees_all_equal_structs``,
  ``chex.assert_trees_all_equal_shapes_and_dtypes``: no retrace on the next step);
- padding examples (``mask`` 0) change nothing: the batch with ``pad`` extra masked rows gives the same
  state and metrics (within ``rtol``/``atol``: the reductions run over more rows).
"""
from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Mapping, NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["ModelContract", "StepContract", "assert_model_contract", "assert_step_contract"]


class ModelContract(NamedTuple):
    """What :func:`assert_model_contract` computed: the variables, the eval output (float32) and the
    bfloat16 output (None when ``bf16=False``), for further assertions."""
    variables: Any
    output: Any
    bf16_output: Any


class StepContract(NamedTuple):
    """What :func:`assert_step_contract` computed on the unpadded batch (``state`` None for an eval step)."""
    state: Any
    metrics: dict


def _takes_train(model) -> bool:
    try:
        return "train" in inspect.signature(type(model).__call__).parameters
    except (TypeError, ValueError):
        return False


def _floating(a) -> bool:
    return hasattr(a, "dtype") and jnp.issubdtype(a.dtype, jnp.floating)


def _to(dtype, tree):
    return jax.tree.map(lambda a: a.astype(dtype) if _floating(a) else a, tree)


def _is_shape(s) -> bool:
    return isinstance(s, tuple) and all(isinstance(d, int) or d is None for d in s)


def _worst_relative(a, b, floor: float = 0.1) -> float:
    worst = 0.0
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        scale = max(floor, float(np.abs(y).max())) if y.size else floor
        worst = max(worst, float(np.abs(x - y).max()) / scale if y.size else 0.0)
    return worst


def assert_model_contract(model, example, *, output_shape=None, output_dtype=jnp.float32,
                          dropout: bool = False, bf16: bool = True, bf16_tol: float = 0.05, bf16_output_dtype=None,
                          rngs=("dropout",), apply_kwargs: Mapping | None = None, seed: int = 0) -> ModelContract:
    """Check the model contract (module docstring) of ``model`` (a ``flax.linen`` module) on
    ``example`` (its first positional input, e.g. ``x_BxD`` or token ids ``BxT``).

    ``output_shape``: the expected shape of the output, or a pytree of shapes matching a tuple/dict of
    outputs (``None`` entries in a shape match any size); default: the batch size leads every output.
    ``output_dtype``: every output's dtype (None: not checked). ``dropout``: the module has train-mode
    dropout that must depend on the ``dropout`` rng. ``rngs``: rng collection names the module draws from
    (each gets a fixed key). ``apply_kwargs``: extra keyword arguments for every call (e.g. a mask).
    Returns a :class:`ModelContract`; raises ``AssertionError`` naming the broken clause.
    """
    kwargs = dict(apply_kwargs or {})
    has_train = _takes_train(model)
    keys = jax.random.split(jax.random.key(seed), len(rngs) + 3)
    rngs_a = {name: keys[i] for i, name in enumerate(rngs)}
    rngs_b = {name: jax.random.fold_in(k, 1) for name, k in rngs_a.items()}
    init_rngs = {"params": keys[-1], **rngs_a}
    train_kw = {"train": False} if has_train else {}

    fields = {f.name for f in dataclasses.fields(model)} if dataclasses.is_dataclass(model) else set()
    bf16_model = model.clone(dtype=jnp.bfloat16) if "dtype" in fields else None

    def forward(m, variables, x, rngs, train):
        if not has_train:
            return m.apply(variables, x, rngs=rngs, **kwargs), {}
        mutable = [c for c in variables if c not in ("params",)] if train else False
        if mutable:
            return m.apply(variables, x, rngs=rngs, train=True, mutable=mutable, **kwargs)
        return m.apply(variables, x, rngs=rngs, train=train, **kwargs), {}

    variables = jax.jit(lambda x: model.init(init_rngs, x, **train_kw, **kwargs))(example)
    mutable = [c for c in variables if c != "params"]
    train_pass = has_train and (dropout or bool(mutable))

    # One program for everything else (compile time dominates tiny models); chex.assert_max_traces' check,
    # counted per contract (chex counts per source location for the whole process, so a second contract in
    # the same process would look like a retrace).
    traces = []

    @jax.jit
    def run(variables, x):
        traces.append(1)  # runs only while tracing
        assert len(traces) <= 1, (
            f"{type(model).__name__}: the jitted apply was traced again on a second call with inputs and "
            "variables of the same shapes (a retrace on every step: check the dtypes and weak types of the "
            "variables the model updates and of its inputs)")
        out = {"eval": forward(model, variables, x, rngs_a, False)[0]}
        if "dropout" in rngs_a:
            out["eval_b"] = forward(model, variables, x, {**rngs_a, "dropout": rngs_b["dropout"]}, False)[0]
        if bf16:
            if bf16_model is not None:
                out["bf16"] = forward(bf16_model, variables, x, rngs_a, False)[0]
            else:
                out["bf16"] = forward(model, _to(jnp.bfloat16, variables), _to(jnp.bfloat16, x), rngs_a, False)[0]
        if train_pass:
            out["train_a"], out["updates"] = forward(model, variables, x, rngs_a, True)
            if dropout:
                out["train_b"] = forward(model, variables, x, rngs_b, True)[0]
        return out

    got = run(variables, example)
    y = got["eval"]

    # Shapes and dtypes (chex), finite values.
    leaves = jax.tree.leaves(y)
    assert leaves, f"{type(model).__name__} returned no arrays: {y!r}"
    if output_shape is not None:
        expected = jax.tree.leaves(output_shape, is_leaf=_is_shape)
        assert len(expected) == len(leaves), (
            f"{type(model).__name__} returned {len(leaves)} arrays {[a.shape for a in leaves]}, "
            f"expected {len(expected)} with shapes {expected}")
        for leaf, shape in zip(leaves, expected):
            chex.assert_shape(leaf, shape)
    else:
        batch = jax.tree.leaves(example)[0].shape[0]
        for leaf in leaves:
            chex.assert_axis_dimension(leaf, 0, batch)
    if output_dtype is not None:
        chex.assert_type(leaves, output_dtype)
    chex.assert_tree_all_finite(y)
    if train_pass:
        chex.assert_tree_all_finite(got["train_a"])

    # Eval mode ignores the dropout rng; same rngs, same outputs; no retrace on updated mutable collections.
    if "eval_b" in got:
        try:
            chex.assert_trees_all_equal(got["eval_b"], y)
        except AssertionError:
            raise AssertionError(f"{type(model).__name__}: the eval-mode output (train=False) depends on the dropout "
                                 "rng: dropout must be off in eval mode") from None
    again = run(variables, example)
    chex.assert_trees_all_equal(again["eval"], y)
    if train_pass:
        chex.assert_trees_all_equal(again["train_a"], got["train_a"])
    if train_pass and got["updates"]:
        updated = {**variables, **got["updates"]}
        try:
            chex.assert_trees_all_equal_shapes_and_dtypes(dict(variables), dict(updated))
        except AssertionError as e:
            raise AssertionError(f"a train-mode call changed the shapes/dtypes of the mutable collections "
                                 f"{list(got['updates'])} (every later call retraces): {e}") from None
        run(updated, example)

    # Train-mode dropout: same rng -> same output, another rng -> another output.
    if dropout:
        assert has_train, f"{type(model).__name__}.__call__ takes no `train` argument, so it has no train-mode dropout"
        same = all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(got["train_a"]),
                                                          jax.tree.leaves(got["train_b"])))
        assert not same, (f"{type(model).__name__} declares dropout but its train-mode output does not depend on "
                          f"the dropout rng (two rngs gave identical outputs)")

    # bfloat16 against float32.
    if bf16:
        y16 = got["bf16"]
        if bf16_output_dtype is not None:
            chex.assert_type(jax.tree.leaves(y16), bf16_output_dtype)
        chex.assert_tree_all_finite(_to(jnp.float32, y16))
        floats = lambda t: [a for a in jax.tree.leaves(t) if _floating(a)]  # noqa: E731
        worst = _worst_relative(floats(y16), floats(y))
        assert worst <= bf16_tol, (f"{type(model).__name__}: the bfloat16 forward differs from float32 by {worst:.4f} "
                                   f"of the output's scale (tolerance {bf16_tol})")
    return ModelContract(variables, y, got.get("bf16"))


# ------------------------------------------------------------------------------------------- steps


def _is_train_step(step) -> bool:
    try:
        params = [p for p in inspect.signature(step).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    except (TypeError, ValueError):
        return True
    return len(params) >= 3


def _batch_size(batch) -> int:
    sizes = {np.shape(a)[0] for a in jax.tree.leaves(batch) if np.ndim(a)}
    assert len(sizes) == 1, f"the batch's arrays must share a leading batch axis, got leading sizes {sorted(sizes)}"
    return sizes.pop()


def _padded(batch, mask, pad: int):
    """The batch with ``pad`` extra rows (the real rows reversed, cycled) whose mask is 0."""
    n = mask.shape[0]
    take = np.arange(pad) % n
    extra = jax.tree.map(lambda a: np.asarray(a)[::-1][take], batch)
    out = jax.tree.map(lambda a, e: np.concatenate([np.asarray(a), e]), batch, extra)
    out["mask"] = np.concatenate([mask, np.zeros(pad, mask.dtype)])
    return out


def _check_metrics(metrics, count: float, what: str) -> dict:
    assert isinstance(metrics, Mapping), f"{what} must return a dict of metric sums, got {type(metrics).__name__}"
    assert "count" in metrics, f"{what} must return a 'count' entry (the number of real examples), got {list(metrics)}"
    others = [k for k in metrics if k != "count" and not k.endswith("_sum")]
    assert not others, f"{what}: metrics are sums named '<name>_sum' plus 'count'; unexpected entries {others}"
    for v in metrics.values():
        chex.assert_shape(v, ())
    chex.assert_tree_all_finite(dict(metrics))
    got = float(metrics["count"])
    assert got == count, f"{what}: count is {got}, but the batch has {count:g} real examples (mask == 1)"
    return {k: np.asarray(v) for k, v in metrics.items()}


def assert_step_contract(step, state, batch, *, rng=None, pad: int = 3, rtol: float = 1e-5, atol: float = 1e-6,
                         jit: bool = True) -> StepContract:
    """Check the step contract (module docstring) of ``step`` on ``state`` and ``batch`` (a dict of
    arrays with a leading batch axis; ``batch["mask"]`` optional). A step taking three positional
    arguments is a train step (``rng``: its key, default ``jax.random.key(0)``), two an eval step.
    ``jit=False`` runs the step eagerly. Returns a :class:`StepContract` for the unpadded batch."""
    batch = dict(batch)
    state = jax.tree.map(jnp.asarray, state)  # a fresh TrainState's step is a Python int
    n = _batch_size(batch)
    mask = np.asarray(batch["mask"], np.float32) if "mask" in batch else np.ones(n, np.float32)
    batch["mask"] = mask
    count = float(mask.sum())
    train = _is_train_step(step)
    rng = jax.random.key(0) if rng is None else rng
    run = jax.jit(step) if jit else step
    call = (lambda b: run(state, b, rng)) if train else (lambda b: (None, run(state, b)))
    name = getattr(step, "__name__", "the step")

    new_state, metrics = call(batch)
    metrics = _check_metrics(metrics, count, name)
    if train:
        try:
            chex.assert_trees_all_equal_structs(state, new_state)
            chex.assert_trees_all_equal_shapes_and_dtypes(state, new_state)
        except AssertionError as e:
            raise AssertionError(f"{name} must return a state with the input state's structure, shapes and dtypes "
                                 f"(else the next step retraces): {e}") from None

    pad_state, pad_metrics = call(_padded(batch, mask, pad))
    pad_metrics = _check_metrics(pad_metrics, count, f"{name} (with {pad} padding rows)")
    for k in metrics:
        np.testing.assert_allclose(pad_metrics[k], metrics[k], rtol=rtol, atol=atol,
                                   err_msg=f"{name}: masked padding rows changed the metric {k!r}")
    if train:
        try:
            chex.assert_trees_all_close(pad_state, new_state, rtol=rtol, atol=atol)
        except AssertionError as e:
            raise AssertionError(f"{name}: masked padding rows changed the new state: {e}") from None
    return StepContract(new_state, metrics)
