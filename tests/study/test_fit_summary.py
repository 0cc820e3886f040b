"""fit_summary: the per-run numbers of a FitResult as a study records them."""
import json

import numpy as np

from jaxml.study.fit_summary import diverged, fit_summary
from jaxml.train import EarlyStopping, fit, make_optimizer, make_runs


def test_fit_summary_matches_the_result_and_is_json(blobs, model):
    train, val = blobs
    runs = make_runs(model, make_optimizer({"name": "sgd", "learning_rate": 0.05}), train["x"][:1], seeds=(0, 1),
                     grid={"learning_rate": (0.05, 1e-6)})
    res = fit(runs, train, epochs=3, batch_size=60, eval_sets={"val": val}, progress=False,
              early_stopping=EarlyStopping("val_accuracy", patience=1))
    out = fit_summary(res, ["val_accuracy", "train_loss"])
    assert out["seeds"] == [0, 1, 0, 1]
    np.testing.assert_array_equal(np.asarray(out["curves"]["val_accuracy"]), res.curve("val_accuracy"))
    np.testing.assert_array_equal(out["final"]["train_loss"], res.final("train_loss"))
    assert out["stopped_epoch"] == res.stopped_epoch.tolist() and out["diverged"] == [False] * 4
    some = fit_summary(res, ["val_accuracy"], runs=[2, 3])
    assert some["seeds"] == [0, 1] and some["best_epoch"] == res.best_epoch[2:].tolist()
    np.testing.assert_array_equal(np.asarray(some["curves"]["val_accuracy"]), res.curve("val_accuracy")[2:])
    json.loads(json.dumps(out))  # NaN after a stop is written as NaN
    assert diverged(res).dtype == bool
