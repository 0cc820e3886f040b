"""A benchmark contestant built and run in a process of its own.

Interleaving contestants in one process (``common.interleave``) lets each one inherit what the
previous one left: heap layout, allocator caches, thread pools. Between frameworks that is not
small: a jaxml baby-GPT step at batch 64 took 10.3-10.7 s in a process of its own and 15-18.5 s
right after PyTorch's step in the same process (bench/README.md, "Carry-over"). An
:class:`Isolated` contestant keeps the interleaving (the parent decides who runs when) but builds
and runs its unit of work in a spawned child process, which times the unit itself and sends the
seconds back.

``Isolated("bench.sequence:lstm_contestant", maxlen=20, ...)`` imports the factory in the child and
calls it with the arguments; the factory returns ``(unit, info)``: a zero-argument callable that
does one unit of work (blocking until done), and a JSON-able dict sent back once (compile
seconds, parameter counts...), available as ``.info``. Calling the contestant runs one unit in the
child and returns its seconds; ``interleave`` then times the call from the parent too, so use
:func:`seconds_of` on the results to keep the child's own figures (without the pipe's overhead).
"""
from __future__ import annotations

import importlib
import multiprocessing
import time
import traceback

__all__ = ["Isolated", "seconds_of"]


def _serve(conn, factory: str, kwargs: dict):
    try:
        module, name = factory.split(":")
        unit, info = getattr(importlib.import_module(module), name)(**kwargs)
        conn.send(("ready", info))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        conn.send(("error", traceback.format_exc()))
        return
    while True:
        command = conn.recv()
        if command != "run":
            return
        try:
            t0 = time.perf_counter()
            unit()
            conn.send(("seconds", time.perf_counter() - t0))
        except BaseException:  # noqa: BLE001
            conn.send(("error", traceback.format_exc()))
            return


class Isolated:
    """A contestant in its own (spawned) process; see the module docstring."""

    def __init__(self, factory: str, **kwargs):
        ctx = multiprocessing.get_context("spawn")
        self.factory = factory
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, factory, kwargs), daemon=True)
        self._proc.start()
        child.close()
        self.info = self._expect("ready")
        self.seconds: list[float] = []

    def _expect(self, kind: str):
        try:
            got, value = self._conn.recv()
        except EOFError:
            raise RuntimeError(f"the process of contestant {self.factory} exited "
                               f"(exit code {self._proc.exitcode})") from None
        if got == "error":
            self.close()
            raise RuntimeError(f"contestant {self.factory} failed in its process:\n{value}")
        return value

    def __call__(self) -> float:
        self._conn.send("run")
        seconds = self._expect("seconds")
        self.seconds.append(seconds)
        return seconds

    def close(self):
        if self._proc.is_alive():
            try:
                self._conn.send("stop")
            except (BrokenPipeError, OSError):
                pass
            self._proc.join(timeout=30)
            if self._proc.is_alive():
                self._proc.kill()
        self._conn.close()


def seconds_of(contestant: Isolated, warmup: int) -> list[float]:
    """The child's own seconds of the timed units (the first ``warmup`` calls dropped)."""
    return contestant.seconds[warmup:]
