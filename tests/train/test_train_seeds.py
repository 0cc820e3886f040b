"""fit_seeds: vmapped and one-run-at-a-time training give the same runs, in make_runs' order."""
import jax
import numpy as np
import pytest

from jaxml.train import EarlyStopping, make_runs
from jaxml.train.seeds import SeedRun, SeedRuns, fit_seeds

BATCH, EPOCHS = 32, 2


@pytest.fixture(scope="module")
def both(tiny, model, blobs):
    train, _ = blobs
    tx = tiny.sgd(0.02, 8, momentum=0.5)
    kw = dict(sweep={"momentum": (0.3, 0.9)}, epochs=EPOCHS, batch_size=BATCH, progress=False)
    # Sequential runs only for seed 1 (each is a separate compilation): they must equal runs 1 and 3.
    return (fit_seeds(model, tx, train, seeds=[0, 1], vmap=True, **kw),
            fit_seeds(model, tx, train, seeds=[1], vmap=False, **kw), tx)


def test_vmapped_equals_sequential(both):
    vm, seq, _ = both
    assert vm.vmapped and not seq.vmapped
    assert [r.info for r in vm.runs] == [
        {"seed": 0, "momentum": 0.3}, {"seed": 1, "momentum": 0.3}, {"seed": 0, "momentum": 0.9},
        {"seed": 1, "momentum": 0.9}]
    assert [r.info for r in seq.runs] == [{"seed": 1, "momentum": 0.3}, {"seed": 1, "momentum": 0.9}]
    for a, b in zip(vm.runs[1::2], seq.runs):
        for x, y in zip(jax.tree_util.tree_leaves(a.state.params), jax.tree_util.tree_leaves(b.state.params)):
            np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(a.curve("train_loss")[1], b.curve("train_loss")[1], rtol=1e-4)
        assert a.stopped_epoch == b.stopped_epoch == EPOCHS and a.updates == b.updates == EPOCHS * 8
    assert vm.curves("train_loss").shape == (4, EPOCHS)
    assert sorted(vm.group("momentum")) == [0.3, 0.9] and [r.seed for r in vm.group("momentum")[0.9]] == [0, 1]


def test_order_is_make_runs_order(both, model, blobs):
    vm, _, tx = both
    runs = make_runs(model, tx, blobs[0]["x"][:1], seeds=[0, 1], sweep={"momentum": (0.3, 0.9)})
    assert [r.info for r in vm.runs] == runs.info
    for r in range(4):
        np.testing.assert_array_equal(np.asarray(vm.runs[r].state.opt_state.hyperparams["momentum"]),
                                      np.asarray(runs.info[r]["momentum"], np.float32))


def test_early_stopping_and_workdir_per_run(tiny, model, blobs, tmp_path):
    train, val = blobs
    out = fit_seeds(model, tiny.sgd(0.05, 8), train, seeds=[3], vmap=False, epochs=6, batch_size=BATCH,
                    eval_sets={"val": val}, early_stopping=EarlyStopping("val_loss", "min", patience=1,
                                                                         min_delta=10.0),
                    workdir=tmp_path, progress=False)
    # min_delta 10: no epoch after the first counts as an improvement, so the run stops at epoch 2.
    assert out.runs[0].stopped_epoch == 2 and out.runs[0].best_epoch == 1 and out.runs[0].seed == 3
    assert len((tmp_path / "run0" / "metrics.jsonl").read_text().splitlines()) == 2


def test_curves_pad_early_stopped_runs_with_nan():
    hist = lambda n: [{"epoch": e, "run": 0, "val_loss": float(e)} for e in range(1, n + 1)]  # noqa: E731
    runs = [SeedRun({"seed": s}, None, None, hist(n), 1, n, n) for s, n in ((0, 3), (1, 2))]
    curves = SeedRuns(runs, 0.0, 0.0, False).curves("val_loss")
    np.testing.assert_array_equal(curves, [[1, 2, 3], [1, 2, np.nan]])
    with pytest.raises(KeyError, match="metric 'val_acc' was not logged"):
        runs[0].curve("val_acc")


def test_bad_arguments(tiny, model, blobs):
    train, _ = blobs
    with pytest.raises(ValueError, match="fit_seeds sets 'num_runs' itself"):
        fit_seeds(model, tiny.sgd(), train, seeds=[0], num_runs=1, epochs=1, batch_size=BATCH)
    with pytest.raises(ValueError, match="at least one seed"):
        fit_seeds(model, tiny.sgd(), train, seeds=[], epochs=1, batch_size=BATCH)
