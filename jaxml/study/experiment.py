"""Shared scaffolding for ``experiments/<name>.py`` scripts.

``run_experiment(name, get_config, presets, main, argv)`` parses the command line (see
``config.py``), creates the work directory (``runs/<name>/<YYYYmmdd-HHMMSS>/`` unless
``--workdir`` is given), on a CPU tells malloc to keep freed memory
(``jaxml.cpu_memory.keep_freed_memory_on_cpu``), writes ``config.json`` and ``machine.json`` there,
then calls ``main(config, workdir)`` and returns what it returns. A given existing workdir is
reused, so runs with checkpoints resume. Ctrl-C (SIGINT) ends the run with one line saying how to
resume and exit status 130 (no traceback).
"""
from __future__ import annotations

import datetime
import json
import os
import pathlib
import platform
import sys
from typing import Callable, Sequence

from jaxml import cpu_memory
from jaxml.data.errors import DataError
from jaxml.report.primary import is_primary
from jaxml.study.cli import help_text, parse_command_line
from jaxml.study.config import ConfigError, to_dict
from jaxml.study.resume import WorkdirLock, check_same_config, check_workdir, fingerprint
from jaxml.train import parallel


def machine_info() -> dict:
    """Hardware and software facts worth recording next to measurements."""
    import jax

    import jaxml

    devices = jax.devices()
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in devices],
        "device_kind": devices[0].device_kind if devices else None,
        "jaxml": jaxml.__version__,
        "malloc_keeps_freed_memory": cpu_memory.status()["applied"],  # jaxml.cpu_memory
        **git_commit(),
        "process_index": jax.process_index(),
        "process_count": jax.process_count(),
    }


def git_commit() -> dict:
    """``{"git_commit": sha, "git_dirty": bool}`` of the checkout jaxml runs from (None when it is
    not a git checkout, e.g. an installed wheel); dirty = tracked files changed."""
    import subprocess

    import jaxml

    where = os.path.dirname(os.path.dirname(os.path.abspath(jaxml.__file__)))
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_dirty": None}
    if sha.returncode != 0:
        return {"git_commit": None, "git_dirty": None}
    return {"git_commit": sha.stdout.strip(), "git_dirty": bool(dirty.stdout.strip())}


def machine_summary() -> str:
    info = machine_info()
    return (f"{info['device_kind']} x{len(info['devices'])} ({info['backend']}), {info['cpu_count']} CPU cores, "
            f"jax {info['jax']}, {info['platform']}")


def make_workdir(name: str, workdir: str | os.PathLike | None = None, root: str | os.PathLike = "runs") -> pathlib.Path:
    if workdir is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = pathlib.Path(root) / name / stamp
        i = 1
        while path.exists():
            path = pathlib.Path(root) / name / f"{stamp}-{i}"
            i += 1
    else:
        path = pathlib.Path(workdir)
    check_workdir(path)
    return path


def run_experiment(name: str, get_config: Callable, presets: Sequence[str], main: Callable,
                   argv: Sequence[str] | None = None):
    """Parse the command line (``jaxml.study.cli``), prepare the work directory and call
    ``main(config, workdir)``. From the real command line (``argv=None``) a mistake is one line on
    stderr and exit status 2, ``--help`` prints the flags and config keys; with ``argv`` given
    (tests, scripts) ``ConfigError`` is raised and ``--help`` returns the help text."""
    from_command_line = argv is None
    try:
        cfg, options = parse_command_line(sys.argv[1:] if argv is None else argv, get_config, presets)
        if options.help:
            text = help_text(name, get_config, presets)
            if from_command_line:
                print(text)
                raise SystemExit(0)
            return text
        if options.distributed:
            parallel.initialize_distributed(options.coordinator_address, options.num_processes, options.process_id)
        # After the device settings, before JAX starts its threads (jaxml.cpu_memory) and before any timing.
        cpu_memory.keep_freed_memory_on_cpu()
        path = make_workdir(name, options.workdir)
        if not is_primary():  # process 0 guards and describes the work directory for the whole job
            return _run_locked(name, cfg, path, options, main)
        with WorkdirLock(path):
            check_same_config(path, to_dict(cfg), options.allow_config_change)
            return _run_locked(name, cfg, path, options, main)
    except (ConfigError, DataError) as e:
        if not from_command_line:
            raise
        print(f"{name}: error: {e}", file=sys.stderr)
        raise SystemExit(2 if isinstance(e, ConfigError) else 1) from None


