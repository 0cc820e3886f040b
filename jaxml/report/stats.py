"""Mean ± standard deviation over seeds (or any repeated measurement).

The standard deviation is the *sample* standard deviation, ``ddof=1`` (Bessel's correction),
because the values are a handful of seeds drawn from a larger population of possible runs.
With a single value there is no spread to estimate and the std is reported as ``0.0``
(``ddof=1`` would give NaN).

Inputs may be Python lists, numpy arrays or JAX arrays; everything is converted to a float64
numpy array on the host first, so results are plain Python floats / numpy arrays.
"""
from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["MeanStd", "mean_std", "mean_std_array", "mean_band"]


@dataclasses.dataclass(frozen=True)
class MeanStd:
    """A mean, its sample standard deviation (ddof=1) and the number of values."""

    mean: float
    std: float
    n: int

    def format(self, fmt: str = ".4f") -> str:
        """``"0.8512 ± 0.0031 (n=3)"`` with ``fmt`` applied to mean and std."""
        return f"{format(self.mean, fmt)} ± {format(self.std, fmt)} (n={self.n})"

    def __str__(self) -> str:
        return self.format()


def _as_float_array(values) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"mean_std: expected numbers (list, numpy or JAX array), got {type(values).__name__}: {e}"
        ) from e
    return arr


def mean_std_array(values, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample std (ddof=1; 0.0 when only one value) along ``axis``.

    ``values`` of shape ``(n_seeds, T)`` with ``axis=0`` gives two arrays of shape ``(T,)``:
    a learning curve's mean and its std band. NaNs propagate.

    Raises:
      ValueError: when ``values`` is a scalar or there are no values along ``axis``.
    """
    arr = _as_float_array(values)
    if arr.ndim == 0:
        raise ValueError("mean_std_array: got a scalar; pass the repeated values as an array")
    if not -arr.ndim <= axis < arr.ndim:
        raise ValueError(f"mean_std_array: axis {axis} out of range for shape {arr.shape}")
    n = arr.shape[axis]
    if n == 0:
        raise ValueError(f"mean_std_array: no values along axis {axis} (shape {arr.shape})")
    mean = arr.mean(axis=axis)
    if n == 1:
        std = np.zeros_like(mean)
    else:
        std = arr.std(axis=axis, ddof=1)
    return mean, std


def mean_std(values, axis: int = 0) -> MeanStd:
    """Mean ± sample std (ddof=1; 0.0 when n == 1) of a 1-d collection of values.

    ``axis`` names the axis that holds the repeats; reducing along it must leave a single
    number (for extra axes use :func:`mean_std_array`).

    >>> mean_std([0.84, 0.85, 0.86]).format()
    '0.8500 ± 0.0100 (n=3)'
    """
    arr = _as_float_array(values)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    mean, std = mean_std_array(arr, axis=axis)
    if mean.size != 1:
        raise ValueError(
            f"mean_std: values of shape {arr.shape} reduce to shape {mean.shape} along axis {axis}, "
            "not to one number; use mean_std_array for arrays with extra axes"
        )
    return MeanStd(mean=float(mean.reshape(())), std=float(std.reshape(())), n=int(arr.shape[axis]))


def mean_band(values_RxE, x=None) -> tuple[tuple, tuple]:
    """``(line, band)`` of curves over repeats, ready for ``line_plot(curves=..., bands=...)``:
    ``line = (x, mean)`` and ``band = (x, mean - std, mean + std)`` over the rows of ``values_RxE``
    (R repeats x E points, NaN where a repeat has no value). ``x`` defaults to ``1..E`` (epochs)."""
    mean, std = mean_std_array(values_RxE, axis=0)
    x = np.arange(1, mean.shape[0] + 1) if x is None else np.asarray(x)
    return (x, mean), (x, mean - std, mean + std)
