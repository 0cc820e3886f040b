"""Kernel SVM: predictions and dual objective against sklearn.svm.SVC (same kernel, C, gamma),
support vectors, one-vs-one on three classes, precomputed Gaussian = built-in RBF, vmapped C."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.svm import SVC

from jaxml.classic import svm
from jaxml.classic.common import ConfigError
from jaxml.data import load


@pytest.fixture(scope="module")
def cancer():
    """breast_cancer, standardised with the training statistics; 200 train / 143 test points."""
    tr, te = load("breast_cancer", "train"), load("breast_cancer", "test")
    mu, sd = tr.x.mean(0), tr.x.std(0)
    return ((tr.x[:200] - mu) / sd).astype(np.float32), tr.y[:200], ((te.x - mu) / sd).astype(np.float32), te.y


def dual_value(coef, K):
    """Σ|y α| − ½ (yα)ᵀ K (yα) in float64."""
    return np.abs(coef).sum() - 0.5 * coef @ K @ coef


def sklearn_kernel(X, kernel, gamma, coef0=0.0, degree=3):
    X = X.astype(np.float64)
    G = X @ X.T
    if kernel == "linear":
        return G
    if kernel == "poly":
        return (gamma * G + coef0) ** degree
    sq = np.diag(G)
    return np.exp(-gamma * (sq[:, None] + sq[None, :] - 2 * G))


@pytest.mark.parametrize("kernel,C,gamma", [("rbf", 1.0, 0.05), ("linear", 0.1, 1.0), ("poly", 1.0, 0.1)])
def test_binary_svm_agrees_with_sklearn(cancer, kernel, C, gamma):
    x, y, xt, yt = cancer
    cfg = svm.SVMConfig(num_classes=2, kernel=kernel, C=C, gamma=gamma, coef0=1.0)
    model = svm.fit(None, jnp.asarray(x), jnp.asarray(y), cfg)
    ref = SVC(kernel=kernel, C=C, gamma=gamma, coef0=1.0).fit(x, y)
    assert bool(model.converged_P[0]) and float(model.gap_P[0]) <= 1e-3
    assert (np.asarray(svm.predict(model, jnp.asarray(xt))) == ref.predict(xt)).mean() >= 0.99
    K = sklearn_kernel(x, kernel, gamma, coef0=1.0)
    ours = dual_value(np.asarray(model.coef_PxN[0], np.float64), K)
    theirs = dual_value(ref.dual_coef_[0], K[np.ix_(ref.support_, ref.support_)])
    assert abs(ours - theirs) <= 1e-3 * abs(theirs)
    assert float(model.dual_P[0]) == pytest.approx(ours, rel=1e-3)
    # Support vectors: the same points (sklearn's dual_coef_ is minus ours: its first class is -1).
    np.testing.assert_array_equal(svm.support_indices(model), np.sort(ref.support_))
    dec = np.asarray(svm.decision_function(model, jnp.asarray(xt)))[:, 0]
    np.testing.assert_allclose(-dec, ref.decision_function(xt), atol=5e-3)


def test_one_vs_one_on_three_classes_agrees_with_sklearn():
    iris = load("iris", "all")
    x = ((iris.x - iris.x.mean(0)) / iris.x.std(0)).astype(np.float32)
    cfg = svm.SVMConfig(num_classes=3, kernel="rbf", C=10.0, gamma=0.5)
    model = svm.fit(None, jnp.asarray(x), jnp.asarray(iris.y), cfg)
    assert model.coef_PxN.shape == (3, 150)
    ref = SVC(C=10.0, gamma=0.5).fit(x, iris.y)
    grid = np.random.default_rng(0).uniform(-2.5, 2.5, (300, 4)).astype(np.float32)  # off-sample points too
    assert (np.asarray(svm.predict(model, jnp.asarray(grid))) == ref.predict(grid)).mean() >= 0.99
    np.testing.assert_array_equal(svm.support_indices(model), np.sort(ref.support_))
    # Excluded points of a pair problem keep α = 0: pair (0, 1) has no coefficient on class 2.
    assert not np.asarray(model.coef_PxN[0])[iris.y == 2].any()
    ovr = svm.fit(None, jnp.asarray(x), jnp.asarray(iris.y), cfg.replace(multiclass="ovr"))
    assert ovr.coef_PxN.shape == (3, 150)
    assert (np.asarray(svm.predict(ovr, jnp.asarray(x))) == iris.y).mean() >= 0.95


def test_precomputed_gaussian_equals_builtin_rbf(cancer):
    x, y, xt, _ = cancer
    sigma = 3.0
    gauss = lambda a, b: np.exp(-((a[:, None, :].astype(np.float64) - b[None]) ** 2).sum(-1) / (2 * sigma ** 2))  # noqa: E731
    pre = svm.fit(None, jnp.asarray(gauss(x, x), jnp.float32), jnp.asarray(y),
                  svm.SVMConfig(num_classes=2, kernel="precomputed", C=1.0))
    rbf = svm.fit(None, jnp.asarray(x), jnp.asarray(y), svm.SVMConfig(num_classes=2, C=1.0, gamma=1 / (2 * sigma ** 2)))
    assert pre.X_train_NxD is None
    np.testing.assert_array_equal(np.asarray(svm.predict(pre, jnp.asarray(gauss(xt, x), jnp.float32))),
                                  np.asarray(svm.predict(rbf, jnp.asarray(xt))))
    assert float(pre.dual_P[0]) == pytest.approx(float(rbf.dual_P[0]), rel=1e-4)
    with pytest.raises(ValueError, match=r"\(M, 200\)"):
        svm.predict(pre, jnp.asarray(xt))


def test_vmap_over_C_equals_separate_fits(cancer):
    x, y, _, _ = cancer
    Cs = jnp.asarray([0.1, 1.0, 10.0])
    grid = jax.vmap(lambda C: svm.fit(None, jnp.asarray(x), jnp.asarray(y),
                                      svm.SVMConfig(num_classes=2, C=C, gamma=0.05)))(Cs)
    one = svm.fit(None, jnp.asarray(x), jnp.asarray(y), svm.SVMConfig(num_classes=2, C=1.0, gamma=0.05))
    np.testing.assert_allclose(np.asarray(grid.coef_PxN[1]), np.asarray(one.coef_PxN), atol=1e-5)
    duals = np.asarray(grid.dual_P[:, 0])
    assert duals[0] < duals[1] < duals[2]  # a larger box can only raise the maximum
    assert np.all(np.abs(np.asarray(grid.coef_PxN)) <= np.asarray(Cs)[:, None, None] + 1e-6)


def test_bad_input_is_named(cancer):
    x, y, _, _ = cancer
    with pytest.raises(ConfigError, match="'kernel'"):
        svm.fit(None, jnp.asarray(x), jnp.asarray(y), svm.SVMConfig(num_classes=2, kernel="sigmoid"))
    with pytest.raises(ConfigError, match="'C'"):
        svm.fit(None, jnp.asarray(x), jnp.asarray(y), svm.SVMConfig(num_classes=2, C=-1.0))
    with pytest.raises(ConfigError, match="'multiclass'"):
        svm.fit(None, jnp.asarray(x), jnp.asarray(y), svm.SVMConfig(num_classes=2, multiclass="crammer"))
    with pytest.raises(ValueError, match="square"):
        svm.fit(None, jnp.asarray(x), jnp.asarray(y), svm.SVMConfig(num_classes=2, kernel="precomputed"))
