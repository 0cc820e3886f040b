"""Data parallelism over 8 simulated CPU devices (jaxml's cpu_devices fixture: a subprocess, as XLA_FLAGS
must precede jax's backend initialisation)."""
import types

import jax
import numpy as np
import pytest

from jaxml.train import parallel


def data_parallel_outcome():
    """Run by the cpu_devices fixture where JAX has 8 CPU devices (a subprocess in this suite)."""
    from jaxml.models.mlp import MLP
    from jaxml.train import StreamSource, create_state, fit, make_optimizer, seed_keys

    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 8)) * 1.5
    y = rng.integers(0, 3, 200).astype(np.int32)
    x = (centers[y] + rng.normal(size=(200, 8))).astype(np.float32)
    train, val = {"x": x[:160], "y": y[:160]}, {"x": x[160:], "y": y[160:]}
    model = MLP(hidden_sizes=(16,), output_size=3)
    tx = make_optimizer({"name": "sgd", "learning_rate": 0.05, "momentum": 0.9}, 160 // 16)

    def run(batch_size, data_parallel, stream=False):
        init_key, key = seed_keys(0)
        state = create_state(model, tx, init_key, x[:1])
        data = StreamSource(train, batch_size) if stream else train
        return fit(state, data, key=key, epochs=3, batch_size=None if stream else batch_size,
                   eval_sets={"val": val}, data_parallel=data_parallel, progress=False)

    single, sharded, streamed = run(16, False), run(16, True), run(16, True, stream=True)
    leaves = jax.tree_util.tree_leaves(sharded.state.params)
    out = {
        "devices": len(jax.devices()),
        "param_devices": sorted({len(leaf.sharding.device_set) for leaf in leaves}),
        "replicated": all(leaf.sharding.is_fully_replicated for leaf in leaves),
        "max_rel_diff": max(float(np.max(np.abs(a - b) / (np.abs(b) + 1e-6)))
                            for a, b in zip(jax.tree_util.tree_leaves(sharded.state.params),
                                            jax.tree_util.tree_leaves(single.state.params))),
        "val_loss": [single.curve("val_loss", run=0)[1].tolist(), sharded.curve("val_loss", run=0)[1].tolist(),
                     streamed.curve("val_loss", run=0)[1].tolist()],
        "stream_replicated": all(leaf.sharding.is_fully_replicated and len(leaf.sharding.device_set) == 8
                                 for leaf in jax.tree_util.tree_leaves(streamed.state.params)),
        "moved": float(np.max(np.abs(np.asarray(leaves[0]) - np.asarray(
            jax.tree_util.tree_leaves(create_state(model, tx, seed_keys(0)[0], x[:1]).params)[0])))),
    }
    try:
        run(12, True)
        out["error"] = None
    except ValueError as e:
        out["error"] = str(e)
    return out


@pytest.fixture(scope="module")
def eight_devices(cpu_devices):
    return cpu_devices(8, data_parallel_outcome)


@pytest.mark.slow  # 8 simulated CPU devices in a subprocess; make test-slow, CI
def test_data_parallel_fit_matches_single_device(eight_devices):
    out = eight_devices
    assert out["devices"] == 8
    assert out["param_devices"] == [8] and out["replicated"]
    assert out["moved"] > 1e-3  # training happened
    assert out["max_rel_diff"] < 1e-4
    np.testing.assert_allclose(out["val_loss"][1], out["val_loss"][0], rtol=1e-5, atol=1e-7)
    # Streamed batches, sharded over the 8 devices as they arrive: the same training.
    assert out["stream_replicated"]
    np.testing.assert_allclose(out["val_loss"][2], out["val_loss"][0], rtol=1e-5, atol=1e-7)


@pytest.mark.slow  # 8 simulated CPU devices in a subprocess; make test-slow, CI
def test_data_parallel_batch_size_must_divide_by_device_count(eight_devices):
    error = eight_devices["error"]
    assert error is not None and "batch_size=12" in error and "(8)" in error


def test_mesh_helpers_on_this_process():
    mesh = parallel.data_mesh()
    assert mesh.axis_names == ("data",) and mesh.devices.size == len(jax.devices())
    assert parallel.replicated(mesh).is_fully_replicated
    assert parallel.batch_sharded(mesh).spec == jax.sharding.PartitionSpec("data")
    parallel.check_batch_size(len(jax.devices()) * 3, mesh)
    four = types.SimpleNamespace(devices=np.empty(4, object))  # only the device count matters here
    parallel.check_batch_size(12, four)
    with pytest.raises(ValueError, match=r"batch_size=10 must be divisible by the number of devices \(4\)"):
        parallel.check_batch_size(10, four)
