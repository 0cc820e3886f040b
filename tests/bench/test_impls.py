"""bench/impls.py: a smoke run at tiny shapes (attention only, to keep it short) and its argument checks."""
import json

import pytest

from bench import impls


def test_quick_run_writes_rows_with_auto_among_candidates(tmp_path):
    res = impls.main(["--quick", "--only", "attention", "--out", str(tmp_path / "impls")])
    rows = json.loads((tmp_path / "impls.json").read_text())["rows"]
    assert [r["dtype"] for r in rows] == ["float32", "bfloat16"] and res["backend"]
    for r in rows:
        assert r["auto"] in r["median_ms"] and r["fastest"] in r["median_ms"]
        assert r["over_auto"][r["auto"]]["of_medians"] == pytest.approx(1.0)
        assert all(len(v) == 2 for v in r["raw_seconds"].values())
    assert "| attention |" in (tmp_path / "impls.md").read_text()
    with pytest.raises(SystemExit, match="unknown famil"):
        impls.main(["--only", "flash"])
