"""Evaluation measures for the classical learners (host-side numpy, float64).

- :func:`accuracy`: fraction of equal labels.
- :func:`contingency`: (K_true, K_pred) counts.
- :func:`best_match_accuracy`: clustering accuracy under the best one-to-one matching of
  predicted cluster ids to true labels (Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``,
  on the contingency table; unmatched clusters count as errors).
- :func:`adjusted_rand_index`: Hubert and Arabie's ARI from the contingency table,
  (Σ_ij C(n_ij,2) − E) / (½[Σ_i C(a_i,2) + Σ_j C(b_j,2)] − E) with
  E = Σ_i C(a_i,2) Σ_j C(b_j,2) / C(n,2); 1.0 when the denominator is 0 (both partitions trivial).
  Implemented here; the tests check it against ``sklearn.metrics.adjusted_rand_score``.
- :func:`hinge_loss`: mean max(0, 1 − y f(x)) for labels y in {−1, +1}.

Inputs may be lists, numpy or JAX arrays of integer labels (any ids; they need not be 0..K−1).
"""
from __future__ import annotations

import numpy as np

__all__ = ["accuracy", "contingency", "best_match_accuracy", "adjusted_rand_index", "hinge_loss"]


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(y_true), np.asarray(y_pred)
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"expected two 1-d label arrays of the same length; got shapes {a.shape} and {b.shape}")
    if a.size == 0:
        raise ValueError("expected at least one label; got empty arrays")
    return a, b


def accuracy(y_true, y_pred) -> float:
    """Fraction of positions where the labels agree."""
    a, b = _pair(y_true, y_pred)
    return float(np.mean(a == b))


def contingency(y_true, y_pred) -> np.ndarray:
    """(K_true, K_pred) int64 table: entry [i, j] counts points of true class i put in cluster j
    (classes and clusters in sorted order of their ids)."""
    a, b = _pair(y_true, y_pred)
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    table = np.zeros((ia.max() + 1, ib.max() + 1), np.int64)
    np.add.at(table, (ia, ib), 1)
    return table


def best_match_accuracy(y_true, y_pred) -> float:
    """Accuracy after mapping cluster ids to labels by the best one-to-one matching."""
    from scipy.optimize import linear_sum_assignment

    table = contingency(y_true, y_pred)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / table.sum())


def _comb2(x) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x * (x - 1.0) / 2.0


def adjusted_rand_index(y_true, y_pred) -> float:
    """Adjusted Rand index in [-1, 1]; 1 for identical partitions (up to relabelling)."""
    table = contingency(y_true, y_pred)
    n = table.sum()
    index = _comb2(table).sum()
    sum_a = _comb2(table.sum(axis=1)).sum()
    sum_b = _comb2(table.sum(axis=0)).sum()
    expected = sum_a * sum_b / _comb2(n) if n > 1 else 0.0
    denominator = 0.5 * (sum_a + sum_b) - expected
    if denominator == 0:
        return 1.0
    return float((index - expected) / denominator)


def hinge_loss(y_pm1, decision) -> float:
    """Mean max(0, 1 − y f) for y in {−1, +1} and real decision values f."""
    y, f = np.asarray(y_pm1, np.float64), np.asarray(decision, np.float64)
    if y.shape != f.shape or y.ndim != 1:
        raise ValueError(f"hinge_loss expects 1-d y and decision values of the same length; got {y.shape}, {f.shape}")
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError("hinge_loss expects labels in {-1, +1}")
    return float(np.mean(np.maximum(0.0, 1.0 - y * f)))
