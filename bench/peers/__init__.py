"""Peer implementations that bench/rl.py runs as contestants beside jaxml's DQN (issue 18).

- ``rejax_dqn.py``: rejax's pure-JAX DQN. It needs gymnax 0.0.9 (rejax 0.1.3 unpacks five values
  from ``env.step``; gymnax 1.0 returns six), so it runs in its OWN virtual environment,
  ``bench/.venv-rejax`` (``make bench-peers``; pins in ``requirements-rejax.txt``), as a
  subprocess that this module drives line by line (:class:`Peer`).
- ``sb3_dqn.py``: stable-baselines3's DQN (PyTorch, host loop), in the project's venv (the
  ``bench`` extra); imported in-process.

Nothing here imports jax, torch or the peers' packages at import time.
"""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
BENCH = HERE.parent
REJAX_VENV = BENCH / ".venv-rejax"
REJAX_DRIVER = HERE / "rejax_dqn.py"
REJAX_REQUIREMENTS = HERE / "requirements-rejax.txt"
PREFIX = "PEER_JSON "
#: The same malloc setting as jaxml's ``keep_freed_memory_on_cpu`` (glibc's environment tunables),
#: given to the peer process so both JAX programs run with freed memory kept.
MALLOC_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(2**31 - 1)}


class PeerError(RuntimeError):
    """The peer process failed, exited or answered something unexpected."""


def venv_python(venv: str | os.PathLike = REJAX_VENV) -> pathlib.Path | None:
    """The venv's interpreter, or None when the venv does not exist."""
    py = pathlib.Path(venv) / "bin" / "python"
    return py if py.exists() else None


def missing_venv_message(venv: str | os.PathLike = REJAX_VENV) -> str:
    return (f"the rejax peer was skipped: its virtual environment {venv} does not exist. Create it with "
            f"`make bench-peers` (python -m venv {venv} && {venv}/bin/pip install -r "
            f"{REJAX_REQUIREMENTS.relative_to(BENCH.parent)}; a few minutes), then re-run bench/rl.py")


def parse_line(line: str) -> dict | None:
    """The message on one line of the driver's stdout, or None for any other output."""
    line = line.strip()
    if not line.startswith(PREFIX):
        return None
    msg = json.loads(line[len(PREFIX):])
    if not isinstance(msg, dict) or "event" not in msg:
        raise PeerError(f"malformed peer message: {line!r}")
    return msg


class Peer:
    """A driver script in another interpreter, answering one command per line (see rejax_dqn.py).

    ``start()`` launches it and waits for its ``ready`` message (returned: compile time, versions);
    ``request("run")`` etc. send one command and return the reply; ``close()`` ends it. Used as a
    context manager. stderr goes to a temporary file, quoted in errors.
    """

    def __init__(self, python, driver, settings: dict, env: dict | None = None):
        self.cmd = [str(python), str(driver), json.dumps(settings)]
        self.env = {**os.environ, **MALLOC_ENV, **(env or {})}
        self.proc = None
        self._stderr = None

    def start(self) -> dict:
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                     text=True, env=self.env, bufsize=1)
        return self._expect("ready")

    def request(self, command: str, expect: str | None = None) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            raise PeerError("the peer process is not running" + self._stderr_tail())
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._expect(expect or command)

    def _expect(self, event: str) -> dict:
        for line in self.proc.stdout:
            msg = parse_line(line)
            if msg is None:
                continue
            if msg["event"] == "error":
                raise PeerError(f"peer error: {msg.get('message')}\n{msg.get('traceback', '')}")
            if msg["event"] != event:
                raise PeerError(f"expected a {event!r} message, got {msg!r}")
            return msg
        raise PeerError(f"the peer process exited (code {self.proc.wait()}) before its {event!r} message"
                        + self._stderr_tail())

    def _stderr_tail(self, chars: int = 2000) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read()
        return f"; its stderr ends:\n{text[-chars:]}" if text else ""

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
