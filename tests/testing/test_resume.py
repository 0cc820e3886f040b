"""assert_resume_identical (in-process, through fit) and assert_sigkill_resume_identical (a real process,
SIGKILLed) fail on broken runs; the in-process check passes on fit in tests/train/test_checkpoint.py
(test_resumed_run_equals_uninterrupted_run), the SIGKILL one on a stand-in script here."""
import pathlib

import jax
import numpy as np
import pytest

from jaxml.models.mlp import MLP
from jaxml.testing import assert_resume_identical, assert_sigkill_resume_identical
from jaxml.train import create_state, fit, make_optimizer

DATA = {"x": np.random.default_rng(0).normal(size=(24, 4)).astype(np.float32),
        "y": np.arange(24, dtype=np.int32) % 3}
MODEL = MLP(hidden_sizes=(4,), output_size=3)
TX = make_optimizer({"name": "momentum", "learning_rate": 0.1, "momentum": 0.9})
STATE = jax.jit(lambda k: create_state(MODEL, TX, k, DATA["x"][:1]))(jax.random.key(0))


def _train(key):
    def run(workdir, callbacks):
        return fit(STATE, DATA, key=key(), epochs=3, batch_size=8, workdir=workdir, callbacks=callbacks,
                   progress=False)
    return run


def test_a_run_seeded_anew_each_time_fails(tmp_path):
    seeds = iter(range(10))  # e.g. a seed drawn from the clock: the resumed epochs use another key
    with pytest.raises(AssertionError, match="differs"):
        assert_resume_identical(_train(lambda: jax.random.key(next(seeds))), interrupt_after=2, workdir=tmp_path)


FAKE_RUN = str(pathlib.Path(__file__).with_name("fake_run.py"))


@pytest.mark.parametrize("broken", [False, True])
def test_sigkill_resume(tmp_path, broken):
    command = ["python", FAKE_RUN, "{workdir}", *(["--broken"] if broken else [])]
    if not broken:
        outcome = assert_sigkill_resume_identical(command, workdir=tmp_path, interrupt_after=3)
        assert [r["epoch"] for r in outcome["metrics.jsonl"]] == list(range(1, 9))
        return
    with pytest.raises(AssertionError, match="resumed after SIGKILL"):
        assert_sigkill_resume_identical(command, workdir=tmp_path, interrupt_after=3)
