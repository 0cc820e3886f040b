#!/usr/bin/env python
"""Every benchmark in one invocation, then one summary table of ratios (``make bench``).

Runs ``bench/mlp.py``, ``vision.py``, ``sequence.py``, ``rl.py``, ``classic.py``, ``decode.py`` and
``bf16.py`` one after the other, each in its own process (``python -m bench.<name> ... --out``), then
reads the JSON file each of them wrote and writes ``summary.md`` and ``summary.json`` beside them:
one row per comparison the benchmark reports (its ratio of medians, the median and range of its
per-repeat paired ratios, its goal), plus the machine (CPU model, cores, load average before and
after the whole run and around each benchmark). The benchmarks' own conventions (DESIGN.md §6:
contestants interleaved in one process, compile time apart, ratios) are theirs; this script only
orchestrates and collects.

Usage::

    python -m bench.all                 # full settings, results in bench/results/ (tens of minutes)
    python -m bench.all --quick         # each benchmark's --quick, results in bench/results/quick/
    python -m bench.all --only mlp,rl   # a subset (the summary covers the JSON files present)
    python -m bench.all --summary-only  # rebuild the summary from the JSON files already there
    python -m bench.all --summary-only --previous old/summary.json  # which ratios moved since that run

The summary ends with the ratios that moved against the summary it replaces (or ``--previous``) by more
than the two runs' spread: ``bench/compare_runs.py``.

A quick run keeps JAX's persistent compilation cache in ``bench/results/quick/jax-cache`` (git-ignored;
``--no-compile-cache`` runs without it): compilation is most of a quick run, so the second and later
passes skip it. The summary records whether the cache was used and how many entries it held before.
A full run never uses it (its compile times are reported).

A benchmark that fails is reported in the summary (status and exit code) and makes the exit
status non-zero; the others still run.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import time
from typing import Callable

if __package__ in (None, ""):  # run as a file (python bench/all.py): make `bench` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from bench import common, compare_runs

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
QUICK_RESULTS = RESULTS / "quick"
QUICK_COMPILE_CACHE = QUICK_RESULTS / "jax-cache"


def compile_cache_env(cache_dir: pathlib.Path) -> dict:
    """Environment variables that make every JAX program of a benchmark process (and its subprocesses)
    read and write JAX's persistent compilation cache in ``cache_dir``, whatever its compile time or size."""
    return {"JAX_COMPILATION_CACHE_DIR": str(cache_dir), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}


def cache_entries(cache_dir: pathlib.Path) -> int:
    """Files in the compilation cache directory (0 when it does not exist)."""
    return sum(1 for f in pathlib.Path(cache_dir).rglob("*") if f.is_file()) if pathlib.Path(cache_dir).exists() else 0


# ----------------------------------------------------------------------------- per-benchmark rows

def _row(benchmark: str, comparison: str, ratio, paired: dict | None = None, goal=None, met=None,
         meaning: str = "", note: str = "") -> dict:
    paired = paired or {}
    return {"benchmark": benchmark, "comparison": comparison, "ratio": None if ratio is None else float(ratio),
            "paired_median": paired.get("paired_median"), "paired_min": paired.get("paired_min"),
            "paired_max": paired.get("paired_max"), "goal": goal, "met": met, "meaning": meaning, "note": note}


def _comparisons(name: str, d: dict) -> list[dict]:
    """mlp.py / sequence.py: a ``comparisons`` list of {name, ratio, paired, goal, met}."""
    return [_row(name, c["name"], c["ratio"], c.get("paired"), None if c.get("goal") in (None, "—") else c["goal"],
                 c.get("met")) for c in d.get("comparisons", [])]


def rows_classic(d: dict) -> list[dict]:
    return [_row("classic", f"{c['case']}: {c['numerator']} / {c['denominator']}", c["ratio"], c.get("paired"),
                 meaning=c.get("meaning", "")) for c in d.get("comparisons", [])]


