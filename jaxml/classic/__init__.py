"""jaxml.classic: classical learners as pure, jitted JAX functions (scikit-learn is only the
reference in tests and studies, never the implementation).

Every learner is a module with ``fit(key, X, y, config) -> model pytree`` and
``predict(model, X)``; configs are ``flax.struct`` dataclasses whose shape-fixing fields are
static and whose numeric hyperparameters are pytree leaves, so ``jax.vmap`` sweeps them (and
restarts, via keys) in one compiled program::

    from jaxml.classic import svm
    model = svm.fit(None, X, y, svm.SVMConfig(num_classes=10, kernel="rbf", C=10.0, gamma=0.01))
    labels = svm.predict(model, X_test)

    grid = jax.vmap(lambda C: svm.fit(None, X, y, svm.SVMConfig(num_classes=10, C=C)))(jnp.array([0.1, 1., 10.]))

Modules:

- :mod:`~jaxml.classic.perceptron`: multiclass perceptron, primal and kernelised (precomputed K).
- :mod:`~jaxml.classic.kmeans`: greedy k-means++, Lloyd to convergence, vmapped restarts.
- :mod:`~jaxml.classic.spectral`: Gaussian similarity (optional kNN), unnormalised / symmetric
  Laplacian, ``eigh``, k-means on the eigenvector rows.
- :mod:`~jaxml.classic.adaboost`: SAMME with exhaustively searched stumps, staged predictions.
- :mod:`~jaxml.classic.svm` (+ :mod:`~jaxml.classic.smo`): kernel SVM, SMO dual solver, ovo / ovr.
- :mod:`~jaxml.classic.kernels`: linear, RBF, polynomial kernel matrices.
- :mod:`~jaxml.classic.metrics`: accuracy, best-label-matching accuracy, adjusted Rand index, hinge loss.
- :mod:`~jaxml.classic.datasets`: scaled tabular train/test splits, two-moons / circles toy sets.

Bad configs raise ``ConfigError`` (a ``ValueError``) naming the field; bad arrays raise
``ValueError`` naming the argument and the expected shape/dtype. Numeric fields that are traced
(under ``vmap``/``jit``) cannot be checked and are the caller's responsibility.
"""
from jaxml.classic import adaboost, datasets, kernels, kmeans, metrics, perceptron, smo, spectral, svm
from jaxml.classic.adaboost import AdaBoostConfig
from jaxml.classic.kmeans import KMeansConfig
from jaxml.classic.perceptron import PerceptronConfig
from jaxml.classic.spectral import SpectralConfig
from jaxml.classic.svm import SVMConfig

__all__ = ["adaboost", "datasets", "kernels", "kmeans", "metrics", "perceptron", "smo", "spectral", "svm",
           "AdaBoostConfig", "KMeansConfig", "PerceptronConfig", "SpectralConfig", "SVMConfig"]
