"""Bad data and bad arguments at fit's and evaluate's boundary: each raises a jaxml error that names
the argument and what was expected, before anything compiles (before this check, each of these
trained silently, or failed deep inside flax/JAX). And non-finite evaluations and diverging losses
stop (or flag) the run like a non-finite training loss."""
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.train import fit
from jaxml.train.errors import ConfigError, DivergenceError, InputError, NonFiniteLossError
from jaxml.train.evaluate import evaluate

BATCH = 32


@pytest.fixture(scope="module")
def setup(tiny, model, blobs):
    state, key = tiny.init_state(model, tiny.sgd(0.05))
    return state, key, blobs


def _with(data, **fields):
    return {**data, **fields}


@pytest.mark.parametrize("label, match", [
    (-1, r"train_data\['y'\] has labels in \[-1, 2\] \(first bad: example 5, label -1\), "
         r"but the model has 3 outputs"),
    (3, r"train_data\['y'\] has labels in \[0, 3\] \(first bad: example 5, label 3\)"
        r".*expected integer labels in \[0, 2\]"),
])
def test_labels_outside_the_models_classes(setup, label, match):
    state, key, (train, _) = setup
    y = train["y"].copy()
    y[5] = label
    with pytest.raises(InputError, match=match):
        fit(state, _with(train, y=y), key=key, epochs=1, batch_size=BATCH, progress=False)
    with pytest.raises(InputError, match=match.replace("train_data", "data")):
        evaluate(state, _with(train, y=y))


def test_bad_labels_in_an_eval_set_are_named(setup):
    state, key, (train, val) = setup
    with pytest.raises(InputError, match=r"eval_sets\['val'\]\['y'\] has dtype float64; cross_entropy expects integer"):
        fit(state, train, key=key, epochs=1, batch_size=BATCH, eval_sets={"val": _with(val, y=val["y"] * 1.0)},
            progress=False)


def test_uint8_inputs_need_an_explicit_opt_in(setup):
    state, key, (train, _) = setup
    raw = _with(train, x=np.clip(train["x"] * 20 + 128, 0, 255).astype(np.uint8))
    with pytest.raises(InputError, match=r"train_data\['x'\] is uint8 .*allow_uint8=True"):
        fit(state, raw, key=key, epochs=1, batch_size=BATCH, progress=False)
    out = fit(state, raw, key=key, epochs=1, batch_size=BATCH, progress=False, allow_uint8=True,
              divergence_factor=None)   # raw pixels: the loss explodes (that is the point of the check)
    assert out.history[0]["train_loss"] > 0


def test_feature_size_that_does_not_fit_the_parameters(setup):
    state, key, (train, _) = setup
    wide = _with(train, x=np.zeros((len(train["y"]), 9), np.float32))
    with pytest.raises(InputError, match=r"train_data\['x'\] has example shape \(9,\).*parameters do not fit"):
        fit(state, wide, key=key, epochs=1, batch_size=BATCH, progress=False)
    with pytest.raises(InputError, match=r"data\['x'\] has example shape \(9,\)"):
        evaluate(state, wide)


@pytest.mark.parametrize("kwargs, match", [
    ({"batch_size": 2.5}, r"batch_size must be an integer >= 1, got 2.5"),
    ({"batch_size": BATCH, "checkpoint_every": 0}, r"checkpoint_every must be an integer >= 1, got 0"),
    ({"batch_size": BATCH, "divergence_factor": 0.5}, r"divergence_factor must be a finite number > 1"),
])
def test_bad_arguments_are_named(setup, kwargs, match):
    state, key, (train, _) = setup
    with pytest.raises(ConfigError, match=match):
        fit(state, train, key=key, epochs=1, progress=False, **kwargs)


def test_nan_in_an_eval_set_stops_naming_the_set_and_epoch(setup, tmp_path):
    state, key, (train, val) = setup
    x = val["x"].copy()
    x[7, 2] = np.nan
    with pytest.raises(NonFiniteLossError, match=r"non-finite evaluation metric val_loss = nan \(evaluation set "
                                                 r"'val'\) at epoch 1; no checkpoint was saved yet"):
        fit(state, train, key=key, epochs=2, batch_size=BATCH, eval_sets={"val": _with(val, x=x)}, progress=False)


def _exploding_step(state, batch, rng):
    """A step whose loss is 10**t at its t-th call (0-based): diverges without ever being non-finite."""
    count = jnp.sum(batch["mask"])
    loss = 10.0 ** state.step.astype(jnp.float32)
    return state.replace(step=state.step + 1), {"loss_sum": loss * count, "count": count}


def test_a_loss_growing_beyond_the_factor_is_a_divergence(setup):
    state, key, (train, _) = setup
    # Steps 1..8 of epoch 1 have losses 1, 10, 100, 1000, ...: step 4 is the first above 100 x 1.
    with pytest.raises(DivergenceError, match=r"training loss 1000 exceeds divergence_factor=100 x the first "
                                              r"step's loss 1 \(divergence\) at epoch 1, step 4 of 8"):
        fit(state, train, key=key, epochs=1, batch_size=BATCH, train_step=_exploding_step, progress=False)
    # Off: trains to the end (and the losses stay finite, so nothing else stops it).
    out = fit(state, train, key=key, epochs=1, batch_size=BATCH, train_step=_exploding_step, progress=False,
              divergence_factor=None)
    assert out.history[0]["train_loss"] > 1e5   # the epoch's mean of 1, 10, ..., 1e7


def test_stop_run_flags_only_the_run_with_a_nan_evaluation(tiny, model, blobs):
    from jaxml.train import make_runs

    train, val = blobs
    runs = make_runs(model, tiny.sgd(0.05), train["x"][:1], seeds=(0, 1))
    x = val["x"].copy()
    x[0, 0] = np.nan                                        # every run sees the NaN: both are flagged
    out = fit(runs, train, epochs=2, batch_size=BATCH, eval_sets={"val": _with(val, x=x)}, progress=False,
              on_nonfinite="stop_run")
    assert [(h["epoch"], h["run"], h.get("diverged")) for h in out.history] == [(1, 0, True), (1, 1, True)]
    assert out.stopped_epoch.tolist() == [1, 1]
