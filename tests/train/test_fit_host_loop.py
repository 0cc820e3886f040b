"""fit(epoch_loop="host") trains exactly like the default scanned epoch, including vmapped runs
that early-stop at different epochs, and rejects unknown loop names."""
import jax
import numpy as np
import pytest

from jaxml.models.mlp import MLP
from jaxml.train import EarlyStopping, fit, make_runs

BATCH = 64  # 240 examples -> 4 steps, the last one partial


@pytest.fixture(scope="module")
def both(tiny, blobs):
    train, val = blobs
    model = MLP(hidden_sizes=(16,), output_size=tiny.num_classes, dropout_rate=0.2)  # uses the step rngs
    runs = make_runs(model, tiny.sgd(0.05, 4, momentum=0.5), train["x"][:1], seeds=[0, 1, 2])
    # Patience 1 on the validation loss with min_delta 0.02: each run stops when its validation loss
    # fails to drop by 0.02, so runs go inactive at different epochs (the active mask matters).
    stop = EarlyStopping("val_loss", "min", patience=1, min_delta=0.02)
    kw = dict(key=runs.train_keys, num_runs=3, epochs=6, batch_size=BATCH, eval_sets={"val": val},
              early_stopping=stop, progress=False)
    return fit(runs.state, train, epoch_loop="scan", **kw), fit(runs.state, train, epoch_loop="host", **kw)


def test_host_loop_equals_scan(both):
    scan, host = both
    np.testing.assert_array_equal(scan.stopped_epoch, host.stopped_epoch)
    np.testing.assert_array_equal(scan.best_epoch, host.best_epoch)
    np.testing.assert_array_equal(scan.updates, host.updates)
    for r in range(3):
        np.testing.assert_allclose(scan.curve("train_loss", r)[1], host.curve("train_loss", r)[1], rtol=1e-5)
        np.testing.assert_allclose(scan.curve("val_loss", r)[1], host.curve("val_loss", r)[1], rtol=1e-5)
    for a, b in zip(jax.tree_util.tree_leaves(scan.state), jax.tree_util.tree_leaves(host.state)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    assert host.history[0]["eval_seconds"] > 0 and host.history[0]["epoch_seconds"] > 0


def test_runs_stopped_at_different_epochs(both):
    """Guards the test above: the inactive-run path was exercised."""
    scan, _ = both
    assert len(set(scan.stopped_epoch.tolist())) > 1 and scan.stopped_epoch.max() < 6


def test_unknown_epoch_loop_is_named(tiny, model, blobs):
    train, _ = blobs
    state, key = tiny.init_state(model, tiny.sgd())
    with pytest.raises(ValueError, match=r"epoch_loop must be one of \['auto', 'scan', 'host'\], got 'while'"):
        fit(state, train, key=key, epochs=1, batch_size=BATCH, epoch_loop="while", progress=False)
