"""Host-side checks of the data handed to the default classifier steps, once per dataset.

The default steps (``jaxml.train.steps``) feed ``batch["x"]`` to the model and compare its outputs
with ``batch["y"]``. Mistakes there do not fail, they train something else: labels of -1 or 15
in a 10-class problem (``take_along_axis`` clamps or reads garbage: accuracy 0, or a loss reported
as a divergence), raw uint8 pixels (cast to float, not scaled), features of another width (a flax
``ScopeParamShapeError`` from deep inside ``apply``). :func:`check_classifier_arrays` looks once,
on the host, before anything is compiled, and raises :class:`~jaxml.train.errors.InputError`
naming the argument, the value and what was expected.
"""
from __future__ import annotations

import jax
import numpy as np

from jaxml.train.errors import InputError
from jaxml.train.state import apply_model

__all__ = ["check_classifier_arrays", "model_outputs", "check_labels"]


@jax.jit  # traced once per input shape (train and test sets share the trace)
def _eval_outputs(state, x):
    return apply_model(state, state.params, x, train=False)[0]


def model_outputs(state, x_example, name: str):
    """``jax.ShapeDtypeStruct`` of the model's outputs for ``x_example`` (one batch, nothing runs);
    InputError naming ``name`` when the parameters do not fit that input."""
    try:
        return jax.eval_shape(_eval_outputs, state, x_example)
    except Exception as e:  # flax's ScopeParamShapeError, dot_general's TypeError, ...
        detail = str(e).split("\n")[0][:300]
        raise InputError(f"{name}['x'] has example shape {tuple(x_example.shape[1:])} ({x_example.dtype}), "
                         f"which the model's parameters do not fit: {type(e).__name__}: {detail}") from None


def check_labels(name: str, y, loss: str, outputs) -> None:
    """Labels ``y`` against the model's ``outputs`` (shape/dtype struct) for the named loss."""
    y = np.asarray(y)
    if loss == "cross_entropy":
        classes = int(outputs.shape[-1])
        if not np.issubdtype(y.dtype, np.integer):
            raise InputError(f"{name}['y'] has dtype {y.dtype}; cross_entropy expects integer class labels "
                             f"in [0, {classes - 1}]")
        if y.size and (y.min() < 0 or y.max() >= classes):
            bad = int(np.flatnonzero((y < 0) | (y >= classes))[0])
            raise InputError(f"{name}['y'] has labels in [{y.min()}, {y.max()}] (first bad: example {bad}, "
                             f"label {y.reshape(-1)[bad]}), but the model has {classes} outputs: "
                             f"expected integer labels in [0, {classes - 1}]")
    elif loss == "binary_cross_entropy":
        if y.size and not (np.all(np.isfinite(y)) and y.min() >= 0 and y.max() <= 1):
            raise InputError(f"{name}['y'] has targets in [{np.nanmin(y)}, {np.nanmax(y)}]; binary_cross_entropy "
                             "expects targets in [0, 1]")
    elif loss == "mse" and np.issubdtype(y.dtype, np.floating) and not np.all(np.isfinite(y)):
        raise InputError(f"{name}['y'] holds NaN or inf targets")


def check_classifier_arrays(name: str, arrays, state, loss, *, allow_uint8: bool = False) -> None:
    """Check a dataset (dict with ``x``, ``y``) for the default steps of ``loss`` and the model of
    ``state`` (one run's state; only shapes are used): example shape, uint8 inputs, label range."""
    x = arrays["x"]
    if np.dtype(x.dtype) == np.uint8 and not allow_uint8:
        raise InputError(f"{name}['x'] is uint8 (raw 0-255 pixel values?): the step would cast it to float "
                         "without scaling. Scale it first (jaxml.data.transforms.scale_to_unit) or pass "
                         "allow_uint8=True to train on the raw values")
    outputs = model_outputs(state, jax.ShapeDtypeStruct((1,) + tuple(np.shape(x)[1:]), x.dtype), name)
    if isinstance(loss, str):
        check_labels(name, arrays["y"], loss, outputs)
