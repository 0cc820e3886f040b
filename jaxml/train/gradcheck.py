"""Numerical derivatives for checking ``jax.grad`` (used by studies and tests).

For automated checks prefer ``jax.test_util.check_grads``; these helpers print or compare
single entries, as a coursework gradient check does.
"""
from __future__ import annotations

from typing import Callable


def central_difference(f: Callable[[float], float], x: float, eps: float = 1e-3) -> float:
    """(f(x + eps) - f(x - eps)) / (2 eps); error O(eps^2) for smooth f. Run in float64."""
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    return float((f(x + eps) - f(x - eps)) / (2.0 * eps))