def rows_vision(d: dict) -> list[dict]:
    goal = d.get("settings", {}).get("goal_jaxml_over_torch")
    rows = []
    for model, r in d.get("results", {}).items():
        peak = r.get("fraction_of_matmul_peak", {})
        for key, p in r.get("speed_ratios", {}).items():
            g = goal if goal is not None and key.endswith("/torch_2t") and not key.startswith("jaxml_stock") else None
            note = " / ".join(f"{k} {100 * peak[k]:.0f}%" for k in key.split("/") if k in peak)
            rows.append(_row("vision", f"{model}: {key} steps/s", p["of_medians"], p,
                             None if g is None else f">= {g:g}", None if g is None else p["of_medians"] >= g,
                             note=f"of the matmul peak: {note}" if note else ""))
    return rows


def rows_decode(d: dict) -> list[dict]:
    rows = [_row("decode", f"{r['model']} batch {r['batch']}: jaxml / transformers tokens/s",
                 r["ratio (jaxml/torch)"], note=f"same tokens: {r.get('same tokens')}") for r in d.get("gpt2", [])]
    rows += [_row("decode", f"char GPT `{r['preset']}`: cached / windowed chars/s", r["speed-up"],
                  note=f"same tokens: {r.get('same tokens')}") for r in d.get("char", [])]
    return rows


def rows_bf16(d: dict) -> list[dict]:
    return [_row("bf16", f"{w}: bf16 / f32 step time", r["bf16_over_f32_time"]["of_medians"],
                 r["bf16_over_f32_time"], meaning="> 1: bfloat16 slower")
            for w, r in d.get("results", {}).items() if "bf16_over_f32_time" in r]


def rows_rl(d: dict) -> list[dict]:
    rows = []
    p = d.get("peers")
    if p:
        g = p.get("goals", {})
        goals = {"rejax": g.get("rejax_over_jaxml_at_least"), "sb3": g.get("sb3_over_jaxml_at_least")}
        means = p.get("greedy_mean", {})
        for name, r in p.get("over_jaxml", {}).items():
            goal = goals.get(name)
            note = (f"greedy mean return: jaxml {means.get('jaxml', float('nan')):.1f}, {name} "
                    f"{means.get(name, float('nan')):.1f}; {p['env_steps'][name]:,} vs {p['env_steps']['jaxml']:,} "
                    f"env steps")
            rows.append(_row("rl", f"DQN CartPole: {name} / jaxml time per env step (1 seed)", r["of_medians"], r,
                             None if goal is None else f">= {goal:g}",
                             None if goal is None else r["of_medians"] >= goal, note=note))
    for key in ("dqn_cartpole", "dqn_cartpole_120_84"):
        c = d.get(key)
        if not c:
            continue
        s = c["seeds"]
        net = "x".join(str(h) for h in c["config"]["hidden_sizes"])
        rows.append(_row("rl", f"DQN CartPole {net}: {s} vmapped seeds / 1 seed, time", c["vmap_over_1"]["of_medians"],
                         c["vmap_over_1"], "<= 4", c["vmap_over_1"]["of_medians"] <= 4,
                         note=f"solved {c['solved_seeds']}/{s}"))
        sp = c.get("split")
        if sp:
            rows.append(_row("rl", f"DQN CartPole {net}: {s} seeds split over {sp['devices']} devices / 1 seed, time",
                             sp["over_1"]["of_medians"], sp["over_1"], "<= 4", sp["over_1"]["of_medians"] <= 4,
                             note=f"solved {sp['solved_seeds']}/{s}"))
    t = d.get("torch")
    if t:
        h = t["jaxml_host_over_torch"]
        rows.append(_row("rl", "DQN CartPole host loop: jaxml / PyTorch env steps/s", h["of_medians"], h))
    return rows


