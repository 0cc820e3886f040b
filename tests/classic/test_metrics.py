"""Metrics and kernels against scikit-learn's implementations."""
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics import hinge_loss as sk_hinge
from sklearn.metrics.pairwise import linear_kernel, polynomial_kernel, rbf_kernel

from jaxml.classic import kernels, metrics


def test_adjusted_rand_index_matches_sklearn():
    rng = np.random.default_rng(0)
    for _ in range(5):
        a, b = rng.integers(0, 4, 50), rng.integers(0, 3, 50)
        assert metrics.adjusted_rand_index(a, b) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)
    a = rng.integers(0, 4, 50)
    assert metrics.adjusted_rand_index(a, (a + 1) % 4) == pytest.approx(1.0)
    assert metrics.adjusted_rand_index([0, 0, 0], [1, 1, 1]) == adjusted_rand_score([0, 0, 0], [1, 1, 1]) == 1.0


def test_best_match_accuracy_undoes_relabelling():
    y = np.array([0, 0, 1, 1, 2, 2])
    assert metrics.best_match_accuracy(y, np.array([2, 2, 0, 0, 1, 1])) == 1.0
    assert metrics.best_match_accuracy(y, np.array([2, 2, 0, 1, 1, 1])) == pytest.approx(5 / 6)
    assert metrics.best_match_accuracy(y, np.zeros(6, int)) == pytest.approx(2 / 6)  # one cluster, one match
    assert metrics.accuracy(y, np.array([2, 2, 0, 0, 1, 1])) == 0.0


def test_hinge_loss_matches_sklearn_and_checks_labels():
    y, f = np.array([1, -1, 1, -1]), np.array([0.5, -2.0, -1.0, 0.3])
    assert metrics.hinge_loss(y, f) == pytest.approx(sk_hinge(y, f))
    with pytest.raises(ValueError, match=r"\{-1, \+1\}"):
        metrics.hinge_loss(np.array([0, 1]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="same length"):
        metrics.accuracy([0, 1], [0])


def test_kernels_match_sklearn():
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((7, 3)), rng.standard_normal((5, 3))
    Aj, Bj = jnp.asarray(A, jnp.float32), jnp.asarray(B, jnp.float32)
    np.testing.assert_allclose(kernels.kernel_matrix(Aj, Bj, "linear"), linear_kernel(A, B), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(kernels.kernel_matrix(Aj, Bj, "rbf", gamma=0.3), rbf_kernel(A, B, gamma=0.3),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(kernels.kernel_matrix(Aj, Bj, "poly", gamma=0.5, degree=3, coef0=1.0),
                               polynomial_kernel(A, B, degree=3, gamma=0.5, coef0=1.0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(kernels.gaussian_kernel(Aj, Bj, 2.0), rbf_kernel(A, B, gamma=1 / 8), rtol=1e-5)
    with pytest.raises(ValueError, match="unknown kernel 'sigmoid'"):
        kernels.kernel_matrix(Aj, Bj, "sigmoid")
    with pytest.raises(ValueError, match="same number of features"):
        kernels.kernel_matrix(Aj, Bj[:, :2], "linear")
