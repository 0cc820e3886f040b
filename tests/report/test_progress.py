"""format_metrics and EpochProgress: exact lines, no carriage returns."""
import io

import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.report.progress import EpochProgress, format_metrics, progress_bar
from jaxml.report.stats import MeanStd


def test_format_metrics():
    assert format_metrics({"loss": 0.43214, "acc": np.float32(0.8512), "ex/s": 12345.4}) == (
        "loss 0.4321  acc 0.8512  ex/s 12,345"
    )
    assert format_metrics(
        {"lr": 3e-5, "steps": 12000, "loss": jnp.float32(0.5), "best": None, "nan": float("nan")},
        precision=2,
    ) == "lr 3.0e-05  steps 12,000  loss 0.50  best —  nan nan"
    assert format_metrics({"acc": MeanStd(0.8512, 0.0031, 3)}) == "acc 0.8512 ± 0.0031 (n=3)"
    assert format_metrics({"loss": jnp.bfloat16(0.25), "n": jnp.int32(3)}) == "loss 0.2500  n 3"


def test_epoch_progress_line():
    out = io.StringIO()
    with EpochProgress(20, file=out) as progress:
        progress.update(
            3,
            {"train_loss": 0.43211, "train_acc": 0.8512, "val_acc": jnp.float32(0.842), "ex/s": 52300.2},
            2.14,
        )
        progress.update(4, {}, 75.0)
    assert out.getvalue() == (
        "[epoch 3/20] train_loss 0.4321  train_acc 0.8512  val_acc 0.8420  ex/s 52,300  2.1s\n"
        "[epoch 4/20] 1m15s\n"
    )
    assert "\r" not in out.getvalue()


def test_epoch_progress_desc_disabled_and_stdout(capsys):
    out = io.StringIO()
    EpochProgress(2, desc="seed 0", file=out).update(1, {"loss": 1.0})
    assert out.getvalue() == "seed 0 [epoch 1/2] loss 1.0000\n"
    quiet = io.StringIO()
    EpochProgress(2, file=quiet, enabled=False).update(1, {"loss": 1.0}, 1.0)
    assert quiet.getvalue() == ""
    EpochProgress(2).update(2, {"loss": 0.5}, 0.25)  # default stream: sys.stdout at write time
    assert capsys.readouterr().out == "[epoch 2/2] loss 0.5000  0.2s\n"
    with pytest.raises(ValueError, match="total_epochs"):
        EpochProgress(0)


def test_progress_bar_is_silent_when_not_a_tty():
    out = io.StringIO()
    assert list(progress_bar(range(5), file=out, desc="episodes")) == [0, 1, 2, 3, 4]
    assert out.getvalue() == ""
