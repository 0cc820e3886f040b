"""The fit loop: learning a tiny problem, one compile, logging, early stopping, non-finite
losses and input validation."""
import json
import re

import jax
import numpy as np
import pytest

from jaxml.train import EarlyStopping, NonFiniteLossError, evaluate, fit, make_runs
from jaxml.train.evaluate import epochs_for
from jaxml.train.losses import cross_entropy

BATCH = 32  # 240 training examples -> 8 steps per epoch (the last one partial: 240 = 7 * 32 + 16)
STEPS = 8


@pytest.fixture(scope="module")
def harder_blobs(tiny):
    """Closer blobs: not solved by the initial weights, still separable."""
    return tiny.make_blobs(240, seed=0, separation=1.5), tiny.make_blobs(200, seed=1, separation=1.5)


def test_sgd_learns_separable_blobs(tiny, model, harder_blobs):
    train, val = harder_blobs
    state, key = tiny.init_state(model, tiny.sgd(0.05, STEPS))
    before = evaluate(state, val)
    result = fit(state, train, key=key, epochs=20, batch_size=BATCH, eval_sets={"val": val}, progress=False)
    assert before["accuracy"] < 0.7
    epochs, val_acc = result.curve("val_accuracy", run=0)
    np.testing.assert_array_equal(epochs, np.arange(1, 21))
    assert val_acc[-1] >= 0.95
    _, train_loss = result.curve("train_loss", run=0)
    assert train_loss[-1] < 0.5 * train_loss[0]
    # The logged val metrics are those of the final state, evaluated independently.
    after = evaluate(result.state, val)
    assert after["accuracy"] == pytest.approx(val_acc[-1])
    assert after["loss"] == pytest.approx(result.curve("val_loss", run=0)[1][-1], rel=1e-5)
    assert int(result.state.step) == 20 * STEPS
    np.testing.assert_array_equal(result.updates, [20 * STEPS])
    np.testing.assert_array_equal(result.stopped_epoch, [20])
    assert result.best_state is result.state
    # fit works on a copy: the state passed in is still valid and unchanged (not donated away).
    assert evaluate(state, val) == before


def test_compiles_once_and_logs_every_epoch(tiny, model, blobs, tmp_path):
    train, val = blobs
    traces = []

    def counting_loss(outputs, targets):  # a Python side effect runs once per trace
        traces.append(1)
        return cross_entropy(outputs, targets)

    seen = []
    state, key = tiny.init_state(model, tiny.sgd(0.05, STEPS))
    result = fit(state, train, key=key, epochs=4, batch_size=BATCH, loss=counting_loss,
                 eval_sets={"val": val}, workdir=tmp_path, progress=False,
                 callbacks=[lambda epoch, records: seen.append((epoch, len(traces), records))])
    assert [s[0] for s in seen] == [1, 2, 3, 4]
    assert seen[0][1] > 0
    assert [s[1] for s in seen] == [seen[0][1]] * 4, "the train/eval steps were traced again after epoch 1"
    assert result.compile_seconds > 0 and result.train_seconds > 0

    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [rec["epoch"] for rec in lines] == [1, 2, 3, 4]
    for rec, (epoch, _, records) in zip(lines, seen):
        assert rec["run"] == 0 and rec["updates"] == epoch * STEPS and rec["active"] is True
        assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "epoch_seconds",
                "examples_per_second"} <= set(rec)
        assert len(records) == 1 and records[0]["epoch"] == epoch
        assert records[0]["val_loss"] == pytest.approx(rec["val_loss"])
    assert result.history == result.run_history(0) and len(result.history) == 4
    assert lines[-1]["val_loss"] == pytest.approx(evaluate(result.state, val)["loss"], rel=1e-5)


