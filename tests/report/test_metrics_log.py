"""MetricsLog / read_metrics / truncate_after: JSONL round trip, resume, crash tolerance."""
import json
import math
import os

import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.report.metrics_log import MAX_ARRAY_SIZE, MetricsLog, read_metrics, truncate_after, write_metrics
from jaxml.report.stats import MeanStd


def test_round_trip_converts_numpy_and_jax_values(tmp_path):
    path = tmp_path / "metrics.jsonl"
    with MetricsLog(path) as log:
        log.log(
            epoch=np.int32(1),
            loss=np.float32(0.1),
            acc=jnp.float32(0.5),
            bf16=jnp.bfloat16(0.25),
            step=jnp.array(7),
            flag=np.bool_(True),
            vec=jnp.array([1.5, 2.5]),
            arr=np.arange(3),
            name="mlp",
            none=None,
            nan=float("nan"),
            inf=np.float64("inf"),
            ms=MeanStd(0.85, 0.01, 3),
        )
        log.log({"ex/s": np.float64(12345.5)}, epoch=2)
    (rec, rec2) = read_metrics(path)
    assert rec["epoch"] == 1 and type(rec["epoch"]) is int
    assert rec["loss"] == 0.1  # float32 logged as its shortest decimal, not 0.10000000149...
    assert rec["acc"] == 0.5 and type(rec["acc"]) is float
    assert rec["bf16"] == 0.25
    assert rec["step"] == 7 and type(rec["step"]) is int
    assert rec["flag"] is True
    assert rec["vec"] == [1.5, 2.5]
    assert rec["arr"] == [0, 1, 2]
    assert rec["name"] == "mlp" and rec["none"] is None
    assert math.isnan(rec["nan"]) and rec["inf"] == math.inf
    assert rec["ms"] == {"mean": 0.85, "std": 0.01, "n": 3}
    assert rec2 == {"ex/s": 12345.5, "epoch": 2}
    # allow_nan=True: non-finite numbers are the bare tokens NaN / Infinity.
    first_line = path.read_text().splitlines()[0]
    assert '"nan": NaN' in first_line and '"inf": Infinity' in first_line


def test_refuses_large_arrays_and_unknown_types(tmp_path):
    with MetricsLog(tmp_path / "m.jsonl") as log:
        with pytest.raises(TypeError, match="weights.*elements"):
            log.log(weights=np.zeros(MAX_ARRAY_SIZE + 1))
        with pytest.raises(TypeError, match="obj.*object"):
            log.log(obj=object())
    assert read_metrics(tmp_path / "m.jsonl") == []


def test_each_line_is_flushed_and_closed_log_refuses(tmp_path):
    path = tmp_path / "sub" / "m.jsonl"  # parent folder is created
    log = MetricsLog(path)
    log.log(epoch=1)
    assert read_metrics(path) == [{"epoch": 1}]  # visible before close
    log.close()
    with pytest.raises(ValueError, match="closed"):
        log.log(epoch=2)


def test_reopening_appends(tmp_path):
    path = tmp_path / "m.jsonl"
    with MetricsLog(path) as log:
        log.log(epoch=1)
        log.log(epoch=2)
    with MetricsLog(path) as log:
        log.log(epoch=3)
    assert [r["epoch"] for r in read_metrics(path)] == [1, 2, 3]


def test_truncated_final_line_is_skipped_and_repaired_on_reopen(tmp_path):
    path = tmp_path / "m.jsonl"
    with MetricsLog(path) as log:
        log.log(epoch=1)
        log.log(epoch=2)
    with open(path, "a") as f:
        f.write('{"epoch": 3, "lo')  # crash mid-write
    assert read_metrics(path) == [{"epoch": 1}, {"epoch": 2}]
    with MetricsLog(path) as log:  # resume: the partial line must not corrupt the next record
        log.log(epoch=3)
    assert read_metrics(path) == [{"epoch": 1}, {"epoch": 2}, {"epoch": 3}]
    assert path.read_text().endswith('{"epoch": 3}\n')


def test_complete_but_unterminated_final_record_is_kept(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"epoch": 1}\n{"epoch": 2}')
    assert read_metrics(path) == [{"epoch": 1}, {"epoch": 2}]
    with MetricsLog(path) as log:
        log.log(epoch=3)
    assert [r["epoch"] for r in read_metrics(path)] == [1, 2, 3]


def test_corrupt_middle_line_names_file_and_line(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"epoch": 1}\n{"epoch": 2,,}\n{"epoch": 3}\n')
    with pytest.raises(ValueError) as info:
        read_metrics(path)
    assert str(path) in str(info.value) and "line 2" in str(info.value)


def test_non_object_line_and_terminated_corrupt_last_line_are_errors(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"epoch": 1}\n[1, 2]\n')
    with pytest.raises(ValueError, match="line 2.*JSON object"):
        read_metrics(path)
    # A corrupt last line that ends with a newline was not cut off by a crash: an error.
    path.write_text('{"epoch": 1}\n\n{"epoch": \n')
    with pytest.raises(ValueError, match="line 3"):
        read_metrics(path)


def test_truncate_after_keeps_records_up_to_value(tmp_path):
    path = tmp_path / "m.jsonl"
    with MetricsLog(path) as log:
        log.log(event="start", seed=0)
        for epoch in range(1, 6):
            log.log(epoch=epoch, loss=1.0 / epoch)
    with open(path, "a") as f:
        f.write('{"epoch": 6, "lo')
    os.chmod(path, 0o640)
    removed = truncate_after(path, "epoch", 3)
    assert removed == 2
    records = read_metrics(path)
    assert records[0] == {"event": "start", "seed": 0}
    assert [r["epoch"] for r in records[1:]] == [1, 2, 3]
    assert records[3]["loss"] == 1.0 / 3
    assert path.read_text().endswith("\n")  # the partial line is gone too
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert sorted(os.listdir(tmp_path)) == ["m.jsonl"]  # no temporary file left
    assert truncate_after(tmp_path / "missing.jsonl", "epoch", 3) == 0


def test_truncate_after_rejects_incomparable_values(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"epoch": "three"}) + "\n")
    with pytest.raises(ValueError, match="epoch='three'"):
        truncate_after(path, "epoch", 3)
    assert read_metrics(path) == [{"epoch": "three"}]  # untouched


def test_write_metrics_replaces_the_file(tmp_path):
    path = tmp_path / "metrics.jsonl"
    with MetricsLog(path) as log:
        log.log(epoch=9, stale=True)
    records = [{"epoch": 1, "loss": np.float32(0.5)}, {"epoch": 2, "loss": float("nan")}]
    assert write_metrics(path, records) == 2
    back = read_metrics(path)
    assert [r["epoch"] for r in back] == [1, 2] and back[0]["loss"] == 0.5 and math.isnan(back[1]["loss"])
    assert "stale" not in back[0]
