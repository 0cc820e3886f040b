"""Checkpoints: an interrupted run resumed from its work directory equals an uninterrupted one."""
import json

import jax
import numpy as np
import pytest

from jaxml.testing import assert_resume_identical
from jaxml.train import EarlyStopping, fit
from jaxml.train.checkpoint import Checkpointer

BATCH, STEPS, EPOCHS = 32, 8, 4


class Interrupt(RuntimeError):
    pass


def stop_after(epoch):
    def callback(e, records):
        if e == epoch:
            raise Interrupt(f"interrupted after epoch {e}")
    return callback


@pytest.fixture(scope="module")
def setup(tiny, model, blobs):
    train, val = blobs
    tx = tiny.sgd(0.05, STEPS, momentum=0.9)

    def run(workdir, checkpoint_every=1, **kw):
        state, key = tiny.init_state(model, tx)
        return fit(state, train, key=key, epochs=EPOCHS, batch_size=BATCH, eval_sets={"val": val},
                   workdir=workdir, checkpoint_every=checkpoint_every, progress=False, **kw)

    return run


@pytest.fixture(scope="module")
def uninterrupted(setup, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("uninterrupted")
    return setup(workdir), workdir


def read_log(workdir):
    return [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]


def assert_same_state(a, b):
    leaves_a, leaves_b = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(leaves_a) == len(leaves_b)
    for x, y in zip(leaves_a, leaves_b):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_uninterrupted_run_writes_checkpoints(uninterrupted):
    result, workdir = uninterrupted
    assert result.resumed_from is None
    steps = sorted(int(p.name) for p in (workdir / "checkpoints").iterdir() if p.name.isdigit())
    assert steps == [EPOCHS - 1, EPOCHS]  # keep_checkpoints=2
    assert [r["epoch"] for r in read_log(workdir)] == [1, 2, 3, 4]


def test_resumed_run_equals_uninterrupted_run(setup, uninterrupted, tmp_path):
    reference, ref_dir = uninterrupted
    resumed = assert_resume_identical(lambda workdir, callbacks: setup(workdir, callbacks=callbacks),
                                      interrupt_after=2, workdir=tmp_path, reference=uninterrupted)
    assert resumed.resumed_from == 2
    assert_same_state(resumed.state.params, reference.state.params)
    assert_same_state(resumed.state.opt_state, reference.state.opt_state)
    assert int(resumed.state.step) == EPOCHS * STEPS
    # One record per epoch, no duplicates, with the same numbers as the uninterrupted run.
    log, ref_log = read_log(tmp_path / "interrupted"), read_log(ref_dir)
    assert [r["epoch"] for r in log] == [1, 2, 3, 4]
    for key in ("train_loss", "val_loss", "val_accuracy", "updates"):
        assert [r[key] for r in log] == [r[key] for r in ref_log]
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 4]
    np.testing.assert_array_equal(resumed.updates, reference.updates)


def test_resume_between_checkpoints_drops_the_unsaved_epochs_from_the_log(setup, uninterrupted, tmp_path):
    reference, _ = uninterrupted
    # Checkpoints every 2 epochs; interrupted after epoch 3 (logged, not checkpointed).
    with pytest.raises(Interrupt):
        setup(tmp_path, callbacks=[stop_after(3)], checkpoint_every=2)
    assert [r["epoch"] for r in read_log(tmp_path)] == [1, 2, 3]
    resumed = setup(tmp_path, checkpoint_every=2)
    assert resumed.resumed_from == 2
    assert_same_state(resumed.state.params, reference.state.params)
    assert [r["epoch"] for r in read_log(tmp_path)] == [1, 2, 3, 4]
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 4]


def test_callback_after_last_epoch_then_resume_is_a_no_op(setup, uninterrupted, tmp_path):
    # Interrupted after the final checkpoint: the restart trains nothing and returns the final state.
    reference, _ = uninterrupted
    with pytest.raises(Interrupt):
        setup(tmp_path, callbacks=[stop_after(EPOCHS)])
    again = setup(tmp_path)
    assert again.resumed_from == EPOCHS
    assert_same_state(again.state.params, reference.state.params)
    assert [r["epoch"] for r in read_log(tmp_path)] == [1, 2, 3, 4]


