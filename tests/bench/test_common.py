"""bench.common: round-robin timing, statistics, tables, machine facts and JSON output; the package's import rule."""
from __future__ import annotations

import json

import pytest

from bench import common


def test_interleave_alternates_the_order_of_rounds_after_warmup():
    calls = []
    times = common.interleave({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                              repeats=3, warmup=1, per_repeat=2)
    assert calls == ["a", "b"] + ["b", "b", "a", "a"] + ["a", "a", "b", "b"] + ["b", "b", "a", "a"]
    assert set(times) == {"a", "b"} and all(len(t) == 3 and min(t) >= 0 for t in times.values())
    calls.clear()
    common.interleave({n: (lambda n=n: calls.append(n)) for n in "abc"}, repeats=4, warmup=1)
    assert calls == list("abc" "cba" "abc" "cba" "abc")
    assert all(calls[i - 1] != "c" for i, n in enumerate(calls) if n == "a" and i > 0)  # a never follows c
    with pytest.raises(ValueError, match="repeats"):
        common.interleave({"a": lambda: None}, repeats=0)


def test_statistics_and_table():
    assert common.median([3.0, 1.0, 2.0]) == 2.0
    s = common.spread([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s["median"] == 3.0 and s["min"] == 1.0 and s["max"] == 100.0 and s["n"] == 5
    r = common.ratio([2.0, 4.0, 6.0], [1.0, 1.0, 2.0])
    assert r["of_medians"] == pytest.approx(4.0) and r["paired_median"] == pytest.approx(3.0)
    table = common.markdown_table(["name", "x"], [["a", 1234.5], ["b", 0.01234]])
    assert table.splitlines()[1] == "|---|---|" and "1,234" in table and "0.0123" in table


def test_compile_jitted_and_machine_info(tmp_path):
    import jax
    import jax.numpy as jnp

    compiled, seconds = common.compile_jitted(jax.jit(lambda a: a * 2), jnp.ones(3))
    assert seconds >= 0 and float(common.block(compiled(jnp.ones(3)))[0]) == 2.0
    info = common.machine()
    with common.CpuMonitor() as monitor:
        sum(range(10_000))
    assert monitor.others_busy is None or 0.0 <= monitor.others_busy <= 1.0
    assert info["cpu_count"] >= 1 and info["cpu_model"] and "jax" in common.versions()
    path = common.write_json(tmp_path / "r" / "x.json", {"info": info, "t": (1, 2)})
    assert json.loads(path.read_text())["t"] == [1, 2]


def test_benchmarks_import_nothing_from_experiments():
    """DESIGN.md §1: nothing imports ``experiments`` (settings shared with a study live in the library)."""
    import ast
    import pathlib

    bench = pathlib.Path(common.__file__).parent
    for path in sorted(bench.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "experiments" or n.startswith("experiments.") for n in names), path.name


def test_out_stem_drops_a_json_or_md_suffix_instead_of_doubling_it():
    assert common.out_stem("bench/results/x.json") == "bench/results/x"
    assert common.out_stem("bench/results/x.md") == "bench/results/x"
    assert common.out_stem("bench/results/x") == "bench/results/x"
    assert common.out_stem("runs/v1.2") == "runs/v1.2"  # other dots stay


def test_write_results_writes_json_and_md_beside_each_other(tmp_path):
    path = common.write_results(str(tmp_path / "r.json"), {"a": 1}, "| t |\n")
    assert path == tmp_path / "r.json" and json.loads(path.read_text()) == {"a": 1}
    assert (tmp_path / "r.md").read_text() == "| t |\n"
    assert not (tmp_path / "r.json.json").exists()
