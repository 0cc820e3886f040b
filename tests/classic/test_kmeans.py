"""k-means: inertia within 1% of scikit-learn's KMeans, Lloyd fixed point, restarts, errors."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from jaxml.classic import kmeans
from jaxml.classic.common import ConfigError

CFG = kmeans.KMeansConfig(n_clusters=6, n_init=8)


@pytest.fixture(scope="module")
def data():
    # Overlapping blobs: a problem with local optima, so restarts matter.
    X, _ = make_blobs(400, n_features=4, centers=6, cluster_std=2.5, random_state=1)
    return X.astype(np.float32)


@pytest.fixture(scope="module")
def model(data):
    return kmeans.fit(jax.random.PRNGKey(0), jnp.asarray(data), CFG)


def test_inertia_within_one_percent_of_sklearn(data, model):
    ref = KMeans(n_clusters=6, n_init=8, random_state=0).fit(data)
    assert float(model.inertia) <= 1.01 * ref.inertia_
    assert float(model.inertia) >= 0.99 * ref.inertia_  # a much lower value would mean a wrong inertia


def test_result_is_a_lloyd_fixed_point(data, model):
    centers = np.asarray(model.centers_KxD, np.float64)
    labels = np.asarray(model.labels_N)
    d2 = ((data[:, None, :] - centers[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(labels, d2.argmin(1))
    np.testing.assert_allclose(float(model.inertia), d2.min(1).sum(), rtol=1e-4)
    for k in range(CFG.n_clusters):
        np.testing.assert_allclose(centers[k], data[labels == k].mean(0), rtol=1e-3, atol=1e-3)
    np.testing.assert_array_equal(np.asarray(kmeans.predict(model, jnp.asarray(data))), labels)
    assert 1 <= int(model.n_iter) < CFG.max_iter


def test_restarts_keep_the_lowest_inertia(model):
    inertias = np.asarray(model.inertia_R)
    assert inertias.shape == (CFG.n_init,)
    assert float(model.inertia) == inertias.min()
    assert inertias.max() > inertias.min()  # the restarts really differ


def test_bad_input_is_named(data):
    key = jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match="larger than the number of points"):
        kmeans.fit(key, jnp.asarray(data[:3]), CFG)
    with pytest.raises(ConfigError, match="'tol'"):
        kmeans.fit(key, jnp.asarray(data), kmeans.KMeansConfig(n_clusters=2, tol=-1.0))
    with pytest.raises(ConfigError, match="'n_init'"):
        kmeans.fit(key, jnp.asarray(data), kmeans.KMeansConfig(n_clusters=2, n_init=0))
    with pytest.raises(ValueError, match="floats"):
        kmeans.fit(key, jnp.asarray(data, jnp.int32), CFG)