def _run_locked(name, cfg, path, options, main):
    if is_primary():
        (path / "config.json").write_text(json.dumps(to_dict(cfg), indent=2, sort_keys=True) + "\n")
        (path / "config.sha256").write_text(fingerprint(to_dict(cfg)) + "\n")
        (path / "machine.json").write_text(json.dumps(machine_info(), indent=2) + "\n")
        print(f"[{name}] work directory: {path}")
    previous = os.environ.get("JAXML_TENSORBOARD")
    if options.tensorboard:
        os.environ["JAXML_TENSORBOARD"] = "1"   # read by fit (jaxml.report.tensorboard.enabled)
    try:
        return main(cfg, path)
    except KeyboardInterrupt:
        # Ctrl-C / SIGINT: one line, no traceback; checkpoints are written whole or not at all, so the
        # work directory resumes from its last complete one.
        print(f"[{name}] interrupted; {path} keeps the last complete checkpoint: rerun with --workdir={path} "
              "(same config) to resume", file=sys.stderr, flush=True)
        raise SystemExit(130) from None
    finally:
        if previous is None:
            os.environ.pop("JAXML_TENSORBOARD", None)
        else:
            os.environ["JAXML_TENSORBOARD"] = previous


def run_parts(title: str, parts: dict, selected, workdir: pathlib.Path, intro: list | None = None,
              part_dirs: bool = True) -> dict:
    """Run a study's parts in order and write ``results.md`` and ``summary.json``.

    ``parts``: ``{name: (heading, fn)}`` with ``fn(part_dir) -> (markdown_text, result_dict)``;
    only names in ``selected`` run, each in ``workdir/<name>/`` (in ``workdir`` itself with
    ``part_dirs=False``, for parts that name their own files). ``intro``: leading
    ``(heading, text)`` sections (setup). Prints each part's text (without image links) and
    records its wall time (in the text, and as ``"wall_seconds"`` in a dict result). Parts run in
    the order of ``parts``. Returns ``{name: result}``.
    """
    import time

    from jaxml.report import write_results

    t0 = time.perf_counter()
    sections, summary = list(intro or []), {}
    for name, (heading, fn) in parts.items():
        if name not in selected:
            continue
        print(f"\n=== {heading} ===", flush=True)
        part_dir = pathlib.Path(workdir) / name if part_dirs else pathlib.Path(workdir)
        part_dir.mkdir(parents=True, exist_ok=True)
        t_part = time.perf_counter()
        text, result = fn(part_dir)
        seconds = time.perf_counter() - t_part
        sections.append((heading, text + f"\n\nWall time of this part: {seconds:.1f} s."))
        summary[name] = {**result, "wall_seconds": seconds} if isinstance(result, dict) else result
        print(text.split("\n\n![")[0], flush=True)
    total = time.perf_counter() - t0
    sections.append(("Run", f"Total wall time {total:.1f} s on {machine_summary()}."))
    write_results(pathlib.Path(workdir) / "results.md", title, sections)
    if is_primary():
        (pathlib.Path(workdir) / "summary.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
    print(f"\nResults written to {pathlib.Path(workdir) / 'results.md'} (total {total:.1f} s)")
    return summary


def timed_call(fn: Callable, *args, repeat: bool = True):
    """``(result, first_seconds, seconds)`` of ``fn(*args)`` waited for with ``block_until_ready``:
    ``first_seconds`` is the first call (compilation included); ``seconds`` is a second, identical
    call (the run without compilation) when ``repeat``, else the first call again."""
    import time

    import jax

    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    first = time.perf_counter() - t0
    if not repeat:
        return out, first, first
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    return out, first, time.perf_counter() - t0


def compile_and_run(fn: Callable, *args):
    """``(result, compile_seconds, run_seconds)``: the jitted ``fn`` lowered and compiled ahead of
    time for ``args``, then run once (``block_until_ready``), each step timed on its own."""
    import time

    import jax

    t0 = time.perf_counter()
    compiled = fn.lower(*args).compile()
    t1 = time.perf_counter()
    out = jax.block_until_ready(compiled(*args))
    return out, t1 - t0, time.perf_counter() - t1
