"""Spectral clustering: ARI on two moons at least scikit-learn's SpectralClustering with the
same Gaussian affinity; circles where k-means fails; graph and Laplacian against numpy."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.cluster import SpectralClustering
from sklearn.datasets import make_circles, make_moons
from sklearn.metrics import adjusted_rand_score
from sklearn.neighbors import kneighbors_graph

from jaxml.classic import kmeans, spectral
from jaxml.classic.common import ConfigError

DELTA = 0.2
CFG = spectral.SpectralConfig(n_clusters=2, delta=DELTA, laplacian="symmetric", n_init=4)


def test_two_moons_ari_at_least_sklearn():
    X, y = make_moons(200, noise=0.06, random_state=0)
    model = spectral.fit(jax.random.PRNGKey(0), jnp.asarray(X, jnp.float32), CFG)
    ours = adjusted_rand_score(y, np.asarray(model.labels_N))
    ref = SpectralClustering(2, affinity="rbf", gamma=1 / (2 * DELTA ** 2), random_state=0).fit(X)
    theirs = adjusted_rand_score(y, ref.labels_)
    assert ours >= theirs - 1e-12, (ours, theirs)
    assert ours > 0.9
    ev = np.asarray(model.eigenvalues_K)
    assert ev.shape == (2,) and abs(ev[0]) < 1e-4 and ev[1] > ev[0]  # L_sym is PSD with λ_1 = 0


def test_circles_spectral_succeeds_where_kmeans_fails():
    X, y = make_circles(200, noise=0.04, factor=0.4, random_state=0)
    Xj = jnp.asarray(X, jnp.float32)
    sp = spectral.fit(jax.random.PRNGKey(0), Xj, CFG)  # same shapes and config: compiled once
    km = kmeans.fit(jax.random.PRNGKey(0), Xj, kmeans.KMeansConfig(n_clusters=2, n_init=4))
    assert adjusted_rand_score(y, np.asarray(sp.labels_N)) > 0.99
    assert adjusted_rand_score(y, np.asarray(km.labels_N)) < 0.1


def test_affinity_and_laplacians_against_numpy():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 2))
    d2 = ((X[:, None] - X[None]) ** 2).sum(-1)
    A_ref = np.exp(-d2 / (2 * 0.7 ** 2)) * (1 - np.eye(12))

    @jax.jit  # one compile instead of many eager ops
    def graphs(X):
        A = spectral.affinity(X, 0.7)
        return (A, spectral.affinity(X, 0.7, n_neighbors=3), spectral.laplacian(A, "unnormalized"),
                spectral.laplacian(A, "symmetric"))

    A, A3, L, L_sym = (np.asarray(a) for a in graphs(jnp.asarray(X, jnp.float32)))
    np.testing.assert_allclose(A, A_ref, rtol=1e-4, atol=1e-6)
    # kNN sparsification keeps an edge when either end has the other among its 3 nearest.
    knn = kneighbors_graph(X, 3, include_self=False).toarray() > 0
    np.testing.assert_allclose(A3, np.where(knn | knn.T, A_ref, 0.0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(L, np.diag(A_ref.sum(1)) - A_ref, atol=1e-5)
    s = np.diag(1 / np.sqrt(A_ref.sum(1)))
    np.testing.assert_allclose(L_sym, np.eye(12) - s @ A_ref @ s, atol=1e-5)


def test_bad_config_is_named():
    X = jnp.zeros((10, 2))
    with pytest.raises(ConfigError, match="'laplacian'"):
        spectral.fit(jax.random.PRNGKey(0), X, spectral.SpectralConfig(n_clusters=2, laplacian="random_walk"))
    with pytest.raises(ConfigError, match="'delta'"):
        spectral.fit(jax.random.PRNGKey(0), X, spectral.SpectralConfig(n_clusters=2, delta=0.0))
    with pytest.raises(ConfigError, match="'n_neighbors'"):
        spectral.fit(jax.random.PRNGKey(0), X, spectral.SpectralConfig(n_clusters=2, n_neighbors=10))
