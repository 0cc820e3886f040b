"""Which ratios of a benchmark summary moved against a previous summary by more than the run's own spread.

This machine is shared and noisy: between two runs of unchanged code a ratio moves by 5-25 % (bench/README.md,
"make bench, 2026-12-04/05, seventh session"), so "no ratio drops" cannot mean "no ratio is lower". A row counts
as **moved** only when the ranges of its per-repeat paired ratios in the two runs do not overlap (every repeat of
one run beats every repeat of the other); otherwise the difference is within the runs' noise. Rows without a
recorded range (single-shot comparisons such as decode's) are listed as "no spread recorded".

Which direction is better depends on the row (``meaning`` and ``goal`` say: most rows are "jaxml faster" when
higher, ``bf16`` rows and the ``<=`` goals when lower), so a move is reported as higher or lower, not as good or
bad.
"""
from __future__ import annotations

from bench import common

__all__ = ["compare", "markdown"]


def _key(row: dict) -> tuple[str, str]:
    return row["benchmark"], row["comparison"]


def _spread(row: dict):
    lo, hi = row.get("paired_min"), row.get("paired_max")
    return None if lo is None or hi is None else (float(lo), float(hi))


def compare(previous_rows: list[dict], rows: list[dict]) -> list[dict]:
    """One entry per row of ``rows`` that has a ratio and a previous row (same benchmark and comparison) with a
    ratio: ``{benchmark, comparison, previous, ratio, change (ratio / previous), verdict}``, where ``verdict`` is
    "higher" or "lower" (the paired ranges do not overlap), "within noise" (they overlap) or "no spread recorded".
    """
    before = {_key(r): r for r in previous_rows if r.get("ratio") is not None}
    out = []
    for r in rows:
        p = before.get(_key(r))
        if r.get("ratio") is None or p is None:
            continue
        now, then = _spread(r), _spread(p)
        if now is None or then is None:
            verdict = "no spread recorded"
        elif now[1] < then[0]:
            verdict = "lower"
        elif now[0] > then[1]:
            verdict = "higher"
        else:
            verdict = "within noise"
        out.append({"benchmark": r["benchmark"], "comparison": r["comparison"], "previous": p["ratio"],
                    "ratio": r["ratio"], "change": r["ratio"] / p["ratio"] if p["ratio"] else None,
                    "previous_range": then, "range": now, "verdict": verdict})
    return out


def markdown(entries: list[dict], previous_date: str) -> list[str]:
    """Lines of the summary's section on the previous run: the rows that moved (and those without a spread),
    then a count of the rows within noise."""
    if not entries:
        return []
    moved = [e for e in entries if e["verdict"] != "within noise"]
    lines = [f"## Against the previous summary ({previous_date or 'undated'})", "",
             "A ratio counts as moved only when the ranges of its paired ratios in the two runs do not overlap "
             "(bench/compare_runs.py); whether higher is better depends on the row.", ""]

    def with_range(value, r):
        return common.fmt(value) + (" (—)" if r is None else f" ({common.fmt(r[0])}–{common.fmt(r[1])})")

    if moved:
        lines += [common.markdown_table(
            ["benchmark", "comparison", "previous (range)", "now (range)", "now / previous", "verdict"],
            [[e["benchmark"], e["comparison"], with_range(e["previous"], e["previous_range"]),
              with_range(e["ratio"], e["range"]), "—" if e["change"] is None else common.fmt(e["change"]),
              e["verdict"]] for e in moved]), ""]
    lines += [f"{len(entries) - len(moved)} of {len(entries)} ratios in both runs moved within the runs' noise "
              "(ranges overlap).", ""]
    return lines