def test_incomplete_checkpoint_folder_is_ignored_on_resume(setup, uninterrupted, tmp_path):
    reference, _ = uninterrupted
    with pytest.raises(Interrupt):
        setup(tmp_path, callbacks=[stop_after(2)])
    # A crash while saving step 3 leaves orbax's temporary folder behind.
    junk = tmp_path / "checkpoints" / "3.orbax-checkpoint-tmp-123"
    (junk / "state").mkdir(parents=True)
    (junk / "state" / "garbage").write_bytes(b"\x00not a checkpoint")
    (junk / "_CHECKPOINT_METADATA").write_text("{truncated")
    assert Checkpointer(tmp_path / "checkpoints").latest_step() == 2

    resumed = setup(tmp_path)
    assert resumed.resumed_from == 2
    assert_same_state(resumed.state.params, reference.state.params)
    assert [r["epoch"] for r in read_log(tmp_path)] == [1, 2, 3, 4]


def test_resume_restores_early_stopping_bookkeeping(tiny, model, blobs, tmp_path):
    train, _ = blobs
    wrong = {"x": train["x"][:60], "y": (train["y"][:60] + 1) % 3}  # its loss only gets worse
    es = EarlyStopping(monitor="wrong_loss", mode="min", patience=3)

    def run(workdir, **kw):
        state, key = tiny.init_state(model, tiny.sgd(0.05, STEPS))
        return fit(state, train, key=key, epochs=10, batch_size=BATCH, eval_sets={"wrong": wrong},
                   early_stopping=es, workdir=workdir, progress=False, **kw)

    reference = run(tmp_path / "a")
    assert int(reference.stopped_epoch[0]) < 10
    with pytest.raises(Interrupt):
        run(tmp_path / "b", callbacks=[stop_after(2)])
    resumed = run(tmp_path / "b")
    assert resumed.resumed_from == 2
    np.testing.assert_array_equal(resumed.best_epoch, reference.best_epoch)
    np.testing.assert_array_equal(resumed.stopped_epoch, reference.stopped_epoch)
    assert_same_state(resumed.best_state.params, reference.best_state.params)
    assert_same_state(resumed.state.params, reference.state.params)


def test_checkpointer_round_trip(tiny, model, tmp_path):
    state, _ = tiny.init_state(model, tiny.sgd(0.05, momentum=0.9))
    other, _ = tiny.init_state(model, tiny.sgd(0.05, momentum=0.9), seed=1)
    ckpt = Checkpointer(tmp_path / "ck", max_to_keep=2)
    assert ckpt.latest_step() is None
    for step in (1, 2, 3):
        ckpt.save(step, state, other, {"epoch": step, "history": [{"a": step}]})
    assert ckpt.latest_step() == 3
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["2", "3"]
    assert ckpt.path(3) == (tmp_path / "ck" / "3").absolute()
    restored, best, meta = ckpt.restore(3, other, state)  # targets only give the structure
    assert_same_state(restored, state)
    assert_same_state(best, other)
    assert meta == {"epoch": 3, "history": [{"a": 3}]}
    ckpt.close()


def test_measure_is_logged_and_checkpointed_and_no_best_is_saved_without_early_stopping(tiny, model, blobs, tmp_path):
    """``measure`` values join the epoch's records (log and checkpointed history); without early
    stopping a checkpoint holds the state once (no second "best" copy); resume keeps the measures."""
    import json

    from jaxml.train import fit
    from jaxml.train.checkpoint import Checkpointer

    train, _ = blobs
    state, key = tiny.init_state(model, tiny.sgd(0.05, 8))

    def norm(epoch, s):
        return {"kernel_norm": float(np.linalg.norm(s.params["output"]["kernel"])), "e2": epoch * 2}

    kw = dict(key=key, batch_size=32, measure=norm, workdir=tmp_path, progress=False)
    fit(state, train, epochs=1, **kw)
    ckpt = Checkpointer(tmp_path / "checkpoints")
    _, best, meta = ckpt.restore(1, state, state)
    ckpt.close()
    assert best is None and [h["e2"] for h in meta["history"]] == [2]
    res = fit(state, train, epochs=2, **kw)
    assert res.resumed_from == 1 and [h["e2"] for h in res.history] == [2, 4]
    assert res.history[1]["kernel_norm"] == pytest.approx(float(np.linalg.norm(res.state.params["output"]["kernel"])))
    logged = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["e2"] for r in logged] == [2, 4]
