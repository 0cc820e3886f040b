"""``run_on_cpu_devices(n, fn, *args)``: run ``fn(*args)`` where JAX sees ``n`` CPU devices.

JAX fixes its device count when its backend first initialises, from
``XLA_FLAGS=--xla_force_host_platform_device_count=n`` (what ``chex.set_n_cpu_devices(n)`` sets). So:

- in this process when it has (or, not yet initialised, will have) exactly ``n`` CPU devices — e.g. a
  ``conftest.py`` called ``chex.set_n_cpu_devices(n)`` before any JAX operation;
- otherwise in a fresh Python subprocess with that flag: ``fn`` must be a module-level function (the
  subprocess loads its module from its file), ``args`` and the result must pickle. The subprocess inherits
  the environment (``JAX_PLATFORMS``, the compilation cache) and ``sys.path``; an exception in ``fn`` is
  raised again here with the subprocess's traceback.
"""
from __future__ import annotations

import inspect
import os
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["run_on_cpu_devices"]

_FLAG = re.compile(r"--xla_force_host_platform_device_count=(\d+)")


def _devices_here() -> int | None:
    """This process's CPU device count if it is known without changing anything, else None."""
    from jax._src import xla_bridge

    flag = _FLAG.search(os.environ.get("XLA_FLAGS", ""))
    if xla_bridge.backends_are_initialized():
        import jax
        try:
            return len(jax.devices("cpu"))
        except RuntimeError:
            return None
    return int(flag.group(1)) if flag else 1


def run_on_cpu_devices(n: int, fn, *args, subprocess_: bool | None = None, timeout: float = 600.0):
    """``fn(*args)`` with ``n`` CPU devices (see the module docstring); ``subprocess_=True`` forces a
    subprocess, ``False`` forbids one (RuntimeError when this process cannot have ``n`` devices)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    here = _devices_here()
    if subprocess_ is False or (subprocess_ is None and here == n):
        if here != n:
            raise RuntimeError(f"this process has {here} CPU devices, not {n}; call chex.set_n_cpu_devices({n}) "
                               "before any JAX operation, or allow a subprocess")
        if not _initialized():
            os.environ["JAX_PLATFORMS"] = os.environ.get("JAX_PLATFORMS") or "cpu"
        return fn(*args)
    return _in_subprocess(n, fn, args, timeout)


def _initialized() -> bool:
    from jax._src import xla_bridge
    return xla_bridge.backends_are_initialized()


def _in_subprocess(n: int, fn, args, timeout: float):
    source = inspect.getsourcefile(fn)
    if source is None or "<locals>" in fn.__qualname__ or fn.__name__ == "<lambda>":
        raise ValueError(f"{fn!r}: run_on_cpu_devices needs a module-level function to run in a subprocess")
    flags = _FLAG.sub("", os.environ.get("XLA_FLAGS", ""))
    env = {**os.environ, "XLA_FLAGS": f"{flags} --xla_force_host_platform_device_count={n}".strip(),
           "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS") or "cpu",
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    with tempfile.TemporaryDirectory(prefix="jaxml-cpu-devices-") as tmp:
        job, result = Path(tmp) / "job.pkl", Path(tmp) / "result.pkl"
        job.write_bytes(pickle.dumps({"file": str(Path(source).resolve()), "module": fn.__module__,
                                      "qualname": fn.__qualname__, "args": args}))
        done = subprocess.run([sys.executable, "-m", "jaxml.testing._device_child", str(job), str(result)],
                              capture_output=True, text=True, timeout=timeout, env=env)
        if not result.exists():
            raise RuntimeError(f"the {n}-device subprocess for {fn.__qualname__} failed (exit status "
                               f"{done.returncode}):\n{done.stderr[-4000:]}")
        ok, value, trace = pickle.loads(result.read_bytes())
    if not ok:
        if isinstance(value, BaseException):
            raise value from RuntimeError(f"in the {n}-device subprocess:\n{trace}")
        raise RuntimeError(f"in the {n}-device subprocess:\n{trace}")
    return value