@dataclasses.dataclass(frozen=True)
class Bench:
    name: str
    full: tuple = ()           # extra arguments of a full run
    quick: tuple = ("--quick",)  # of a quick run
    stem_out: bool = False      # --out takes a path without ".json" (vision, decode, bf16)
    rows: Callable[[dict], list] = None

    def json_path(self, out_dir: pathlib.Path) -> pathlib.Path:
        return pathlib.Path(out_dir) / f"{self.name}.json"

    def command(self, out_dir: pathlib.Path, quick: bool) -> list[str]:
        out = self.json_path(out_dir)
        return [sys.executable, "-m", f"bench.{self.name}", *(self.quick if quick else self.full),
                "--out", str(out.with_suffix("") if self.stem_out else out)]


BENCHMARKS = {b.name: b for b in (
    Bench("mlp", rows=lambda d: _comparisons("mlp", d)),
    Bench("vision", stem_out=True, rows=rows_vision),
    # quick: the LSTM only (one baby-GPT step takes about a minute here), 1 repeat of 2,000 examples.
    # full: the goal's workloads (issue 18): the LSTM at 20 and 100 tokens, the baby GPT at batch 8 and 64.
    Bench("sequence", full=("--lstm-maxlen", "20,100", "--lstm-examples", "10000", "--gpt-batch", "8,64",
                            "--repeats", "3", "--lstm-repeats", "7"),
          quick=("--quick", "--only", "lstm", "--repeats", "1", "--lstm-examples", "2000"),
          rows=lambda d: _comparisons("sequence", d)),
    # quick: 50k env steps, no 8-seed section, no LunarLander loop; the peers (sb3 20k steps; rejax
    # when its venv exists, whose compilation alone takes ~15-40 s here).
    Bench("rl", quick=("--quick", "--seeds", "0", "--host-steps", "0", "--no-torch"), rows=rows_rl),
    Bench("classic", quick=("--quick", "--repeats", "1"), rows=rows_classic),
    Bench("decode", stem_out=True, rows=rows_decode),
    Bench("bf16", stem_out=True, rows=rows_bf16),
)}


# ----------------------------------------------------------------------------- machine and summary

