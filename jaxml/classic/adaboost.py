"""Multi-class AdaBoost (SAMME, Zhu et al. 2009) with exhaustively searched decision stumps.

A stump is (feature f, threshold t, left class, right class): it predicts the left class when
x_f <= t and the right class otherwise. Each round finds the best stump over ALL features and
ALL thresholds at once, vectorised: the columns of X are sorted once (argsort, O(N D log N));
per round the weighted one-hot labels are gathered in each column's sorted order and summed
cumulatively, giving for every (feature, split position) the class masses left and right of the
split (a (D, N, C) array). Candidate thresholds are the midpoints between consecutive distinct
sorted values (scikit-learn's convention), plus "everything left" (a constant stump). Each side
predicts its heaviest class. The split minimises ``criterion``:

- ``"gini"`` (default): weighted Gini impurity, as ``DecisionTreeClassifier(max_depth=1)`` does, so
  the ensemble reproduces ``AdaBoostClassifier`` with stumps (up to ties between equally good splits);
- ``"error"``: weighted misclassification W − max_c left_c − max_c right_c (the textbook weak
  learner; a different stump sequence, see the boosting study).

SAMME with weights w (uniform at the start) and learning rate η, K classes:
err = Σ w [h(x) ≠ y] / Σ w; α = η (log((1 − err)/err) + log(K − 1)); w_i ← w_i exp(α [h(x_i) ≠ y_i]),
then normalised. As in scikit-learn: a perfect stump (err = 0) gets α = 1 and ends boosting;
a stump no better than chance (err >= 1 − 1/K) gets α = 0 and ends boosting (later rounds then
have α = 0 too). Prediction: argmax_k Σ_t α_t [h_t(x) = k] (ties: the lowest class).

``n_estimators`` is static (it fixes the scan length); ``learning_rate`` is a leaf, so one
``jax.vmap`` fits several learning rates; :func:`staged_predict` gives the predictions after
every round, so fitting the largest ``n_estimators`` once also gives every smaller one.
"""
from __future__ import annotations

import flax.struct
import jax
import jax.numpy as jnp

from jaxml.classic.common import ConfigError, check_features, check_int, check_labels, check_positive

__all__ = ["CRITERIA", "AdaBoostConfig", "AdaBoostModel", "fit", "predict", "staged_predict", "stump_predict",
           "best_stump"]

CRITERIA = ("error", "gini")


@flax.struct.dataclass
class AdaBoostConfig:
    """num_classes, n_estimators, criterion are static; learning_rate is a leaf."""

    num_classes: int = flax.struct.field(pytree_node=False)
    n_estimators: int = flax.struct.field(pytree_node=False, default=50)
    criterion: str = flax.struct.field(pytree_node=False, default="gini")
    learning_rate: float = 1.0

    def validate(self) -> None:
        check_int("num_classes", self.num_classes, 2)
        check_int("n_estimators", self.n_estimators, 1)
        if self.criterion not in CRITERIA:
            raise ConfigError(f"config field 'criterion' = {self.criterion!r}; expected one of {list(CRITERIA)}")
        check_positive("learning_rate", self.learning_rate)


@flax.struct.dataclass
class AdaBoostModel:
    """One entry per round t < T = n_estimators: stump feature_T (int32), threshold_T,
    left_T / right_T (class for x_f <= t / x_f > t, int32), alpha_T (stump weight, 0 after
    boosting stopped), error_T (weighted training error of the stump, before reweighting);
    num_classes (static)."""

    feature_T: jax.Array
    threshold_T: jax.Array
    left_T: jax.Array
    right_T: jax.Array
    alpha_T: jax.Array
    error_T: jax.Array
    num_classes: int = flax.struct.field(pytree_node=False, default=2)


def best_stump(Xs_NxD, order_NxD, y_N, w_N, num_classes: int, criterion: str = "error"):
    """The best stump for sample weights w: (feature, threshold, left class, right class).

    Args:
      Xs_NxD: each column of X sorted ascending; order_NxD: the argsort giving it.
    """
    n, d = Xs_NxD.shape
    wy_NxC = w_N[:, None] * jax.nn.one_hot(y_N, num_classes, dtype=w_N.dtype)
    left_DxNxC = jnp.cumsum(wy_NxC[order_NxD.T], axis=1)  # mass at sorted positions <= j
    right_DxNxC = jnp.sum(wy_NxC, axis=0)[None, None, :] - left_DxNxC
    # Split after sorted position j is valid where the next value differs; j = N-1: constant stump.
    valid_DxN = jnp.concatenate([(Xs_NxD[1:] > Xs_NxD[:-1]).T, jnp.ones((d, 1), bool)], axis=1)
    if criterion == "error":
        cost = -jnp.max(left_DxNxC, axis=2) - jnp.max(right_DxNxC, axis=2)
    else:  # gini: minimise -Σ_c left_c²/n_L - Σ_c right_c²/n_R  (n_L + n_R is constant)
        n_l, n_r = jnp.sum(left_DxNxC, axis=2), jnp.sum(right_DxNxC, axis=2)
        cost = -(jnp.sum(left_DxNxC ** 2, axis=2) / jnp.where(n_l > 0, n_l, 1.0)
                 + jnp.sum(right_DxNxC ** 2, axis=2) / jnp.where(n_r > 0, n_r, 1.0))
    flat = jnp.argmin(jnp.where(valid_DxN, cost, jnp.inf))
    f, j = flat // n, flat % n
    upper = Xs_NxD[jnp.minimum(j + 1, n - 1), f]
    threshold = jnp.where(j < n - 1, 0.5 * (Xs_NxD[j, f] + upper), Xs_NxD[n - 1, f])
    left = jnp.argmax(left_DxNxC[f, j]).astype(jnp.int32)
    right_mass = right_DxNxC[f, j]
    right = jnp.where(jnp.sum(right_mass) > 0, jnp.argmax(right_mass), left).astype(jnp.int32)
    return f.astype(jnp.int32), threshold, left, right