def test_early_stopping_stops_patience_epochs_after_best(tiny, model, blobs):
    train, _ = blobs
    patience = 3
    # Monitor the loss on a set whose labels are all wrong (y + 1 mod 3): learning the training
    # set can only make it worse, so the best epoch is an early one and the run stops after it.
    wrong = {"x": train["x"][:60], "y": (train["y"][:60] + 1) % 3}
    tx = tiny.sgd(0.02, STEPS)
    state, key = tiny.init_state(model, tx)
    es = EarlyStopping(monitor="wrong_loss", mode="min", patience=patience)
    result = fit(state, train, key=key, epochs=15, batch_size=BATCH, eval_sets={"wrong": wrong},
                 early_stopping=es, progress=False)
    epochs, wrong_loss = result.curve("wrong_loss", run=0)
    best = int(result.best_epoch[0])
    assert best == int(np.argmin(wrong_loss)) + 1 and best < 15 - patience
    assert int(result.stopped_epoch[0]) == best + patience
    assert list(epochs) == list(range(1, best + patience + 1))
    assert np.all(wrong_loss[best:] > wrong_loss[best - 1])
    assert es.stop_epoch(wrong_loss) == (best, best + patience)  # the documented replay agrees
    assert result.history[-1]["early_stopped"] is True and result.history[-1]["active"] is False
    assert int(result.updates[0]) == int(result.state.step) == (best + patience) * STEPS
    # The best state is the state of the best epoch: same monitored loss when re-evaluated ...
    assert evaluate(result.best_state, wrong)["loss"] == pytest.approx(wrong_loss[best - 1], rel=1e-6)
    assert int(result.best_state.step) == best * STEPS
    # ... and the same parameters as a run trained for exactly `best` epochs.
    state, key = tiny.init_state(model, tx)
    short = fit(state, train, key=key, epochs=best, batch_size=BATCH, progress=False)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7),
                           result.best_state.params, short.state.params)
    assert not np.allclose(result.best_state.params["output"]["kernel"], result.state.params["output"]["kernel"])


def test_early_stopping_rule_replay():
    es = EarlyStopping(monitor="val_loss", mode="min", patience=2)
    assert es.stop_epoch([3.0, 2.0, 2.5, 2.0, 1.0]) == (2, 4)  # 2.0 again is no improvement
    assert es.stop_epoch([3.0, 2.0, 1.0]) == (3, None)
    assert EarlyStopping(mode="max", patience=1, min_delta=0.1).stop_epoch([0.5, 0.55, 0.7]) == (1, 2)


def test_early_stopping_validation():
    with pytest.raises(ValueError, match="EarlyStopping.mode"):
        EarlyStopping(mode="maximum")
    with pytest.raises(ValueError, match="EarlyStopping.patience"):
        EarlyStopping(patience=0)


NONFINITE = re.compile(r"epoch (\d+), step (\d+)")


def test_nonfinite_loss_raises_without_checkpoint(tiny, model, blobs):
    train, _ = blobs
    state, key = tiny.init_state(model, tiny.sgd(1e30, STEPS))
    with pytest.raises(NonFiniteLossError) as info:
        fit(state, train, key=key, epochs=3, batch_size=BATCH, progress=False)
    message = str(info.value)
    epoch, step = map(int, NONFINITE.search(message).groups())
    assert epoch == 1 and 2 <= step <= STEPS  # the first step starts from finite initial weights
    assert "no checkpoint" in message


def test_nonfinite_loss_names_last_good_checkpoint(tiny, model, blobs, tmp_path):
    train, _ = blobs
    # Epoch 1 at lr 0.05, then x1e20: diverges in epoch 2 at the latest in epoch 3.
    tx = tiny.sgd(0.05, STEPS, schedule="step", decay_epochs=1, decay_rate=1e20)
    state, key = tiny.init_state(model, tx)
    with pytest.raises(NonFiniteLossError) as info:
        fit(state, train, key=key, epochs=5, batch_size=BATCH, workdir=tmp_path, progress=False)
    message = str(info.value)
    epoch, step = map(int, NONFINITE.search(message).groups())
    assert epoch >= 2
    last_good = tmp_path / "checkpoints" / str(epoch - 1)
    assert str(last_good) in message
    assert last_good.is_dir()
    assert not (tmp_path / "checkpoints" / str(epoch)).exists()
    events = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "nonfinite_loss" and events[-1]["epoch"] == epoch and events[-1]["step"] == step
    assert [e["epoch"] for e in events[:-1]] == list(range(1, epoch))


def test_nonfinite_stop_run_stops_only_the_diverging_run(tiny, model, blobs):
    train, val = blobs
    tx = tiny.sgd(0.05, STEPS)
    runs = make_runs(model, tx, train["x"][:1], seeds=[0], sweep={"learning_rate": [0.05, 1e30]})
    result = fit(runs.state, train, key=runs.train_keys, epochs=3, batch_size=BATCH, num_runs=2,
                 run_info=runs.info, eval_sets={"val": val}, on_nonfinite="stop_run", progress=False)
    np.testing.assert_array_equal(result.stopped_epoch, [3, 1])
    np.testing.assert_array_equal(result.updates, [3 * STEPS, STEPS])
    assert [h["epoch"] for h in result.run_history(1)] == [1]
    assert result.run_history(1)[0]["diverged"] is True and result.run_history(1)[0]["learning_rate"] == 1e30
    assert [h["epoch"] for h in result.run_history(0)] == [1, 2, 3]
    # The healthy run trained as if alone.
    state, key = tiny.init_state(model, tx)
    alone = fit(state, train, key=key, epochs=3, batch_size=BATCH, progress=False)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a[0], b, rtol=1e-5, atol=1e-6),
                           result.state.params, alone.state.params)


