"""A run interrupted after k epochs and resumed ends bit-identical to an uninterrupted one.

In-process: :func:`assert_resume_identical` takes ``run(workdir, callbacks) -> result``, a function that
trains into ``workdir`` (resuming whatever is there, as ``jaxml.train.fit`` does) and passes ``callbacks``
on to ``fit``. It runs it three times: uninterrupted into ``<workdir>/uninterrupted``; into
``<workdir>/interrupted`` with an exception raised from the epoch-``k`` callback (callbacks run after the
epoch's checkpoint: a crash right after it); and again into ``<workdir>/interrupted``, which must resume
(train exactly the remaining epochs) and end with the same state (``result.state``, or the result itself)
and the same ``metrics.jsonl`` records, bit for bit (wall-clock fields aside).

By SIGKILL: :func:`assert_sigkill_resume_identical` runs a command (``{workdir}`` in its arguments is
replaced) to the end, then again into a fresh folder, SIGKILLs it as soon as the checkpoint of epoch ``k``
is complete (a folder ``checkpoints/<k>`` anywhere below the work directory — orbax renames its temporary
folder when the save is done), reruns the same command, and compares the two work directories' outcomes
(default: every ``*.jsonl`` record without wall-clock fields, and every ``*.npz`` array).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

__all__ = ["TIMING_FIELDS", "assert_resume_identical", "assert_sigkill_resume_identical", "run_outcome"]

TIMING_FIELDS = ("epoch_seconds", "eval_seconds", "examples_per_second", "compile_seconds", "seconds",
                 "wall_seconds", "time")


class _Interrupted(Exception):
    """Raised by the interrupting callback."""


def _records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING_FIELDS}
            for line in path.read_text().splitlines() if line.strip()]


def run_outcome(workdir) -> dict:
    """A work directory's outcome: ``{relative path: records}`` for each ``*.jsonl`` (wall-clock fields
    dropped) and ``{relative path: {name: array}}`` for each ``*.npz``."""
    workdir = Path(workdir)
    out = {}
    for path in sorted(workdir.rglob("*.jsonl")):
        out[str(path.relative_to(workdir))] = _records(path)
    for path in sorted(workdir.rglob("*.npz")):
        with np.load(path) as f:
            out[str(path.relative_to(workdir))] = {k: f[k] for k in f.files}
    return out


def _assert_same(got, expected, what: str) -> None:
    assert got.keys() == expected.keys(), f"{what}: files {sorted(got)} != {sorted(expected)}"
    for name in expected:
        a, b = got[name], expected[name]
        if isinstance(b, dict):
            assert a.keys() == b.keys(), f"{what}: {name} holds {sorted(a)} != {sorted(b)}"
            for k in b:
                np.testing.assert_array_equal(a[k], b[k], err_msg=f"{what}: {name}[{k}] differs")
        else:
            assert len(a) == len(b), f"{what}: {name} has {len(a)} records, the uninterrupted run {len(b)}"
            for i, (ra, rb) in enumerate(zip(a, b)):
                assert ra == rb, f"{what}: {name} record {i} differs:\n  resumed:       {ra}\n  uninterrupted: {rb}"


def assert_resume_identical(run: Callable, *, interrupt_after: int, workdir, log_name: str = "metrics.jsonl",
                            reference: tuple | None = None):
    """See the module docstring. ``run(workdir, callbacks)`` must pass ``callbacks`` (a list of
    ``cb(epoch, records)``) to ``fit`` and return its result. ``reference``: ``(result, workdir)`` of an
    uninterrupted run already made (shared between tests), else one is run. Returns the resumed run's result."""
    import chex
    import jax

    if interrupt_after < 1:
        raise ValueError(f"interrupt_after must be >= 1, got {interrupt_after}")
    workdir = Path(workdir)
    epochs = {"n": 0}

    def count(epoch, records):
        epochs["n"] += 1

    def interrupt(epoch, records):
        if epoch >= interrupt_after:
            raise _Interrupted

    if reference is None:
        reference, ref_dir = run(workdir / "uninterrupted", [count]), workdir / "uninterrupted"
        total = epochs["n"]
    else:
        reference, ref_dir = reference[0], Path(reference[1])
        total = len({r.get("epoch") for r in _records(ref_dir / log_name)})
    assert total > interrupt_after, f"the run trained {total} epochs; it cannot be interrupted after {interrupt_after}"
    try:
        run(workdir / "interrupted", [interrupt])
    except _Interrupted:
        pass
    else:
        raise AssertionError(f"the run ended without reaching the callback of epoch {interrupt_after}")
    epochs["n"] = 0
    resumed = run(workdir / "interrupted", [count])
    assert epochs["n"] == total - interrupt_after, (
        f"the rerun trained {epochs['n']} epochs; resuming after epoch {interrupt_after} of {total} should train "
        f"{total - interrupt_after} (did it start over, or not checkpoint every epoch?)")
    state = lambda r: jax.device_get(getattr(r, "state", r))  # noqa: E731
    try:
        chex.assert_trees_all_equal(state(resumed), state(reference))
    except AssertionError as e:
        raise AssertionError(f"the resumed run's final state differs from the uninterrupted run's: {e}") from None
    _assert_same({log_name: _records(workdir / "interrupted" / log_name)},
                 {log_name: _records(ref_dir / log_name)}, "resumed run")
    return resumed


def _complete_checkpoint(workdir: Path, step: int) -> bool:
    try:
        return any(p.is_dir() for p in workdir.rglob(f"checkpoints/{step}"))
    except FileNotFoundError:  # a folder renamed during the walk (orbax's <step>.tmp -> <step>): look again
        return False


def assert_sigkill_resume_identical(command: Sequence[str], *, workdir, interrupt_after: int,
                                    outcome: Callable = run_outcome, reference=None, env: dict | None = None,
                                    timeout: float = 600.0) -> dict:
    """See the module docstring. ``command``: the argument list (``{workdir}`` replaced; a leading
    ``"python"`` means this interpreter). ``reference``: the work directory of an uninterrupted run already
    made (else one is run into ``<workdir>/uninterrupted``). ``env``: extra environment variables.
    Returns the resumed run's outcome."""
    workdir = Path(workdir)
    full_env = {**os.environ, **(env or {})}

    def argv(folder):
        args = [a.replace("{workdir}", str(folder)) for a in command]
        return [sys.executable, *args[1:]] if args and args[0] == "python" else args

    def run_to_end(folder):
        done = subprocess.run(argv(folder), capture_output=True, text=True, timeout=timeout, env=full_env)
        assert done.returncode == 0, f"{' '.join(argv(folder))} failed ({done.returncode}):\n{done.stderr[-3000:]}"

    if reference is None:
        reference = workdir / "uninterrupted"
        run_to_end(reference)
    killed = workdir / "killed"
    proc = subprocess.Popen(argv(killed), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=full_env)
    deadline = time.monotonic() + timeout
    try:
        while not _complete_checkpoint(killed, interrupt_after):
            if proc.poll() is not None:
                raise AssertionError(f"the run exited ({proc.returncode}) before checkpoint {interrupt_after} "
                                     f"appeared under {killed}:\n{proc.stderr.read()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no checkpoint {interrupt_after} under {killed} after {timeout} s")
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, (
        f"the run finished (exit status {proc.returncode}) before it could be killed after checkpoint "
        f"{interrupt_after}; interrupt earlier or give it more epochs")
    run_to_end(killed)
    got = outcome(killed)
    _assert_same(got, outcome(reference), "the run resumed after SIGKILL")
    return got
