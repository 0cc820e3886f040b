"""fit(runs, vmap_runs=False): the runs one after another give the same numbers as the vmapped
program, in make_runs' order, with a work directory per run; FitResult.curve pads stopped runs."""
import jax
import numpy as np
import pytest

from jaxml.train import EarlyStopping, FitResult, fit, make_runs

BATCH, EPOCHS = 32, 2


@pytest.fixture(scope="module")
def both(tiny, model, blobs):
    train, _ = blobs
    runs = make_runs(model, tiny.sgd(0.02, 8, momentum=0.5), train["x"][:1], seeds=[0, 1],
                     grid={"momentum": (0.3, 0.9)})
    kw = dict(epochs=EPOCHS, batch_size=BATCH, progress=False)
    return runs, fit(runs, train, **kw), fit(runs, train, vmap_runs=False, **kw)


def test_sequential_equals_vmapped(both):
    runs, vm, seq = both
    assert runs.info == [{"momentum": 0.3, "seed": 0}, {"momentum": 0.3, "seed": 1},
                         {"momentum": 0.9, "seed": 0}, {"momentum": 0.9, "seed": 1}]
    assert vm.run_info == seq.run_info == runs.info
    for a, b in zip(jax.tree_util.tree_leaves(vm.state.params), jax.tree_util.tree_leaves(seq.state.params)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(vm.curve("train_loss"), seq.curve("train_loss"), rtol=1e-4)
    assert vm.curve("train_loss").shape == (4, EPOCHS)
    np.testing.assert_array_equal(seq.updates, [EPOCHS * 8] * 4)
    np.testing.assert_array_equal(np.asarray(seq.state.opt_state.hyperparams["momentum"]),
                                  np.array([0.3, 0.3, 0.9, 0.9], np.float32))
    assert sorted(runs.group(vm.final("train_loss"))) == [0.3, 0.9]


def test_early_stopping_and_workdir_per_run(tiny, model, blobs, tmp_path):
    train, val = blobs
    runs = make_runs(model, tiny.sgd(0.05, 8), train["x"][:1], seeds=[3])
    out = fit(runs, train, vmap_runs=False, epochs=6, batch_size=BATCH, eval_sets={"val": val},
              early_stopping=EarlyStopping("val_loss", "min", patience=1, min_delta=10.0),
              workdir=tmp_path, progress=False)
    # min_delta 10: no epoch after the first counts as an improvement, so the run stops at epoch 2.
    assert out.stopped_epoch.tolist() == [2] and out.best_epoch.tolist() == [1] and out.run_info[0]["seed"] == 3
    assert len((tmp_path / "run0" / "metrics.jsonl").read_text().splitlines()) == 2


def test_curves_pad_early_stopped_runs_with_nan():
    hist = [{"epoch": e, "run": r, "val_loss": float(e)} for r, n in ((0, 3), (1, 2)) for e in range(1, n + 1)]
    res = FitResult(state=None, best_state=None, history=hist, best_epoch=np.ones(2, int),
                    stopped_epoch=np.array([3, 2]), updates=np.zeros(2, int), train_seconds=0.0, compile_seconds=0.0)
    np.testing.assert_array_equal(res.curve("val_loss"), [[1, 2, 3], [1, 2, np.nan]])
    np.testing.assert_array_equal(res.curve_epochs("val_loss"), [1, 2, 3])
    np.testing.assert_array_equal(res.final("val_loss"), [3, 2])
    epochs, values = res.curve("val_loss", run=1)
    np.testing.assert_array_equal(epochs, [1, 2]) and np.testing.assert_array_equal(values, [1, 2])
    with pytest.raises(KeyError, match="metric 'val_acc' was not logged"):
        res.curve("val_acc")
