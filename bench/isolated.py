"""A benchmark contestant built and run in a process of its own (or, for comparison, in this one).

Interleaving contestants in one process (``common.interleave``) lets each inherit what the
previous one left: heap layout, allocator state, thread pools. A jaxml baby-GPT step at batch 64
took 10.3-10.7 s alone and 15-18.5 s right after PyTorch's step in the same process; that one
turned out to be page faults, fixed in ``jaxml.cpu_memory`` (bench/README.md, "Carry-over"), but
separate processes keep any such effect out of the comparison. An :class:`Isolated` contestant
keeps the interleaving (the parent decides who runs when) but builds and runs its unit of work in
a spawned child process, which times the unit itself and sends the seconds back.

``Isolated("bench.sequence:contestant", kind="lstm", ...)`` imports the factory in the child and
calls it with the keyword arguments; the factory returns ``(unit, info)``: a zero-argument callable
doing one unit of work (blocking until done), and a picklable dict sent back once (compile seconds,
parameter counts...), available as ``.info``. Each call runs one unit and returns its seconds, also
appended to ``.seconds``. :class:`InProcess` does the same in this process (``--same-process``).
"""
from __future__ import annotations

import importlib
import multiprocessing
import time
import traceback

__all__ = ["Isolated", "InProcess"]


def _build(factory: str, kwargs: dict):
    module, name = factory.split(":")
    return getattr(importlib.import_module(module), name)(**kwargs)


def _serve(conn, factory: str, kwargs: dict):
    try:
        unit, info = _build(factory, kwargs)
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


class InProcess:
    """The same interface as :class:`Isolated`, with the contestant built and run in this process."""

    def __init__(self, factory: str, **kwargs):
        self.factory = factory
        self._unit, self.info = _build(factory, kwargs)
        self.seconds: list[float] = []

    def __call__(self) -> float:
        t0 = time.perf_counter()
        self._unit()
        self.seconds.append(time.perf_counter() - t0)
        return self.seconds[-1]

    def close(self):
        pass
