"""SAMME AdaBoost: test accuracy against AdaBoostClassifier with stumps, the exhaustive stump
search against brute force, staged predictions, stopping rules, vmapped learning rates."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.ensemble import AdaBoostClassifier
from sklearn.tree import DecisionTreeClassifier

from jaxml.classic import adaboost
from jaxml.classic.common import ConfigError
from jaxml.data import load

T = 50


@pytest.fixture(scope="module")
def cancer():
    tr, te = load("breast_cancer", "train"), load("breast_cancer", "test")
    return tr.x, tr.y, te.x, te.y


@pytest.fixture(scope="module")
def vmapped(cancer):
    """Learning rates 0.5 and 1.0, gini criterion (scikit-learn's stump), one compiled call."""
    x, y, _, _ = cancer
    return jax.vmap(lambda lr: adaboost.fit(None, jnp.asarray(x), jnp.asarray(y), adaboost.AdaBoostConfig(
        num_classes=2, n_estimators=T, criterion="gini", learning_rate=lr)))(jnp.asarray([0.5, 1.0]))


def _take(models, r):
    return jax.tree_util.tree_map(lambda a: a[r], models)


@pytest.mark.parametrize("r,lr", [(0, 0.5), (1, 1.0)])
def test_test_accuracy_within_two_points_of_sklearn_at_every_stage(cancer, vmapped, r, lr):
    x, y, xt, yt = cancer
    model = _take(vmapped, r)
    ours = (np.asarray(adaboost.staged_predict(model, jnp.asarray(xt))) == yt).mean(1)
    ref = AdaBoostClassifier(DecisionTreeClassifier(max_depth=1), n_estimators=T, learning_rate=lr,
                             random_state=0).fit(x, y)
    theirs = np.array([(p == yt).mean() for p in ref.staged_predict(xt)])
    assert len(theirs) == T and np.abs(ours - theirs).max() <= 0.02
    assert (np.asarray(adaboost.predict(model, jnp.asarray(xt))) == yt).mean() == pytest.approx(ours[-1])


def test_error_criterion_within_two_points_of_sklearn(cancer):
    x, y, xt, yt = cancer
    cfg = adaboost.AdaBoostConfig(num_classes=2, n_estimators=T, criterion="error")
    model = adaboost.fit(None, jnp.asarray(x), jnp.asarray(y), cfg)
    ours = (np.asarray(adaboost.predict(model, jnp.asarray(xt))) == yt).mean()
    ref = AdaBoostClassifier(DecisionTreeClassifier(max_depth=1), n_estimators=T, random_state=0).fit(x, y)
    assert abs(ours - ref.score(xt, yt)) <= 0.02


def brute_force_error(X, y, w, k):
    """Smallest weighted error of any stump (x_f <= t -> a, else b), by enumeration."""
    best = np.inf
    for f in range(X.shape[1]):
        values = np.unique(X[:, f])
        for t in list((values[1:] + values[:-1]) / 2) + [values[-1]]:
            left = X[:, f] <= t
            mass_l = np.bincount(y[left], w[left], k)
            mass_r = np.bincount(y[~left], w[~left], k)
            best = min(best, w.sum() - mass_l.max() - mass_r.max())
    return best


def test_exhaustive_stump_search_finds_the_brute_force_optimum():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 5, (30, 3)).astype(np.float32)  # ties in the values on purpose
    y = rng.integers(0, 3, 30).astype(np.int32)
    w = rng.random(30).astype(np.float32)
    order = jnp.argsort(jnp.asarray(X), axis=0)
    Xs = jnp.take_along_axis(jnp.asarray(X), order, axis=0)
    search = jax.jit(adaboost.best_stump, static_argnums=(4, 5))
    f, t, a, b = search(Xs, order, jnp.asarray(y), jnp.asarray(w), 3, "error")
    pred = np.asarray(adaboost.stump_predict(jnp.asarray(X), f, t, a, b))
    assert w[pred != y].sum() == pytest.approx(brute_force_error(X, y, w.astype(np.float64), 3), abs=1e-5)


def test_perfect_stump_stops_boosting(cancer):
    x, _, _, _ = cancer
    y = (x[:, 3] > np.median(x[:, 3])).astype(np.int32)  # one stump on feature 3 is perfect
    cfg = adaboost.AdaBoostConfig(num_classes=2, n_estimators=T, criterion="error")
    model = adaboost.fit(None, jnp.asarray(x), jnp.asarray(y), cfg)
    alpha = np.asarray(model.alpha_T)
    assert alpha[0] == 1.0 and not alpha[1:].any()  # scikit-learn's rule: weight 1, then stop
    assert int(model.feature_T[0]) == 3 and float(model.error_T[0]) == 0.0
    assert int(model.left_T[0]) == 0 and int(model.right_T[0]) == 1
    np.testing.assert_array_equal(np.asarray(adaboost.predict(model, jnp.asarray(x))), y)


def test_bad_input_is_named(cancer):
    x, y, _, _ = cancer
    with pytest.raises(ConfigError, match="'learning_rate'"):
        adaboost.fit(None, jnp.asarray(x), jnp.asarray(y), adaboost.AdaBoostConfig(num_classes=2, learning_rate=0.0))
    with pytest.raises(ConfigError, match="'criterion'"):
        adaboost.fit(None, jnp.asarray(x), jnp.asarray(y), adaboost.AdaBoostConfig(num_classes=2, criterion="entropy"))
    with pytest.raises(ValueError, match="integer class labels"):
        adaboost.fit(None, jnp.asarray(x), jnp.asarray(y, jnp.float32), adaboost.AdaBoostConfig(num_classes=2))
