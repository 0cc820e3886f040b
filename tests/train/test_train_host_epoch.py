"""The host-loop epoch matches the lax.scan epoch (same batches, keys, masking and results)."""
from __future__ import annotations

import jax
import numpy as np
import pytest

from jaxml.models.mlp import MLP
from jaxml.train import make_epoch_fn, make_train_step
from jaxml.train.host_epoch import make_epoch_runner, make_host_epoch_fn, resolve_epoch_loop


def test_host_epoch_equals_scan_epoch(blobs, tiny):
    train, _ = blobs                               # 240 examples: 4 batches of 70, the last padded
    model = MLP(hidden_sizes=(16,), output_size=tiny.num_classes, dropout_rate=0.3)   # uses the step rngs
    state, key = tiny.init_state(model, tiny.sgd(0.1))
    step = make_train_step()
    scan_state, scan_metrics = jax.jit(make_epoch_fn(step, 70))(state, train, key)
    host_state, host_metrics = make_host_epoch_fn(step, 70)(state, train, key)
    for a, b in zip(jax.tree_util.tree_leaves(scan_state.params), jax.tree_util.tree_leaves(host_state.params)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    for name in scan_metrics:
        assert host_metrics[name].shape == scan_metrics[name].shape == (4,)
        np.testing.assert_allclose(np.asarray(host_metrics[name]), np.asarray(scan_metrics[name]), rtol=1e-5)
    assert float(host_metrics["count"].sum()) == 240
    assert int(host_state.step) == 4


def test_epoch_runner_modes():
    assert resolve_epoch_loop("scan") == "scan" and resolve_epoch_loop("host") == "host"
    assert resolve_epoch_loop("auto") == ("host" if jax.default_backend() == "cpu" else "scan")
    with pytest.raises(ValueError, match=r"one of \['auto', 'scan', 'host'\], got 'loop'"):
        make_epoch_runner(make_train_step(), 10, "loop")
