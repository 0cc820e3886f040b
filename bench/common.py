"""Timing helpers shared by the benchmarks in ``bench/`` (see DESIGN.md §6).

The conventions every benchmark follows:

- compile time is measured on its own (``compile_jitted``) and never mixed into run times;
- warm-up calls are made and thrown away before timing;
- every timed JAX call ends with ``jax.block_until_ready`` (asynchronous dispatch would
  otherwise time only the launch);
- contestants run INTERLEAVED in one process (``interleave``): one round runs contestant A,
  then B, then C, the next C, B, A (counterbalanced, as an ABBA design), so a noisy neighbour on a
  shared machine hits all of them alike and no contestant always runs right after the same other
  one (what one contestant leaves behind can slow the next: bench/README.md, "Carry-over");
- the figure reported is the median over repeats, and comparisons are ratios of medians
  (``ratio``), with the median of the per-repeat (paired) ratios kept as a cross-check;
- results go to a JSON file (settings, machine, versions, date, raw times) and a Markdown table.

Nothing here imports torch; a benchmark asks ``optional_import("torch")`` and skips its
baseline with a message when it is missing.
"""
from __future__ import annotations

import datetime
import importlib
import json
import os
import pathlib
import statistics
import sys
import time
from typing import Callable, Mapping, Sequence


def block(x):
    """``jax.block_until_ready`` when jax is loaded (no-op for anything else)."""
    jax = sys.modules.get("jax")
    return jax.block_until_ready(x) if jax is not None else x


def compile_jitted(jitted, *args, **kwargs):
    """``(compiled, seconds)``: lower and compile ``jitted`` for these arguments, timed alone."""
    t0 = time.perf_counter()
    compiled = jitted.lower(*args, **kwargs).compile()
    return compiled, time.perf_counter() - t0


def time_once(fn: Callable[[], object]) -> float:
    """Seconds for one call of ``fn`` (its result is blocked on before the clock stops)."""
    t0 = time.perf_counter()
    block(fn())
    return time.perf_counter() - t0


