"""A tiny study (MLP on seeded blobs, 12 epochs, a checkpoint every epoch) run as a real process by
tests/study/test_faults.py, which kills or interrupts it. Not a test module.

    python tests/study/fault_run.py --workdir=DIR [--config.epochs=N]

Prints ``epoch <k>`` after each epoch's checkpoint; at the end writes ``final.npz`` (the trained
parameters, flattened) into the work directory. With FAULT_KILL_DURING_SAVE=<k> the process
SIGKILLs itself as soon as orbax's temporary folder for step k appears (in the middle of that save).
With FAULT_PAUSE_AFTER_EPOCH=<k> it sleeps after announcing epoch k (the SIGINT test signals it there).
"""
import os
import pathlib
import signal
import sys
import threading
import time

import jax
import ml_collections
import numpy as np

from jaxml.models.mlp import MLP
from jaxml.study.experiment import run_experiment
from jaxml.train import fit, make_optimizer, make_runs


def get_config(preset=None):
    c = ml_collections.ConfigDict()
    c.epochs = 12
    c.n = 4000
    c.batch_size = 50
    return c


def kill_during_save(checkpoints: pathlib.Path, step: int) -> None:
    def watch():
        while True:
            if checkpoints.is_dir() and any(p.name.startswith(f"{step}.") and "tmp" in p.name
                                            for p in checkpoints.iterdir()):
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(0.0002)

    threading.Thread(target=watch, daemon=True).start()


def main(c, workdir):
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 16)) * 2
    y = rng.integers(0, 3, c.n).astype(np.int32)
    x = (centers[y] + rng.normal(size=(c.n, 16))).astype(np.float32)
    model = MLP(hidden_sizes=(32,), output_size=3)
    runs = make_runs(model, make_optimizer({"name": "momentum", "learning_rate": 0.05, "momentum": 0.9}),
                     x[:1], seeds=(0, 1))
    if "FAULT_KILL_DURING_SAVE" in os.environ:
        kill_during_save(pathlib.Path(workdir) / "checkpoints", int(os.environ["FAULT_KILL_DURING_SAVE"]))

    pause_after = os.environ.get("FAULT_PAUSE_AFTER_EPOCH")

    def announce(epoch, records):
        print(f"epoch {epoch}", flush=True)
        if pause_after is not None and epoch == int(pause_after):
            # The test interrupts the run here, so the signal cannot arrive after its end. Short sleeps: a
            # signal delivered to another thread (XLA's, orbax's) does not wake the main thread's sleep, but
            # Python runs the handler (KeyboardInterrupt) as soon as the main thread is back in Python code.
            for _ in range(1200):
                time.sleep(0.1)

    result = fit(runs, {"x": x, "y": y}, epochs=c.epochs, batch_size=c.batch_size, workdir=workdir,
                 progress=False, callbacks=[announce])
    leaves = jax.tree_util.tree_leaves(jax.device_get(result.state.params))
    np.savez(pathlib.Path(workdir) / "final.npz", *leaves)
    return result


if __name__ == "__main__":
    # Ctrl-C as at a terminal: a shell's background job (`cmd &`, as CI may start the suite) ignores SIGINT,
    # and Python installs no KeyboardInterrupt handler where it starts with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    run_experiment("fault_run", get_config, ("full",), main, sys.argv[1:])
