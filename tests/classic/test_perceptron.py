"""Multiclass perceptron: a numpy reference loop, convergence on separable data, and the
kernel perceptron with a linear kernel predicting exactly as the primal one."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.classic import perceptron
from jaxml.classic.common import ConfigError
from jaxml.classic.kernels import linear_kernel, rbf_kernel

KEY = jax.random.PRNGKey(3)
CFG = perceptron.PerceptronConfig(num_classes=3, passes=12, keep_history=True)


@pytest.fixture(scope="module")
def separable():
    """Three linearly separable classes (through a bias feature), small integer coordinates."""
    rng = np.random.default_rng(0)
    centers = np.array([[-6, 0], [6, 0], [0, 7]])
    y = rng.integers(0, 3, 60).astype(np.int32)
    X = centers[y] + rng.integers(-2, 3, (60, 2))
    X = np.concatenate([X, np.ones((60, 1))], axis=1).astype(np.float32)  # constant feature = intercept
    return jnp.asarray(X), jnp.asarray(y)


@pytest.fixture(scope="module")
def fits(separable):
    X, y = separable
    primal = perceptron.fit(KEY, X, y, CFG)
    dual = perceptron.fit_kernel(KEY, linear_kernel(X, X), y, CFG)
    return primal, dual


def numpy_perceptron(X, y, orders, num_classes):
    """Independent reference: the textbook update loop in float64."""
    w = np.zeros((num_classes, X.shape[1]))
    mistakes = []
    for order in orders:
        count = 0
        for i in order:
            yhat = int(np.argmax(w @ X[i]))
            if yhat != y[i]:
                w[yhat] -= X[i]
                w[y[i]] += X[i]
                count += 1
        mistakes.append(count)
    return w, mistakes


def test_primal_matches_numpy_reference_loop(separable, fits):
    X, y = (np.asarray(a) for a in separable)
    orders = [np.asarray(jax.random.permutation(jax.random.fold_in(KEY, p), len(y))) for p in range(CFG.passes)]
    w, mistakes = numpy_perceptron(X.astype(np.float64), y, orders, 3)
    primal, _ = fits
    np.testing.assert_array_equal(np.asarray(primal.w_CxD), w)
    assert list(np.asarray(primal.mistakes_P)) == mistakes


def test_converges_to_zero_training_errors_on_separable_data(separable, fits):
    X, y = separable
    primal, _ = fits
    mistakes = np.asarray(primal.mistakes_P)
    assert mistakes[0] > 0 and mistakes[-1] == 0
    assert np.array_equal(np.asarray(perceptron.predict(primal, X)), np.asarray(y))
    # Once a pass makes no mistake the weights never change again.
    first_clean = int(np.argmax(mistakes == 0))
    hist = np.asarray(primal.history_PxCxD)
    assert np.array_equal(hist[first_clean], hist[-1])


def test_linear_kernel_perceptron_predicts_exactly_as_primal(separable, fits):
    X, y = separable
    primal, dual = fits
    np.testing.assert_array_equal(np.asarray(dual.mistakes_P), np.asarray(primal.mistakes_P))
    # w_c = Σ_n α_{c,n} x_n exactly (integer arithmetic in float32).
    np.testing.assert_array_equal(np.asarray(dual.alpha_CxN @ X), np.asarray(primal.w_CxD))
    X_test = jnp.asarray(np.random.default_rng(1).integers(-9, 10, (40, 3)).astype(np.float32))
    np.testing.assert_array_equal(np.asarray(perceptron.predict_kernel(dual, linear_kernel(X_test, X))),
                                  np.asarray(perceptron.predict(primal, X_test)))
    np.testing.assert_array_equal(np.asarray(perceptron.staged_predict_kernel(dual, linear_kernel(X_test, X))),
                                  np.asarray(perceptron.staged_predict(primal, X_test)))


def test_staged_predictions_end_with_final_model(separable, fits):
    X, _ = separable
    primal, _ = fits
    staged = np.asarray(perceptron.staged_predict(primal, X))
    assert staged.shape == (CFG.passes, X.shape[0])
    np.testing.assert_array_equal(staged[-1], np.asarray(perceptron.predict(primal, X)))


def test_rbf_kernel_perceptron_fits_xor_which_linear_cannot():
    # 60 points (the fixture's size, so the compiled fit is shared) in four XOR blobs.
    rng = np.random.default_rng(2)
    corner = rng.integers(0, 4, 60)
    X = jnp.asarray(np.array([[0, 0], [1, 1], [0, 1], [1, 0]])[corner] + 0.1 * rng.standard_normal((60, 2)),
                    jnp.float32)
    y = jnp.asarray(corner // 2, jnp.int32)
    rbf = perceptron.fit_kernel(KEY, rbf_kernel(X, X, 2.0), y, CFG)
    lin = perceptron.fit_kernel(KEY, linear_kernel(X, X), y, CFG)
    assert int(rbf.mistakes_P[-1]) == 0 and int(lin.mistakes_P[-1]) > 0
    assert np.array_equal(np.asarray(perceptron.predict_kernel(rbf, rbf_kernel(X, X, 2.0))), np.asarray(y))


def test_bad_input_is_named(separable):
    X, y = separable
    with pytest.raises(ValueError, match=r"labels in \[0, 2\)"):
        perceptron.fit(KEY, X, y, perceptron.PerceptronConfig(num_classes=2))
    with pytest.raises(ValueError, match="one per row of X"):
        perceptron.fit(KEY, X, y[:-1], CFG)
    with pytest.raises(ValueError, match="2-d array"):
        perceptron.fit(KEY, X[:, 0], y, CFG)
    with pytest.raises(ConfigError, match="passes"):
        perceptron.fit(KEY, X, y, perceptron.PerceptronConfig(num_classes=3, passes=0))
    with pytest.raises(ValueError, match="square"):
        perceptron.fit_kernel(KEY, X, y, CFG)
    no_hist = perceptron.PerceptronModel(jnp.zeros((3, 3)), jnp.zeros(1, jnp.int32))
    with pytest.raises(ValueError, match="keep_history=True"):
        perceptron.staged_predict(no_hist, X)