def machine_facts() -> dict:
    """CPU model, counts and load average, without importing jax (the benchmarks record the rest)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"cpu_model": common.cpu_model(), "cpu_count": os.cpu_count(), "cpus_usable": usable,
            "cpu_family_model": (lambda c: f"family {c.get('cpu family', '?')} model {c.get('model', '?')}"
                                 if c else None)(common.cpuinfo()),
            "load_average_1_5_15": common.load_average()}


def collect(out_dir: pathlib.Path, names, runs: dict | None = None, files: dict | None = None) -> list[dict]:
    """Summary rows of the benchmarks ``names`` from their JSON files in ``out_dir``; a benchmark
    without a file (or whose run failed, per ``runs``) gets one row saying so. ``files``, when
    given, receives each file read: ``{name: {"file": ..., "date": ...}}``."""
    rows = []
    runs = runs or {}
    files = {} if files is None else files
    for name in names:
        b = BENCHMARKS[name]
        path = b.json_path(out_dir)
        run = runs.get(name)
        if run is not None and run["returncode"] != 0:
            rows.append(_row(name, f"benchmark failed (exit code {run['returncode']})", None,
                             note="see its output above"))
            continue
        if not path.exists():
            rows.append(_row(name, "no results file", None, note=f"{path.name} missing: run python -m bench.{name}"))
            continue
        try:
            data = json.loads(path.read_text())
            got = b.rows(data)
        except (ValueError, KeyError, TypeError) as e:
            rows.append(_row(name, "unreadable results file", None, note=f"{type(e).__name__}: {e}"))
            continue
        date = data.get("date", "")
        files[name] = {"file": str(path), "date": date, "load_average": (data.get("machine") or {}).get(
            "load_average_1_5_15", data.get("load_average_before"))}
        for r in got:
            r["date"] = date
        rows.extend(got or [_row(name, "no comparisons in the results file", None)])
        for n in data.get("notes", []) or []:
            if "skipped" in n:
                rows.append(_row(name, "note", None, note=n, meaning="", goal=None))
    return rows


def _cache_lines(cache: dict | None) -> list[str]:
    if not cache:
        return []
    state = "warm" if cache["entries_before"] else "cold"
    return [f"JAX compilation cache: {cache['dir']} ({cache['entries_before']} entries before the run; {state}).", ""]


def summary_markdown(summary: dict) -> str:
    m = summary["machine"]
    kind = "quick run" if summary["quick"] else ("full run" if summary.get("runs") else "collected results")
    lines = [f"# Benchmark summary ({kind}, {summary['date']})", "",
             f"Machine: {m['before']['cpu_model']} ({m['before']['cpu_family_model']}), {m['before']['cpu_count']} "
             f"CPUs ({m['before']['cpus_usable']} usable); load average (1, 5, 15 min) "
             f"{m['before']['load_average_1_5_15']} before, {m['after']['load_average_1_5_15']} after"
             + (f"; total {summary['wall_seconds']:.0f} s" if summary.get("wall_seconds") else "") + ".", "",
             *_cache_lines(summary.get("compile_cache")),
             "Ratios are the benchmarks' own (contestants interleaved in one invocation, compile time excluded): "
             "the ratio of medians, then the median and range of the per-repeat paired ratios. "
             "Each benchmark's section in bench/README.md says which way is faster; raw data in its JSON.", ""]
    if summary.get("runs"):
        lines += [common.markdown_table(
            ["benchmark", "status", "wall s", "load before", "load after", "command"],
            [[n, "ok" if r["returncode"] == 0 else f"FAILED ({r['returncode']})", r["wall_seconds"],
              r["load_before"], r["load_after"], "`" + " ".join(r["command"][2:]) + "`"]
             for n, r in summary["runs"].items()]), ""]
    else:
        lines += ["Nothing was run by this invocation (`--summary-only`): each benchmark's rows come from its "
                  "last results file, dated here.", "",
                  common.markdown_table(["benchmark", "results file", "date", "load average then"],
                                        [[n, pathlib.Path(f["file"]).name, f["date"] or "?", f["load_average"]]
                                         for n, f in summary.get("files", {}).items()]), ""]
    table = []
    for r in summary["rows"]:
        paired = ("—" if r["paired_median"] is None else
                  f"{common.fmt(r['paired_median'])} ({common.fmt(r['paired_min'])}–{common.fmt(r['paired_max'])})")
        met = {True: "yes", False: "NO", None: ""}[r["met"]]
        table.append([r["benchmark"], r["comparison"], "—" if r["ratio"] is None else common.fmt(r["ratio"]), paired,
                      (r["goal"] or "") + (f" {met}" if met else ""),
                      "; ".join(x for x in (r["meaning"], r["note"]) if x)])
    lines.append(common.markdown_table(["benchmark", "comparison", "ratio", "paired median (range)", "goal",
                                        "notes"], table))
    previous = summary.get("against_previous")
    if previous:
        lines += ["", *compare_runs.markdown(previous["entries"], previous["date"])]
    return "\n".join(lines).rstrip("\n") + "\n"


def read_previous(path: pathlib.Path) -> dict | None:
    """A previous ``summary.json`` (``None`` when there is none or it cannot be read)."""
    try:
        previous = json.loads(pathlib.Path(path).read_text())
        return previous if isinstance(previous.get("rows"), list) else None
    except (OSError, ValueError, AttributeError):
        return None


def write_summary(out_dir: pathlib.Path, names, runs: dict | None, quick: bool, before: dict, after: dict,
                  wall: float | None = None, compile_cache: dict | None = None, previous: dict | None = None) -> dict:
    """Collect the rows, write ``summary.json`` and ``summary.md``; with ``previous`` (an earlier summary), add
    which ratios moved beyond the two runs' noise (``bench/compare_runs.py``)."""
    files = {}
    rows = collect(out_dir, names, runs, files)
    summary = {"date": common.now(), "quick": quick, "machine": {"before": before, "after": after},
               "wall_seconds": wall, "compile_cache": compile_cache, "runs": runs or {}, "files": files, "rows": rows}
    if previous:
        summary["against_previous"] = {"date": previous.get("date", ""),
                                       "entries": compare_runs.compare(previous["rows"], rows)}
    out_dir = pathlib.Path(out_dir)
    common.write_json(out_dir / "summary.json", summary)
    (out_dir / "summary.md").write_text(summary_markdown(summary))
    return summary


