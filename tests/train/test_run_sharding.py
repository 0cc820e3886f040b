"""jaxml.train.run_sharding: runs split over 2 CPU devices give the same results as one device.

The suite's own process has one CPU device, so the two-device check runs in a subprocess that
requests two devices before JAX starts."""
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import pytest

from jaxml.train import run_sharding

TWO_DEVICES = textwrap.dedent("""
    import jax, jax.numpy as jnp
    from jaxml.train.run_sharding import request_cpu_devices, runs_sharding, shard_runs
    assert request_cpu_devices(2) == 2 and request_cpu_devices(2) == 2

    def train(key):  # a small sequential "training run": 50 noisy steps of a 2x2 linear map
        def step(w, k):
            x = jax.random.normal(k, (4, 2))
            g = jax.grad(lambda w: jnp.mean((x @ w - x) ** 2))(w)
            return w - 0.1 * g, jnp.sum(w)
        return jax.lax.scan(step, jnp.zeros((2, 2)), jax.random.split(key, 50))

    keys = jax.random.split(jax.random.key(0), 4)
    f = jax.jit(jax.vmap(train))
    ref = f(keys)
    sharded_keys = shard_runs(keys)
    out = f(sharded_keys)
    assert len(out[0].sharding.device_set) == 2, out[0].sharding
    alone = [jax.jit(train)(k) for k in keys]
    for r in range(4):
        for a, b, c in zip(jax.tree_util.tree_leaves(out), jax.tree_util.tree_leaves(ref),
                           jax.tree_util.tree_leaves(alone[r])):
            assert jnp.allclose(a[r], b[r], atol=1e-6) and jnp.allclose(a[r], c, atol=1e-6)
    assert runs_sharding(3) is None  # not divisible by 2: left on one device
    try:
        request_cpu_devices(3)
    except RuntimeError as e:
        assert "already started with 2 CPU device(s)" in str(e)
    else:
        raise AssertionError("no error")
    print("OK")
""")


@pytest.mark.slow  # 2 simulated CPU devices in a subprocess; make test-slow, CI
def test_runs_split_over_two_cpu_devices_match_one_device():
    out = subprocess.run([sys.executable, "-c", TWO_DEVICES], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("OK"), out.stderr[-2000:]


def test_one_device_and_bad_input():
    assert jax.device_count() == 1
    tree = {"a": jnp.ones((4, 2)), "b": jnp.zeros(4)}
    assert run_sharding.shard_runs(tree) is tree and run_sharding.runs_sharding(4) is None
    with pytest.raises(ValueError, match="same leading run axis"):
        run_sharding.shard_runs({"a": jnp.ones((4, 2)), "b": jnp.zeros(3)})
    with pytest.raises(ValueError, match="positive int"):
        run_sharding.request_cpu_devices(0)
    with pytest.raises(RuntimeError, match="call it before any JAX operation"):
        run_sharding.request_cpu_devices(2)