def test_nonfinite_input_raises(tiny, model, blobs):
    train, _ = blobs
    bad = {"x": train["x"].copy(), "y": train["y"]}
    bad["x"][:] = np.inf
    state, key = tiny.init_state(model, tiny.sgd(0.05, STEPS))
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, step 1 of 8.*no checkpoint"):
        fit(state, bad, key=key, epochs=2, batch_size=BATCH, progress=False)


# ----------------------------------------------------------------------------- validation

@pytest.fixture(scope="module")
def small_state(tiny, model):
    return tiny.init_state(model, tiny.sgd(0.05, STEPS))


@pytest.mark.parametrize("data, match", [
    ({"y": np.zeros(4, np.int32)}, r"train_data must be a mapping with arrays 'x' and 'y'"),
    ({"x": np.zeros((4, 8), np.float32)}, r"train_data must be a mapping with arrays 'x' and 'y'"),
    ([np.zeros((4, 8))], r"train_data must be a dict of arrays or a batch source, got list"),
    ({"x": np.zeros((4, 8), np.float32), "y": np.zeros(5, np.int32)}, r"train_data: all arrays need the same leading"),
])
def test_fit_rejects_bad_train_data(small_state, data, match):
    state, key = small_state
    with pytest.raises(ValueError, match=match):
        fit(state, data, key=key, epochs=1, batch_size=2, progress=False)


def test_fit_rejects_mismatched_eval_set(small_state, blobs):
    state, key = small_state
    train, _ = blobs
    val = {"x": np.zeros((10, 9), np.float32), "y": np.zeros(10, np.int32)}
    with pytest.raises(ValueError, match=r"eval_sets\['val'\]\['x'\] has example shape \(9,\), expected \(8,\)"):
        fit(state, train, key=key, epochs=1, batch_size=BATCH, eval_sets={"val": val}, progress=False)
    with pytest.raises(ValueError, match=r"eval_sets\['val'\] must be a mapping with arrays 'x' and 'y'"):
        fit(state, train, key=key, epochs=1, batch_size=BATCH, eval_sets={"val": {"x": val["x"]}}, progress=False)
    with pytest.raises(ValueError, match="'train' is reserved"):
        fit(state, train, key=key, epochs=1, batch_size=BATCH, eval_sets={"train": train}, progress=False)


def test_fit_rejects_bad_arguments(small_state, blobs):
    state, key = small_state
    train, val = blobs
    with pytest.raises(ValueError, match=r"batch_size=241 exceeds the 240 training examples"):
        fit(state, train, key=key, epochs=1, batch_size=241, progress=False)
    with pytest.raises(ValueError, match=r"EarlyStopping.monitor='val_acc' is not one of .*'val_accuracy'"):
        fit(state, train, key=key, epochs=1, batch_size=BATCH, eval_sets={"val": val},
            early_stopping=EarlyStopping(monitor="val_acc"), progress=False)
    with pytest.raises(ValueError, match=r"monitor='val_accuracy' is not one of \['train_accuracy', 'train_loss'\]"):
        fit(state, train, key=key, epochs=1, batch_size=BATCH, early_stopping=EarlyStopping(), progress=False)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1, got 0"):
        fit(state, train, key=key, epochs=0, batch_size=BATCH, progress=False)
    with pytest.raises(ValueError, match="on_nonfinite"):
        fit(state, train, key=key, epochs=1, batch_size=BATCH, on_nonfinite="ignore", progress=False)
    with pytest.raises(ValueError, match=r"num_runs=2 but the key is one key"):
        fit(state, train, key=key, epochs=1, batch_size=BATCH, num_runs=2, progress=False)
    with pytest.raises(ValueError, match=r"2 keys but the state's leaves have leading sizes"):
        fit(state, train, key=jax.random.split(key), epochs=1, batch_size=BATCH, progress=False)
    with pytest.raises(ValueError, match=r"typed key .* or a raw uint32 key"):
        fit(state, train, key=np.zeros(3, np.float32), epochs=1, batch_size=BATCH, progress=False)


def test_epochs_for():
    assert epochs_for(240, 32, 8) == 1
    assert epochs_for(240, 32, 9) == 2
    assert epochs_for(10, 4, 30) == 10