# ----------------------------------------------------------------------------- driver

def run_benchmark(b: Bench, out_dir: pathlib.Path, quick: bool, extra_env: dict | None = None) -> dict:
    cmd = b.command(out_dir, quick)
    load_before = common.load_average()
    t0 = time.perf_counter()
    print(f"\n=== bench.{b.name}: {' '.join(cmd[1:])}", flush=True)
    rc = subprocess.call(cmd, cwd=ROOT, env={**os.environ, **(extra_env or {})})
    wall = time.perf_counter() - t0
    print(f"=== bench.{b.name}: exit {rc}, {wall:.0f} s", flush=True)
    return {"command": cmd[1:] and [os.path.basename(cmd[0]), *cmd[1:]], "returncode": rc, "wall_seconds": wall,
            "load_before": load_before, "load_after": common.load_average()}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="each benchmark's quick mode; results in bench/results/quick/, "
                   "compiled programs cached in bench/results/quick/jax-cache")
    p.add_argument("--no-compile-cache", action="store_true", help="with --quick: do not use the compilation cache")
    p.add_argument("--only", default="", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    p.add_argument("--skip", default="", help="comma-separated benchmarks not to run")
    p.add_argument("--summary-only", action="store_true", help="run nothing; summarise the JSON files present")
    p.add_argument("--out-dir", default=None, help="where the JSON files and the summary go "
                   "(default bench/results, or bench/results/quick with --quick)")
    p.add_argument("--previous", default=None, help="a summary.json to compare the ratios with (default: the "
                   "summary.json this run replaces in the output folder)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    skip = {n.strip() for n in args.skip.split(",") if n.strip()}
    unknown = (set(names) | skip) - set(BENCHMARKS)
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {sorted(unknown)}: choose from {', '.join(BENCHMARKS)}")
    names = [n for n in names if n not in skip]
    out_dir = pathlib.Path(args.out_dir) if args.out_dir else (QUICK_RESULTS if args.quick else RESULTS)
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = read_previous(pathlib.Path(args.previous) if args.previous else out_dir / "summary.json")
    if args.previous and previous is None:
        raise SystemExit(f"--previous {args.previous}: not a readable summary.json (expected a JSON object with rows)")
    before = machine_facts()
    cache = None
    if args.quick and not args.no_compile_cache and not args.summary_only:
        cache = {"dir": str(QUICK_COMPILE_CACHE), "entries_before": cache_entries(QUICK_COMPILE_CACHE)}
        print(f"compilation cache {QUICK_COMPILE_CACHE} ({cache['entries_before']} entries)", flush=True)
    runs = {}
    t0 = time.perf_counter()
    if not args.summary_only:
        for n in names:
            runs[n] = run_benchmark(BENCHMARKS[n], out_dir, args.quick,
                                    compile_cache_env(QUICK_COMPILE_CACHE) if cache else None)
    summary = write_summary(out_dir, names, runs, args.quick, before, machine_facts(),
                            None if args.summary_only else time.perf_counter() - t0, cache, previous)
    print("\n" + summary_markdown(summary))
    print(f"wrote {out_dir / 'summary.md'} and summary.json")
    return 1 if any(r["returncode"] != 0 for r in runs.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
