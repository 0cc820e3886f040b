"""The training core: one driver for any pure step, batch sources, runs, optimizers, checkpoints.

Typical use::

    from jaxml.train import EarlyStopping, fit, make_optimizer, make_runs
    tx = make_optimizer({"name": "sgd", "learning_rate": 0.01, "momentum": 0.9})
    runs = make_runs(model, tx, x[:1], seeds=[0, 1, 2], grid={"momentum": [0.5, 0.9]})
    result = fit(runs, {"x": x, "y": y}, epochs=20, batch_size=50, eval_sets={"val": {"x": xv, "y": yv}},
                 early_stopping=EarlyStopping("val_accuracy", patience=5))
    result.curve("val_accuracy")            # (runs, epochs)

A new objective is a new step, ``train_step(state, batch, rng) -> (state, metric_sums)``, passed as
``fit(..., train_step=..., eval_step=...)``; see ``jaxml.train.fit``.
"""
from jaxml.train.epoch import EPOCH_LOOPS, make_epoch_fn, make_eval_fn, means, num_batches, resolve_epoch_loop
from jaxml.train.errors import ConfigError, NonFiniteLossError
from jaxml.train.evaluate import evaluate
from jaxml.train.fit import fit
from jaxml.train.losses import get_loss
from jaxml.train.optimizers import make_optimizer, optimizer_config, set_hyperparams
from jaxml.train.results import EarlyStopping, FitResult, as_key
from jaxml.train.runs import (
    Runs,
    concat_runs,
    init_params,
    make_random_runs,
    make_runs,
    runs_from_params,
    sample_space,
    seed_keys,
    unstack,
)
from jaxml.train.sources import ArraySource, StreamSource
from jaxml.train.state import TrainState, apply_model, create_state
from jaxml.train.steps import make_eval_step, make_train_step

__all__ = [
    "EPOCH_LOOPS", "make_epoch_fn", "make_eval_fn", "means", "num_batches", "resolve_epoch_loop", "ConfigError",
    "NonFiniteLossError", "EarlyStopping", "FitResult", "as_key", "evaluate", "fit", "get_loss", "make_optimizer",
    "optimizer_config", "set_hyperparams", "Runs", "init_params", "make_runs", "make_random_runs", "sample_space",
    "concat_runs", "runs_from_params", "seed_keys",
    "unstack", "ArraySource", "StreamSource", "TrainState", "apply_model", "create_state", "make_eval_step",
    "make_train_step",
]
