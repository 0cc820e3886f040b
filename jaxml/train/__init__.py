"""Training core: train state, pure steps, compiled epochs, optimizers, checkpoints, runs.

Typical use::

    from jaxml.train import TrainState, create_state, make_optimizer, fit, EarlyStopping
    tx = make_optimizer({"name": "sgd", "learning_rate": 0.01}, steps_per_epoch)
    state = create_state(model, tx, init_key, x[:1])
    result = fit(state, {"x": x, "y": y}, key=train_key, epochs=20, batch_size=50,
                 eval_sets={"val": {"x": xv, "y": yv}}, early_stopping=EarlyStopping(patience=5))
"""
from jaxml.train.errors import ConfigError, NonFiniteLossError
from jaxml.train.epoch import make_epoch_fn, make_eval_fn, num_batches
from jaxml.train.fit import EarlyStopping, FitResult, evaluate, fit
from jaxml.train.losses import get_loss
from jaxml.train.optimizers import make_optimizer, optimizer_config, set_hyperparams
from jaxml.train.runs import Runs, make_runs, seed_keys, unstack
from jaxml.train.state import TrainState, apply_model, create_state
from jaxml.train.steps import make_eval_step, make_train_step

__all__ = [
    "ConfigError", "make_epoch_fn", "make_eval_fn", "num_batches",
    "EarlyStopping", "FitResult", "NonFiniteLossError", "evaluate", "fit", "get_loss", "make_optimizer",
    "optimizer_config", "set_hyperparams", "Runs", "make_runs", "seed_keys", "unstack", "TrainState",
    "apply_model", "create_state", "make_eval_step", "make_train_step",
]