def interleave(contestants: Mapping[str, Callable[[], object]], repeats: int, warmup: int = 1,
               per_repeat: int = 1) -> dict[str, list[float]]:
    """Run the contestants in rounds and return ``{name: [seconds per repeat]}``.

    Each contestant is a zero-argument callable doing one unit of work (e.g. one epoch; it
    may carry state between calls). First ``warmup`` untimed rounds, then ``repeats`` timed
    rounds; in every round each contestant runs ``per_repeat`` times back to back and the
    time of the whole group is recorded (so divide by ``per_repeat`` for one unit). Rounds
    alternate between the given order and its reverse (warm-up rounds included), so each
    contestant runs right after a neighbour in the list or after itself, never after one further
    away: a contestant that slows whatever runs next (bench/README.md, "Carry-over") cannot always
    precede the same rival.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    names = list(contestants)
    for r in range(warmup):
        for name in round_order(names, r):
            block(contestants[name]())
    times: dict[str, list[float]] = {name: [] for name in contestants}
    for r in range(warmup, warmup + repeats):
        for name in round_order(names, r):
            fn = contestants[name]
            t0 = time.perf_counter()
            for _ in range(per_repeat):
                block(fn())
            times[name].append(time.perf_counter() - t0)
    return times


def round_order(names: Sequence[str], r: int) -> list[str]:
    """The order of round ``r`` in :func:`interleave`: ``names`` in even rounds, reversed in odd ones."""
    return list(names) if r % 2 == 0 else list(reversed(names))


def jax_matmul_gflops(n: int = 1024, repeats: int = 10) -> float:
    """Median GFLOP/s of a jitted float32 (n, n) @ (n, n) on the default device: the
    practical matmul ceiling a compute-bound benchmark can be held against."""
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    f = jax.jit(lambda m: m @ m)
    block(f(a))
    seconds = [time_once(lambda: f(a)) for _ in range(repeats)]
    return 2 * n ** 3 / median(seconds) / 1e9


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def spread(values: Sequence[float]) -> dict:
    """Median, min, max and the relative interquartile range of a list of timings."""
    vals = sorted(float(v) for v in values)
    med = statistics.median(vals)
    if len(vals) >= 4:
        q = statistics.quantiles(vals, n=4)
        iqr = q[2] - q[0]
    else:
        iqr = vals[-1] - vals[0]
    return {"median": med, "min": vals[0], "max": vals[-1], "n": len(vals),
            "rel_iqr": iqr / med if med > 0 else float("nan")}


def ratio(numerator: Sequence[float], denominator: Sequence[float]) -> dict:
    """``median(numerator) / median(denominator)``, plus the median of the paired ratios
    (repeat by repeat, which cancels slow drifts of the machine) and their range."""
    paired = [a / b for a, b in zip(numerator, denominator)]
    return {"of_medians": median(numerator) / median(denominator), "paired_median": median(paired),
            "paired_min": min(paired), "paired_max": max(paired)}


def optional_import(name: str):
    """The module, or None when it cannot be imported (for optional baselines such as torch)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def cpuinfo() -> dict:
    """First processor's fields of /proc/cpuinfo (empty off Linux)."""
    fields = {}
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if not line.strip():
                break
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (Linux), else ``platform.processor()``."""
    name = cpuinfo().get("model name")
    if name:
        return name
    import platform

    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        return None


class CpuMonitor:
    """How busy OTHER processes kept the CPUs while a block ran (Linux; None elsewhere).

    ``with CpuMonitor() as mon: ...`` then ``mon.others_busy``: the fraction of all cores'
    time used by everything except this process and its children that ended inside the block
    (contestants run in processes of their own, ``bench.isolated``, are joined there): 0 = the
    machine was ours alone; on a 2-core machine 0.5 = someone else held one core throughout.
    """

    def __enter__(self):
        self._start = self._sample()
        return self

    def __exit__(self, *exc):
        end = self._sample()
        self.others_busy = None
        if self._start is not None and end is not None:
            (busy0, total0, own0), (busy1, total1, own1) = self._start, end
            ticks = os.sysconf("SC_CLK_TCK")
            total = total1 - total0
            if total > 0:
                others = (busy1 - busy0) - (own1 - own0) * ticks
                self.others_busy = round(min(max(others / total, 0.0), 1.0), 3)
        return False

    @staticmethod
    def _sample():
        try:
            fields = [int(v) for v in pathlib.Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        t = os.times()
        return sum(fields[:8]) - idle, sum(fields[:8]), t.user + t.system + t.children_user + t.children_system


def machine() -> dict:
    """``jaxml.study.experiment.machine_info()`` plus the CPU model, cores usable by this
    process and the load average (a busy machine shows up here)."""
    from jaxml.study.experiment import machine_info

    info = dict(machine_info())
    info["cpu_model"] = cpu_model()
    ci = cpuinfo()
    flags = ci.get("flags", "").split()
    info["cpu_family_model"] = f"family {ci.get('cpu family', '?')} model {ci.get('model', '?')}" if ci else None
    info["cpu_simd"] = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if f in flags]
    info["cpu_cache"] = ci.get("cache size")
    try:
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    except AttributeError:
        info["cpus_usable"] = os.cpu_count()
    info["load_average_1_5_15"] = load_average()
    return info


def versions(*extra: str) -> dict:
    """Versions of the numerical stack (and of ``extra`` modules that are importable)."""
    out = {}
    for name in ("jax", "jaxlib", "flax", "optax", "numpy", *extra):
        mod = sys.modules.get(name) or optional_import(name)
        out[name] = getattr(mod, "__version__", None) if mod is not None else None
    return out


def now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A GitHub Markdown table; floats printed by ``fmt``."""
    def cell(v):
        return fmt(v) if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(v: float) -> str:
    """About 3 significant digits: 12,345 / 123 / 12.3 / 1.23 / 0.123."""
    if v != v:  # NaN
        return "n/a"
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def out_stem(path: str) -> str:
    """An ``--out`` path without suffix (the benchmarks write ``<stem>.json`` and ``<stem>.md``): a trailing
    ``.json`` or ``.md`` given by habit is dropped rather than doubled (``x.json`` -> ``x``)."""
    for suffix in (".json", ".md"):
        if str(path).endswith(suffix):
            return str(path)[:-len(suffix)]
    return str(path)


def write_results(out: str, payload: dict, markdown: str) -> pathlib.Path:
    """``<stem>.json`` (the payload) and ``<stem>.md`` (the tables) for an ``--out`` path given with or without
    suffix (:func:`out_stem`); returns the JSON path."""
    stem = out_stem(out)
    path = write_json(stem + ".json", payload)
    pathlib.Path(stem + ".md").write_text(markdown.rstrip("\n") + "\n")
    return path


def write_json(path: str | os.PathLike, payload: dict) -> pathlib.Path:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=False, default=_jsonable) + "\n")
    return path


def _jsonable(o):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:
        pass
    if isinstance(o, (set, tuple, range)):
        return list(o)
    return str(o)
