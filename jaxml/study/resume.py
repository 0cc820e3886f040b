"""Safe reuse of a work directory: one process at a time, the same config, a usable folder.

- :func:`check_workdir` refuses a work directory that is a file or not writable, before anything runs.
- :class:`WorkdirLock` holds an exclusive ``fcntl`` lock on ``<workdir>/.lock`` for the run; a
  second process on the same folder gets :class:`WorkdirBusyError` naming the holder's pid (the
  lock dies with its process, so a killed run never leaves a stale lock).
- :func:`check_same_config` compares the config a work directory was started with
  (``config.json`` and its SHA-256 fingerprint in ``config.sha256``) with the new one; when the
  folder holds checkpoints (a resume), changed keys are refused with :class:`ConfigError` listing
  them (old -> new), unless each is in ``allowed`` (``--allow_config_change=epochs``) or is a
  display-only key (``progress``). Allowed changes are recorded in ``config_changes.jsonl``.
"""
from __future__ import annotations

import datetime
import errno
import fcntl
import hashlib
import json
import os
import pathlib
from typing import Iterable

from jaxml.study.config import ConfigError

__all__ = ["WorkdirBusyError", "WorkdirLock", "check_workdir", "check_same_config", "fingerprint",
           "DISPLAY_KEYS"]

#: Keys that change only what is printed, never the numbers: free to change on resume.
DISPLAY_KEYS = ("progress",)


class WorkdirBusyError(ConfigError):
    """Another process holds the work directory."""


def check_workdir(path: pathlib.Path) -> None:
    """ConfigError unless ``path`` is (or can be made) a writable directory."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--workdir={path} is a file, not a directory; pass a folder (an existing one resumes)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--workdir={path} cannot be created: {e.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"--workdir={path} is not writable by this user")


class WorkdirLock:
    """``with WorkdirLock(path):`` — exclusive use of ``path`` by this process."""

    def __init__(self, path: pathlib.Path):
        self.path = pathlib.Path(path) / ".lock"
        self._fd = None

    def __enter__(self):
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise WorkdirBusyError(f"work directory {self.path.parent} is in use by another process "
                                       f"(pid {holder}); wait for it or pass another --workdir") from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc):
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def fingerprint(config: dict) -> str:
    """SHA-256 of the config's canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def check_same_config(path: pathlib.Path, config: dict, allowed: Iterable[str] = ()) -> list[str]:
    """Refuse resuming ``path`` with a config that differs from the one it started with; returns the
    changed keys that were allowed (and records them). A folder without checkpoints is a fresh start."""
    stored_file = path / "config.json"
    if not stored_file.exists() or not (path / "checkpoints").exists() and not any(path.glob("*/checkpoints")):
        return []
    stored = json.loads(stored_file.read_text())
    old, new = _flat(stored), _flat(json.loads(json.dumps(config, default=str)))
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k, "<absent>") != new.get(k, "<absent>"))
    allowed = set(allowed) | set(DISPLAY_KEYS)
    refused = [k for k in changed if k not in allowed]
    if refused:
        what = "; ".join(f"{k}: {old.get(k, '<absent>')!r} -> {new.get(k, '<absent>')!r}" for k in refused)
        raise ConfigError(f"work directory {path} was started with another config and holds its checkpoints; "
                          f"changed: {what}. Rerun with the original values, pass another --workdir, or allow "
                          f"keys that are safe to change with --allow_config_change={','.join(refused)}")
    if changed:
        with open(path / "config_changes.jsonl", "a") as f:
            f.write(json.dumps({"time": datetime.datetime.now().isoformat(timespec="seconds"),
                                "changed": {k: [old.get(k), new.get(k)] for k in changed}}, default=str) + "\n")
    return changed
