"""Many processes, one job, for real on one machine: 2 local processes with 2 CPU devices each (JAX's
CPU collectives over gloo, coordinator on 127.0.0.1) train data-parallel on 4 devices and match one
process on 4 devices; each process reads only its half of a streamed epoch; only process 0 logs;
the 2-process checkpoint restores into a 1-process run (tests/train/multiprocess_run.py)."""
import json
import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # 2-process JAX jobs over gloo (~20 s on 2 cores); make test-slow, CI run it

SCRIPT = pathlib.Path(__file__).with_name("multiprocess_run.py")


def _env(devices: int):
    flags = os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={devices}"
    return {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_DISABLE_MOST_OPTIMIZATIONS": "1", "XLA_FLAGS": flags.strip()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_process(workdir, out, epochs=2):
    done = subprocess.run([sys.executable, str(SCRIPT), str(workdir), str(out), str(epochs)], capture_output=True,
                          text=True, timeout=240, env=_env(4))
    assert done.returncode == 0, done.stderr[-3000:]


def _load(out):
    with np.load(out) as f:
        params = [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]
    return params, json.loads(pathlib.Path(f"{out}.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("multiprocess")
    port = _free_port()
    job = [subprocess.Popen([sys.executable, str(SCRIPT), str(root / "job"), str(root / "job.npz"), "2", str(i), "2",
                             str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(2))
           for i in range(2)]
    _one_process(root / "alone", root / "alone.npz")
    for proc in job:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
    return root


def test_two_processes_match_one_process_on_four_devices(runs):
    job, job_info = _load(runs / "job.npz")
    alone, alone_info = _load(runs / "alone.npz")
    assert (job_info["devices"], job_info["processes"]) == (4, 2)
    assert (alone_info["devices"], alone_info["processes"]) == (4, 1)
    # The same program on the same 4-device mesh; the gradient all-reduce runs over gloo between the
    # processes and sums in another order, so parameters agree to float32 rounding (measured <= 6e-8).
    for a, b in zip(job, alone):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert [h["epoch"] for h in job_info["history"]] == [1, 2]
    np.testing.assert_allclose([h["train_loss"] for h in job_info["history"]],
                               [h["train_loss"] for h in alone_info["history"]], rtol=1e-5)


def test_each_process_reads_only_its_share_and_only_process_0_logs(runs):
    read = [json.loads((runs / f"job.npz.process{i}.json").read_text())["rows_read"] for i in range(2)]
    alone = json.loads((runs / "alone.npz.process0.json").read_text())["rows_read"]
    # Per epoch 256 examples: each process reads its 128 (plus the same example batches as one process).
    assert read[0] == read[1] == alone - 128
    assert len((runs / "job" / "metrics.jsonl").read_text().splitlines()) == 2     # not one per process


def test_a_two_process_checkpoint_restores_in_one_process(runs, tmp_path):
    _one_process(runs / "job", tmp_path / "restored.npz")         # finished job: restored, not retrained
    restored, info = _load(tmp_path / "restored.npz")
    job, job_info = _load(runs / "job.npz")
    assert info["resumed_from"] == 2 and info["history"] == job_info["history"]
    for a, b in zip(restored[:4], job[:4]):                     # the array fit's parameters, bit for bit
        np.testing.assert_array_equal(a, b)
