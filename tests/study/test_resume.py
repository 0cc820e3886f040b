"""Safe reuse of a work directory (issue: batch jobs get preempted and resubmitted): a changed config
is refused by name, one process at a time, a corrupt newest checkpoint falls back to the previous
step, timings add up over invocations, a file is not a work directory."""
import json

import ml_collections
import numpy as np
import pytest

from jaxml.study.config import ConfigError
from jaxml.study.experiment import run_experiment
from jaxml.study.resume import WorkdirBusyError, WorkdirLock
from jaxml.train import fit


@pytest.fixture
def study(tiny, model, blobs):
    """(get_config, main) of a tiny study that trains with checkpoints in its work directory."""
    train, _ = blobs

    def get_config(preset=None):
        return ml_collections.ConfigDict({"epochs": 2, "learning_rate": 0.05, "progress": False})

    def main(cfg, workdir):
        state, key = tiny.init_state(model, tiny.sgd(cfg.learning_rate))
        return fit(state, train, key=key, epochs=cfg.epochs, batch_size=60, workdir=workdir, progress=cfg.progress)

    return get_config, main


def _run(study, workdir, *args):
    get_config, main = study
    return run_experiment("demo", get_config, ("full",), main, [f"--workdir={workdir}", *args])


def test_a_changed_config_is_refused_naming_the_keys(study, tmp_path, capsys):
    first = _run(study, tmp_path)
    with pytest.raises(ConfigError, match=r"changed: learning_rate: 0\.05 -> 0\.5\. .*"
                                          r"--allow_config_change=learning_rate"):
        _run(study, tmp_path, "--config.learning_rate=0.5")
    # Display-only keys, and keys the user allows, may change; the change is recorded.
    more = _run(study, tmp_path, "--config.epochs=3", "--config.progress=true", "--allow_config_change=epochs")
    assert more.resumed_from == 2 and [h["epoch"] for h in more.history] == [1, 2, 3]
    assert more.history[:2] == first.history
    change = json.loads((tmp_path / "config_changes.jsonl").read_text().splitlines()[-1])
    assert change["changed"] == {"epochs": [2, 3], "progress": [False, True]}
    assert json.loads((tmp_path / "config.json").read_text())["epochs"] == 3
    assert "resumed from epoch 2 (step 8)" in capsys.readouterr().out
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "resumed" and events[-1]["epoch"] == 2 and events[-1]["step"] == 8


def test_one_process_per_work_directory(study, tmp_path):
    with WorkdirLock(tmp_path):
        with pytest.raises(WorkdirBusyError, match=rf"work directory {tmp_path} is in use by another process"):
            _run(study, tmp_path)
    _run(study, tmp_path)   # released


def test_a_file_is_not_a_work_directory(study, tmp_path):
    path = tmp_path / "results.txt"
    path.write_text("not a folder")
    with pytest.raises(ConfigError, match=rf"--workdir={path} is a file, not a directory"):
        _run(study, path)
    assert path.read_text() == "not a folder"


def test_timings_add_up_over_invocations(study, tmp_path):
    first = _run(study, tmp_path)
    again = _run(study, tmp_path)                     # finished: nothing trains, the timings are kept
    assert again.resumed_from == 2 and again.train_seconds == first.train_seconds > 0
    assert again.compile_seconds == first.compile_seconds > 0


def test_a_corrupt_newest_checkpoint_falls_back_to_the_previous_step(tiny, model, blobs, tmp_path, capsys):
    train, _ = blobs
    state, key = tiny.init_state(model, tiny.sgd(0.05))
    fit(state, train, key=key, epochs=3, batch_size=60, workdir=tmp_path, progress=False)
    for f in (tmp_path / "checkpoints" / "3").rglob("*"):
        if f.is_file() and f.stat().st_size > 0:
            f.write_bytes(b"\0" * f.stat().st_size)      # the newest step, damaged after it was written
    resumed = fit(state, train, key=key, epochs=4, batch_size=60, workdir=tmp_path, progress=False)
    err = capsys.readouterr().err
    assert f"checkpoint {tmp_path / 'checkpoints' / '3'} is unreadable" in err
    assert resumed.resumed_from == 2
    straight = fit(state, train, key=key, epochs=4, batch_size=60, workdir=tmp_path / "straight", progress=False)
    for a, b in zip(*(np.asarray(x).ravel() for x in (resumed.state.params["hidden_0"]["kernel"],
                                                      straight.state.params["hidden_0"]["kernel"]))):
        assert a == b


def _scalars(folder):
    """{tag: [(step, value)]} from the TFRecord event files in ``folder`` (tensorboardX's protos)."""
    import struct

    from tensorboardX.proto import event_pb2

    out = {}
    for path in sorted(folder.rglob("events.out.tfevents.*")):
        data, i = path.read_bytes(), 0
        while i < len(data):
            (n,) = struct.unpack("<Q", data[i:i + 8])
            event = event_pb2.Event.FromString(data[i + 12:i + 12 + n])
            i += 12 + n + 4
            for v in event.summary.value:
                out.setdefault(v.tag, []).append((event.step, v.simple_value))
    return out


def test_tensorboard_events_and_the_git_commit(study, tmp_path, monkeypatch):
    pytest.importorskip("tensorboardX")
    monkeypatch.delenv("JAXML_TENSORBOARD", raising=False)
    result = _run(study, tmp_path, "--tensorboard")
    scalars = _scalars(tmp_path / "tensorboard")
    assert [step for step, _ in scalars["train_loss"]] == [1, 2]
    assert [v for _, v in scalars["train_loss"]] == pytest.approx([h["train_loss"] for h in result.history])
    machine = json.loads((tmp_path / "machine.json").read_text())
    assert machine["git_commit"] is None or len(machine["git_commit"]) == 40
    assert machine["process_count"] == 1
