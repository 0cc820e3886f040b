"""A stand-in for a training script (no JAX: starts in milliseconds) for the SIGKILL test of
jaxml.testing.assert_sigkill_resume_identical. Not a test module.

    python fake_run.py WORKDIR [--broken]

Trains 8 "epochs" (a running sum), writing ``metrics.jsonl`` and ``checkpoints/<epoch>/state.json``
(into a temporary folder renamed when complete, as orbax does) after each, resuming from the latest
complete checkpoint; writes ``final.npz`` at the end. ``--broken`` resumes from a wrong value.
"""
import json
import pathlib
import sys
import time

import numpy as np

workdir, broken = pathlib.Path(sys.argv[1]), "--broken" in sys.argv
checkpoints = workdir / "checkpoints"
checkpoints.mkdir(parents=True, exist_ok=True)
done = sorted(int(p.name) for p in checkpoints.iterdir() if p.name.isdigit())
epoch, total = 0, 0.0
if done:
    epoch = done[-1]
    total = json.loads((checkpoints / str(epoch) / "state.json").read_text())["total"] + (1.0 if broken else 0.0)
    lines = (workdir / "metrics.jsonl").read_text().splitlines()[:epoch]
    (workdir / "metrics.jsonl").write_text("".join(line + "\n" for line in lines))
while epoch < 8:
    epoch += 1
    total += epoch ** 0.5
    with open(workdir / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"epoch": epoch, "total": total, "epoch_seconds": time.time()}) + "\n")
    tmp = checkpoints / f"{epoch}.tmp"
    tmp.mkdir()
    (tmp / "state.json").write_text(json.dumps({"total": total}))
    tmp.rename(checkpoints / str(epoch))
    time.sleep(0.02)
np.savez(workdir / "final.npz", total=np.array(total))