def stump_predict(X_MxD, feature, threshold, left, right):
    """Labels (M,) of one stump."""
    return jnp.where(X_MxD[:, feature] <= threshold, left, right)


@jax.jit
def _fit(X_NxD, y_N, config: AdaBoostConfig) -> AdaBoostModel:
    n = X_NxD.shape[0]
    k = config.num_classes
    order_NxD = jnp.argsort(X_NxD, axis=0)
    Xs_NxD = jnp.take_along_axis(X_NxD, order_NxD, axis=0)
    dtype = X_NxD.dtype

    def round_(carry, _):
        w_N, active = carry
        f, thr, lc, rc = best_stump(Xs_NxD, order_NxD, y_N, w_N, k, config.criterion)
        wrong_N = stump_predict(X_NxD, f, thr, lc, rc) != y_N
        err = jnp.sum(jnp.where(wrong_N, w_N, 0.0)) / jnp.sum(w_N)
        perfect = err <= 0
        useless = err >= 1.0 - 1.0 / k
        safe = jnp.clip(err, 1e-30, 1.0 - 1e-7)
        alpha = config.learning_rate * (jnp.log((1.0 - safe) / safe) + jnp.log(k - 1.0))
        alpha = jnp.where(perfect, 1.0, jnp.where(useless, 0.0, alpha))
        alpha = jnp.where(active, alpha, 0.0).astype(dtype)
        w_new = w_N * jnp.exp(jnp.where(wrong_N, alpha, 0.0))
        w_new = w_new / jnp.sum(w_new)
        keep = active & ~perfect & ~useless
        return (jnp.where(keep, w_new, w_N), keep), (f, thr, lc, rc, alpha, err)

    w0 = jnp.full((n,), 1.0 / n, dtype)
    _, (f, thr, lc, rc, alpha, err) = jax.lax.scan(round_, (w0, jnp.asarray(True)), None,
                                                    length=config.n_estimators)
    return AdaBoostModel(f, thr, lc, rc, alpha, err, k)


def fit(key: jax.Array | None, X_NxD: jax.Array, y_N: jax.Array, config: AdaBoostConfig) -> AdaBoostModel:
    """SAMME AdaBoost with stumps. ``key`` is unused (the search is exhaustive and deterministic);
    it is accepted so every learner has the signature ``fit(key, X, y, config)``.

    Raises:
      ConfigError: bad config; ValueError: bad shapes, dtypes or labels.
    """
    del key
    config.validate()
    check_features(X_NxD)
    check_labels(y_N, X_NxD.shape[0], config.num_classes)
    return _fit(X_NxD, y_N, config)


def _votes(model: AdaBoostModel, X_MxD):
    """(T, M, C) weighted one-hot votes of every round."""
    h_TxM = jax.vmap(stump_predict, in_axes=(None, 0, 0, 0, 0))(
        X_MxD, model.feature_T, model.threshold_T, model.left_T, model.right_T)
    return model.alpha_T[:, None, None] * jax.nn.one_hot(h_TxM, model.num_classes, dtype=X_MxD.dtype)


def predict(model: AdaBoostModel, X_MxD: jax.Array) -> jax.Array:
    """Labels (M,) int32: argmax_k Σ_t α_t [h_t(x) = k]."""
    check_features(X_MxD)
    return jnp.argmax(jnp.sum(_votes(model, X_MxD), axis=0), axis=1).astype(jnp.int32)


def staged_predict(model: AdaBoostModel, X_MxD: jax.Array) -> jax.Array:
    """(T, M) labels of the ensembles of the first 1, 2, ..., T stumps."""
    check_features(X_MxD)
    return jnp.argmax(jnp.cumsum(_votes(model, X_MxD), axis=0), axis=2).astype(jnp.int32)
