"""Whole-split predictions, confusion counts, per-class accuracy and the list of mistakes,
checked against model.apply, scikit-learn and hand-computed values."""
import flax.linen as nn
import jax
import numpy as np
import optax
import pytest
from sklearn.metrics import confusion_matrix, recall_score

from jaxml.evaluate.classify import confusion_counts, mistakes, per_class_accuracy, predict, predict_logits
from jaxml.train import create_state, make_runs, unstack


class DenseBN(nn.Module):
    """Dense -> BatchNorm -> Dense: eval mode must use the running averages."""

    @nn.compact
    def __call__(self, x, train: bool = False):
        x = nn.Dense(5)(x)
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9)(x)
        return nn.Dense(3)(nn.relu(x))


def test_predict_logits_equal_apply_over_padded_batches(tiny, model):
    data = tiny.make_blobs(23, seed=3)
    state, _ = tiny.init_state(model, tiny.sgd())
    want = model.apply({"params": state.params}, data["x"])
    got = predict_logits(state, data["x"], batch_size=5)  # 23 = 4 * 5 + 3: the last batch is padded
    assert got.shape == (23, tiny.num_classes) and got.dtype == np.float32
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(predict(state, data["x"], batch_size=5), np.argmax(want, axis=1))
    # A batch size larger than the split is clipped to it.
    np.testing.assert_allclose(predict_logits(state, data["x"], batch_size=1000), got, rtol=1e-5, atol=1e-6)


def test_predict_uses_running_batch_statistics():
    model = DenseBN()
    x = np.random.default_rng(0).normal(size=(9, 4)).astype(np.float32)
    state = create_state(model, optax.sgd(0.1), jax.random.PRNGKey(0), x[:1])
    stats = jax.tree_util.tree_map(lambda a: a + 0.7, state.batch_stats)  # non-trivial running stats
    state = state.replace(batch_stats=stats)
    want = model.apply({"params": state.params, "batch_stats": stats}, x, train=False)
    train_mode = model.apply({"params": state.params, "batch_stats": stats}, x, train=True, mutable=["batch_stats"])[0]
    got = predict_logits(state, x, batch_size=4)
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-5, atol=1e-5)
    assert not np.allclose(got, np.asarray(train_mode), atol=1e-3)


def test_batched_runs_equal_each_run(tiny, model):
    data = tiny.make_blobs(17, seed=4)
    runs = make_runs(model, tiny.sgd(), data["x"][:1], seeds=[0, 1, 2])
    got = predict_logits(runs.state, data["x"], batch_size=8, num_runs=3)
    assert got.shape == (3, 17, tiny.num_classes)
    for r in range(3):
        one = unstack(runs.state, r)
        np.testing.assert_allclose(got[r], np.asarray(model.apply({"params": one.params}, data["x"])),
                                   rtol=1e-5, atol=1e-6)
    assert predict(runs.state, data["x"], num_runs=3).shape == (3, 17)
    with pytest.raises(ValueError, match="num_runs=2 but the state's parameters have leading sizes"):
        predict(runs.state, data["x"], num_runs=2)


def test_confusion_counts_and_per_class_accuracy_match_sklearn():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 200)
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, 4, 200))
    counts = confusion_counts(y_true, y_pred, 4)
    np.testing.assert_array_equal(counts, confusion_matrix(y_true, y_pred, labels=range(4)))
    np.testing.assert_allclose(per_class_accuracy(y_true, y_pred, 4),
                               recall_score(y_true, y_pred, labels=range(4), average=None))
    # Leading run axes are kept.
    stacked = np.stack([y_pred, y_true])
    both = confusion_counts(y_true, stacked, 4)
    assert both.shape == (2, 4, 4)
    np.testing.assert_array_equal(both[1], np.diag(np.bincount(y_true, minlength=4)))
    np.testing.assert_allclose(per_class_accuracy(y_true, stacked, 4)[1], np.ones(4))


def test_per_class_accuracy_by_hand_and_absent_class_is_nan():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 1, 0, 1, 0, 0])
    acc = per_class_accuracy(y_true, y_pred, 4)
    np.testing.assert_allclose(acc[:3], [2 / 3, 1 / 2, 0.0])
    assert np.isnan(acc[3])


def test_mistakes_lists_wrong_examples_by_name():
    names = ["cat", "dog", "ship"]
    rows = mistakes([0, 1, 2, 2, 1], np.array([0, 2, 2, 0, 1]), names, first=4)
    assert rows == [{"index": 1, "true": "dog", "predicted": "ship"},
                    {"index": 3, "true": "ship", "predicted": "cat"}]
    assert mistakes([0, 1], [0, 1], names) == []


@pytest.mark.parametrize("y_true, y_pred, match", [
    ([0, 3], [0, 1], r"y_true must lie in \[0, 3\)"),
    ([0, 1], [0, -1], r"y_pred must lie in \[0, 3\)"),
    ([0.0, 1.0], [0, 1], "y_true must hold integer class indices"),
    ([0, 1, 2], [0, 1], r"y_true must have shape \(N,\) and y_pred \(\.\.\., N\)"),
])
def test_bad_labels_are_named(y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        confusion_counts(y_true, y_pred, 3)


def test_bad_arguments(tiny, model):
    state, _ = tiny.init_state(model, tiny.sgd())
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        predict(state, np.zeros((3, 8), np.float32), batch_size=0)
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        per_class_accuracy([0], [0], 0)
    with pytest.raises(ValueError, match=r"mistakes: y_pred must have shape \(N,\)"):
        mistakes([0, 1], np.array([[0, 1]]), ["a", "b"])
