"""One process of a data-parallel fit on CPU, run by tests/train/test_multiprocess.py (not a test).

    python multiprocess_run.py WORKDIR OUT EPOCHS [PROCESS_ID NUM_PROCESSES PORT]

With the last three arguments the process joins a job of NUM_PROCESSES processes (JAX's CPU
collectives over gloo, coordinator on 127.0.0.1:PORT); without them it trains alone on its local
devices (XLA_FLAGS=--xla_force_host_platform_device_count=N sets how many). Process 0 writes the
trained parameters to OUT (npz) and the FitResult's resumed_from and history to OUT.json.
"""
import json
import sys

import jax

if len(sys.argv) > 4:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(f"127.0.0.1:{sys.argv[6]}", num_processes=int(sys.argv[5]),
                               process_id=int(sys.argv[4]))

import numpy as np  # noqa: E402

from jaxml.models.mlp import MLP  # noqa: E402
from jaxml.train import create_state, fit, make_optimizer  # noqa: E402
from jaxml.train.parallel import host_values  # noqa: E402
from jaxml.train.sources import StreamSource  # noqa: E402


def main(workdir, out, epochs):
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 8)) * 2.5
    y = rng.integers(0, 3, 256).astype(np.int32)
    x = (centers[y] + rng.normal(size=(256, 8))).astype(np.float32)
    model = MLP(hidden_sizes=(16,), output_size=3)
    state = create_state(model, make_optimizer({"name": "momentum", "learning_rate": 0.05, "momentum": 0.9}),
                         jax.random.key(0), x[:1])
    result = fit(state, {"x": x, "y": y}, key=jax.random.key(1), epochs=epochs, batch_size=32, workdir=workdir,
                 data_parallel=True, progress=False, eval_sets={"val": {"x": x[:64], "y": y[:64]}})
    params = host_values(result.state.params)
    # The same data streamed from a random-access source that counts the rows this process reads.
    counted = CountingSource({"x": x, "y": y})
    streamed = fit(state, StreamSource(counted, 32), key=jax.random.key(1), epochs=1, data_parallel=True,
                   progress=False)
    stream_params = host_values(streamed.state.params)
    with open(f"{out}.process{jax.process_index()}.json", "w") as f:
        json.dump({"rows_read": counted.rows}, f)
    if jax.process_index() == 0:
        np.savez(out, *jax.tree_util.tree_leaves(params), *jax.tree_util.tree_leaves(stream_params))
        with open(out + ".json", "w") as f:
            json.dump({"resumed_from": result.resumed_from, "history": result.history,
                       "devices": jax.device_count(), "processes": jax.process_count()}, f, default=float)


class CountingSource:
    """A random-access source over arrays that counts the examples read (``len`` and ``[i]``)."""

    def __init__(self, arrays):
        self.arrays, self.rows = arrays, 0

    def __len__(self):
        return len(self.arrays["y"])

    def __getitem__(self, i):
        self.rows += 1
        return {k: v[i] for k, v in self.arrays.items()}


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
