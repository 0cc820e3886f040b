"""bench.compare_runs: a ratio counts as moved only when the two runs' paired ranges do not overlap."""
from __future__ import annotations

import json

import pytest

from bench import all as bench_all
from bench import common, compare_runs


def row(comparison, ratio, lo=None, hi=None, benchmark="sequence"):
    return {"benchmark": benchmark, "comparison": comparison, "ratio": ratio, "paired_min": lo, "paired_max": hi}


def test_verdicts_by_overlap_of_the_paired_ranges():
    before = [row("a", 1.00, 0.95, 1.05), row("b", 1.00, 0.95, 1.05), row("c", 1.00, 0.95, 1.05),
              row("d", 2.0), row("gone", 1.0, 0.9, 1.1), row("e", None)]
    now = [row("a", 0.90, 0.85, 0.94),    # every repeat below every earlier one: lower
           row("b", 0.90, 0.80, 0.96),    # 10 % lower, but the ranges overlap (0.95-0.96): within noise
           row("c", 1.20, 1.06, 1.30),    # higher
           row("d", 1.0),                 # no ranges recorded
           row("new", 1.0, 0.9, 1.1),     # not in the previous run: not compared
           row("e", 1.0, 0.9, 1.1)]       # no previous ratio: not compared
    got = {e["comparison"]: e for e in compare_runs.compare(before, now)}
    assert set(got) == {"a", "b", "c", "d"}
    assert [got[k]["verdict"] for k in "abcd"] == ["lower", "within noise", "higher", "no spread recorded"]
    assert abs(got["a"]["change"] - 0.9) < 1e-12 and got["d"]["change"] == 0.5
    assert got["a"]["previous_range"] == (0.95, 1.05) and got["a"]["range"] == (0.85, 0.94)
    # the same benchmark and comparison name: rows of another benchmark do not match
    assert compare_runs.compare(before, [row("a", 0.5, 0.4, 0.6, benchmark="vision")]) == []


def test_markdown_lists_the_moved_rows_and_counts_the_rest():
    entries = compare_runs.compare([row("a", 1.0, 0.95, 1.05), row("b", 1.0, 0.95, 1.05)],
                                   [row("a", 0.9, 0.85, 0.94), row("b", 1.01, 0.97, 1.04)])
    md = "\n".join(compare_runs.markdown(entries, "2026-12-05"))
    assert "Against the previous summary (2026-12-05)" in md
    assert "| sequence | a | 1.00 (0.95–1.05) | 0.9 (0.85–0.94) | 0.9 | lower |" in md
    assert "| sequence | b |" not in md and "1 of 2 ratios in both runs moved within the runs' noise" in md
    assert compare_runs.markdown([], "x") == []


def test_make_bench_compares_with_the_summary_it_replaces(tmp_path):
    paired = {"paired_median": 6.0, "paired_min": 5.8, "paired_max": 6.2}
    mlp = {"date": "d", "comparisons": [{"name": "jaxml / torch", "ratio": 6.0, "paired": paired, "goal": ">= 5.0",
                                         "met": True}]}
    common.write_json(tmp_path / "mlp.json", mlp)
    assert bench_all.main(["--summary-only", "--only", "mlp", "--out-dir", str(tmp_path)]) == 0
    first = json.loads((tmp_path / "summary.json").read_text())
    assert "against_previous" not in first  # nothing to compare with yet
    mlp["comparisons"][0].update(ratio=4.0, paired={"paired_median": 4.0, "paired_min": 3.9, "paired_max": 4.1})
    common.write_json(tmp_path / "mlp.json", mlp)
    assert bench_all.main(["--summary-only", "--only", "mlp", "--out-dir", str(tmp_path)]) == 0
    second = json.loads((tmp_path / "summary.json").read_text())
    assert [e["verdict"] for e in second["against_previous"]["entries"]] == ["lower"]
    assert "| mlp | jaxml / torch | 6.00 (5.80–6.20) | 4.00 (3.90–4.10) | 0.667 | lower |" in (
        tmp_path / "summary.md").read_text()
    (tmp_path / "old.json").write_text("not json")
    with pytest.raises(SystemExit, match="not a readable summary.json"):
        bench_all.main(["--summary-only", "--only", "mlp", "--out-dir", str(tmp_path), "--previous",
                        str(tmp_path / "old.json")])
