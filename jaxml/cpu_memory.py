"""Keep freed heap memory in the process, so XLA:CPU does not page-fault fresh buffers on every call.

XLA's CPU client allocates every output and temporary buffer of a compiled call with ``malloc``.
glibc serves large blocks (above a threshold of at most 32 MiB, 128 KiB at first) with a fresh
``mmap`` and gives them back to the kernel on ``free``, so the next call touches brand-new pages
and pays a page fault per 4 KiB. Measured effect: bench/README.md ("Page faults on every call").

:func:`keep_freed_memory` calls glibc's ``mallopt`` to serve all blocks from the heap
(``M_MMAP_MAX = 0``) and never trim it (``M_TRIM_THRESHOLD = -1``), so freed blocks are
reused without new page faults, and to give all threads one arena (``M_ARENA_MAX = 1``): XLA:CPU
allocates from its worker threads, and glibc's per-thread arenas ``mmap`` large blocks whatever the
other two settings say, so without the cap every call faulted fresh pages again (measured in
bench/README.md, "Page faults"). glibc fixes its arena limit when the first thread asks for an
arena, so the cap only works when set before JAX starts its threads: :func:`keep_freed_memory_on_cpu`
sets it before asking JAX for its backend (on another backend it then stays set; host allocations
only). The cost: the process keeps its peak heap size until it exits, and threads share one arena's
lock. It changes no result, only speed, and it is process-wide.

Importing jaxml changes nothing. Programs opt in at start-up with :func:`keep_freed_memory_on_cpu`,
which applies the setting once, and only when JAX runs on the CPU and the environment does not set
``JAXML_KEEP_FREED_MEMORY=0``: ``jaxml.study.experiment.run_experiment`` (every study), the test
suite and the benchmarks in ``bench/`` call it (the training core does not: it sits below this
choice; call it at the start of your own scripts). Elsewhere than Linux/glibc (macOS, musl, Windows)
nothing is done and both functions return False.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = ["keep_freed_memory_on_cpu", "keep_freed_memory", "ENV_VAR", "enabled_by_env", "status"]

ENV_VAR = "JAXML_KEEP_FREED_MEMORY"
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8
_applied = False
_arenas_capped = False
_on_cpu: bool | None = None  # keep_freed_memory_on_cpu's decision, made by its first call


def enabled_by_env() -> bool:
    """False when ``JAXML_KEEP_FREED_MEMORY`` is "0", "false", "no" or "off" (any case)."""
    return os.environ.get(ENV_VAR, "1").strip().lower() not in ("0", "false", "no", "off")


def _glibc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "gnu_get_libc_version") else None  # glibc only (musl has no such symbol)


def keep_freed_memory() -> bool:
    """Tune glibc malloc as described in the module docstring, unconditionally; True when applied."""
    global _applied
    libc = _glibc()
    if libc is None:
        return False
    ok = libc.mallopt(_M_MMAP_MAX, 0) == 1
    ok = libc.mallopt(_M_TRIM_THRESHOLD, -1) == 1 and ok  # -1: never trim (man mallopt)
    ok = _cap_arenas(libc) and ok
    _applied = _applied or ok
    return ok


def _cap_arenas(libc) -> bool:
    """One malloc arena for every thread (``M_ARENA_MAX = 1``), so XLA's worker threads allocate from
    the main heap, which the two settings above keep; True when glibc took it."""
    global _arenas_capped
    _arenas_capped = _arenas_capped or libc.mallopt(_M_ARENA_MAX, 1) == 1
    return _arenas_capped


def keep_freed_memory_on_cpu() -> bool:
    """Apply :func:`keep_freed_memory` when ``jax.default_backend() == "cpu"`` and
    :func:`enabled_by_env`; True when the setting was applied.

    Only the first call decides (and tunes malloc at most once); later calls return its answer.
    It asks JAX for its backend, which initialises JAX's devices like any JAX operation, so call
    it after device settings such as ``jaxml.train.run_sharding.request_cpu_devices``.
    """
    global _on_cpu
    if _on_cpu is None:
        if not enabled_by_env():
            _on_cpu = False
        else:
            libc = _glibc()
            if libc is not None:
                _cap_arenas(libc)  # before JAX starts its threads (see the module docstring)
            import jax

            _on_cpu = jax.default_backend() == "cpu" and keep_freed_memory()
    return _on_cpu


def status() -> dict:
    """``{"applied": bool, "arenas_capped": bool, "env": value of JAXML_KEEP_FREED_MEMORY or None}``
    (for machine reports)."""
    return {"applied": _applied, "arenas_capped": _arenas_capped, "env": os.environ.get(ENV_VAR)}
